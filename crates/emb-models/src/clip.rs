//! CLIP: a text tower and a vision tower whose projections share one space, so a caption and a
//! picture of the same thing land near each other.
//!
//! Loads a Hugging Face CLIP folder (the `openai/clip-vit-base-patch32` layout) or a
//! sentence-transformers CLIP folder (`sentence-transformers/clip-ViT-B-32`: `modules.json`
//! pointing at a `CLIPModel` module). Text goes through CLIP's byte-level BPE, a causal
//! pre-norm transformer and the end-of-text token's state; pictures through transformers'
//! `CLIPImageProcessor` steps (shortest side resized with Pillow's bicubic, centre crop,
//! CLIP's mean and std), a vision transformer over patches and the class token's state. Both are projected
//! without normalisation, as sentence-transformers returns them.

use std::path::{Path, PathBuf};

use emb_core::{Embedder, Input, InputKind, Vector};
use gemm::Parallelism;
use rayon::prelude::*;
use serde::Deserialize;
use tokenizers::Tokenizer;

use crate::error::{ModelError, Result};
use crate::kernels;
use crate::layers::{LayerNorm, Linear};
use crate::pictures::{self, CropRounding, Filter, Rgb};
use crate::sentence_transformer::{folder_size, read_json};
use crate::tensors::{TensorFile, Weights};
use crate::{Embedded, ModelInfo, PictureModel, PreparedPicture, TokenReport};

/// Pictures per forward pass of the vision tower.
const PICTURES_PER_BATCH: usize = 16;
/// Texts per forward pass of the text tower.
const TEXTS_PER_BATCH: usize = 64;

#[derive(Debug, Clone, Deserialize)]
struct ClipConfig {
    #[serde(default)]
    text_config: TextConfig,
    #[serde(default)]
    vision_config: VisionConfig,
    #[serde(default = "default_projection")]
    projection_dim: usize,
}

fn default_projection() -> usize {
    512
}
fn default_epsilon() -> f32 {
    1e-5
}
fn default_activation() -> String {
    "quick_gelu".to_owned()
}

/// transformers' `CLIPTextConfig`, with its defaults for what a config leaves out.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct TextConfig {
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    max_position_embeddings: usize,
    hidden_act: String,
    layer_norm_eps: f32,
    eos_token_id: u32,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            vocab_size: 49408,
            hidden_size: 512,
            intermediate_size: 2048,
            num_hidden_layers: 12,
            num_attention_heads: 8,
            max_position_embeddings: 77,
            hidden_act: default_activation(),
            layer_norm_eps: default_epsilon(),
            eos_token_id: 2,
        }
    }
}

/// transformers' `CLIPVisionConfig`, with its defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct VisionConfig {
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_channels: usize,
    image_size: usize,
    patch_size: usize,
    hidden_act: String,
    layer_norm_eps: f32,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 32,
            hidden_act: default_activation(),
            layer_norm_eps: default_epsilon(),
        }
    }
}

/// A size in `preprocessor_config.json`: a number or `{"shortest_edge"}` / `{"height", "width"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Size {
    Side(usize),
    Shortest { shortest_edge: usize },
    Box { height: usize, width: usize },
}

/// The fields of `preprocessor_config.json` (transformers' `CLIPImageProcessor`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct ProcessorConfig {
    do_resize: bool,
    size: Size,
    resample: u32,
    do_center_crop: bool,
    crop_size: Size,
    image_mean: [f32; 3],
    image_std: [f32; 3],
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self {
            do_resize: true,
            size: Size::Shortest { shortest_edge: 224 },
            resample: 3,
            do_center_crop: true,
            crop_size: Size::Box { height: 224, width: 224 },
            image_mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
            image_std: [0.268_629_54, 0.261_302_6, 0.275_777_1],
        }
    }
}

