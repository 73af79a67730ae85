//! The layout the optimisation starts from: a spectral embedding of the fuzzy graph (its
//! Laplacian eigenmap) or random points, in the box `[0, 10]` along every axis.
//!
//! The spectral layout is made of the eigenvectors of the normalised adjacency
//! `N = D^-1/2 · W · D^-1/2` with the largest eigenvalues after the trivial one (`D^1/2 · 1`,
//! eigenvalue 1), which are the smallest eigenvectors of the normalised Laplacian `I - N`. They
//! are found by subspace iteration: a block of vectors, each round filtered by a Chebyshev
//! polynomial of `N` that damps the part of the spectrum below the block's smallest Ritz value
//! and amplifies the part above it, then orthonormalised and rotated by Rayleigh–Ritz, until
//! the wanted Ritz pairs' residuals are small. A graph with several connected components has
//! eigenvalue 1 several times over; the block holds them like any other eigenvalue.

use rayon::prelude::*;

use super::fuzzy::Weighted;
use crate::random::Random;

/// The side of the box every layout starts in.
const BOX: f32 = 10.0;
/// The standard deviation of the jitter added to a spectral layout, so that points the
/// eigenvectors place together do not start on the same spot.
const JITTER: f64 = 1e-4;
/// Graphs up to this many points are solved densely.
const DENSE_UP_TO: usize = 128;
/// The degree of the Chebyshev filter applied each round.
const DEGREE: usize = 12;
/// Rounds of filtering at most; a graph this slow to converge keeps its best block so far.
const ROUNDS: usize = 40;
/// A Ritz pair is converged when its residual `|N·x - θ·x|` is below this.
const TOLERANCE: f64 = 1e-4;

/// A spectral layout of `graph` in `dimensions` dimensions, in the starting box.
pub(crate) fn spectral(graph: &Weighted, dimensions: usize, seed: u64) -> Vec<f32> {
    let count = graph.len();
    let operator = Adjacency::new(graph);
    let vectors = if count <= DENSE_UP_TO {
        operator.dense_top(dimensions)
    } else {
        operator.iterated_top(dimensions, seed)
    };
    let mut random = Random::new(seed ^ 0x6A09_E667_F3BC_C908);
    let mut layout: Vec<f32> = vectors.iter().map(|&value| value as f32).collect();
    into_box(&mut layout, dimensions);
    for value in &mut layout {
        *value += (JITTER * random.normal()) as f32;
    }
    layout
}

/// Points drawn uniformly in the starting box.
pub(crate) fn random(count: usize, dimensions: usize, seed: u64) -> Vec<f32> {
    let mut random = Random::new(seed ^ 0xBB67_AE85_84CA_A73B);
    (0..count * dimensions).map(|_| BOX * random.unit_f32()).collect()
}

/// Scales and shifts every axis of a row-major layout onto `[0, BOX]`.
fn into_box(layout: &mut [f32], dimensions: usize) {
    for axis in 0..dimensions {
        let values = || layout.iter().skip(axis).step_by(dimensions);
        let low = values().copied().fold(f32::INFINITY, f32::min);
        let high = values().copied().fold(f32::NEG_INFINITY, f32::max);
        let scale = if high > low { BOX / (high - low) } else { 0.0 };
        for value in layout.iter_mut().skip(axis).step_by(dimensions) {
            *value = (*value - low) * scale;
        }
    }
}

/// `N = D^-1/2 · W · D^-1/2` with its trivial eigenvector projected out.
struct Adjacency<'a> {
    graph: &'a Weighted,
    /// `D^-1/2`.
    inverse_roots: Vec<f64>,
    /// The trivial eigenvector `D^1/2 · 1`, normalised.
    trivial: Vec<f64>,
}

impl<'a> Adjacency<'a> {
    fn new(graph: &'a Weighted) -> Self {
        let degrees: Vec<f64> = (0..graph.len())
            .map(|row| graph.edges(row).map(|(_, weight)| f64::from(weight)).sum())
            .collect();
        let inverse_roots =
            degrees.iter().map(|&degree| if degree > 0.0 { degree.sqrt().recip() } else { 0.0 });
        let total: f64 = degrees.iter().sum();
        let trivial = degrees.iter().map(|&degree| (degree / total).sqrt()).collect();
        Self { graph, inverse_roots: inverse_roots.collect(), trivial }
    }

    fn len(&self) -> usize {
        self.graph.len()
    }

    /// `out = N' · block` for a row-major block of `width` vectors.
    fn apply(&self, block: &[f64], width: usize, out: &mut [f64]) {
        let scaled: Vec<f64> = block
            .par_chunks(width)
            .zip(&self.inverse_roots)
            .flat_map_iter(|(row, &factor)| row.iter().map(move |&value| value * factor))
            .collect();
        out.par_chunks_mut(width).enumerate().for_each(|(row, out_row)| {
            out_row.fill(0.0);
            for (target, weight) in self.graph.edges(row) {
                let weight = f64::from(weight);
                for (sum, &value) in out_row.iter_mut().zip(&scaled[target * width..]) {
                    *sum += weight * value;
                }
            }
            let factor = self.inverse_roots[row];
            for sum in out_row.iter_mut() {
                *sum *= factor;
            }
        });
        self.deflate(block, width, out);
    }

