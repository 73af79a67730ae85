//! A BERT-family transformer encoder (BERT, `RoBERTa`, XLM-`RoBERTa`) on `f32` GEMM.
//!
//! A batch is *packed*: the tokens of all its sequences are stacked into one
//! `[tokens, hidden]` matrix with no padding, so the dense layers run one large
//! GEMM over exactly the real tokens, and attention runs per sequence over its
//! own length. Nothing is spent on padding, whatever the mix of lengths.

use std::path::Path;

use gemm::Parallelism;
use serde::Deserialize;

use crate::attention;
use crate::error::{ModelError, Result};
use crate::kernels;
use crate::layers::{LayerNorm, Linear};
use crate::tensors::{TensorFile, Weights};

/// The fields of a Hugging Face `config.json` that the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EncoderConfig {
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub model_type: String,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_layer_norm_epsilon")]
    pub layer_norm_eps: f32,
    #[serde(default = "default_activation")]
    pub hidden_act: String,
    #[serde(default)]
    pub pad_token_id: usize,
    pub vocab_size: usize,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_layer_norm_epsilon() -> f32 {
    1e-12
}
fn default_activation() -> String {
    "gelu".to_owned()
}

impl EncoderConfig {
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| ModelError::io(path, error))?;
        serde_json::from_str(&text).map_err(|error| ModelError::invalid(path, error))
    }

    /// The first position id a sequence uses (`RoBERTa` counts from `pad_token_id + 1`).
    pub(crate) fn position_offset(&self) -> usize {
        if self.is_roberta_family() {
            self.pad_token_id + 1
        } else {
            0
        }
    }

    fn is_roberta_family(&self) -> bool {
        matches!(self.model_type.as_str(), "roberta" | "xlm-roberta" | "camembert")
    }

    /// The longest sequence the position table allows.
    pub(crate) fn max_tokens(&self) -> usize {
        self.max_position_embeddings - self.position_offset()
    }

    pub(crate) fn architecture(&self) -> String {
        self.architectures.first().cloned().unwrap_or_else(|| self.model_type.clone())
    }
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

struct Layer {
    /// Queries and values in one product; keys separately, written transposed.
    query_value: Linear,
    key: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A loaded encoder, ready to run.
pub(crate) struct Encoder {
    hidden: usize,
    heads: usize,
    epsilon: f32,
    activation: Activation,
    position_offset: usize,
    vocabulary: usize,
    word_embeddings: Weights,
    position_embeddings: Weights,
    /// `[types, hidden]`: a zero row when the model has no token types.
    token_type_embeddings: Weights,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
}

/// Sequences packed for one forward pass: all token ids end to end, and where each begins.
#[derive(Debug, Default, Clone)]
pub(crate) struct PackedBatch {
    pub ids: Vec<u32>,
    /// `offsets[s]..offsets[s + 1]` are the tokens of sequence `s`; starts with 0.
    pub offsets: Vec<usize>,
    /// The token type (segment) of each token, for sentence pairs; empty when every token is
    /// of type 0.
    pub types: Vec<u32>,
}

impl PackedBatch {
    pub(crate) fn new() -> Self {
        Self { ids: Vec::new(), offsets: vec![0], types: Vec::new() }
    }

    pub(crate) fn push(&mut self, ids: &[u32]) {
        self.ids.extend_from_slice(ids);
        self.offsets.push(self.ids.len());
    }

    /// Adds a sequence whose tokens have their own types (a pair: 0 for the first text, 1
    /// for the second).
    pub(crate) fn push_typed(&mut self, ids: &[u32], types: &[u32]) {
        debug_assert_eq!(ids.len(), types.len());
        self.types.resize(self.ids.len(), 0);
        self.types.extend_from_slice(types);
        self.push(ids);
    }

