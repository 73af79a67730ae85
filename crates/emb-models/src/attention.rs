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
/// Columns of keys computed together; key rows must be readable this far past a sequence.
pub(crate) const COLUMNS: usize = 32;

/// Scratch buffers reused across heads and sequences.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    queries: Vec<f32>,
    /// The scores of one block of query rows.
    scores: Vec<f32>,
}

/// Where one head of one sequence lives.
pub(crate) struct Head<'a> {
    /// The packed `[tokens, 2 * hidden]` query/value matrix (queries first in each row).
    pub query_value: &'a [f32],
    /// The row stride of `query_value` (`2 * hidden`).
    pub stride: usize,
    /// The hidden size: values start `hidden` after queries.
    pub hidden: usize,
    /// The index in `query_value` of this head's first query value.
    pub first: usize,
    /// Keys transposed, `[hidden, columns]`: row `d` holds dimension `d` of every token's key.
    /// Reads run up to 31 columns past the sequence, so the matrix must be padded.
    pub keys_transposed: &'a [f32],
    /// The row stride of `keys_transposed`.
    pub key_stride: usize,
    /// The index in `keys_transposed` of this head's first dimension for the sequence's first token.
    pub first_key: usize,
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

fn attend_32(head: &Head<'_>, scratch: &mut Scratch, output: &mut [f32], output_stride: usize) {
    #[cfg(target_arch = "x86_64")]
    if emb_core::simd::level() == emb_core::simd::Level::Avx512 {
        // SAFETY: the CPU has AVX-512 (F, BW, VL, DQ) and FMA.
        unsafe { avx512::attend::<32>(head, scratch, output, output_stride) };
        return;
    }
    attend_portable_32(head, scratch, output, output_stride);
}

fn attend_64(head: &Head<'_>, scratch: &mut Scratch, output: &mut [f32], output_stride: usize) {
    #[cfg(target_arch = "x86_64")]
    if emb_core::simd::level() == emb_core::simd::Level::Avx512 {
        // SAFETY: as above.
        unsafe { avx512::attend::<64>(head, scratch, output, output_stride) };
        return;
    }
    attend_portable_64(head, scratch, output, output_stride);
}

multiversion! {
    fn attend_portable_32(head: &Head<'_>, scratch: &mut Scratch, output: &mut [f32], output_stride: usize) {
        attend_generic::<32>(head, scratch, output, output_stride, &PortableBlocks);
    }
}

multiversion! {
    fn attend_portable_64(head: &Head<'_>, scratch: &mut Scratch, output: &mut [f32], output_stride: usize) {
        attend_generic::<64>(head, scratch, output, output_stride, &PortableBlocks);
    }
}

/// The two register-blocked inner products of attention.
trait Blocks {
    /// `scores[r][0..COLUMNS] = sum_d queries[r][d] * keys[d][0..COLUMNS]` for `ROWS` rows.
    ///
    /// `queries` is `ROWS x D` row-major; key row `d` starts at `keys[d * key_stride]`;
    /// score row `r` starts at `scores[r * score_stride]`.
    fn scores<const D: usize>(
        &self,
        queries: &[f32],
        keys: &[f32],
        key_stride: usize,
        scores: &mut [f32],
        score_stride: usize,
    );

    /// `output[r][0..D] = sum_t probabilities[r][t] * values[t][0..D]` for `ROWS` rows and
    /// `length` tokens; value row `t` starts at `values[t * value_stride]`.
    fn weighted_sum<const D: usize>(
        &self,
        probabilities: &[f32],
        probability_stride: usize,
        values: &[f32],
        value_stride: usize,
        length: usize,
    ) -> [[f32; D]; ROWS];
}

struct PortableBlocks;

impl Blocks for PortableBlocks {
    #[inline(always)]
    fn scores<const D: usize>(
        &self,
        queries: &[f32],
        keys: &[f32],
        key_stride: usize,
        scores: &mut [f32],
        score_stride: usize,
    ) {
        let mut block = [[0.0_f32; COLUMNS]; ROWS];
        for dimension in 0..D {
            let key_row: &[f32; COLUMNS] =
                keys[dimension * key_stride..][..COLUMNS].try_into().expect("COLUMNS values");
            for (r, block_row) in block.iter_mut().enumerate() {
                let query = queries[r * D + dimension];
                for (accumulator, key) in block_row.iter_mut().zip(key_row) {
                    *accumulator = query.mul_add(*key, *accumulator);
                }
            }
        }
        for (r, block_row) in block.iter().enumerate() {
            scores[r * score_stride..r * score_stride + COLUMNS].copy_from_slice(block_row);
        }
    }