/// How a picture becomes the vision tower's input.
#[derive(Debug, Clone)]
struct Preprocessing {
    /// The shortest side after resizing (or the exact size, for `Size::Box`).
    resize: Option<Size>,
    filter: Filter,
    crop: Option<(usize, usize)>,
    mean: [f32; 3],
    std: [f32; 3],
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    QuickGelu,
    GeluErf,
}

impl Activation {
    fn parse(name: &str, config: &Path) -> Result<Self> {
        match name {
            "quick_gelu" => Ok(Self::QuickGelu),
            "gelu" => Ok(Self::GeluErf),
            other => Err(ModelError::invalid(
                config,
                format!("hidden_act {other} is not supported (quick_gelu and gelu are)"),
            )),
        }
    }

    fn apply(self, rows: &mut [f32], bias: &[f32]) {
        match self {
            Self::QuickGelu => kernels::bias_quick_gelu(rows, bias),
            Self::GeluErf => kernels::bias_gelu_erf(rows, bias),
        }
    }
}

struct Layer {
    norm_before_attention: LayerNorm,
    /// Queries, keys and values in one product: `[tokens, 3 * hidden]`.
    query_key_value: Linear,
    attention_output: Linear,
    norm_before_mlp: LayerNorm,
    up: Linear,
    down: Linear,
}

/// A pre-norm transformer encoder, CLIP's for both towers.
struct Tower {
    hidden: usize,
    heads: usize,
    epsilon: f32,
    activation: Activation,
    layers: Vec<Layer>,
}

impl Tower {
    fn load(
        file: &TensorFile,
        prefix: &str,
        shape: (usize, usize, usize, usize),
        epsilon: f32,
        activation: Activation,
    ) -> Result<Self> {
        let (hidden, intermediate, layer_count, heads) = shape;
        let mut layers = Vec::with_capacity(layer_count);
        for index in 0..layer_count {
            let name = |suffix: &str| format!("{prefix}.encoder.layers.{index}.{suffix}");
            let projection = |part: &str| Linear::load(file, &name(part), hidden, hidden);
            layers.push(Layer {
                norm_before_attention: LayerNorm::load(file, &name("layer_norm1"), hidden)?,
                query_key_value: Linear::concatenate(&[
                    projection("self_attn.q_proj")?,
                    projection("self_attn.k_proj")?,
                    projection("self_attn.v_proj")?,
                ]),
                attention_output: projection("self_attn.out_proj")?,
                norm_before_mlp: LayerNorm::load(file, &name("layer_norm2"), hidden)?,
                up: Linear::load(file, &name("mlp.fc1"), hidden, intermediate)?,
                down: Linear::load(file, &name("mlp.fc2"), intermediate, hidden)?,
            });
        }
        Ok(Self { hidden, heads, epsilon, activation, layers })
    }

    /// Runs every layer over `hidden` (`[tokens, width]`, sequences packed end to end as
    /// `offsets` say), in place. `causal` lets each token see only those before it.
    fn forward(
        &self,
        hidden: &mut [f32],
        offsets: &[usize],
        causal: bool,
        parallelism: Parallelism,
    ) {
        let tokens = hidden.len() / self.hidden;
        let mut normed = Vec::new();
        let mut projected = Vec::new();
        let mut context = vec![0.0; hidden.len()];
        let mut output = Vec::new();
        for layer in &self.layers {
            normed.clear();
            normed.extend_from_slice(hidden);
            layer.norm_before_attention.apply(&mut normed, self.epsilon);
            layer.query_key_value.forward(&normed, tokens, &mut projected, parallelism);
            self.attend(&projected, offsets, causal, &mut context);
            layer.attention_output.forward(&context, tokens, &mut output, parallelism);
            kernels::add_assign(hidden, &output);

            normed.clear();
            normed.extend_from_slice(hidden);
            layer.norm_before_mlp.apply(&mut normed, self.epsilon);
            layer.up.forward_without_bias(&normed, tokens, &mut projected, parallelism);
            self.activation.apply(&mut projected, layer.up.bias.as_slice());
            layer.down.forward(&projected, tokens, &mut output, parallelism);
            kernels::add_assign(hidden, &output);
        }
    }

