//! Scaled dot-product attention of one sequence and one head, register-blocked
//! for the head sizes sentence encoders use (32 and 64).
//!
//! With `k` equal to the head size (32 or 64), the two products of attention
//! are too thin for a general GEMM to run near peak, and there are thousands of
//! them per batch. This kernel keeps a 4-row by 32-column block of scores (and a
//! 4-row by head-size block of output) in registers.

use emb_core::multiversion;

use crate::kernels;

/// Rows of queries computed together.
const ROWS: usize = 4;
/// Columns of keys computed together.
const COLUMNS: usize = 32;

/// Scratch buffers reused across heads and sequences.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    queries: Vec<f32>,
    keys_transposed: Vec<f32>,
    scores: Vec<f32>,
}

/// Where one head of one sequence lives.
pub(crate) struct Head<'a> {
    /// The packed `[tokens, 3 * hidden]` query/key/value matrix.
    pub query_key_value: &'a [f32],
    /// The row stride of `query_key_value` (`3 * hidden`).
    pub stride: usize,
    /// The hidden size: keys start `hidden` after queries, values `2 * hidden` after.
    pub hidden: usize,
    /// The index in `query_key_value` of this head's first query value.
    pub first: usize,
    /// The number of tokens in the sequence.
    pub length: usize,
    /// The factor applied to the scores, `1 / sqrt(head size)`.
    pub scale: f32,
}

/// Whether [`attend`] has a kernel for `head_size`.
pub(crate) fn supports(head_size: usize) -> bool {
    head_size == 32 || head_size == 64
}

/// Computes `softmax(scale * Q K^T) V` for one head, writing `length` rows of `head_size`
/// values into `output`, one row every `output_stride` values.
pub(crate) fn attend(
    head: &Head<'_>,
    head_size: usize,
    scratch: &mut Scratch,
    output: &mut [f32],
    output_stride: usize,
) {
    match head_size {
        32 => attend_32(head, scratch, output, output_stride),
        64 => attend_64(head, scratch, output, output_stride),
        _ => unreachable!("callers check supports()"),
    }
}

multiversion! {
    fn attend_32(head: &Head<'_>, scratch: &mut Scratch, output: &mut [f32], output_stride: usize) {
        attend_generic::<32>(head, scratch, output, output_stride);
    }
}

multiversion! {
    fn attend_64(head: &Head<'_>, scratch: &mut Scratch, output: &mut [f32], output_stride: usize) {
        attend_generic::<64>(head, scratch, output, output_stride);
    }
}