    #[inline(always)]
    fn weighted_sum<const D: usize>(
        &self,
        probabilities: &[f32],
        probability_stride: usize,
        values: &[f32],
        value_stride: usize,
        length: usize,
    ) -> [[f32; D]; ROWS] {
        let mut block = [[0.0_f32; D]; ROWS];
        for token in 0..length {
            let value: &[f32; D] =
                values[token * value_stride..][..D].try_into().expect("D values");
            for (r, block_row) in block.iter_mut().enumerate() {
                let probability = probabilities[r * probability_stride + token];
                for (accumulator, v) in block_row.iter_mut().zip(value) {
                    *accumulator = probability.mul_add(*v, *accumulator);
                }
            }
        }
        block
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The inner blocks with explicit AVX-512 instructions: the compiler's own vectorisation of
    //! the portable blocks spends about as many instructions on loop bookkeeping as on FMAs.

    use std::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };

    use super::{Blocks, Head, Scratch, COLUMNS, ROWS};

    const LANES: usize = 16;

    pub(super) struct Avx512Blocks;

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    pub(super) unsafe fn attend<const D: usize>(
        head: &Head<'_>,
        scratch: &mut Scratch,
        output: &mut [f32],
        output_stride: usize,
    ) {
        super::attend_generic::<D>(head, scratch, output, output_stride, &Avx512Blocks);
    }

    impl Blocks for Avx512Blocks {
        #[inline(always)]
        fn scores<const D: usize>(
            &self,
            queries: &[f32],
            keys: &[f32],
            key_stride: usize,
            scores: &mut [f32],
            score_stride: usize,
        ) {
            assert!(queries.len() >= ROWS * D);
            assert!(keys.len() >= (D - 1) * key_stride + COLUMNS);
            assert!(scores.len() >= (ROWS - 1) * score_stride + COLUMNS);
            // SAFETY: every pointer below stays inside the slices, by the asserts above; the
            // caller (attend) runs only on CPUs with AVX-512.
            unsafe {
                let mut block: [[__m512; 2]; ROWS] = [[_mm512_setzero_ps(); 2]; ROWS];
                let queries = queries.as_ptr();
                let keys = keys.as_ptr();
                for dimension in 0..D {
                    let key_row = keys.add(dimension * key_stride);
                    let low = _mm512_loadu_ps(key_row);
                    let high = _mm512_loadu_ps(key_row.add(LANES));
                    for (r, block_row) in block.iter_mut().enumerate() {
                        let query = _mm512_set1_ps(*queries.add(r * D + dimension));
                        block_row[0] = _mm512_fmadd_ps(query, low, block_row[0]);
                        block_row[1] = _mm512_fmadd_ps(query, high, block_row[1]);
                    }
                }
                let scores = scores.as_mut_ptr();
                for (r, block_row) in block.iter().enumerate() {
                    _mm512_storeu_ps(scores.add(r * score_stride), block_row[0]);
                    _mm512_storeu_ps(scores.add(r * score_stride + LANES), block_row[1]);
                }
            }
        }

        #[inline(always)]
        fn weighted_sum<const D: usize>(
            &self,
            probabilities: &[f32],
            probability_stride: usize,
            values: &[f32],
            value_stride: usize,
            length: usize,
        ) -> [[f32; D]; ROWS] {
            assert!(D.is_multiple_of(LANES) && D <= 4 * LANES);
            if length == 0 {
                return [[0.0; D]; ROWS];
            }
            assert!(probabilities.len() >= (ROWS - 1) * probability_stride + length);
            assert!(values.len() >= (length - 1) * value_stride + D);
            let vectors = D / LANES;
            let mut result = [[0.0_f32; D]; ROWS];
            // SAFETY: as in `scores`.
            unsafe {
                let mut block: [[__m512; 4]; ROWS] = [[_mm512_setzero_ps(); 4]; ROWS];
                let probabilities = probabilities.as_ptr();
                let values = values.as_ptr();
                for token in 0..length {
                    let value_row = values.add(token * value_stride);
                    let mut value = [_mm512_setzero_ps(); 4];
                    for (v, slot) in value.iter_mut().enumerate().take(vectors) {
                        *slot = _mm512_loadu_ps(value_row.add(v * LANES));
                    }
                    for (r, block_row) in block.iter_mut().enumerate() {
                        let probability =
                            _mm512_set1_ps(*probabilities.add(r * probability_stride + token));
                        for v in 0..vectors {
                            block_row[v] = _mm512_fmadd_ps(probability, value[v], block_row[v]);
                        }
                    }
                }
                for (r, block_row) in block.iter().enumerate() {
                    for v in 0..vectors {
                        _mm512_storeu_ps(result[r].as_mut_ptr().add(v * LANES), block_row[v]);
                    }
                }
            }
            result
        }
    }
}