    /// Multi-head attention of each sequence over itself; `projected` is `[tokens, 3 * hidden]`
    /// (queries, keys, values), `context` receives `[tokens, hidden]`.
    fn attend(&self, projected: &[f32], offsets: &[usize], causal: bool, context: &mut [f32]) {
        let width = self.hidden;
        let head_size = width / self.heads;
        let scale = 1.0 / (head_size as f32).sqrt();
        let row = |token: usize, part: usize, head: usize| {
            let start = token * 3 * width + part * width + head * head_size;
            &projected[start..start + head_size]
        };
        let sequences: Vec<(usize, usize)> =
            offsets.windows(2).map(|pair| (pair[0], pair[1])).collect();
        let outputs: Vec<Vec<f32>> = sequences
            .par_iter()
            .map(|&(start, end)| {
                let length = end - start;
                let mut out = vec![0.0; length * width];
                let mut scores = vec![0.0; length * length];
                for head in 0..self.heads {
                    for (query, row_scores) in scores.chunks_exact_mut(length).enumerate() {
                        let q = row(start + query, 0, head);
                        for (key, score) in row_scores.iter_mut().enumerate() {
                            *score = if causal && key > query {
                                // exp() of this is below 1e-37: nothing, next to the rest.
                                f32::MIN
                            } else {
                                emb_core::distance::dot(q, row(start + key, 1, head)) * scale
                            };
                        }
                    }
                    kernels::softmax_rows(&mut scores, length);
                    for (query, weights) in scores.chunks_exact(length).enumerate() {
                        let visible = if causal { query + 1 } else { length };
                        let target = &mut out[query * width + head * head_size
                            ..query * width + (head + 1) * head_size];
                        for (key, weight) in weights[..visible].iter().enumerate() {
                            for (value, v) in target.iter_mut().zip(row(start + key, 2, head)) {
                                *value += weight * v;
                            }
                        }
                    }
                }
                out
            })
            .collect();
        for ((start, _), out) in sequences.iter().zip(outputs) {
            context[start * width..start * width + out.len()].copy_from_slice(&out);
        }
    }
}

/// Which token's state is a text's: the end-of-text token.
#[derive(Debug, Clone, Copy)]
enum EndOfText {
    /// The highest id of the sequence (transformers' rule when `eos_token_id` is the legacy 2:
    /// `<|endoftext|>` is the last id of CLIP's vocabulary).
    HighestId,
    /// The first occurrence of this id.
    Id(u32),
}

struct TextTower {
    tower: Tower,
    vocabulary: usize,
    token_embedding: Weights,
    position_embedding: Weights,
    final_norm: LayerNorm,
    projection: Linear,
    end_of_text: EndOfText,
}

struct VisionTower {
    tower: Tower,
    patch: usize,
    grid: usize,
    channels: usize,
    /// The patch convolution as a linear layer over flattened `[channels, patch, patch]` blocks.
    patch_embedding: Linear,
    class_embedding: Weights,
    position_embedding: Weights,
    pre_norm: LayerNorm,
    post_norm: LayerNorm,
    projection: Linear,
}

/// A CLIP model: text and pictures into one space.
pub struct ClipModel {
    info: ModelInfo,
    tokenizer: Tokenizer,
    text: TextTower,
    vision: VisionTower,
    preprocessing: Preprocessing,
}