    /// `out -= u·(uᵀ·block)` for the trivial eigenvector `u`.
    fn deflate(&self, block: &[f64], width: usize, out: &mut [f64]) {
        let mut projections = vec![0.0; width];
        for (row, &trivial) in block.chunks_exact(width).zip(&self.trivial) {
            for (projection, &value) in projections.iter_mut().zip(row) {
                *projection += trivial * value;
            }
        }
        for (row, &trivial) in out.chunks_exact_mut(width).zip(&self.trivial) {
            for (value, &projection) in row.iter_mut().zip(&projections) {
                *value -= trivial * projection;
            }
        }
    }

    /// The top `wanted` eigenvectors of `N'` as a row-major `len × wanted` block, from the
    /// dense matrix.
    fn dense_top(&self, wanted: usize) -> Vec<f64> {
        let count = self.len();
        let mut identity = vec![0.0; count * count];
        for row in 0..count {
            identity[row * count + row] = 1.0;
        }
        let mut matrix = vec![0.0; count * count];
        self.apply(&identity, count, &mut matrix);
        symmetrise(&mut matrix, count);
        let (_, vectors) = symmetric_eigen(matrix, count);
        take_columns(&vectors, count, wanted)
    }

    /// The top `wanted` eigenvectors of `N'` by Chebyshev-filtered subspace iteration.
    fn iterated_top(&self, wanted: usize, seed: u64) -> Vec<f64> {
        let count = self.len();
        let width = (2 * wanted + 4).min(count - 1);
        let mut random = Random::new(seed);
        let mut block: Vec<f64> = (0..count * width).map(|_| random.normal()).collect();
        let mut product = vec![0.0; count * width];
        self.deflate(&block.clone(), width, &mut block);
        orthonormalise(&mut block, width, &mut random);
        for _ in 0..ROUNDS {
            // Rayleigh–Ritz: rotate the block onto the eigenvectors of its projection of N'.
            self.apply(&block, width, &mut product);
            let mut projected = vec![0.0; width * width];
            for (row, product_row) in block.chunks_exact(width).zip(product.chunks_exact(width)) {
                for (left, &value) in row.iter().enumerate() {
                    for (right, &image) in product_row.iter().enumerate() {
                        projected[left * width + right] += value * image;
                    }
                }
            }
            symmetrise(&mut projected, width);
            let (values, rotation) = symmetric_eigen(projected, width);
            block = rotate(&block, width, &rotation);
            product = rotate(&product, width, &rotation);
            let residual = (0..wanted)
                .map(|column| {
                    block
                        .chunks_exact(width)
                        .zip(product.chunks_exact(width))
                        .map(|(row, image)| (image[column] - values[column] * row[column]).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(0.0, f64::max);
            if residual < TOLERANCE {
                break;
            }
            // Damp [-1, smallest Ritz value], amplify what lies above it.
            let cut = values[width - 1];
            block = self.chebyshev(&block, width, -1.0, cut);
            orthonormalise(&mut block, width, &mut random);
        }
        take_columns(&block, width, wanted)
    }

    /// `T_DEGREE` of `N'` mapped so that `[low, high]` becomes `[-1, 1]`, applied to `block`.
    fn chebyshev(&self, block: &[f64], width: usize, low: f64, high: f64) -> Vec<f64> {
        let half_width = ((high - low) / 2.0).max(1e-12);
        let center = f64::midpoint(high, low);
        // previous = T_0(x)·block, current = T_1(x)·block with x = (N' - center) / half_width.
        let mut previous = block.to_vec();
        let mut current = vec![0.0; block.len()];
        let mut next = vec![0.0; block.len()];
        self.apply(block, width, &mut current);
        for (value, &start) in current.iter_mut().zip(block) {
            *value = (*value - center * start) / half_width;
        }
        for _ in 1..DEGREE {
            self.apply(&current, width, &mut next);
            for ((value, &now), &before) in next.iter_mut().zip(&current).zip(&previous) {
                *value = 2.0 * (*value - center * now) / half_width - before;
            }
            std::mem::swap(&mut previous, &mut current);
            std::mem::swap(&mut current, &mut next);
        }
        current
    }
}

/// Makes a square matrix exactly symmetric by averaging it with its transpose.
fn symmetrise(matrix: &mut [f64], size: usize) {
    for row in 0..size {
        for column in row + 1..size {
            let mean = f64::midpoint(matrix[row * size + column], matrix[column * size + row]);
            matrix[row * size + column] = mean;
            matrix[column * size + row] = mean;
        }
    }
}

/// `block · rotation` for a row-major `n × width` block and a `width × width` rotation.
fn rotate(block: &[f64], width: usize, rotation: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; block.len()];
    out.par_chunks_mut(width).zip(block.par_chunks(width)).for_each(|(out_row, row)| {
        for (inner, &value) in row.iter().enumerate() {
            for (sum, &factor) in out_row.iter_mut().zip(&rotation[inner * width..]) {
                *sum += value * factor;
            }
        }
    });
    out
}

/// The first `wanted` columns of a row-major block `width` wide.
fn take_columns(block: &[f64], width: usize, wanted: usize) -> Vec<f64> {
    block.chunks_exact(width).flat_map(|row| row[..wanted].iter().copied()).collect()
}

/// Orthonormalises the columns of a row-major block by modified Gram–Schmidt, twice for
/// accuracy; a column that vanishes (dependent on the others) is replaced by a random one.
fn orthonormalise(block: &mut [f64], width: usize, random: &mut Random) {
    let column_dot = |block: &[f64], a: usize, b: usize| -> f64 {
        block.chunks_exact(width).map(|row| row[a] * row[b]).sum()
    };
    for column in 0..width {
        let mut attempts = 0;
        loop {
            let before = column_dot(block, column, column).sqrt();
            for _ in 0..2 {
                for other in 0..column {
                    let overlap = column_dot(block, column, other);
                    for row in block.chunks_exact_mut(width) {
                        row[column] -= overlap * row[other];
                    }
                }
            }
            let norm = column_dot(block, column, column).sqrt();
            if norm > 1e-10 * before && norm > 0.0 {
                for row in block.chunks_exact_mut(width) {
                    row[column] /= norm;
                }
                break;
            }
            attempts += 1;
            assert!(attempts < 100, "cannot complete an orthonormal block");
            for row in block.chunks_exact_mut(width) {
                row[column] = random.normal();
            }
        }
    }
}

/// The eigenvalues (descending) and eigenvectors (the columns of a row-major matrix, in the
/// same order) of a symmetric `size × size` matrix: [`crate::pca::symmetric_eigen`]'s cyclic
/// Jacobi rotations, its eigenvectors laid out as columns.
fn symmetric_eigen(matrix: Vec<f64>, size: usize) -> (Vec<f64>, Vec<f64>) {
    let (values, vectors) = crate::pca::symmetric_eigen(&matrix, size);
    let columns = (0..size * size).map(|at| vectors[at % size][at / size]).collect();
    (values, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of `count` points, each joined to its `reach` nearest on either side.
    fn ring(count: usize, reach: usize) -> Weighted {
        let mut offsets = vec![0];
        let (mut targets, mut weights) = (Vec::new(), Vec::new());
        for row in 0..count {
            let mut row_targets: Vec<u32> = (1..=reach)
                .flat_map(|step| [(row + step) % count, (row + count - step) % count])
                .map(|target| target as u32)
                .collect();
            row_targets.sort_unstable();
            for target in row_targets {
                targets.push(target);
                weights.push(1.0);
            }
            offsets.push(targets.len());
        }
        Weighted { offsets, targets, weights }
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let size = 5;
        let mut random = Random::new(9);
        let mut matrix: Vec<f64> = (0..size * size).map(|_| random.normal()).collect();
        symmetrise(&mut matrix, size);
        let (values, vectors) = symmetric_eigen(matrix.clone(), size);
        assert!(values.windows(2).all(|pair| pair[0] >= pair[1]));
        for column in 0..size {
            for row in 0..size {
                let image: f64 = (0..size)
                    .map(|inner| matrix[row * size + inner] * vectors[inner * size + column])
                    .sum();
                assert!((image - values[column] * vectors[row * size + column]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn iteration_and_dense_solution_find_the_same_eigenvectors() {
        // A ring's top non-trivial eigenvectors are its cosine and sine: a circle.
        let graph = ring(120, 3);
        let operator = Adjacency::new(&graph);
        let dense = operator.dense_top(2);
        let iterated = operator.iterated_top(2, 4);
        // The two spans agree: projecting one basis on the other keeps its length.
        for column in 0..2 {
            let kept: f64 = (0..2)
                .map(|other| {
                    (0..120)
                        .map(|row| dense[row * 2 + column] * iterated[row * 2 + other])
                        .sum::<f64>()
                })
                .map(|overlap| overlap * overlap)
                .sum();
            assert!(kept > 0.999, "column {column}: {kept}");
        }
        let layout = spectral(&graph, 2, 1);
        let radii: Vec<f32> =
            layout.chunks_exact(2).map(|point| (point[0] - 5.0).hypot(point[1] - 5.0)).collect();
        assert!(radii.iter().all(|&radius| (radius - 5.0).abs() < 0.1), "{radii:?}");
    }

    #[test]
    fn layouts_fill_the_starting_box() {
        let extent = |layout: &[f32], axis: usize| {
            let values = || layout.iter().skip(axis).step_by(3).copied();
            (values().fold(f32::INFINITY, f32::min), values().fold(f32::NEG_INFINITY, f32::max))
        };
        let spectral = spectral(&ring(300, 4), 3, 2);
        let random = random(300, 3, 2);
        for axis in 0..3 {
            let (low, high) = extent(&spectral, axis);
            assert!(low.abs() < 0.01 && (high - BOX).abs() < 0.01, "{low} {high}");
            let (low, high) = extent(&random, axis);
            assert!(low >= 0.0 && high < BOX && high - low > 0.9 * BOX, "{low} {high}");
        }
    }
}
