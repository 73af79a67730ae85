//! A sentence-transformers model folder: tokenizer, transformer encoder,
//! pooling and optional normalisation, run the way sentence-transformers runs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emb_core::{Embedder, Input, InputKind, Vector};
use gemm::Parallelism;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Deserialize;
use tokenizers::Tokenizer;

use crate::bert::{Encoder, EncoderConfig, PackedBatch};
use crate::error::{ModelError, Result};
use crate::pooling::Pooling;

/// At most this many tokens go through the encoder in one packed batch.
const BATCH_TOKENS: usize = 4096;
/// Batches shrink toward the end of a plan, but not below this many tokens.
const MINIMUM_BATCH_TOKENS: usize = 256;

/// Groups sequences (by index into `lengths`) into packed batches, longest first.
///
/// Batches hold at most [`BATCH_TOKENS`] tokens; as the work left shrinks, so do they (each
/// takes about `1 / (2 * threads)` of the estimated cost left, never under
/// [`MINIMUM_BATCH_TOKENS`]), so that when batches are taken in order by `threads` workers, all
/// finish at about the same time. `cost` estimates a sequence's work from its length.
pub(crate) fn plan_batches(
    lengths: &[usize],
    threads: usize,
    cost: impl Fn(usize) -> f64,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(lengths[index]));
    let mut remaining: f64 = lengths.iter().map(|&length| cost(length)).sum();
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let (mut current_tokens, mut current_cost) = (0, 0.0);
    let mut target = remaining / (2 * threads) as f64;
    for index in order {
        let length = lengths[index];
        let full = current_tokens + length > BATCH_TOKENS
            || (current_cost >= target && current_tokens >= MINIMUM_BATCH_TOKENS);
        if !current.is_empty() && full {
            batches.push(std::mem::take(&mut current));
            remaining -= current_cost;
            (current_tokens, current_cost) = (0, 0.0);
            target = remaining / (2 * threads) as f64;
        }
        current.push(index);
        current_tokens += length;
        current_cost += cost(length);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// What a loaded model is, for listings and `emb models info`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// The name the model was asked for by.
    pub name: String,
    /// The folder it was loaded from.
    pub path: PathBuf,
    /// The transformer architecture (from config.json).
    pub architecture: String,
    /// The number of dimensions of its vectors.
    pub dimensions: usize,
    /// The number of tokens beyond which input is truncated.
    pub max_seq_length: usize,
    /// The pooling modes, joined with `+`.
    pub pooling: String,
    /// Whether vectors are normalised to unit length.
    pub normalize: bool,
    /// The named prompts (e.g. `query` -> `"query: "`).
    pub prompts: BTreeMap<String, String>,
    /// The total size of the folder's files in bytes.
    pub size_bytes: u64,
}

/// How one text was tokenized, for `emb tokens`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenReport {
    /// The tokens, special tokens included, before truncation.
    pub tokens: Vec<String>,
    /// Their ids.
    pub ids: Vec<u32>,
    /// The number of tokens the model would see (after truncation).
    pub used: usize,
    /// The model's maximum sequence length.
    pub max_seq_length: usize,
    /// Whether the text would be truncated.
    pub truncated: bool,
}

/// The result of embedding a batch of texts.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    /// One vector per text, in input order.
    pub vectors: Vec<Vector>,
    /// How many texts were longer than `max_seq_length` tokens and were truncated.
    pub truncated: usize,
}

/// Texts tokenized for one model and cut to its maximum length, not yet embedded. Two of them
/// made with the same prompt can be joined into one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokenized {
    sequences: Vec<Vec<u32>>,
    /// Leading tokens of every sequence that are the prompt, left out of pooling.
    prompt_tokens: usize,
    truncated: usize,
}

impl Tokenized {
    /// The number of texts.
    pub fn len(&self) -> usize {
        self.sequences.len()
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }

    /// The number of tokens of each text, as it will be embedded (after truncation).
    pub fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.sequences.iter().map(Vec::len)
    }

    /// How many texts were cut at the model's maximum length.
    pub fn truncated(&self) -> usize {
        self.truncated
    }

    /// Appends `other`'s texts after these, when both were made with the same prompt; gives
    /// `other` back when they were not.
    pub fn join(&mut self, other: Tokenized) -> std::result::Result<(), Tokenized> {
        if !self.is_empty() && !other.is_empty() && other.prompt_tokens != self.prompt_tokens {
            return Err(other);
        }
        if self.is_empty() {
            self.prompt_tokens = other.prompt_tokens;
        }
        self.sequences.extend(other.sequences);
        self.truncated += other.truncated;
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

#[derive(Debug, Default, Deserialize)]
struct SentenceTransformersConfig {
    #[serde(default)]
    prompts: BTreeMap<String, String>,
    #[serde(default)]
    default_prompt_name: Option<String>,
}

/// A loaded sentence-transformers model.
pub struct SentenceTransformer {
    info: ModelInfo,
    tokenizer: Tokenizer,
    encoder: Encoder,
    pooling: Pooling,
    lowercase: bool,
    default_prompt_name: Option<String>,
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|error| ModelError::io(path, error))?;
    serde_json::from_str(&text).map_err(|error| ModelError::invalid(path, error))
}

