//! Distance and similarity kernels over `f32` slices.
//!
//! Each kernel is vectorised for the running CPU (see [`crate::simd`]). Inputs
//! of different lengths are compared over the shorter length; callers that must
//! reject a mismatch check [`check_dimensions`] first.

use crate::{Error, Result};

/// Lanes of independent accumulators: enough for one AVX-512 register, or two AVX2 ones.
const LANES: usize = 16;

/// Sums `term(x, y)` over the pairs of `a` and `b` (up to the shorter length) in `LANES`
/// independent accumulators, so the compiler can vectorise the loop; `accumulate(x, y, sum)`
/// returns `sum + term(x, y)`.
#[inline(always)]
fn sum_pairs(a: &[f32], b: &[f32], accumulate: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let length = a.len().min(b.len());
    let (a, b) = (&a[..length], &b[..length]);
    let mut sums = [0.0_f32; LANES];
    let mut a_chunks = a.chunks_exact(LANES);
    let mut b_chunks = b.chunks_exact(LANES);
    for (x, y) in a_chunks.by_ref().zip(b_chunks.by_ref()) {
        for lane in 0..LANES {
            sums[lane] = accumulate(x[lane], y[lane], sums[lane]);
        }
    }
    let mut total: f32 = sums.iter().sum();
    for (x, y) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        total = accumulate(*x, *y, total);
    }
    total
}

crate::multiversion! {
    /// The dot product of `a` and `b`.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        sum_pairs(a, b, f32::mul_add)
    }
}

crate::multiversion! {
    /// The dot product of `query` with each row of `rows` (row-major, `query.len()` columns),
    /// written to `scores`: the inner loop of an exact scan.
    pub fn dot_rows(rows: &[f32], query: &[f32], scores: &mut [f32]) {
        for (row, score) in rows.chunks_exact(query.len().max(1)).zip(scores) {
            *score = sum_pairs(row, query, f32::mul_add);
        }
    }
}

crate::multiversion! {
    /// The squared Euclidean distance between `a` and `b`.
    pub fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
        sum_pairs(a, b, |x, y, sum| {
            let difference = x - y;
            difference.mul_add(difference, sum)
        })
    }
}

crate::multiversion! {
    /// `Σ weights[i] × codes[i]`: the dot product of a query with a vector quantised to one
    /// byte per dimension (the query already scaled by each dimension's step).
    pub fn dot_u8(weights: &[f32], codes: &[u8]) -> f32 {
        let length = weights.len().min(codes.len());
        let (weights, codes) = (&weights[..length], &codes[..length]);
        let mut sums = [0.0_f32; LANES];
        let mut weight_chunks = weights.chunks_exact(LANES);
        let mut code_chunks = codes.chunks_exact(LANES);
        for (w, c) in weight_chunks.by_ref().zip(code_chunks.by_ref()) {
            for lane in 0..LANES {
                sums[lane] = w[lane].mul_add(f32::from(c[lane]), sums[lane]);
            }
        }
        let mut total: f32 = sums.iter().sum();
        for (w, c) in weight_chunks.remainder().iter().zip(code_chunks.remainder()) {
            total = w.mul_add(f32::from(*c), total);
        }
        total
    }
}

crate::multiversion! {
    /// The dot product of `query` with a vector stored as IEEE half-precision bits.
    pub fn dot_f16(query: &[f32], halves: &[u16]) -> f32 {
        let length = query.len().min(halves.len());
        let (query, halves) = (&query[..length], &halves[..length]);
        let mut sums = [0.0_f32; LANES];
        let mut query_chunks = query.chunks_exact(LANES);
        let mut half_chunks = halves.chunks_exact(LANES);
        for (q, h) in query_chunks.by_ref().zip(half_chunks.by_ref()) {
            for lane in 0..LANES {
                sums[lane] = q[lane].mul_add(f16_to_f32(h[lane]), sums[lane]);
            }
        }
        let mut total: f32 = sums.iter().sum();
        for (q, h) in query_chunks.remainder().iter().zip(half_chunks.remainder()) {
            total = q.mul_add(f16_to_f32(*h), total);
        }
        total
    }
}

crate::multiversion! {
    /// The number of differing bits of two bit vectors.
    pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
    }
}

/// The `f32` value of IEEE half-precision `bits`, without branches so loops over it vectorise.
#[inline(always)]
pub fn f16_to_f32(bits: u16) -> f32 {
    let bits = u32::from(bits);
    let sign = (bits & 0x8000) << 16;
    let magnitude = bits & 0x7fff;
    // Moving exponent and mantissa into place and multiplying by 2^112 rebiases the exponent
    // (normal and subnormal halves alike); infinities and NaNs keep an all-ones exponent.
    let scaled = f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000);
    let special = f32::from_bits((magnitude << 13) | 0x7f80_0000);
    let value = if magnitude >= 0x7c00 { special } else { scaled };
    f32::from_bits(value.to_bits() | sign)
}

/// The IEEE half-precision bits nearest `value` (ties to even; out of range becomes infinity).
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x007f_ffff;
    if exponent == 0xff {
        let nan = if mantissa == 0 { 0 } else { 0x0200 };
        return sign | 0x7c00 | nan;
    }
    let unbiased = exponent - 127;
    if unbiased > 15 {
        return sign | 0x7c00;
    }
    if unbiased >= -14 {
        // Normal half: keep 10 mantissa bits, round to nearest even.
        let half = (((unbiased + 15) as u32) << 10) | (mantissa >> 13);
        let rest = mantissa & 0x1fff;
        let round = u32::from(rest > 0x1000 || (rest == 0x1000 && half & 1 == 1));
        return sign | (half + round) as u16;
    }
    if unbiased < -25 {
        return sign;
    }
    // Subnormal half: shift the full mantissa (with its implicit bit) into place.
    let full = mantissa | 0x0080_0000;
    let shift = (-unbiased - 14 + 13) as u32;
    let half = full >> shift;
    let rest = full & ((1 << shift) - 1);
    let midpoint = 1 << (shift - 1);
    let round = u32::from(rest > midpoint || (rest == midpoint && half & 1 == 1));
    sign | (half + round) as u16
}