#[inline(always)]
fn attend_generic<const D: usize>(
    head: &Head<'_>,
    scratch: &mut Scratch,
    output: &mut [f32],
    output_stride: usize,
) {
    let length = head.length;
    let padded_rows = length.next_multiple_of(ROWS);
    let padded_columns = length.next_multiple_of(COLUMNS);
    let row = |token: usize| &head.query_key_value[head.first + token * head.stride..];

    // Scaled queries, contiguous, with zero rows up to a multiple of ROWS.
    scratch.queries.clear();
    scratch.queries.resize(padded_rows * D, 0.0);
    for token in 0..length {
        for (target, value) in
            scratch.queries[token * D..(token + 1) * D].iter_mut().zip(&row(token)[..D])
        {
            *target = value * head.scale;
        }
    }
    // Keys transposed to [D, padded_columns], zero beyond the sequence.
    scratch.keys_transposed.clear();
    scratch.keys_transposed.resize(D * padded_columns, 0.0);
    for token in 0..length {
        let key = &row(token)[head.hidden..head.hidden + D];
        for (dimension, value) in key.iter().enumerate() {
            scratch.keys_transposed[dimension * padded_columns + token] = *value;
        }
    }

    // Scores, [padded_rows, padded_columns], in ROWS x COLUMNS register blocks.
    scratch.scores.resize(padded_rows * padded_columns, 0.0);
    for row_start in (0..padded_rows).step_by(ROWS) {
        for column_start in (0..padded_columns).step_by(COLUMNS) {
            let mut block = [[0.0_f32; COLUMNS]; ROWS];
            for dimension in 0..D {
                let keys: &[f32; COLUMNS] = scratch.keys_transposed
                    [dimension * padded_columns + column_start..][..COLUMNS]
                    .try_into()
                    .expect("COLUMNS values");
                for (r, block_row) in block.iter_mut().enumerate() {
                    let query = scratch.queries[(row_start + r) * D + dimension];
                    for (accumulator, key) in block_row.iter_mut().zip(keys) {
                        *accumulator = query.mul_add(*key, *accumulator);
                    }
                }
            }
            for (r, block_row) in block.iter().enumerate() {
                let start = (row_start + r) * padded_columns + column_start;
                scratch.scores[start..start + COLUMNS].copy_from_slice(block_row);
            }
        }
    }
    // Softmax over whole padded rows (no scalar tails): padding columns get a score that
    // exp() takes to (almost) zero, and the product below never reads them.
    for token in 0..length {
        let row = &mut scratch.scores[token * padded_columns..(token + 1) * padded_columns];
        row[length..].fill(-1e30);
        kernels::softmax_in_place(row);
    }

    // Output = probabilities x values, ROWS rows x D values at a time.
    for row_start in (0..padded_rows).step_by(ROWS) {
        let mut block = [[0.0_f32; D]; ROWS];
        for token in 0..length {
            let value: &[f32; D] =
                row(token)[2 * head.hidden..2 * head.hidden + D].try_into().expect("D values");
            for (r, block_row) in block.iter_mut().enumerate() {
                let probability = scratch.scores[(row_start + r) * padded_columns + token];
                for (accumulator, v) in block_row.iter_mut().zip(value) {
                    *accumulator = probability.mul_add(*v, *accumulator);
                }
            }
        }
        for (r, block_row) in block.iter().enumerate().take(length.saturating_sub(row_start)) {
            let start = (row_start + r) * output_stride;
            output[start..start + D].copy_from_slice(block_row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention computed the plain way, in f64.
    fn reference(head: &Head<'_>, head_size: usize) -> Vec<f64> {
        let value = |token: usize, offset: usize, dimension: usize| {
            f64::from(head.query_key_value[head.first + token * head.stride + offset + dimension])
        };
        let mut output = Vec::new();
        for i in 0..head.length {
            let scores: Vec<f64> = (0..head.length)
                .map(|j| {
                    (0..head_size).map(|d| value(i, 0, d) * value(j, head.hidden, d)).sum::<f64>()
                        * f64::from(head.scale)
                })
                .collect();
            let maximum = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - maximum).exp()).collect();
            let total: f64 = weights.iter().sum();
            for d in 0..head_size {
                output.push(
                    (0..head.length)
                        .map(|j| weights[j] / total * value(j, 2 * head.hidden, d))
                        .sum(),
                );
            }
        }
        output
    }

    #[test]
    fn matches_plain_attention_for_awkward_lengths() {
        for head_size in [32, 64] {
            let hidden = head_size * 3;
            let stride = 3 * hidden;
            for length in [1, 3, 4, 5, 31, 32, 33, 70] {
                let values: Vec<f32> = (0..length * stride)
                    .map(|i| ((i * 7919 % 1000) as f32 / 250.0) - 2.0)
                    .collect();
                let head = Head {
                    query_key_value: &values,
                    stride,
                    hidden,
                    first: head_size, // the second head
                    length,
                    scale: 1.0 / (head_size as f32).sqrt(),
                };
                let mut output = vec![f32::NAN; length * hidden];
                attend(&head, head_size, &mut Scratch::default(), &mut output[head_size..], hidden);
                let expected = reference(&head, head_size);
                for token in 0..length {
                    for d in 0..head_size {
                        let got = output[token * hidden + head_size + d];
                        let want = expected[token * head_size + d];
                        assert!((f64::from(got) - want).abs() < 1e-5, "d={head_size} L={length}");
                    }
                }
            }
        }
    }
}
