//! The dense building blocks of the transformers: a linear layer on `f32` GEMM and layer
//! normalisation.

use gemm::Parallelism;
use rayon::prelude::*;

use crate::error::Result;
use crate::kernels;
use crate::tensors::{TensorFile, Weights};

/// Products with at most this many rows use dot products instead of a GEMM.
const SMALL_PRODUCT_ROWS: usize = 24;

/// `y = x W^T + b` with `W` of shape `[outputs, inputs]`.
pub(crate) struct Linear {
    pub(crate) weight: Weights,
    pub(crate) bias: Weights,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
}

impl Linear {
    pub(crate) fn load(
        file: &TensorFile,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        Ok(Self {
            weight: file.get(&format!("{name}.weight"), &[outputs, inputs])?,
            bias: file.get(&format!("{name}.bias"), &[outputs])?,
            inputs,
            outputs,
        })
    }

    /// Loads a layer that has no bias (`y = x W^T`), such as CLIP's projections.
    pub(crate) fn load_without_bias(
        file: &TensorFile,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        Ok(Self {
            weight: file.get(&format!("{name}.weight"), &[outputs, inputs])?,
            bias: Weights::Owned(vec![0.0; outputs]),
            inputs,
            outputs,
        })
    }

    /// `y = x W^T + b` for `rows` rows, into `output` (`[rows, outputs]` row-major).
    pub(crate) fn forward(
        &self,
        input: &[f32],
        rows: usize,
        output: &mut Vec<f32>,
        parallelism: Parallelism,
    ) {
        self.forward_without_bias(input, rows, output, parallelism);
        kernels::add_bias_rows(output, self.bias.as_slice());
    }

    /// Stacks several layers with the same input into one (for Q, K and V).
    pub(crate) fn concatenate(parts: &[Linear]) -> Self {
        let weight = parts.iter().flat_map(|part| part.weight.as_slice()).copied().collect();
        let bias = parts.iter().flat_map(|part| part.bias.as_slice()).copied().collect();
        Self {
            weight: Weights::Owned(weight),
            bias: Weights::Owned(bias),
            inputs: parts[0].inputs,
            outputs: parts.iter().map(|part| part.outputs).sum(),
        }
    }

    /// Writes `input W^T` for `rows` rows into `output` (row-major `[rows, outputs]`),
    /// *without* the bias: callers fold the bias into the pass that follows.
    pub(crate) fn forward_without_bias(
        &self,
        input: &[f32],
        rows: usize,
        output: &mut Vec<f32>,
        parallelism: Parallelism,
    ) {
        output.resize(rows * self.outputs, 0.0);
        self.multiply(input, rows, output, (1, self.outputs), parallelism);
    }

    /// Writes `(input W^T + b)^T` into `output` as `[outputs, leading]` row-major (one row per
    /// output feature, one column per input row, `leading >= rows`).
    pub(crate) fn forward_transposed(
        &self,
        input: &[f32],
        rows: usize,
        leading: usize,
        output: &mut Vec<f32>,
        parallelism: Parallelism,
    ) {
        output.resize(self.outputs * leading, 0.0);
        self.multiply(input, rows, output, (leading, 1), parallelism);
        for (feature_row, bias) in output.chunks_exact_mut(leading).zip(self.bias.as_slice()) {
            for value in &mut feature_row[..rows] {
                *value += bias;
            }
        }
    }

    /// `output = input W^T`, with the output's (column, row) strides given.
    pub(crate) fn multiply(
        &self,
        input: &[f32],
        rows: usize,
        output: &mut [f32],
        (column_stride, row_stride): (usize, usize),
        parallelism: Parallelism,
    ) {
        assert_eq!(input.len(), rows * self.inputs);
        if rows == 0 {
            return;
        }
        assert!(output.len() > (rows - 1) * row_stride + (self.outputs - 1) * column_stride);
        let weight = self.weight.as_slice();
        if rows <= SMALL_PRODUCT_ROWS {
            // A GEMM would pack the whole weight matrix for a few rows; dot products against
            // the weight rows read it once, in order (in blocks of features, one per core).
            let features_per_block = match parallelism {
                Parallelism::Rayon(_) => self.outputs.div_ceil(rayon::current_num_threads().max(1)),
                Parallelism::None => self.outputs,
            };
            let blocks: Vec<Vec<f32>> = weight
                .par_chunks(features_per_block * self.inputs)
                .map(|block| {
                    let mut products = Vec::with_capacity(rows * block.len() / self.inputs);
                    for weight_row in block.chunks_exact(self.inputs) {
                        for input_row in input.chunks_exact(self.inputs) {
                            products.push(emb_core::distance::dot(input_row, weight_row));
                        }
                    }
                    products
                })
                .collect();
            for (block_index, products) in blocks.iter().enumerate() {
                for (offset, per_row) in products.chunks_exact(rows).enumerate() {
                    let feature = block_index * features_per_block + offset;
                    for (row, product) in per_row.iter().enumerate() {
                        output[row * row_stride + feature * column_stride] = *product;
                    }
                }
            }
            return;
        }
        // SAFETY: `input` is rows x inputs row-major; `output` holds element (row, feature) at
        // row * row_stride + feature * column_stride (checked in bounds above); the weight is
        // outputs x inputs row-major, read as its transpose (inputs x outputs).
        unsafe {
            gemm::gemm(
                rows,
                self.outputs,
                self.inputs,
                output.as_mut_ptr(),
                column_stride as isize,
                row_stride as isize,
                false,
                input.as_ptr(),
                1,
                self.inputs as isize,
                weight.as_ptr(),
                self.inputs as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
}

pub(crate) struct LayerNorm {
    weight: Weights,
    bias: Weights,
}

impl LayerNorm {
    pub(crate) fn load(file: &TensorFile, name: &str, width: usize) -> Result<Self> {
        Ok(Self {
            weight: file.get(&format!("{name}.weight"), &[width])?,
            bias: file.get(&format!("{name}.bias"), &[width])?,
        })
    }

    pub(crate) fn apply(&self, rows: &mut [f32], epsilon: f32) {
        kernels::layer_norm(rows, self.weight.as_slice(), self.bias.as_slice(), epsilon);
    }

    /// `rows = norm(rows + input_bias + residual)`.
    pub(crate) fn apply_with_residual(
        &self,
        rows: &mut [f32],
        input_bias: &[f32],
        residual: &[f32],
        epsilon: f32,
    ) {
        kernels::residual_layer_norm(
            rows,
            input_bias,
            residual,
            self.weight.as_slice(),
            self.bias.as_slice(),
            epsilon,
        );
    }
}