    pub(crate) fn tokens(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn sequences(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.offsets.windows(2).map(|pair| pair[0]..pair[1])
    }
}

impl Encoder {
    /// Loads the encoder described by `config` from the safetensors file at `weights_path`.
    pub(crate) fn load(config: &EncoderConfig, folder: &Path, weights_path: &Path) -> Result<Self> {
        let supported =
            matches!(config.model_type.as_str(), "bert" | "roberta" | "xlm-roberta" | "camembert")
                && config.position_embedding_type.as_deref().is_none_or(|kind| kind == "absolute");
        if !supported {
            return Err(ModelError::UnsupportedArchitecture {
                path: folder.to_owned(),
                architecture: config.architecture(),
                model_type: config.model_type.clone(),
            });
        }
        let activation = match config.hidden_act.as_str() {
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(ModelError::invalid(
                    folder.join("config.json"),
                    format!("hidden_act {other} is not supported (gelu, gelu_new, relu are)"),
                ))
            }
        };
        let hidden = config.hidden_size;
        if config.num_attention_heads == 0 || !hidden.is_multiple_of(config.num_attention_heads) {
            return Err(ModelError::invalid(
                folder.join("config.json"),
                format!(
                    "hidden_size {hidden} is not divisible by num_attention_heads {}",
                    config.num_attention_heads
                ),
            ));
        }
        let mut file = TensorFile::open(weights_path)?;
        file.detect_prefix(
            "embeddings.word_embeddings.weight",
            &["", "bert.", "roberta.", "model.", "0.auto_model."],
        );
        let intermediate = config.intermediate_size;
        let type_rows = file.rows("embeddings.token_type_embeddings.weight").unwrap_or(1);
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for index in 0..config.num_hidden_layers {
            let name = |suffix: &str| format!("encoder.layer.{index}.{suffix}");
            let attention = |part: &str| Linear::load(&file, &name(part), hidden, hidden);
            layers.push(Layer {
                query_value: Linear::concatenate(&[
                    attention("attention.self.query")?,
                    attention("attention.self.value")?,
                ]),
                key: attention("attention.self.key")?,
                attention_output: attention("attention.output.dense")?,
                attention_norm: LayerNorm::load(
                    &file,
                    &name("attention.output.LayerNorm"),
                    hidden,
                )?,
                intermediate: Linear::load(
                    &file,
                    &name("intermediate.dense"),
                    hidden,
                    intermediate,
                )?,
                output: Linear::load(&file, &name("output.dense"), intermediate, hidden)?,
                output_norm: LayerNorm::load(&file, &name("output.LayerNorm"), hidden)?,
            });
        }
        let token_type_embeddings = file
            .get_optional("embeddings.token_type_embeddings.weight", &[type_rows, hidden])?
            .unwrap_or_else(|| Weights::Owned(vec![0.0; hidden]));
        Ok(Self {
            hidden,
            heads: config.num_attention_heads,
            epsilon: config.layer_norm_eps,
            activation,
            position_offset: config.position_offset(),
            vocabulary: config.vocab_size,
            word_embeddings: file
                .get("embeddings.word_embeddings.weight", &[config.vocab_size, hidden])?,
            position_embeddings: file.get(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, hidden],
            )?,
            token_type_embeddings,
            embeddings_norm: LayerNorm::load(&file, "embeddings.LayerNorm", hidden)?,
            layers,
        })
    }

    /// The width of the hidden states.
    pub(crate) fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// The work of encoding one sequence of `length` tokens, in multiply-adds per layer:
    /// the dense layers grow with the length, attention with its square.
    pub(crate) fn relative_cost(&self, length: usize) -> f64 {
        let hidden = self.hidden as f64;
        let intermediate =
            self.layers.first().map_or(0.0, |layer| layer.intermediate.outputs as f64);
        let length = length as f64;
        length * (4.0 * hidden * hidden + 2.0 * hidden * intermediate)
            + 2.0 * length * length * hidden
    }

    /// Runs the encoder over a packed batch and returns the last hidden states,
    /// `[batch.tokens(), hidden]` row-major.
    pub(crate) fn forward(
        &self,
        batch: &PackedBatch,
        parallelism: Parallelism,
    ) -> Result<Vec<f32>> {
        let tokens = batch.tokens();
        let mut hidden = self.embed_tokens(batch)?;
        let mut query_value = Vec::new();
        let mut keys_transposed = Vec::new();
        // Key rows are read up to one block past a sequence's end, so pad the columns.
        let key_stride = tokens + attention::COLUMNS;
        let mut context = vec![0.0; tokens * self.hidden];
        let mut attended = Vec::new();
        let mut intermediate = Vec::new();
        let mut scratch = attention::Scratch::default();
        let mut scores = Vec::new();
        for layer in &self.layers {
            layer.query_value.forward_without_bias(&hidden, tokens, &mut query_value, parallelism);
            kernels::add_bias_rows(&mut query_value, layer.query_value.bias.as_slice());
            layer.key.forward_transposed(
                &hidden,
                tokens,
                key_stride,
                &mut keys_transposed,
                parallelism,
            );
            let projections = Projections {
                query_value: &query_value,
                keys_transposed: &keys_transposed,
                key_stride,
            };
            self.attention(&projections, batch, &mut context, &mut scratch, &mut scores);
            layer.attention_output.forward_without_bias(
                &context,
                tokens,
                &mut attended,
                parallelism,
            );
            layer.attention_norm.apply_with_residual(
                &mut attended,
                layer.attention_output.bias.as_slice(),
                &hidden,
                self.epsilon,
            );
            layer.intermediate.forward_without_bias(
                &attended,
                tokens,
                &mut intermediate,
                parallelism,
            );
            let bias = layer.intermediate.bias.as_slice();
            match self.activation {
                Activation::GeluErf => kernels::bias_gelu_erf(&mut intermediate, bias),
                Activation::GeluTanh => kernels::bias_gelu_tanh(&mut intermediate, bias),
                Activation::Relu => kernels::bias_relu(&mut intermediate, bias),
            }
            layer.output.forward_without_bias(&intermediate, tokens, &mut hidden, parallelism);
            layer.output_norm.apply_with_residual(
                &mut hidden,
                layer.output.bias.as_slice(),
                &attended,
                self.epsilon,
            );
        }
        Ok(hidden)
    }