/// The Euclidean norm of `a`.
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// The Euclidean distance between `a` and `b`.
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    squared_l2(a, b).sqrt()
}

/// The cosine similarity of `a` and `b`, in `[-1, 1]`; 0 when either is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot(a, b) / denominator
    }
}

/// Scales `a` in place to unit length; a zero vector stays zero.
pub fn normalize(a: &mut [f32]) {
    let length = norm(a);
    if length > 0.0 {
        let scale = 1.0 / length;
        for x in a.iter_mut() {
            *x *= scale;
        }
    }
}

/// Fails with [`Error::DimensionMismatch`] unless `received == expected`.
pub fn check_dimensions(expected: usize, received: usize) -> Result<()> {
    if expected == received {
        Ok(())
    } else {
        Err(Error::DimensionMismatch { expected, received })
    }
}

/// The cosine similarity of every row of `left` with every row of `right`:
/// `result[i][j] = cosine(left[i], right[j])`.
pub fn cosine_matrix<A: AsRef<[f32]>, B: AsRef<[f32]>>(left: &[A], right: &[B]) -> Vec<Vec<f32>> {
    let right_norms: Vec<f32> = right.iter().map(|row| norm(row.as_ref())).collect();
    left.iter()
        .map(|row| {
            let row = row.as_ref();
            let row_norm = norm(row);
            right
                .iter()
                .zip(&right_norms)
                .map(|(other, other_norm)| {
                    let denominator = row_norm * other_norm;
                    if denominator == 0.0 {
                        0.0
                    } else {
                        dot(row, other.as_ref()) / denominator
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
    }

    #[test]
    fn dot_matches_naive_for_every_length() {
        for length in 0..70 {
            let a: Vec<f32> = (0..length).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..length).map(|i| (i as f32 * 0.11).cos()).collect();
            assert!((f64::from(dot(&a, &b)) - naive_dot(&a, &b)).abs() < 1e-4, "length {length}");
        }
    }

    #[test]
    fn half_precision_round_trips_and_rounds_to_nearest() {
        for value in [0.0_f32, -0.0, 1.0, -2.5, 0.333_333, 65504.0, 6.1e-5, 5.96e-8, 1e-3, -7.25e-6]
        {
            let back = f16_to_f32(f32_to_f16(value));
            let tolerance = value.abs() * 1e-3 + 6e-8;
            assert!((back - value).abs() <= tolerance, "{value} -> {back}");
        }
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(1e6), 0x7c00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        // Every half converts exactly: check against the slow definition.
        for bits in 0..=0x7bff_u16 {
            let exponent = i32::from(bits >> 10);
            let mantissa = f64::from(bits & 0x3ff);
            let exact = if exponent == 0 {
                mantissa * 2f64.powi(-24)
            } else {
                (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15)
            };
            assert_eq!(f64::from(f16_to_f32(bits)), exact, "{bits:#x}");
            assert_eq!(f32_to_f16(exact as f32), bits, "{bits:#x}");
        }
    }

    #[test]
    fn quantised_kernels_match_their_definitions() {
        for length in [0, 1, 15, 16, 17, 100, 384] {
            let weights: Vec<f32> = (0..length).map(|i| (i as f32 * 0.37).sin()).collect();
            let codes: Vec<u8> = (0..length).map(|i| (i * 37 % 256) as u8).collect();
            let expected: f64 =
                weights.iter().zip(&codes).map(|(w, c)| f64::from(*w) * f64::from(*c)).sum();
            assert!((f64::from(dot_u8(&weights, &codes)) - expected).abs() < 1e-2, "{length}");
            let halves: Vec<u16> = weights.iter().map(|w| f32_to_f16(*w)).collect();
            let rounded: Vec<f32> = halves.iter().map(|h| f16_to_f32(*h)).collect();
            assert!((dot_f16(&weights, &halves) - dot(&weights, &rounded)).abs() < 1e-4);
        }
        assert_eq!(hamming(&[0b1011, u64::MAX], &[0b0001, 0]), 66);
    }

    #[test]
    fn l2_and_cosine() {
        let a = [3.0, 4.0];
        let b = [0.0, 0.0];
        assert!((l2(&a, &b) - 5.0).abs() < 1e-6);
        assert_eq!(cosine(&a, &b), 0.0);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn normalize_gives_unit_length() {
        let mut a = vec![1.0, 2.0, 2.0];
        normalize(&mut a);
        assert!((norm(&a) - 1.0).abs() < 1e-6);
        let mut zero = vec![0.0; 4];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 4]);
    }

    #[test]
    fn cosine_matrix_is_symmetric_with_unit_diagonal() {
        let rows = vec![vec![1.0, 0.0, 1.0], vec![0.5, 0.5, 0.0], vec![0.0, 2.0, 1.0]];
        let matrix = cosine_matrix(&rows, &rows);
        for i in 0..3 {
            assert!((matrix[i][i] - 1.0).abs() < 1e-6);
            for j in 0..3 {
                assert!((matrix[i][j] - matrix[j][i]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn dimension_check_names_both_sizes() {
        let error = check_dimensions(384, 768).unwrap_err();
        assert_eq!(error.to_string(), "dimension mismatch: expected 384 dimensions, received 768");
    }
}
