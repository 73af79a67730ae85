//! ResNet picture embeddings: torchvision's ResNet-18/34/50/101/152, whose average pool before
//! the classifier (512-d for ResNet-18 and -34, 2048-d for the deeper ones) is the classic CNN
//! picture vector.
//!
//! A ResNet folder holds `model.safetensors` with torchvision's tensor names (`conv1.weight`,
//! `bn1.*`, `layer1.0.conv1.weight`, ..., as the hub's `timm/resnet50.tv_in1k` has them) and a
//! `config.json` in timm's layout: `architecture` (`resnet18`, `resnet50`, ...) and
//! `pretrained_cfg` with the input size, the interpolation, `crop_pct`, `mean` and `std`. Without
//! a `pretrained_cfg` the preprocessing is torchvision's ImageNet one: shortest side resized to
//! 256 (bilinear), centre crop 224, ImageNet mean and standard deviation.
//!
//! Batch normalisation is folded into the convolutions when the model loads; a convolution is an
//! `im2col` gather and one GEMM.

use std::collections::BTreeMap;
use std::path::Path;

use emb_core::{Embedder, Input, InputKind, Vector};
use gemm::Parallelism;
use rayon::prelude::*;
use serde::Deserialize;

use crate::error::{ModelError, Result};
use crate::pictures::{self, CropRounding, Filter, Rgb};
use crate::tensors::TensorFile;
use crate::{ModelInfo, PictureModel, PreparedPicture};

/// Batch normalisation's epsilon in torchvision's and timm's ResNets.
const NORM_EPSILON: f32 = 1e-5;