/// The folder holding a CLIP model's `config.json`, if `folder` is a CLIP model: a Hugging Face
/// CLIP folder, or a sentence-transformers folder whose module is `CLIPModel`.
pub fn clip_folder(folder: &Path) -> Option<PathBuf> {
    #[derive(Deserialize)]
    struct Module {
        path: String,
        #[serde(rename = "type")]
        kind: String,
    }
    #[derive(Deserialize)]
    struct ModelType {
        #[serde(default)]
        model_type: String,
    }
    let modules: Option<Vec<Module>> = read_json(&folder.join("modules.json")).ok();
    let inner = match modules {
        Some(modules) => folder.join(&modules.iter().find(|m| m.kind.ends_with("CLIPModel"))?.path),
        None => folder.to_owned(),
    };
    let config: ModelType = read_json(&inner.join("config.json")).ok()?;
    (config.model_type == "clip").then_some(inner)
}

/// Builds CLIP's tokenizer from `vocab.json` and `merges.txt` when a folder has no
/// `tokenizer.json` (the hub's sentence-transformers/clip-ViT-B-32), exactly as transformers
/// converts it.
fn tokenizer_from_vocabulary(folder: &Path) -> Result<Tokenizer> {
    let vocab_path = folder.join("vocab.json");
    let merges_path = folder.join("merges.txt");
    let vocab: serde_json::Map<String, serde_json::Value> = read_json(&vocab_path)?;
    let merges_text = std::fs::read_to_string(&merges_path)
        .map_err(|error| ModelError::io(&merges_path, error))?;
    let merges: Vec<serde_json::Value> = merges_text
        .lines()
        .filter(|line| !line.starts_with("#version") && !line.trim().is_empty())
        .map(|line| {
            let (left, right) = line.split_once(' ').unwrap_or((line, ""));
            serde_json::json!([left, right])
        })
        .collect();
    let id = |token: &str| {
        vocab.get(token).and_then(serde_json::Value::as_u64).ok_or_else(|| {
            ModelError::invalid(&vocab_path, format!("the vocabulary has no {token}"))
        })
    };
    let (start, end) = (id("<|startoftext|>")?, id("<|endoftext|>")?);
    let special = |content: &str, id: u64| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": true, "special": true})
    };
    let description = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special("<|startoftext|>", start), special("<|endoftext|>", end)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex":
                "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
             "use_regex": false}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", end],
            "cls": ["<|startoftext|>", start], "trim_offsets": false, "add_prefix_space": false},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
            "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<|endoftext|>",
            "continuing_subword_prefix": "", "end_of_word_suffix": "</w>", "fuse_unk": false,
            "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": merges}
    });
    description.to_string().parse::<Tokenizer>().map_err(|error| {
        ModelError::invalid(&vocab_path, format!("not a CLIP vocabulary: {error}"))
    })
}