fn read_json_if_present<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T> {
    if path.is_file() {
        read_json(path)
    } else {
        Ok(T::default())
    }
}

pub(crate) fn folder_size(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => folder_size(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}

impl SentenceTransformer {
    /// Loads the model in `folder`, to be known as `name`.
    pub fn load(folder: &Path, name: &str) -> Result<Self> {
        let not_a_model = |problem: &str| ModelError::NotAModel {
            path: folder.to_owned(),
            problem: problem.into(),
        };
        if !folder.is_dir() {
            return Err(not_a_model("no such folder"));
        }
        let mut transformer_folder = folder.to_owned();
        let mut pooling = None;
        let mut normalize = false;
        let modules_path = folder.join("modules.json");
        if modules_path.is_file() {
            let modules: Vec<ModuleEntry> = read_json(&modules_path)?;
            for module in modules {
                let module_folder = folder.join(&module.path);
                match module.kind.rsplit('.').next().unwrap_or_default() {
                    "Transformer" => transformer_folder = module_folder,
                    "Pooling" => pooling = Some(Pooling::read(&module_folder.join("config.json"))?),
                    "Normalize" => normalize = true,
                    _ => {
                        return Err(ModelError::NotAModel {
                            path: folder.to_owned(),
                            problem: format!(
                                "module {} ({}) is not supported; emb supports Transformer, \
                                 Pooling and Normalize modules",
                                module.path, module.kind
                            ),
                        })
                    }
                }
            }
        }
        let config_path = transformer_folder.join("config.json");
        if !config_path.is_file() {
            return Err(not_a_model("config.json is missing"));
        }
        let config = EncoderConfig::read(&config_path)?;
        if crate::cross_encoder_folder(&transformer_folder) {
            return Err(not_a_model(
                "it is a cross-encoder, which scores query/passage pairs rather than embedding \
                 texts: re-rank with it (`emb rerank --reranker NAME`, `emb ask --rerank`)",
            ));
        }
        let weights_path = transformer_folder.join("model.safetensors");
        if !weights_path.is_file() {
            let problem = if transformer_folder.join("pytorch_model.bin").is_file() {
                "it has pytorch_model.bin but no model.safetensors; emb reads safetensors only \
                 (convert with `safetensors`' convert script or download the safetensors revision)"
            } else {
                "model.safetensors is missing"
            };
            return Err(not_a_model(problem));
        }
        let encoder = Encoder::load(&config, folder, &weights_path)?;
        let tokenizer_path = transformer_folder.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(not_a_model("tokenizer.json is missing"));
        }
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|error| ModelError::invalid(&tokenizer_path, error))?;
        // tokenizer.json may turn on padding and truncation (MiniLM's pads to 128): the
        // encoder packs sequences itself and truncates at max_seq_length.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|error| ModelError::invalid(&tokenizer_path, error))?;

        let sentence_bert: SentenceBertConfig =
            read_json_if_present(&transformer_folder.join("sentence_bert_config.json"))?;
        let max_seq_length =
            sentence_bert.max_seq_length.unwrap_or(config.max_tokens()).min(config.max_tokens());
        let settings: SentenceTransformersConfig =
            read_json_if_present(&folder.join("config_sentence_transformers.json"))?;
        let pooling = pooling.unwrap_or_else(Pooling::mean);
        let info = ModelInfo {
            name: name.to_owned(),
            path: folder.to_owned(),
            architecture: config.architecture(),
            dimensions: encoder.hidden_size() * pooling.modes().len(),
            max_seq_length,
            pooling: pooling.modes().join("+"),
            normalize,
            prompts: settings.prompts,
            size_bytes: folder_size(folder),
        };
        Ok(Self {
            info,
            tokenizer,
            encoder,
            pooling,
            lowercase: sentence_bert.do_lower_case,
            default_prompt_name: settings.default_prompt_name,
        })
    }

    /// What this model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The prompt text to prepend, from an explicit `prompt`, else the named prompt
    /// `prompt_name`, else the model's default prompt (if it declares one).
    pub fn resolve_prompt(
        &self,
        prompt: Option<&str>,
        prompt_name: Option<&str>,
    ) -> Result<Option<String>> {
        if let Some(prompt) = prompt {
            return Ok(Some(prompt.to_owned()));
        }
        let Some(name) = prompt_name.or(self.default_prompt_name.as_deref()) else {
            return Ok(None);
        };
        self.info.prompts.get(name).cloned().map(Some).ok_or_else(|| ModelError::UnknownPrompt {
            model: self.info.name.clone(),
            name: name.to_owned(),
            available: if self.info.prompts.is_empty() {
                "none".to_owned()
            } else {
                self.info.prompts.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })
    }

    fn prepare(&self, text: &str, prompt: Option<&str>) -> String {
        // sentence-transformers strips each text and prepends the prompt before tokenizing.
        let text = text.trim();
        let joined = match prompt {
            Some(prompt) => format!("{prompt}{text}"),
            None => text.to_owned(),
        };
        if self.lowercase {
            joined.to_lowercase()
        } else {
            joined
        }
    }

    fn encode(&self, texts: Vec<String>) -> Result<Vec<tokenizers::Encoding>> {
        self.tokenizer
            .encode_batch(texts, true)
            .map_err(|error| ModelError::Tokenizer(error.to_string()))
    }

    /// Cuts an encoding to `max_seq_length`, keeping its trailing special tokens
    /// (so `[CLS] a b c [SEP]` becomes `[CLS] a b [SEP]`, as the tokenizer's own truncation does).
    fn truncated_ids(&self, encoding: &tokenizers::Encoding) -> (Vec<u32>, bool) {
        let ids = encoding.get_ids();
        let limit = self.info.max_seq_length;
        if ids.len() <= limit {
            return (ids.to_vec(), false);
        }
        let trailing = encoding
            .get_special_tokens_mask()
            .iter()
            .rev()
            .take_while(|&&special| special == 1)
            .count();
        let trailing = trailing.min(limit);
        let mut kept = ids[..limit - trailing].to_vec();
        kept.extend_from_slice(&ids[ids.len() - trailing..]);
        (kept, true)
    }

    /// A function counting the tokens of a piece of text as this model's tokenizer splits it,
    /// special tokens not counted (for cutting documents into chunks that fit).
    pub fn token_counter(&self) -> impl Fn(&str) -> usize + Send + Sync + 'static {
        let tokenizer = self.tokenizer.clone();
        let lowercase = self.lowercase;
        move |text: &str| {
            let text = if lowercase { text.to_lowercase() } else { text.to_owned() };
            tokenizer.encode(text, false).map_or(0, |encoding| encoding.len())
        }
    }

    /// Tokenizes `text` as the model would, without truncating, and reports where it would be cut.
    pub fn tokenize(&self, text: &str, prompt: Option<&str>) -> Result<TokenReport> {
        let encoding = self.encode(vec![self.prepare(text, prompt)])?.pop().unwrap_or_default();
        let (kept, truncated) = self.truncated_ids(&encoding);
        Ok(TokenReport {
            tokens: encoding.get_tokens().to_vec(),
            ids: encoding.get_ids().to_vec(),
            used: kept.len(),
            max_seq_length: self.info.max_seq_length,
            truncated,
        })
    }

    /// Tokenizes `texts` (with `prompt` before each) and cuts them to `max_seq_length`, ready
    /// for [`SentenceTransformer::embed_tokenized`]. A server tokenizes each request as it
    /// arrives (to count and limit its tokens), then joins requests into one batch.
    pub fn tokenize_texts<S: AsRef<str>>(
        &self,
        texts: &[S],
        prompt: Option<&str>,
    ) -> Result<Tokenized> {
        if texts.is_empty() {
            return Ok(Tokenized::default());
        }
        let prepared: Vec<String> =
            texts.iter().map(|text| self.prepare(text.as_ref(), prompt)).collect();
        let encodings = self.encode(prepared)?;
        let prompt_tokens = match prompt {
            Some(prompt) if !self.pooling.include_prompt => {
                // The prompt's tokens with the leading special token(s), without the trailing one.
                let encoding =
                    self.encode(vec![self.prepare("", Some(prompt))])?.pop().unwrap_or_default();
                encoding.get_ids().len().saturating_sub(1)
            }
            _ => 0,
        };
        let mut truncated = 0;
        let sequences: Vec<Vec<u32>> = encodings
            .iter()
            .map(|encoding| {
                let (ids, cut) = self.truncated_ids(encoding);
                truncated += usize::from(cut);
                ids
            })
            .collect();
        Ok(Tokenized { sequences, prompt_tokens, truncated })
    }

    /// The text of the token ids `ids` (special tokens left out), for inputs that arrive as
    /// token ids; an id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let vocabulary = self.tokenizer.get_vocab_size(true);
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocabulary) {
            return Err(ModelError::Tokenizer(format!(
                "token id {id} is outside the vocabulary of {} ({vocabulary} tokens)",
                self.info.name
            )));
        }
        self.tokenizer.decode(ids, true).map_err(|error| ModelError::Tokenizer(error.to_string()))
    }

    /// Embeds `texts`, prepending `prompt` to each.
    ///
    /// Texts are tokenized in parallel, sorted by length, packed into batches of
    /// at most 4,096 tokens (no padding) that run on all cores, pooled, optionally
    /// normalised, and returned in input order.
    pub fn embed_texts<S: AsRef<str>>(
        &self,
        texts: &[S],
        prompt: Option<&str>,
    ) -> Result<Embedded> {
        self.embed_tokenized(&self.tokenize_texts(texts, prompt)?)
    }

    /// Embeds texts tokenized by [`SentenceTransformer::tokenize_texts`], in their order.
    pub fn embed_tokenized(&self, tokenized: &Tokenized) -> Result<Embedded> {
        let Tokenized { sequences, prompt_tokens, truncated } = tokenized;
        let (prompt_tokens, truncated) = (*prompt_tokens, *truncated);
        if sequences.is_empty() {
            return Ok(Embedded::default());
        }
        let threads = rayon::current_num_threads().max(1);
        let lengths: Vec<usize> = sequences.iter().map(Vec::len).collect();
        let batches = plan_batches(&lengths, threads, |length| self.encoder.relative_cost(length));
        // One batch alone gets every core inside its matrix products.
        let parallelism = if batches.len() == 1 && threads > 1 {
            Parallelism::Rayon(threads)
        } else {
            Parallelism::None
        };

        let width = self.encoder.hidden_size();
        // Workers take batches in order from a shared counter, so the shrinking batches at the
        // end of the plan are what finishes last on every core.
        let next = AtomicUsize::new(0);
        let workers = threads.min(batches.len());
        let pooled: Vec<Vec<(usize, Vector)>> = (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut done = Vec::new();
                loop {
                    let Some(members) = batches.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return Ok(done);
                    };
                    let mut batch = PackedBatch::new();
                    for &index in members {
                        batch.push(&sequences[index]);
                    }
                    let states = self.encoder.forward(&batch, parallelism)?;
                    for (&index, range) in members.iter().zip(batch.sequences()) {
                        let mut vector = Vec::with_capacity(self.info.dimensions);
                        let rows = &states[range.start * width..range.end * width];
                        self.pooling.pool(rows, width, prompt_tokens, &mut vector);
                        if self.info.normalize {
                            emb_core::distance::normalize(&mut vector);
                        }
                        done.push((index, vector));
                    }
                }
            })
            .collect::<Result<_>>()?;
        let mut vectors = vec![Vec::new(); sequences.len()];
        for (index, vector) in pooled.into_iter().flatten() {
            vectors[index] = vector;
        }
        if truncated > 0 {
            tracing::debug!(truncated, limit = self.info.max_seq_length, "inputs truncated");
        }
        Ok(Embedded { vectors, truncated })
    }
}

