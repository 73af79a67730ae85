//! Word vectors (GloVe, word2vec, fastText) for `emb words`: nearest words, analogies,
//! gensim-compatible evaluation, and maps of chosen words.

use emb_analysis::{pca, Rows};
pub use emb_models::emb_words::{
    evaluate, train, Expression, Format, Query, Scoring, Similar, WordVectors,
};
pub use emb_models::Weighting;

use crate::plot::{Field, Map, Point};
use crate::{Model, Result};

/// Word vectors loaded by model name (registered with `emb models add`) or file path.
pub struct Words {
    model: Model,
}

impl Words {
    /// Loads the word vectors `name`: a name given to `emb models add`, or a vectors file.
    pub fn load(name: &str) -> Result<Self> {
        let locator = crate::Locator::from_environment();
        if locator.find(name)?.is_none() {
            return Err(emb_models::emb_words::Error::Query(format!(
                "there are no word vectors named {name} (looked in {}); register a GloVe / \
                 word2vec / fastText file with `emb models add {name} FILE`, pass a file with \
                 -m, or install glove-100 with the project's scripts/fetch-word-vectors",
                locator.registered_folder(name).display()
            ))
            .into());
        }
        let model = Model::load_with(name, &locator)?;
        if model.word_vectors().is_none() {
            return Err(emb_models::emb_words::Error::Query(format!(
                "{name} is a sentence model, not word vectors; pass -m with word vectors (a \
                 GloVe / word2vec / fastText file, or a name registered with `emb models add`)"
            ))
            .into());
        }
        Ok(Self { model })
    }

    /// The vectors.
    pub fn vectors(&self) -> &WordVectors {
        self.model.word_vectors().expect("checked when loaded")
    }

    /// The name the vectors were loaded by.
    pub fn name(&self) -> &str {
        &self.model.info().name
    }

    /// A map of `words` on the first two principal components of their vectors, each word a
    /// point labelled with itself.
    pub fn map(&self, words: &[String], title: Option<String>) -> Result<Map> {
        let vectors = self.vectors();
        let rows = vectors.rows_of(words)?;
        if rows.len() < 3 {
            return Err(emb_models::emb_words::Error::Query(
                "a map needs at least three words".to_owned(),
            )
            .into());
        }
        let values: Vec<f32> = rows.iter().flat_map(|&row| vectors.vector(row).to_vec()).collect();
        let matrix = Rows::new(&values, vectors.dimensions())?;
        let projection = pca::pca(matrix, &pca::Settings::new(2))?;
        let points = words
            .iter()
            .zip(&rows)
            .map(|(word, &row)| {
                let position = projection.transform(vectors.vector(row));
                Point::new(word.clone(), position[0], position[1]).with_text(word.clone())
            })
            .collect();
        let mut field = Field::category("word", words.iter().map(|word| Some(word.as_str())));
        for word in words {
            field = field.with_label(word.clone(), word.clone());
        }
        Ok(Map { title, points, fields: vec![field] })
    }
}