impl ClipModel {
    /// Loads the CLIP model in `folder` (either layout), to be known as `name`.
    pub fn load(folder: &Path, name: &str) -> Result<Self> {
        let inner = clip_folder(folder).ok_or_else(|| ModelError::NotAModel {
            path: folder.to_owned(),
            problem: "its config.json does not describe a CLIP model (model_type clip)".into(),
        })?;
        let config_path = inner.join("config.json");
        let config: ClipConfig = read_json(&config_path)?;
        let weights_path = inner.join("model.safetensors");
        if !weights_path.is_file() {
            return Err(ModelError::NotAModel {
                path: folder.to_owned(),
                problem: if inner.join("pytorch_model.bin").is_file() {
                    "it has pytorch_model.bin but no model.safetensors; emb reads safetensors \
                     only (openai/clip-vit-base-patch32 on the hub has model.safetensors)"
                        .into()
                } else {
                    "model.safetensors is missing".into()
                },
            });
        }
        let mut file = TensorFile::open(&weights_path)?;
        file.detect_prefix("text_model.embeddings.token_embedding.weight", &["", "model."]);
        let text = load_text(&file, &config, &config_path)?;
        let vision = load_vision(&file, &config, &config_path)?;
        let tokenizer_path = inner.join("tokenizer.json");
        let mut tokenizer = if tokenizer_path.is_file() {
            Tokenizer::from_file(&tokenizer_path)
                .map_err(|error| ModelError::invalid(&tokenizer_path, error))?
        } else {
            tokenizer_from_vocabulary(&inner)?
        };
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|error| ModelError::invalid(&tokenizer_path, error))?;
        let processor_path = inner.join("preprocessor_config.json");
        let processor: ProcessorConfig = if processor_path.is_file() {
            read_json(&processor_path)?
        } else {
            ProcessorConfig::default()
        };
        let filter = match processor.resample {
            2 => Filter::Bilinear,
            3 => Filter::Bicubic,
            other => {
                return Err(ModelError::invalid(
                    &processor_path,
                    format!("resample {other} is not supported (2 bilinear, 3 bicubic are)"),
                ))
            }
        };
        let crop = match processor.crop_size {
            Size::Side(side) => (side, side),
            Size::Box { height, width } => (width, height),
            Size::Shortest { shortest_edge } => (shortest_edge, shortest_edge),
        };
        let preprocessing = Preprocessing {
            resize: processor.do_resize.then_some(processor.size),
            filter,
            crop: processor.do_center_crop.then_some(crop),
            mean: processor.image_mean,
            std: processor.image_std,
        };
        let info = ModelInfo {
            name: name.to_owned(),
            path: folder.to_owned(),
            architecture: "CLIPModel".to_owned(),
            dimensions: config.projection_dim,
            max_seq_length: config.text_config.max_position_embeddings,
            pooling: "clip".to_owned(),
            normalize: false,
            prompts: std::collections::BTreeMap::new(),
            size_bytes: folder_size(folder),
        };
        Ok(Self { info, tokenizer, text, vision, preprocessing })
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The side of the square pictures the vision tower reads.
    pub fn image_size(&self) -> usize {
        self.vision.grid * self.vision.patch
    }

    fn encode(&self, text: &str) -> Result<(Vec<u32>, Vec<String>)> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|error| ModelError::Tokenizer(error.to_string()))?;
        Ok((encoding.get_ids().to_vec(), encoding.get_tokens().to_vec()))
    }

    /// Cuts `ids` to the model's length, keeping the end-of-text token last (as transformers'
    /// truncation does).
    fn truncate(&self, mut ids: Vec<u32>) -> (Vec<u32>, bool) {
        let limit = self.info.max_seq_length;
        if ids.len() <= limit {
            return (ids, false);
        }
        let last = *ids.last().expect("longer than the limit");
        ids.truncate(limit - 1);
        ids.push(last);
        (ids, true)
    }

    /// Shows how `text` is tokenized, and whether it would be truncated.
    pub fn tokenize(&self, text: &str) -> Result<TokenReport> {
        let (ids, tokens) = self.encode(text)?;
        let used = ids.len().min(self.info.max_seq_length);
        Ok(TokenReport {
            truncated: ids.len() > used,
            tokens,
            ids,
            used,
            max_seq_length: self.info.max_seq_length,
        })
    }

    /// A function counting the tokens of a piece of text, special tokens not counted.
    pub fn token_counter(&self) -> impl Fn(&str) -> usize + Send + Sync + 'static {
        let tokenizer = self.tokenizer.clone();
        move |text: &str| {
            tokenizer.encode(text.to_lowercase(), false).map_or(0, |encoding| encoding.len())
        }
    }

    /// The text of token ids, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids, true).map_err(|error| ModelError::Tokenizer(error.to_string()))
    }

    /// Embeds texts with the text tower, in their order.
    pub fn embed_texts<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Embedded> {
        let encoded: Vec<(Vec<u32>, bool)> = texts
            .par_iter()
            .map(|text| Ok(self.truncate(self.encode(text.as_ref())?.0)))
            .collect::<Result<_>>()?;
        let truncated = encoded.iter().filter(|(_, cut)| *cut).count();
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in encoded.chunks(TEXTS_PER_BATCH) {
            let sequences: Vec<&[u32]> = chunk.iter().map(|(ids, _)| ids.as_slice()).collect();
            vectors.extend(self.text.forward(&sequences)?);
        }
        Ok(Embedded { vectors, truncated })
    }

    /// The picture as the vision tower sees it before scaling: resized and cropped as the
    /// model's `preprocessor_config.json` says.
    pub fn preprocess(&self, picture: &Rgb) -> Rgb {
        let mut picture = match &self.preprocessing.resize {
            Some(Size::Shortest { shortest_edge: side } | Size::Side(side)) => {
                let (width, height) =
                    pictures::shortest_side_size(picture.width, picture.height, *side);
                pictures::resize(picture, width, height, self.preprocessing.filter)
            }
            Some(Size::Box { height, width }) => {
                pictures::resize(picture, *width, *height, self.preprocessing.filter)
            }
            None => picture.clone(),
        };
        let side = self.image_size();
        let (width, height) = self.preprocessing.crop.unwrap_or((side, side));
        if picture.width != width || picture.height != height {
            if picture.width < width || picture.height < height {
                // Too small to crop (no resize configured): stretch to the size the model needs.
                picture = pictures::resize(&picture, width, height, self.preprocessing.filter);
            } else {
                picture = pictures::centre_crop(&picture, width, height, CropRounding::Floor);
            }
        }
        picture
    }
}

