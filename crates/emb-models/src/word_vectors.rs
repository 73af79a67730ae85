//! Static word vectors (GloVe, word2vec, fastText) as an embedding model: a text's vector is
//! the mean — or the SIF-weighted mean — of the vectors of its words.
//!
//! A registered model is a folder in the emb cache (`$EMB_HOME/models/local/NAME`) holding the
//! vectors in emb's mmap-able file and `emb-word-vectors.json`; a vectors file given by path is
//! read as it is.

use std::path::{Path, PathBuf};

use emb_core::{Embedder, Input, InputKind, Vector};
use emb_words::{Format, WordVectors};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::sentence_transformer::{read_json, ModelInfo, TokenReport};

/// The file that marks a folder as registered word vectors.
pub const CONFIG_FILE: &str = "emb-word-vectors.json";
const VECTORS_FILE: &str = "vectors.embw";

/// How a text's word vectors are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weighting {
    /// The plain mean. The default.
    #[default]
    Mean,
    /// Smooth inverse frequency (Arora et al. 2017): each word weighted `a / (a + p(word))`
    /// with `a = 1e-3`, so frequent words count less. `p` is estimated from the word's rank
    /// by Zipf's law, since vector files list words by frequency but carry no counts.
    Sif,
}

impl Weighting {
    /// The name used in settings and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Sif => "sif",
        }
    }
}

/// What `emb-word-vectors.json` records about registered word vectors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WordVectorConfig {
    /// How texts are embedded. Default: [`Weighting::Mean`].
    #[serde(default)]
    pub weighting: Weighting,
    /// The file the vectors were converted from.
    #[serde(default)]
    pub source: Option<PathBuf>,
    /// Its format.
    #[serde(default)]
    pub source_format: Option<Format>,
}

/// Word vectors as an [`Embedder`] of texts.
pub struct WordVectorModel {
    info: ModelInfo,
    vectors: WordVectors,
    weighting: Weighting,
}

impl WordVectorModel {
    /// Loads registered word vectors (a folder with `emb-word-vectors.json`) or a vectors file
    /// in any format [`Format`] names.
    pub fn load(path: &Path, name: &str) -> Result<Self> {
        let (vectors, config) = if path.is_dir() {
            let config: WordVectorConfig = read_json(&path.join(CONFIG_FILE))?;
            (WordVectors::load(&path.join(VECTORS_FILE))?, config)
        } else {
            let config = WordVectorConfig {
                weighting: Weighting::Mean,
                source: Some(path.to_owned()),
                source_format: Some(Format::detect(path)?),
            };
            (WordVectors::load(path)?, config)
        };
        Ok(Self::new(vectors, name, path, config.weighting))
    }

    /// Wraps loaded `vectors` as a model called `name`.
    pub fn new(vectors: WordVectors, name: &str, path: &Path, weighting: Weighting) -> Self {
        let size_bytes = if path.is_dir() {
            std::fs::metadata(path.join(VECTORS_FILE)).map_or(0, |metadata| metadata.len())
        } else {
            std::fs::metadata(path).map_or(0, |metadata| metadata.len())
        };
        let info = ModelInfo {
            name: name.to_owned(),
            path: path.to_owned(),
            architecture: format!("word vectors ({} words)", vectors.len()),
            dimensions: vectors.dimensions(),
            max_seq_length: 0,
            pooling: weighting.name().to_owned(),
            normalize: false,
            prompts: std::collections::BTreeMap::new(),
            size_bytes,
        };
        Self { info, vectors, weighting }
    }

    /// Converts the vectors file `source` into a registered model folder `destination` (emb's
    /// mmap-able file plus its settings), replacing any model there.
    pub fn register(source: &Path, destination: &Path, weighting: Weighting) -> Result<()> {
        let format = Format::detect(source)?;
        let vectors = WordVectors::load_as(source, format)?;
        let partial = destination.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).map_err(|error| ModelError::io(&partial, error))?;
        vectors.save(&partial.join(VECTORS_FILE), Format::Native)?;
        let config = WordVectorConfig {
            weighting,
            source: Some(std::path::absolute(source).unwrap_or_else(|_| source.to_owned())),
            source_format: Some(format),
        };
        let text = serde_json::to_string_pretty(&config).expect("the config serialises");
        let config_path = partial.join(CONFIG_FILE);
        std::fs::write(&config_path, text).map_err(|error| ModelError::io(&config_path, error))?;
        if destination.exists() {
            std::fs::remove_dir_all(destination)
                .map_err(|error| ModelError::io(destination, error))?;
        }
        std::fs::rename(&partial, destination).map_err(|error| ModelError::io(destination, error))
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The word vectors themselves.
    pub fn vectors(&self) -> &WordVectors {
        &self.vectors
    }

    /// Embeds each text as the (weighted) mean of its words' vectors.
    pub fn embed_texts<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vector>> {
        texts.iter().map(|text| self.embed_text(text.as_ref())).collect()
    }

