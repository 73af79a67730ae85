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