fn load_text(file: &TensorFile, config: &ClipConfig, config_path: &Path) -> Result<TextTower> {
    let text = &config.text_config;
    check_heads(text.hidden_size, text.num_attention_heads, config_path)?;
    let shape = (
        text.hidden_size,
        text.intermediate_size,
        text.num_hidden_layers,
        text.num_attention_heads,
    );
    let activation = Activation::parse(&text.hidden_act, config_path)?;
    Ok(TextTower {
        tower: Tower::load(file, "text_model", shape, text.layer_norm_eps, activation)?,
        vocabulary: text.vocab_size,
        token_embedding: file.get(
            "text_model.embeddings.token_embedding.weight",
            &[text.vocab_size, text.hidden_size],
        )?,
        position_embedding: file.get(
            "text_model.embeddings.position_embedding.weight",
            &[text.max_position_embeddings, text.hidden_size],
        )?,
        final_norm: LayerNorm::load(file, "text_model.final_layer_norm", text.hidden_size)?,
        projection: Linear::load_without_bias(
            file,
            "text_projection",
            text.hidden_size,
            config.projection_dim,
        )?,
        end_of_text: if text.eos_token_id == 2 {
            EndOfText::HighestId
        } else {
            EndOfText::Id(text.eos_token_id)
        },
    })
}

fn load_vision(file: &TensorFile, config: &ClipConfig, config_path: &Path) -> Result<VisionTower> {
    let vision = &config.vision_config;
    check_heads(vision.hidden_size, vision.num_attention_heads, config_path)?;
    if vision.patch_size == 0 || !vision.image_size.is_multiple_of(vision.patch_size) {
        return Err(ModelError::invalid(
            config_path,
            format!(
                "image_size {} is not a multiple of patch_size {}",
                vision.image_size, vision.patch_size
            ),
        ));
    }
    let hidden = vision.hidden_size;
    let (patch, channels) = (vision.patch_size, vision.num_channels);
    let grid = vision.image_size / patch;
    let shape =
        (hidden, vision.intermediate_size, vision.num_hidden_layers, vision.num_attention_heads);
    let activation = Activation::parse(&vision.hidden_act, config_path)?;
    let patch_weight = file
        .get("vision_model.embeddings.patch_embedding.weight", &[hidden, channels, patch, patch])?;
    Ok(VisionTower {
        tower: Tower::load(file, "vision_model", shape, vision.layer_norm_eps, activation)?,
        patch,
        grid,
        channels,
        patch_embedding: Linear {
            weight: patch_weight,
            bias: Weights::Owned(vec![0.0; hidden]),
            inputs: channels * patch * patch,
            outputs: hidden,
        },
        class_embedding: file.get("vision_model.embeddings.class_embedding", &[hidden])?,
        position_embedding: file
            .get("vision_model.embeddings.position_embedding.weight", &[grid * grid + 1, hidden])?,
        pre_norm: LayerNorm::load(file, "vision_model.pre_layrnorm", hidden)?,
        post_norm: LayerNorm::load(file, "vision_model.post_layernorm", hidden)?,
        projection: Linear::load_without_bias(
            file,
            "visual_projection",
            hidden,
            config.projection_dim,
        )?,
    })
}