    fn embed_text(&self, text: &str) -> Result<Vector> {
        let rows: Vec<usize> = words(text).filter_map(|word| self.row(word)).collect();
        if rows.is_empty() {
            return Err(ModelError::NoKnownWords {
                model: self.info.name.clone(),
                text: text.chars().take(80).collect(),
            });
        }
        let mut mean = vec![0.0_f32; self.vectors.dimensions()];
        let mut total = 0.0_f32;
        for row in rows {
            let weight = match self.weighting {
                Weighting::Mean => 1.0,
                Weighting::Sif => sif_weight(row, self.vectors.len()),
            };
            total += weight;
            for (sum, value) in mean.iter_mut().zip(self.vectors.vector(row)) {
                *sum += weight * value;
            }
        }
        for value in &mut mean {
            *value /= total;
        }
        Ok(mean)
    }

    /// The row of a word: as written, else lowercase.
    fn row(&self, word: &str) -> Option<usize> {
        self.vectors.row_of_folded(word)
    }

    /// The words of `text` the model knows (id = their row) and those it does not
    /// (`[UNK:word]`, id `u32::MAX`).
    pub fn tokenize(&self, text: &str) -> TokenReport {
        let mut tokens = Vec::new();
        let mut ids = Vec::new();
        for word in words(text) {
            if let Some(row) = self.row(word) {
                tokens.push(word.to_owned());
                ids.push(row as u32);
            } else {
                tokens.push(format!("[UNK:{word}]"));
                ids.push(u32::MAX);
            }
        }
        let used = ids.iter().filter(|&&id| id != u32::MAX).count();
        TokenReport { tokens, ids, used, max_seq_length: 0, truncated: false }
    }
}

/// SIF weight `a / (a + p)` with `p` from Zipf's law for the word of frequency rank `row`.
fn sif_weight(row: usize, vocabulary: usize) -> f32 {
    const A: f64 = 1e-3;
    let harmonic = (vocabulary.max(1) as f64).ln() + 0.577_215_664_9;
    let probability = 1.0 / ((row + 1) as f64 * harmonic);
    (A / (A + probability)) as f32
}

/// The words of a text: runs of letters and digits (with inner apostrophes and hyphens kept, as
/// in `don't` and `x-ray`), punctuation dropped.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|character: char| {
        !(character.is_alphanumeric() || character == '\'' || character == '-')
    })
    .map(|word| word.trim_matches(|character| character == '\'' || character == '-'))
    .filter(|word| !word.is_empty())
}

impl Embedder for WordVectorModel {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn dimensions(&self) -> usize {
        self.info.dimensions
    }

    fn accepts(&self, kind: InputKind) -> bool {
        kind == InputKind::Text
    }

    fn embed_batch(&self, inputs: &[Input<'_>]) -> emb_core::Result<Vec<Vector>> {
        inputs
            .iter()
            .map(|input| match input {
                Input::Text(text) => {
                    self.embed_text(text).map_err(|error| emb_core::Error::Embedding {
                        model: self.info.name.clone(),
                        source: Box::new(error),
                    })
                }
                other => Err(emb_core::Error::UnsupportedInput {
                    model: self.info.name.clone(),
                    kind: other.kind(),
                }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(weighting: Weighting) -> WordVectorModel {
        let vectors = WordVectors::from_parts(
            ["the", "cat", "sat", "don't"].map(String::from).to_vec(),
            vec![1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 4.0, 4.0],
            2,
        )
        .unwrap();
        WordVectorModel::new(vectors, "tiny", Path::new("tiny.txt"), weighting)
    }

    #[test]
    fn a_word_embeds_as_its_vector_and_a_text_as_the_mean() {
        let model = model(Weighting::Mean);
        assert_eq!(model.embed_texts(&["cat"]).unwrap()[0], vec![0.0, 1.0]);
        assert_eq!(model.embed_texts(&["The cat, sat!"]).unwrap()[0], vec![1.0, 1.0]);
        assert_eq!(model.embed_texts(&["don't"]).unwrap()[0], vec![4.0, 4.0]);
    }

    #[test]
    fn sif_weighs_frequent_words_less() {
        let vector = model(Weighting::Sif).embed_texts(&["the sat"]).unwrap().remove(0);
        assert!(vector[0] > 1.5, "{vector:?}");
        assert!(sif_weight(0, 400_000) < sif_weight(1000, 400_000));
    }

    #[test]
    fn a_text_of_unknown_words_is_an_error_naming_it() {
        let error = model(Weighting::Mean).embed_texts(&["wombat!"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "tiny: none of the words of \"wombat!\" are in the vocabulary"
        );
    }

    #[test]
    fn tokens_show_unknown_words() {
        let report = model(Weighting::Mean).tokenize("the wombat");
        assert_eq!(report.tokens, ["the", "[UNK:wombat]"]);
        assert_eq!(report.used, 1);
    }

    #[test]
    fn registered_vectors_load_from_their_folder() {
        let folder = tempfile::tempdir().unwrap();
        let source = folder.path().join("glove.txt");
        std::fs::write(&source, "the 1 0\ncat 0 1\n").unwrap();
        let destination = folder.path().join("models/local/tiny");
        WordVectorModel::register(&source, &destination, Weighting::Sif).unwrap();
        let model = WordVectorModel::load(&destination, "tiny").unwrap();
        assert_eq!(model.info().pooling, "sif");
        assert_eq!(model.embed_texts(&["cat"]).unwrap()[0], vec![0.0, 1.0]);
        let direct = WordVectorModel::load(&source, "glove.txt").unwrap();
        assert_eq!(direct.vectors().len(), 2);
    }
}