    /// Word + position + token-type embeddings, layer-normalised.
    fn embed_tokens(&self, batch: &PackedBatch) -> Result<Vec<f32>> {
        let width = self.hidden;
        let words = self.word_embeddings.as_slice();
        let positions = self.position_embeddings.as_slice();
        let token_types = self.token_type_embeddings.as_slice();
        let type_rows = token_types.len() / width;
        let mut hidden = vec![0.0; batch.tokens() * width];
        for sequence in batch.sequences() {
            for (position, token) in sequence.enumerate() {
                let id = batch.ids[token] as usize;
                if id >= self.vocabulary {
                    return Err(ModelError::Tokenizer(format!(
                        "token id {id} is outside the model's vocabulary of {}",
                        self.vocabulary
                    )));
                }
                let row = &mut hidden[token * width..(token + 1) * width];
                let position = position + self.position_offset;
                row.copy_from_slice(&words[id * width..(id + 1) * width]);
                kernels::add_assign(row, &positions[position * width..(position + 1) * width]);
                let kind = batch.types.get(token).map_or(0, |&kind| kind as usize);
                if kind >= type_rows {
                    return Err(ModelError::Tokenizer(format!(
                        "token type {kind} is outside the model's {type_rows} token types"
                    )));
                }
                kernels::add_assign(row, &token_types[kind * width..(kind + 1) * width]);
            }
        }
        self.embeddings_norm.apply(&mut hidden, self.epsilon);
        Ok(hidden)
    }

    /// Multi-head self-attention of every sequence over itself: the register-blocked kernel
    /// for head sizes it supports, two GEMMs per head otherwise. Writes `[tokens, hidden]`
    /// into `context`.
    fn attention(
        &self,
        projections: &Projections<'_>,
        batch: &PackedBatch,
        context: &mut [f32],
        scratch: &mut attention::Scratch,
        scores: &mut Vec<f32>,
    ) {
        let hidden = self.hidden;
        let head_size = hidden / self.heads;
        let stride = 2 * hidden;
        let scale = 1.0 / (head_size as f32).sqrt();
        let key_stride = projections.key_stride;
        for sequence in batch.sequences() {
            let length = sequence.len();
            for head in 0..self.heads {
                let first = sequence.start * stride + head * head_size;
                let first_key = head * head_size * key_stride + sequence.start;
                let output_start = sequence.start * hidden + head * head_size;
                if attention::supports(head_size) {
                    let view = attention::Head {
                        query_value: projections.query_value,
                        stride,
                        hidden,
                        first,
                        keys_transposed: projections.keys_transposed,
                        key_stride,
                        first_key,
                        length,
                        scale,
                    };
                    attention::attend(
                        &view,
                        head_size,
                        scratch,
                        &mut context[output_start..],
                        hidden,
                    );
                    continue;
                }
                scores.resize(length * length, 0.0);
                let query = projections.query_value[first..].as_ptr();
                let value = projections.query_value[first + hidden..].as_ptr();
                let key = projections.keys_transposed[first_key..].as_ptr();
                // SAFETY: this head's queries and values are `length` rows of `head_size` values
                // `stride` apart in `query_value`; its keys are `head_size` rows of `length`
                // values `key_stride` apart in `keys_transposed`; `scores` holds length x length
                // values; the output block is `length` rows of `head_size` values `hidden` apart
                // in `context`.
                unsafe {
                    // scores = scale * Q K^T
                    gemm::gemm(
                        length,
                        length,
                        head_size,
                        scores.as_mut_ptr(),
                        1,
                        length as isize,
                        false,
                        query,
                        1,
                        stride as isize,
                        key,
                        1,
                        key_stride as isize,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
                kernels::softmax_rows(scores, length);
                let output = context[output_start..].as_mut_ptr();
                // SAFETY: as above. context = softmax(scores) V
                unsafe {
                    gemm::gemm(
                        length,
                        head_size,
                        length,
                        output,
                        1,
                        hidden as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        length as isize,
                        value,
                        1,
                        stride as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            }
        }
    }
}

/// The attention inputs of one layer: queries and values row by row, keys transposed.
struct Projections<'a> {
    /// `[tokens, 2 * hidden]`: each row holds a token's query then its value.
    query_value: &'a [f32],
    /// `[hidden, key_stride]`: row `d` holds dimension `d` of every token's key.
    keys_transposed: &'a [f32],
    key_stride: usize,
}
