//! Cross-encoders: a BERT encoder that reads a query and a passage together and scores how well
//! the passage answers the query (`BertForSequenceClassification` with one label, as the
//! `ms-marco` `MiniLM` rerankers of sentence-transformers).
//!
//! A bi-encoder embeds query and passage apart and compares vectors, which is what makes search
//! over millions fast; a cross-encoder attends across the two, which ranks a short list better.
//! Retrieval finds candidates with the first and re-ranks them with the second.

use std::path::Path;

use gemm::Parallelism;
use rayon::prelude::*;
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::bert::{Encoder, EncoderConfig, PackedBatch};
use crate::error::{ModelError, Result};
use crate::layers::Linear;
use crate::parallelism;
use crate::sentence_transformer::{folder_size, plan_batches, read_json};
use crate::tensors::TensorFile;

/// What a loaded cross-encoder is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrossEncoderInfo {
    /// The name it was loaded as.
    pub name: String,
    /// Its folder.
    pub path: std::path::PathBuf,
    /// `BertForSequenceClassification`.
    pub architecture: String,
    /// The longest query + passage pair, in tokens; longer pairs lose the end of the longer text.
    pub max_length: usize,
    /// Whether scores go through a sigmoid (to 0..1) or are the raw logits.
    pub sigmoid: bool,
    /// The size of the folder in bytes.
    pub size_bytes: u64,
}

/// A cross-encoder ready to score pairs.
pub struct CrossEncoder {
    info: CrossEncoderInfo,
    tokenizer: Tokenizer,
    encoder: Encoder,
    /// `tanh(W h[CLS] + b)`: BERT's pooler.
    pooler: Linear,
    /// One output: the relevance logit.
    classifier: Linear,
}

/// The parts of config.json beyond the encoder's.
#[derive(Debug, Default, Deserialize)]
struct ClassifierConfig {
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    sentence_transformers: Option<SentenceTransformersSection>,
}

#[derive(Debug, Default, Deserialize)]
struct SentenceTransformersSection {
    #[serde(default)]
    activation_fn: Option<String>,
}

/// Whether `folder` holds a cross-encoder: its config.json names a
/// `...ForSequenceClassification` architecture.
pub fn cross_encoder_folder(folder: &Path) -> bool {
    read_json::<ClassifierConfig>(&folder.join("config.json")).is_ok_and(|config| {
        config.architectures.iter().any(|name| name.ends_with("ForSequenceClassification"))
    })
}

impl CrossEncoder {
    /// Loads the cross-encoder in `folder` (config.json, model.safetensors, tokenizer.json),
    /// to be known as `name`.
    pub fn load(folder: &Path, name: &str) -> Result<Self> {
        let not_a_model =
            |problem: String| ModelError::NotAModel { path: folder.to_owned(), problem };
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            if !folder.join(file).is_file() {
                return Err(not_a_model(format!("{file} is missing")));
            }
        }
        let config_path = folder.join("config.json");
        let config = EncoderConfig::read(&config_path)?;
        let classifier_config: ClassifierConfig = read_json(&config_path)?;
        let architecture = classifier_config.architectures.first().cloned().unwrap_or_default();
        if architecture != "BertForSequenceClassification" {
            return Err(not_a_model(format!(
                "it is a {} model; emb re-ranks with BertForSequenceClassification cross-encoders \
                 (such as cross-encoder/ms-marco-MiniLM-L6-v2)",
                if architecture.is_empty() { "nameless" } else { &architecture }
            )));
        }
        let weights_path = folder.join("model.safetensors");
        let encoder = Encoder::load(&config, folder, &weights_path)?;
        let hidden = encoder.hidden_size();
        let mut file = TensorFile::open(&weights_path)?;
        file.detect_prefix("pooler.dense.weight", &["bert.", ""]);
        let pooler = Linear::load(&file, "pooler.dense", hidden, hidden)?;
        let mut head = TensorFile::open(&weights_path)?;
        head.detect_prefix("classifier.weight", &["", "bert."]);
        let labels = head.rows("classifier.weight").unwrap_or(0);
        if labels != 1 {
            return Err(not_a_model(format!(
                "its classifier has {labels} outputs; a re-ranking cross-encoder has one"
            )));
        }
        let classifier = Linear::load(&head, "classifier", hidden, 1)?;

        let tokenizer_path = folder.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|error| ModelError::invalid(&tokenizer_path, error))?;
        let max_length = config.max_tokens().min(512);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                direction: TruncationDirection::Right,
                stride: 0,
            }))
            .map_err(|error| ModelError::invalid(&tokenizer_path, error))?;
        // sentence-transformers' CrossEncoder applies a sigmoid to one-label models unless the
        // folder names another activation (the ms-marco models name Identity: raw logits).
        let sigmoid = classifier_config
            .sentence_transformers
            .and_then(|section| section.activation_fn)
            .is_none_or(|activation| activation.ends_with("Sigmoid"));
        let info = CrossEncoderInfo {
            name: name.to_owned(),
            path: folder.to_owned(),
            architecture,
            max_length,
            sigmoid,
            size_bytes: folder_size(folder),
        };
        Ok(Self { info, tokenizer, encoder, pooler, classifier })
    }

    /// What the model is.
    pub fn info(&self) -> &CrossEncoderInfo {
        &self.info
    }

    /// Scores each of `passages` against `query`, in their order: higher is more relevant.
    /// Pairs are batched by length and run on all cores.
    pub fn score<S: AsRef<str> + Sync>(&self, query: &str, passages: &[S]) -> Result<Vec<f32>> {
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<(String, String)> = passages
            .iter()
            .map(|passage| (query.to_owned(), passage.as_ref().to_owned()))
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch(pairs, true)
            .map_err(|error| ModelError::Tokenizer(error.to_string()))?;
        let threads = rayon::current_num_threads().max(1);
        let lengths: Vec<usize> = encodings.iter().map(tokenizers::Encoding::len).collect();
        let batches = plan_batches(&lengths, threads, |length| self.encoder.relative_cost(length));
        // One batch alone gets every core inside its matrix products.
        let inner = if batches.len() == 1 { parallelism() } else { Parallelism::None };
        let hidden = self.encoder.hidden_size();
        let scored: Vec<Vec<(usize, f32)>> = batches
            .par_iter()
            .map(|members| {
                let mut batch = PackedBatch::new();
                for &index in members {
                    batch.push_typed(encodings[index].get_ids(), encodings[index].get_type_ids());
                }
                let states = self.encoder.forward(&batch, inner)?;
                let first_tokens: Vec<f32> = batch
                    .sequences()
                    .flat_map(|range| &states[range.start * hidden..(range.start + 1) * hidden])
                    .copied()
                    .collect();
                let mut pooled = Vec::new();
                self.pooler.forward(&first_tokens, members.len(), &mut pooled, Parallelism::None);
                for value in &mut pooled {
                    *value = value.tanh();
                }
                let mut logits = Vec::new();
                self.classifier.forward(&pooled, members.len(), &mut logits, Parallelism::None);
                Ok(members.iter().copied().zip(logits).collect())
            })
            .collect::<Result<_>>()?;
        let mut scores = vec![0.0; passages.len()];
        for (index, logit) in scored.into_iter().flatten() {
            scores[index] = if self.info.sigmoid { 1.0 / (1.0 + (-logit).exp()) } else { logit };
        }
        Ok(scores)
    }
}