#[inline(always)]
fn attend_generic<const D: usize>(
    head: &Head<'_>,
    scratch: &mut Scratch,
    output: &mut [f32],
    output_stride: usize,
    blocks: &impl Blocks,
) {
    let length = head.length;
    let padded_rows = length.next_multiple_of(ROWS);
    let padded_columns = length.next_multiple_of(COLUMNS);
    let row = |token: usize| &head.query_value[head.first + token * head.stride..];

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

    // One block of ROWS query rows at a time: its scores (ROWS x padded_columns, small enough
    // to stay in the L1 cache), their softmax, then their weighted sum of the values. Keys and
    // values are read once per block either way; the scores never leave the cache.
    scratch.scores.resize(ROWS * padded_columns, 0.0);
    let values = &head.query_value[head.first + head.hidden..];
    for row_start in (0..padded_rows).step_by(ROWS) {
        for column_start in (0..padded_columns).step_by(COLUMNS) {
            blocks.scores::<D>(
                &scratch.queries[row_start * D..],
                &head.keys_transposed[head.first_key + column_start..],
                head.key_stride,
                &mut scratch.scores[column_start..],
                padded_columns,
            );
        }
        // Softmax over whole padded rows (no scalar tails): padding columns get a score that
        // exp() takes to (almost) zero, and the product below never reads them. The division
        // by each row's sum waits for the output, which has D values per row, not `length`.
        let rows = length.min(row_start + ROWS) - row_start;
        let mut inverse_sums = [0.0; ROWS];
        for (row, inverse_sum) in
            scratch.scores.chunks_exact_mut(padded_columns).zip(&mut inverse_sums).take(rows)
        {
            row[length..].fill(-1e30);
            *inverse_sum = 1.0 / kernels::exp_shifted_by_maximum(row);
        }
        let block =
            blocks.weighted_sum::<D>(&scratch.scores, padded_columns, values, head.stride, length);
        for (r, (block_row, inverse_sum)) in block.iter().zip(inverse_sums).take(rows).enumerate() {
            let start = (row_start + r) * output_stride;
            for (target, value) in output[start..start + D].iter_mut().zip(block_row) {
                *target = value * inverse_sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention computed the plain way, in f64, from a `[tokens, 3 * hidden]` Q/K/V matrix.
    fn reference(
        query_key_value: &[f32],
        hidden: usize,
        head_offset: usize,
        head_size: usize,
        length: usize,
    ) -> Vec<f64> {
        let value = |token: usize, offset: usize, dimension: usize| {
            f64::from(query_key_value[token * 3 * hidden + offset + head_offset + dimension])
        };
        let scale = 1.0 / (head_size as f64).sqrt();
        let mut output = Vec::new();
        for i in 0..length {
            let scores: Vec<f64> = (0..length)
                .map(|j| {
                    (0..head_size).map(|d| value(i, 0, d) * value(j, hidden, d)).sum::<f64>()
                        * scale
                })
                .collect();
            let maximum = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - maximum).exp()).collect();
            let total: f64 = weights.iter().sum();
            for d in 0..head_size {
                output
                    .push((0..length).map(|j| weights[j] / total * value(j, 2 * hidden, d)).sum());
            }
        }
        output
    }

    #[test]
    fn matches_plain_attention_for_awkward_lengths() {
        for head_size in [32, 64] {
            let hidden = head_size * 3;
            for length in [1, 3, 4, 5, 31, 32, 33, 70] {
                let query_key_value: Vec<f32> = (0..length * 3 * hidden)
                    .map(|i| ((i * 7919 % 1000) as f32 / 250.0) - 2.0)
                    .collect();
                // Split into the layouts the encoder produces: Q|V rows and K transposed (padded).
                let key_stride = length + COLUMNS;
                let mut query_value = Vec::new();
                let mut keys_transposed = vec![0.0; hidden * key_stride];
                for token in 0..length {
                    let row = &query_key_value[token * 3 * hidden..(token + 1) * 3 * hidden];
                    query_value.extend_from_slice(&row[..hidden]);
                    query_value.extend_from_slice(&row[2 * hidden..]);
                    for d in 0..hidden {
                        keys_transposed[d * key_stride + token] = row[hidden + d];
                    }
                }
                let head_offset = head_size; // the second head
                let head = Head {
                    query_value: &query_value,
                    stride: 2 * hidden,
                    hidden,
                    first: head_offset,
                    keys_transposed: &keys_transposed,
                    key_stride,
                    first_key: head_offset * key_stride,
                    length,
                    scale: 1.0 / (head_size as f32).sqrt(),
                };
                let mut output = vec![f32::NAN; length * hidden];
                attend(
                    &head,
                    head_size,
                    &mut Scratch::default(),
                    &mut output[head_offset..],
                    hidden,
                );
                let expected = reference(&query_key_value, hidden, head_offset, head_size, length);
                for token in 0..length {
                    for d in 0..head_size {
                        let got = output[token * hidden + head_offset + d];
                        let want = expected[token * head_size + d];
                        assert!((f64::from(got) - want).abs() < 1e-5, "d={head_size} L={length}");
                    }
                }
            }
        }
    }
}