/// Whether `folder` holds a ResNet: a `config.json` whose `architecture` is a ResNet.
pub fn resnet_folder(folder: &Path) -> bool {
    std::fs::read_to_string(folder.join("config.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Config>(&text).ok())
        .and_then(|config| config.architecture)
        .is_some_and(|architecture| architecture.to_ascii_lowercase().starts_with("resnet"))
}

#[derive(Debug, Deserialize)]
struct Config {
    architecture: Option<String>,
    #[serde(default)]
    pretrained_cfg: Option<PreprocessingConfig>,
}

#[derive(Debug, Deserialize)]
struct PreprocessingConfig {
    #[serde(default = "default_input_size")]
    input_size: [usize; 3],
    #[serde(default = "default_interpolation")]
    interpolation: String,
    #[serde(default = "default_crop_fraction")]
    crop_pct: f64,
    #[serde(default = "default_crop_mode")]
    crop_mode: String,
    #[serde(default = "default_mean")]
    mean: [f32; 3],
    #[serde(default = "default_std")]
    std: [f32; 3],
}

fn default_input_size() -> [usize; 3] {
    [3, 224, 224]
}
fn default_interpolation() -> String {
    "bilinear".into()
}
fn default_crop_fraction() -> f64 {
    0.875
}
fn default_crop_mode() -> String {
    "center".into()
}
fn default_mean() -> [f32; 3] {
    [0.485, 0.456, 0.406]
}
fn default_std() -> [f32; 3] {
    [0.229, 0.224, 0.225]
}

impl Default for PreprocessingConfig {
    fn default() -> Self {
        Self {
            input_size: default_input_size(),
            interpolation: default_interpolation(),
            crop_pct: default_crop_fraction(),
            crop_mode: default_crop_mode(),
            mean: default_mean(),
            std: default_std(),
        }
    }
}

/// How a picture is readied: timm's evaluation transform (torchvision's `Resize` then
/// `CenterCrop`, `ToTensor`, `Normalize`).
#[derive(Debug, Clone)]
struct Preprocessing {
    /// The size the picture is resized to first: its shortest side when square, else the box.
    resize: (usize, usize),
    crop: (usize, usize),
    filter: Filter,
    mean: [f32; 3],
    std: [f32; 3],
}

impl Preprocessing {
    fn from_config(config: &PreprocessingConfig, path: &Path) -> Result<Self> {
        let wrong = |problem: String| ModelError::NotAModel { path: path.into(), problem };
        let [channels, height, width] = config.input_size;
        if channels != 3 || height == 0 || width == 0 {
            return Err(wrong(format!(
                "pretrained_cfg.input_size {:?} is not [3, height, width]",
                config.input_size
            )));
        }
        let filter = match config.interpolation.as_str() {
            "bilinear" => Filter::Bilinear,
            "bicubic" => Filter::Bicubic,
            other => {
                return Err(wrong(format!(
                    "pretrained_cfg.interpolation {other:?} is not supported (bilinear or bicubic)"
                )))
            }
        };
        if config.crop_mode != "center" {
            return Err(wrong(format!(
                "pretrained_cfg.crop_mode {:?} is not supported (center)",
                config.crop_mode
            )));
        }
        if !(config.crop_pct > 0.0 && config.crop_pct <= 1.0) {
            return Err(wrong(format!(
                "pretrained_cfg.crop_pct {} is not in (0, 1]",
                config.crop_pct
            )));
        }
        // timm: scale_size = floor(img_size / crop_pct).
        let scaled = |side: usize| (side as f64 / config.crop_pct).floor() as usize;
        Ok(Self {
            resize: (scaled(width), scaled(height)),
            crop: (width, height),
            filter,
            mean: config.mean,
            std: config.std,
        })
    }

    fn apply(&self, picture: &Rgb) -> Rgb {
        let (width, height) = if self.crop.0 == self.crop.1 {
            pictures::shortest_side_size(picture.width, picture.height, self.resize.0)
        } else {
            self.resize
        };
        let resized = pictures::resize(picture, width, height, self.filter);
        pictures::centre_crop(&resized, self.crop.0, self.crop.1, CropRounding::Nearest)
    }
}

/// Feature maps of one picture: `channels` planes of `height` x `width`, row-major.
struct Maps {
    channels: usize,
    height: usize,
    width: usize,
    values: Vec<f32>,
}

/// A convolution with its batch normalisation folded in (`y = W x + b`), no bias of its own.
struct Convolution {
    /// `[outputs, inputs * kernel * kernel]`, row-major.
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl Convolution {
    fn load(file: &TensorFile, convolution: &str, norm: &str, stride: usize) -> Result<Self> {
        let name = format!("{convolution}.weight");
        let shape = file.shape(&name).ok_or_else(|| ModelError::Tensor {
            path: file.path().into(),
            tensor: name.clone(),
            problem: "missing".into(),
        })?;
        let &[outputs, inputs, kernel, kernel_width] = shape.as_slice() else {
            return Err(ModelError::Tensor {
                path: file.path().into(),
                tensor: name,
                problem: format!("shape {shape:?} is not [outputs, inputs, kernel, kernel]"),
            });
        };
        if kernel != kernel_width || kernel % 2 == 0 {
            return Err(ModelError::Tensor {
                path: file.path().into(),
                tensor: name,
                problem: format!("kernel {kernel}x{kernel_width} is not square and odd"),
            });
        }
        let mut weight = file.get(&name, &shape)?.as_slice().to_vec();
        let scale = file.get(&format!("{norm}.weight"), &[outputs])?;
        let shift = file.get(&format!("{norm}.bias"), &[outputs])?;
        let mean = file.get(&format!("{norm}.running_mean"), &[outputs])?;
        let variance = file.get(&format!("{norm}.running_var"), &[outputs])?;
        let per_output = inputs * kernel * kernel;
        let mut bias = Vec::with_capacity(outputs);
        for (output, row) in weight.chunks_exact_mut(per_output).enumerate() {
            let factor =
                scale.as_slice()[output] / (variance.as_slice()[output] + NORM_EPSILON).sqrt();
            for value in row.iter_mut() {
                *value *= factor;
            }
            bias.push(shift.as_slice()[output] - mean.as_slice()[output] * factor);
        }
        Ok(Self { weight, bias, inputs, outputs, kernel, stride, padding: kernel / 2 })
    }

    /// Convolves `input`, adds the bias and `residual` (when given), and applies `ReLU`
    /// when `relu` is set.
    fn forward(
        &self,
        input: &Maps,
        residual: Option<&Maps>,
        relu: bool,
        parallelism: Parallelism,
    ) -> Maps {
        assert_eq!(input.channels, self.inputs);
        let height = (input.height + 2 * self.padding - self.kernel) / self.stride + 1;
        let width = (input.width + 2 * self.padding - self.kernel) / self.stride + 1;
        let positions = height * width;
        let depth = self.inputs * self.kernel * self.kernel;
        let gathered;
        let columns: &[f32] = if self.kernel == 1 && self.stride == 1 {
            &input.values
        } else {
            gathered = self.gather(input, height, width);
            &gathered
        };
        let mut values = vec![0.0_f32; self.outputs * positions];
        // SAFETY: `values` is outputs x positions row-major, the weight outputs x depth
        // row-major and `columns` depth x positions row-major; every index stays inside them.
        unsafe {
            gemm::gemm(
                self.outputs,
                positions,
                depth,
                values.as_mut_ptr(),
                1,
                positions as isize,
                false,
                self.weight.as_ptr(),
                1,
                depth as isize,
                columns.as_ptr(),
                1,
                positions as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        for (channel, plane) in values.chunks_exact_mut(positions).enumerate() {
            let bias = self.bias[channel];
            match residual {
                Some(residual) => {
                    let added = &residual.values[channel * positions..(channel + 1) * positions];
                    for (value, add) in plane.iter_mut().zip(added) {
                        *value += bias + add;
                    }
                }
                None => plane.iter_mut().for_each(|value| *value += bias),
            }
            if relu {
                for value in plane.iter_mut() {
                    *value = value.max(0.0);
                }
            }
        }
        Maps { channels: self.outputs, height, width, values }
    }

    /// `im2col`: row `(channel, dy, dx)` holds the input under that kernel tap at every output
    /// position, zero where the tap falls in the padding.
    fn gather(&self, input: &Maps, height: usize, width: usize) -> Vec<f32> {
        let taps = self.kernel * self.kernel;
        let mut columns = vec![0.0_f32; self.inputs * taps * height * width];
        let (stride, padding) = (self.stride, self.padding);
        for (channel, plane) in input.values.chunks_exact(input.height * input.width).enumerate() {
            for tap in 0..taps {
                let (dy, dx) = (tap / self.kernel, tap % self.kernel);
                let row = &mut columns[(channel * taps + tap) * height * width..][..height * width];
                for (y, out_row) in row.chunks_exact_mut(width).enumerate() {
                    let source_y = (y * stride + dy).wrapping_sub(padding);
                    if source_y >= input.height {
                        continue;
                    }
                    let source = &plane[source_y * input.width..(source_y + 1) * input.width];
                    for (x, value) in out_row.iter_mut().enumerate() {
                        let source_x = (x * stride + dx).wrapping_sub(padding);
                        if source_x < input.width {
                            *value = source[source_x];
                        }
                    }
                }
            }
        }
        columns
    }
}

/// A residual block: torchvision's `BasicBlock` (two 3x3 convolutions) or `Bottleneck` (1x1,
/// 3x3 with the stride, 1x1), with a projection of the shortcut when the shape changes.
struct Block {
    convolutions: Vec<Convolution>,
    downsample: Option<Convolution>,
}

impl Block {
    fn load(file: &TensorFile, prefix: &str, stride: usize, bottleneck: bool) -> Result<Self> {
        let strides: &[usize] = if bottleneck { &[1, stride, 1] } else { &[stride, 1] };
        let convolutions = strides
            .iter()
            .enumerate()
            .map(|(index, stride)| {
                let number = index + 1;
                Convolution::load(
                    file,
                    &format!("{prefix}.conv{number}"),
                    &format!("{prefix}.bn{number}"),
                    *stride,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let downsample = if file.shape(&format!("{prefix}.downsample.0.weight")).is_some() {
            Some(Convolution::load(
                file,
                &format!("{prefix}.downsample.0"),
                &format!("{prefix}.downsample.1"),
                stride,
            )?)
        } else {
            None
        };
        Ok(Self { convolutions, downsample })
    }

    fn forward(&self, input: &Maps, parallelism: Parallelism) -> Maps {
        let (last, inner) = self.convolutions.split_last().expect("a block has convolutions");
        let mut maps: Option<Maps> = None;
        for convolution in inner {
            maps =
                Some(convolution.forward(maps.as_ref().unwrap_or(input), None, true, parallelism));
        }
        let shortcut = self
            .downsample
            .as_ref()
            .map(|downsample| downsample.forward(input, None, false, parallelism));
        last.forward(
            maps.as_ref().unwrap_or(input),
            Some(shortcut.as_ref().unwrap_or(input)),
            true,
            parallelism,
        )
    }
}

/// Max pooling 3x3, stride 2, padding 1 (the stem's).
fn max_pool(input: &Maps) -> Maps {
    let height = (input.height + 2 - 3) / 2 + 1;
    let width = (input.width + 2 - 3) / 2 + 1;
    let mut values = Vec::with_capacity(input.channels * height * width);
    for plane in input.values.chunks_exact(input.height * input.width) {
        for y in 0..height {
            for x in 0..width {
                let mut largest = f32::NEG_INFINITY;
                for source_y in (2 * y).saturating_sub(1)..(2 * y + 2).min(input.height) {
                    for source_x in (2 * x).saturating_sub(1)..(2 * x + 2).min(input.width) {
                        largest = largest.max(plane[source_y * input.width + source_x]);
                    }
                }
                values.push(largest);
            }
        }
    }
    Maps { channels: input.channels, height, width, values }
}

/// A torchvision ResNet up to its average pool.
pub struct ResnetModel {
    info: ModelInfo,
    preprocessing: Preprocessing,
    stem: Convolution,
    blocks: Vec<Block>,
}

impl ResnetModel {
    /// Loads the ResNet in `folder` (see the module documentation), naming it `name`.
    pub fn load(folder: &Path, name: &str) -> Result<Self> {
        let config_path = folder.join("config.json");
        let config: Config = crate::sentence_transformer::read_json(&config_path)?;
        let architecture = config.architecture.unwrap_or_else(|| "resnet".into());
        let preprocessing =
            Preprocessing::from_config(&config.pretrained_cfg.unwrap_or_default(), &config_path)?;
        let weights = folder.join("model.safetensors");
        if !weights.is_file() {
            return Err(ModelError::NotAModel {
                path: folder.into(),
                problem: "no model.safetensors (torchvision's .pth files can be converted with \
                          safetensors.torch.save_file(torch.load(path)))"
                    .into(),
            });
        }
        let file = TensorFile::open(&weights)?;
        if file.shape("conv1.weight").is_none() || file.shape("layer1.0.conv1.weight").is_none() {
            return Err(ModelError::NotAModel {
                path: folder.into(),
                problem: format!(
                    "{architecture}: model.safetensors has no conv1.weight and \
                     layer1.0.conv1.weight; emb runs torchvision's ResNet layout (resnet18 to \
                     resnet152; not the deep-stem variants such as resnet50d)"
                ),
            });
        }
        let bottleneck = file.shape("layer1.0.conv3.weight").is_some();
        let stem = Convolution::load(&file, "conv1", "bn1", 2)?;
        if stem.kernel != 7 || stem.inputs != 3 {
            return Err(ModelError::NotAModel {
                path: folder.into(),
                problem: format!(
                    "{architecture}: conv1 is {}x{} over {} channels, not torchvision's 7x7 over RGB",
                    stem.kernel, stem.kernel, stem.inputs
                ),
            });
        }
        let mut blocks = Vec::new();
        for stage in 1..=4 {
            let stride = if stage == 1 { 1 } else { 2 };
            let mut index = 0;
            while file.shape(&format!("layer{stage}.{index}.conv1.weight")).is_some() {
                let first_stride = if index == 0 { stride } else { 1 };
                blocks.push(Block::load(
                    &file,
                    &format!("layer{stage}.{index}"),
                    first_stride,
                    bottleneck,
                )?);
                index += 1;
            }
            if index == 0 {
                return Err(ModelError::NotAModel {
                    path: folder.into(),
                    problem: format!("{architecture}: model.safetensors has no layer{stage}"),
                });
            }
        }
        let dimensions = blocks
            .last()
            .and_then(|block| block.convolutions.last())
            .map_or(0, |convolution| convolution.outputs);
        let size_bytes = [&weights, &config_path]
            .iter()
            .map(|path| std::fs::metadata(path).map_or(0, |metadata| metadata.len()))
            .sum();
        Ok(Self {
            info: ModelInfo {
                name: name.to_owned(),
                path: folder.into(),
                architecture: format!("ResNet ({architecture})"),
                dimensions,
                max_seq_length: 0,
                pooling: "average".into(),
                normalize: false,
                prompts: BTreeMap::new(),
                size_bytes,
            },
            preprocessing,
            stem,
            blocks,
        })
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The picture as the network sees it before scaling: resized and centre-cropped.
    pub fn preprocess(&self, picture: &Rgb) -> Rgb {
        self.preprocessing.apply(picture)
    }

    fn forward(&self, tensor: &[f32], parallelism: Parallelism) -> Vector {
        let (width, height) = self.preprocessing.crop;
        let input = Maps { channels: 3, height, width, values: tensor.to_vec() };
        let mut maps = max_pool(&self.stem.forward(&input, None, true, parallelism));
        for block in &self.blocks {
            maps = block.forward(&maps, parallelism);
        }
        let positions = (maps.height * maps.width) as f32;
        maps.values
            .chunks_exact(maps.height * maps.width)
            .map(|plane| plane.iter().sum::<f32>() / positions)
            .collect()
    }
}

impl PictureModel for ResnetModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn prepare_picture(&self, bytes: &[u8]) -> Result<PreparedPicture> {
        self.prepare_rgb(&pictures::decode(bytes)?)
    }

    fn prepare_rgb(&self, picture: &Rgb) -> Result<PreparedPicture> {
        let ready = self.preprocess(picture);
        Ok(PreparedPicture {
            tensor: pictures::normalise(&ready, self.preprocessing.mean, self.preprocessing.std),
        })
    }

    fn embed_pictures(&self, prepared: &[PreparedPicture]) -> Result<Vec<Vector>> {
        let (width, height) = self.preprocessing.crop;
        let expected = 3 * width * height;
        if let Some(wrong) = prepared.iter().find(|picture| picture.tensor.len() != expected) {
            return Err(ModelError::Picture(format!(
                "a picture prepared for another model ({} values, {} expected)",
                wrong.tensor.len(),
                expected
            )));
        }
        // One picture gets every core inside its products; several run side by side, one per
        // core.
        Ok(if prepared.len() == 1 {
            vec![self.forward(&prepared[0].tensor, crate::parallelism())]
        } else {
            prepared
                .par_iter()
                .map(|picture| self.forward(&picture.tensor, Parallelism::None))
                .collect()
        })
    }
}

impl Embedder for ResnetModel {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn dimensions(&self) -> usize {
        self.info.dimensions
    }

    fn accepts(&self, kind: InputKind) -> bool {
        kind == InputKind::Image
    }

    fn embed_batch(&self, inputs: &[Input<'_>]) -> emb_core::Result<Vec<Vector>> {
        crate::embed_binary_inputs(self, &self.info.name, InputKind::Image, inputs)
    }
}