fn check_heads(hidden: usize, heads: usize, config_path: &Path) -> Result<()> {
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(ModelError::invalid(
            config_path,
            format!("hidden_size {hidden} is not divisible by num_attention_heads {heads}"),
        ));
    }
    Ok(())
}

impl TextTower {
    fn forward(&self, sequences: &[&[u32]]) -> Result<Vec<Vector>> {
        let width = self.tower.hidden;
        let mut offsets = vec![0];
        for sequence in sequences {
            offsets.push(offsets.last().expect("starts with 0") + sequence.len());
        }
        let tokens = *offsets.last().expect("starts with 0");
        let mut hidden = vec![0.0; tokens * width];
        let (words, positions) =
            (self.token_embedding.as_slice(), self.position_embedding.as_slice());
        for (sequence, start) in sequences.iter().zip(&offsets) {
            for (position, &id) in sequence.iter().enumerate() {
                let id = id as usize;
                if id >= self.vocabulary {
                    return Err(ModelError::Tokenizer(format!(
                        "token id {id} is outside the model's vocabulary of {}",
                        self.vocabulary
                    )));
                }
                let row = &mut hidden[(start + position) * width..(start + position + 1) * width];
                row.copy_from_slice(&words[id * width..(id + 1) * width]);
                kernels::add_assign(row, &positions[position * width..(position + 1) * width]);
            }
        }
        self.tower.forward(&mut hidden, &offsets, true, crate::parallelism());
        let mut pooled = Vec::with_capacity(sequences.len() * width);
        for (sequence, start) in sequences.iter().zip(&offsets) {
            let position = match self.end_of_text {
                EndOfText::HighestId => {
                    let highest = sequence.iter().max().copied().unwrap_or_default();
                    sequence.iter().position(|&id| id == highest)
                }
                EndOfText::Id(end) => sequence.iter().position(|&id| id == end),
            }
            .unwrap_or(sequence.len().saturating_sub(1));
            let row = start + position;
            pooled.extend_from_slice(&hidden[row * width..(row + 1) * width]);
        }
        self.final_norm.apply(&mut pooled, self.tower.epsilon);
        Ok(project(&self.projection, &pooled, sequences.len()))
    }
}

fn project(projection: &Linear, pooled: &[f32], rows: usize) -> Vec<Vector> {
    let mut projected = Vec::new();
    projection.forward_without_bias(pooled, rows, &mut projected, Parallelism::None);
    projected.chunks_exact(projection.outputs).map(<[f32]>::to_vec).collect()
}

