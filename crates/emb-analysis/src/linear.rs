//! Dense linear algebra the analyses share: products of row-major matrices on the GEMM kernel,
//! means and norms.

use gemm::Parallelism;

use crate::Rows;

/// `left · rightᵀ`: a `left.len() × right.len()` row-major matrix of every pair's dot product.
/// Both must have the same number of dimensions.
pub fn dot_products(left: Rows, right: Rows) -> Vec<f32> {
    let mut out = vec![0.0_f32; left.len() * right.len()];
    dot_products_into(left, right, &mut out);
    out
}

/// [`dot_products`] into `out`, which must hold `left.len() × right.len()` values.
pub fn dot_products_into(left: Rows, right: Rows, out: &mut [f32]) {
    product_into(left, right, out, Parallelism::Rayon(0));
}

/// [`dot_products_into`] on the calling thread only: for small blocks that callers already
/// spread over threads themselves.
pub fn dot_products_into_on_this_thread(left: Rows, right: Rows, out: &mut [f32]) {
    product_into(left, right, out, Parallelism::None);
}

fn product_into(left: Rows, right: Rows, out: &mut [f32], parallelism: Parallelism) {
    assert_eq!(left.dimensions(), right.dimensions(), "dot products of rows of different sizes");
    let (m, n, k) = (left.len(), right.len(), left.dimensions());
    assert_eq!(out.len(), m * n, "dot products into a buffer of the wrong size");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: `left` is m x k row-major, `right` is n x k row-major read as its transpose
    // (k x n, column stride k), `out` is m x n row-major; every index reached by these strides is
    // inside the three slices, whose lengths were checked above.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            left.values().as_ptr(),
            1,
            k as isize,
            right.values().as_ptr(),
            k as isize,
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

/// `leftᵀ · right` for two matrices with the same number of rows: a `left.dimensions() ×
/// right.dimensions()` row-major matrix (with `left == right`, the scatter matrix).
pub fn transposed_product(left: Rows, right: Rows) -> Vec<f32> {
    assert_eq!(left.len(), right.len(), "transposed product of matrices of different heights");
    let (m, n, k) = (left.dimensions(), right.dimensions(), left.len());
    let mut out = vec![0.0_f32; m * n];
    if k == 0 {
        return out;
    }
    // SAFETY: `left` (k x m row-major) is read as its transpose (m x k: row stride 1, column
    // stride m); `right` is k x n row-major; `out` is m x n row-major; all indexes stay inside.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            left.values().as_ptr(),
            m as isize,
            1,
            right.values().as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::Rayon(0),
        );
    }
    out
}

/// The mean of the rows (in `f64` for accuracy).
pub fn mean(rows: Rows) -> Vec<f64> {
    let mut sum = vec![0.0_f64; rows.dimensions()];
    for row in rows.rows() {
        for (total, &value) in sum.iter_mut().zip(row) {
            *total += f64::from(value);
        }
    }
    let count = rows.len().max(1) as f64;
    for total in &mut sum {
        *total /= count;
    }
    sum
}

/// The squared Euclidean norm of every row.
pub fn squared_norms(rows: Rows) -> Vec<f32> {
    rows.rows().map(|row| row.iter().map(|value| value * value).sum()).collect()
}

/// Copies of the rows scaled to unit length (zero rows stay zero).
pub fn normalised(rows: Rows) -> Vec<f32> {
    let mut values = rows.values().to_vec();
    for row in values.chunks_exact_mut(rows.dimensions()) {
        emb_core::distance::normalize(row);
    }
    values
}

/// The rows with `center` subtracted from each.
pub fn centered(rows: Rows, center: &[f64]) -> Vec<f32> {
    rows.rows()
        .flat_map(|row| {
            row.iter().zip(center).map(|(&value, &mean)| (f64::from(value) - mean) as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_the_definition() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
        let b = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]; // 4 x 3
        let (a, b) = (Rows::new(&a, 3).unwrap(), Rows::new(&b, 3).unwrap());
        assert_eq!(dot_products(a, b), vec![4.0, 2.0, 12.0, 6.0, 10.0, 5.0, 30.0, 15.0]);
        // aᵀa for a = [[1,2,3],[4,5,6]]
        assert_eq!(
            transposed_product(a, a),
            vec![17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]
        );
        assert_eq!(mean(a), vec![2.5, 3.5, 4.5]);
        assert_eq!(squared_norms(a), vec![14.0, 77.0]);
    }
}
