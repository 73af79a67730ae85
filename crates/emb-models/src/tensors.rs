//! Weight tensors read from a `.safetensors` file by memory map.
//!
//! `f32` tensors that are suitably aligned are used in place; other tensors
//! (`f16`, `bf16`, or unaligned) are converted into owned `f32` buffers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use crate::error::{ModelError, Result};

/// A read-only `f32` tensor, either borrowed from the mapped file or owned.
pub(crate) enum Weights {
    /// A range of the mapped file, in `f32` elements from `start`.
    Mapped { map: Arc<Mmap>, start: usize, length: usize },
    /// A converted copy.
    Owned(Vec<f32>),
}

impl Weights {
    pub(crate) fn as_slice(&self) -> &[f32] {
        match self {
            Weights::Mapped { map, start, length } => {
                let bytes = &map[*start..*start + *length * 4];
                // SAFETY: `start` was checked to be 4-byte aligned relative to the mapping
                // (which is page-aligned), the range lies inside the mapping, and any bit
                // pattern is a valid f32.
                #[allow(clippy::cast_ptr_alignment)] // alignment checked when the tensor was opened
                unsafe {
                    std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), *length)
                }
            }
            Weights::Owned(values) => values,
        }
    }
}

/// An open `.safetensors` file.
pub(crate) struct TensorFile {
    path: PathBuf,
    map: Arc<Mmap>,
    /// The prefix every tensor name carries in this file (`bert.`, `roberta.`, or none).
    prefix: String,
}

impl TensorFile {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|error| ModelError::io(path, error))?;
        // SAFETY: the file is opened read-only; like every mmap-based loader we rely on the
        // model file not being truncated while it is in use.
        let map = unsafe { Mmap::map(&file) }.map_err(|error| ModelError::io(path, error))?;
        SafeTensors::deserialize(&map).map_err(|error| {
            ModelError::invalid(path, format!("not a safetensors file: {error}"))
        })?;
        Ok(Self { path: path.to_owned(), map: Arc::new(map), prefix: String::new() })
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.map).expect("validated when opened")
    }

    /// Uses the first of `prefixes` under which `probe` exists as the name prefix.
    pub(crate) fn detect_prefix(&mut self, probe: &str, prefixes: &[&str]) {
        let names = self.tensors().names().into_iter().map(String::from).collect::<Vec<_>>();
        for prefix in prefixes {
            if names.iter().any(|name| *name == format!("{prefix}{probe}")) {
                (*prefix).clone_into(&mut self.prefix);
                return;
            }
        }
    }

    fn error(&self, name: &str, problem: impl ToString) -> ModelError {
        ModelError::Tensor {
            path: self.path.clone(),
            tensor: format!("{}{name}", self.prefix),
            problem: problem.to_string(),
        }
    }

    /// Loads tensor `name` (after the prefix), checking it has `shape`.
    pub(crate) fn get(&self, name: &str, shape: &[usize]) -> Result<Weights> {
        let full_name = format!("{}{name}", self.prefix);
        let tensors = self.tensors();
        let view = tensors.tensor(&full_name).map_err(|_| self.error(name, "missing"))?;
        if view.shape() != shape {
            return Err(self.error(name, format!("shape {:?}, expected {shape:?}", view.shape())));
        }
        let data = view.data();
        let length: usize = shape.iter().product();
        let start = data.as_ptr() as usize - self.map.as_ptr() as usize;
        match view.dtype() {
            Dtype::F32 if start.is_multiple_of(4) => {
                Ok(Weights::Mapped { map: Arc::clone(&self.map), start, length })
            }
            Dtype::F32 => Ok(Weights::Owned(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            )),
            Dtype::F16 => Ok(Weights::Owned(
                data.chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect(),
            )),
            Dtype::BF16 => Ok(Weights::Owned(
                data.chunks_exact(2)
                    .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                    .collect(),
            )),
            other => Err(self.error(name, format!("dtype {other:?} is not supported"))),
        }
    }

    /// Loads tensor `name` if it exists.
    pub(crate) fn get_optional(&self, name: &str, shape: &[usize]) -> Result<Option<Weights>> {
        if self.tensors().tensor(&format!("{}{name}", self.prefix)).is_err() {
            return Ok(None);
        }
        self.get(name, shape).map(Some)
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The shape of tensor `name`, if it exists.
    pub(crate) fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let tensors = self.tensors();
        let view = tensors.tensor(&format!("{}{name}", self.prefix)).ok()?;
        Some(view.shape().to_vec())
    }

    /// The first dimension of tensor `name`, if it exists.
    pub(crate) fn rows(&self, name: &str) -> Option<usize> {
        let tensors = self.tensors();
        let view = tensors.tensor(&format!("{}{name}", self.prefix)).ok()?;
        view.shape().first().copied()
    }
}

/// Converts an IEEE half-precision value to `f32`.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match (exponent, mantissa) {
        (0, 0) => 0,
        (0, _) => {
            let value = mantissa as f32 * 2f32.powi(-24);
            return if sign == 0 { value } else { -value };
        }
        (0x1f, _) => 0x7f80_0000 | (mantissa << 13),
        _ => ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(sign | magnitude)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