impl VisionTower {
    /// Embeds `[channels, side, side]` tensors.
    fn forward(&self, tensors: &[&[f32]], parallelism: Parallelism) -> Vec<Vector> {
        let width = self.tower.hidden;
        let (patch, grid, side) = (self.patch, self.grid, self.grid * self.patch);
        let length = grid * grid + 1;
        let patch_inputs = self.channels * patch * patch;
        let mut blocks = Vec::with_capacity(tensors.len() * grid * grid * patch_inputs);
        for tensor in tensors {
            for (block_row, block_column) in (0..grid).flat_map(|r| (0..grid).map(move |c| (r, c)))
            {
                for channel in 0..self.channels {
                    for y in 0..patch {
                        let start = channel * side * side
                            + (block_row * patch + y) * side
                            + block_column * patch;
                        blocks.extend_from_slice(&tensor[start..start + patch]);
                    }
                }
            }
        }
        let mut patches = Vec::new();
        self.patch_embedding.forward_without_bias(
            &blocks,
            tensors.len() * grid * grid,
            &mut patches,
            parallelism,
        );
        let positions = self.position_embedding.as_slice();
        let mut hidden = Vec::with_capacity(tensors.len() * length * width);
        for embedded in patches.chunks_exact(grid * grid * width) {
            hidden.extend_from_slice(self.class_embedding.as_slice());
            hidden.extend_from_slice(embedded);
        }
        for sequence in hidden.chunks_exact_mut(length * width) {
            kernels::add_assign(sequence, positions);
        }
        self.pre_norm.apply(&mut hidden, self.tower.epsilon);
        let offsets: Vec<usize> = (0..=tensors.len()).map(|index| index * length).collect();
        self.tower.forward(&mut hidden, &offsets, false, parallelism);
        let mut pooled = Vec::with_capacity(tensors.len() * width);
        for sequence in hidden.chunks_exact(length * width) {
            pooled.extend_from_slice(&sequence[..width]);
        }
        self.post_norm.apply(&mut pooled, self.tower.epsilon);
        project(&self.projection, &pooled, tensors.len())
    }
}

impl PictureModel for ClipModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn prepare_rgb(&self, picture: &Rgb) -> Result<PreparedPicture> {
        let ready = self.preprocess(picture);
        Ok(PreparedPicture {
            tensor: pictures::normalise(&ready, self.preprocessing.mean, self.preprocessing.std),
        })
    }

    fn embed_pictures(&self, prepared: &[PreparedPicture]) -> Result<Vec<Vector>> {
        let expected = 3 * self.image_size() * self.image_size();
        if let Some(wrong) = prepared.iter().find(|picture| picture.tensor.len() != expected) {
            return Err(ModelError::Picture(format!(
                "a picture prepared for another model ({} values, {} expected)",
                wrong.tensor.len(),
                expected
            )));
        }
        let batches: Vec<Vec<&[f32]>> = prepared
            .chunks(PICTURES_PER_BATCH)
            .map(|batch| batch.iter().map(|picture| picture.tensor.as_slice()).collect())
            .collect();
        // One batch gets every core inside its matrix products; several run side by side, one
        // per core, which spends nothing on synchronising the cores inside each product.
        let vectors: Vec<Vec<Vector>> = if batches.len() == 1 {
            vec![self.vision.forward(&batches[0], crate::parallelism())]
        } else {
            batches.par_iter().map(|batch| self.vision.forward(batch, Parallelism::None)).collect()
        };
        Ok(vectors.into_iter().flatten().collect())
    }
}

impl Embedder for ClipModel {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn dimensions(&self) -> usize {
        self.info.dimensions
    }

    fn accepts(&self, kind: InputKind) -> bool {
        matches!(kind, InputKind::Text | InputKind::Image)
    }

    fn embed_batch(&self, inputs: &[Input<'_>]) -> emb_core::Result<Vec<Vector>> {
        let wrap = |error: ModelError| emb_core::Error::Embedding {
            model: self.info.name.clone(),
            source: Box::new(error),
        };
        let mut texts = Vec::new();
        let mut images = Vec::new();
        for input in inputs {
            match input {
                Input::Text(text) => texts.push(*text),
                Input::Image(bytes) => images.push(*bytes),
                Input::Audio(_) => {
                    return Err(emb_core::Error::UnsupportedInput {
                        model: self.info.name.clone(),
                        kind: InputKind::Audio,
                    })
                }
            }
        }
        let mut texts = self.embed_texts(&texts).map_err(wrap)?.vectors.into_iter();
        let mut images = crate::embed_picture_bytes(self, &images).map_err(wrap)?.into_iter();
        Ok(inputs
            .iter()
            .map(|input| match input {
                Input::Text(_) => texts.next(),
                _ => images.next(),
            })
            .map(|vector| vector.expect("one vector per input"))
            .collect())
    }
}