impl Embedder for SentenceTransformer {
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
        let mut texts = Vec::with_capacity(inputs.len());
        for input in inputs {
            match input {
                Input::Text(text) => texts.push(*text),
                other => {
                    return Err(emb_core::Error::UnsupportedInput {
                        model: self.info.name.clone(),
                        kind: other.kind(),
                    })
                }
            }
        }
        let prompt = self.resolve_prompt(None, None).map_err(|error| self.wrap(error))?;
        self.embed_texts(&texts, prompt.as_deref())
            .map(|embedded| embedded.vectors)
            .map_err(|error| self.wrap(error))
    }
}

impl SentenceTransformer {
    fn wrap(&self, error: ModelError) -> emb_core::Error {
        emb_core::Error::Embedding { model: self.info.name.clone(), source: Box::new(error) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_sequence_once_and_shrink_at_the_end() {
        let lengths: Vec<usize> = (0..2000).map(|i| 5 + (i * 7919) % 250).collect();
        let batches = plan_batches(&lengths, 2, |length| length as f64);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..2000).collect::<Vec<_>>());
        let tokens: Vec<usize> =
            batches.iter().map(|batch| batch.iter().map(|&i| lengths[i]).sum()).collect();
        assert!(tokens.iter().all(|&t| t <= BATCH_TOKENS));
        assert!(tokens[0] > 4 * tokens[tokens.len() - 2], "{tokens:?}");
        // Longest first.
        assert!(lengths[batches[0][0]] >= lengths[*batches.last().unwrap().last().unwrap()]);
    }

    #[test]
    fn a_few_short_texts_make_one_batch() {
        assert_eq!(plan_batches(&[3, 9, 4], 2, |length| length as f64), vec![vec![1, 2, 0]]);
    }
}
