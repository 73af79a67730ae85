//! Principal component analysis: the directions of greatest variance and every point's
//! coordinates along them, with the share of variance each explains (scikit-learn's
//! `explained_variance_ratio_`).
//!
//! The covariance matrix is one GEMM (`Xᵀ X` of the centred rows); its leading eigenvectors come
//! from subspace iteration with a Rayleigh–Ritz step (a block of `components + 16` vectors, so
//! the wanted ones converge at the rate of the gap to the 17th-next eigenvalue), iterated until
//! the wanted eigenvalues stop changing in the twelfth digit. Each component's sign is chosen so
//! its largest-magnitude loading is positive, as scikit-learn does, so maps come out the same
//! way round.

use crate::linear::{centered, dot_products, mean, transposed_product};
use crate::random::Random;
use crate::{Error, Result, Rows};

/// Extra vectors in the iterated block beyond the wanted components.
const OVERSAMPLING: usize = 16;
const MAX_ITERATIONS: usize = 1000;

/// How to project.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The number of components kept. Default 2.
    pub components: usize,
    /// The seed of the starting block. Default 0.
    pub seed: u64,
}

impl Settings {
    /// `components` components with the defaults.
    pub fn new(components: usize) -> Self {
        Self { components, seed: 0 }
    }
}

/// A fitted projection and the projected points.
#[derive(Clone, Debug)]
pub struct Pca {
    /// The mean that was subtracted.
    pub mean: Vec<f32>,
    /// `components × dimensions` unit directions, row-major, greatest variance first.
    pub components: Vec<f32>,
    /// The variance along each component (sample variance, divided by `n - 1`).
    pub explained_variance: Vec<f64>,
    /// Each component's share of the total variance.
    pub explained_variance_ratio: Vec<f64>,
    /// `n × components` coordinates of the rows, row-major.
    pub coordinates: Vec<f32>,
}

impl Pca {
    /// The number of components.
    pub fn len(&self) -> usize {
        self.explained_variance.len()
    }

    /// Whether no component was kept.
    pub fn is_empty(&self) -> bool {
        self.explained_variance.is_empty()
    }

    /// The coordinates of a new point.
    pub fn transform(&self, point: &[f32]) -> Vec<f32> {
        let dimensions = self.mean.len();
        self.components
            .chunks_exact(dimensions)
            .map(|direction| {
                direction.iter().zip(point).zip(&self.mean).map(|((&w, &x), &m)| w * (x - m)).sum()
            })
            .collect()
    }
}

/// Fits a PCA of `rows` and projects them.
pub fn pca(rows: Rows, settings: &Settings) -> Result<Pca> {
    rows.check(2)?;
    let dimensions = rows.dimensions();
    let wanted = settings.components;
    if wanted == 0 || wanted > dimensions.min(rows.len()) {
        return Err(Error::Settings(format!(
            "{wanted} components asked of {} points in {dimensions} dimensions: between 1 and {}",
            rows.len(),
            dimensions.min(rows.len())
        )));
    }
    let center = mean(rows);
    let data = centered(rows, &center);
    let data = Rows::new(&data, dimensions)?;
    let scale = 1.0 / (rows.len() - 1) as f64;
    let covariance: Vec<f64> =
        transposed_product(data, data).into_iter().map(|value| f64::from(value) * scale).collect();
    let total: f64 = (0..dimensions).map(|i| covariance[i * dimensions + i]).sum();
    let (values, vectors) = leading_eigenvectors(&covariance, dimensions, wanted, settings.seed);
    let mut components: Vec<f32> = Vec::with_capacity(wanted * dimensions);
    for vector in &vectors {
        let largest =
            vector.iter().copied().max_by(|a, b| a.abs().total_cmp(&b.abs())).unwrap_or(1.0);
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        components.extend(vector.iter().map(|&value| (value * sign) as f32));
    }
    let coordinates = dot_products(data, Rows::new(&components, dimensions)?);
    let ratio = values.iter().map(|&value| if total > 0.0 { value / total } else { 0.0 }).collect();
    Ok(Pca {
        mean: center.iter().map(|&value| value as f32).collect(),
        components,
        explained_variance: values,
        explained_variance_ratio: ratio,
        coordinates,
    })
}

/// The `wanted` largest eigenvalues of the symmetric `size × size` matrix and their unit
/// eigenvectors, largest first.
fn leading_eigenvectors(
    matrix: &[f64],
    size: usize,
    wanted: usize,
    seed: u64,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let block = (wanted + OVERSAMPLING).min(size);
    if block == size {
        let (values, vectors) = symmetric_eigen(matrix, size);
        return (values[..wanted].to_vec(), vectors[..wanted].to_vec());
    }
    let mut random = Random::new(seed);
    let mut basis: Vec<Vec<f64>> =
        (0..block).map(|_| (0..size).map(|_| random.normal()).collect()).collect();
    orthonormalise(&mut basis);
    let mut previous = vec![f64::INFINITY; wanted];
    let mut ritz = (Vec::new(), Vec::new());
    for _ in 0..MAX_ITERATIONS {
        let mut image: Vec<Vec<f64>> =
            basis.iter().map(|vector| multiply(matrix, size, vector)).collect();
        // Rayleigh–Ritz on the current basis: the projected matrix Qᵀ A Q.
        let projected: Vec<f64> = (0..block)
            .flat_map(|i| (0..block).map(move |j| (i, j)))
            .map(|(i, j)| dot(&basis[i], &image[j]))
            .collect();
        let (values, small) = symmetric_eigen(&projected, block);
        let converged = values[..wanted]
            .iter()
            .zip(&previous)
            .all(|(value, before)| (value - before).abs() <= 1e-12 * value.abs().max(1e-300));
        previous.copy_from_slice(&values[..wanted]);
        ritz = (values, small);
        if converged {
            break;
        }
        orthonormalise(&mut image);
        basis = image;
    }
    let (values, small) = ritz;
    let vectors = small[..wanted]
        .iter()
        .map(|weights| {
            let mut vector = vec![0.0; size];
            for (weight, basis_vector) in weights.iter().zip(&basis) {
                for (out, &value) in vector.iter_mut().zip(basis_vector) {
                    *out += weight * value;
                }
            }
            let norm = dot(&vector, &vector).sqrt();
            for value in &mut vector {
                *value /= norm;
            }
            vector
        })
        .collect();
    (values[..wanted].to_vec(), vectors)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn multiply(matrix: &[f64], size: usize, vector: &[f64]) -> Vec<f64> {
    matrix.chunks_exact(size).map(|row| dot(row, vector)).collect()
}

/// Modified Gram–Schmidt, twice for stability.
fn orthonormalise(vectors: &mut [Vec<f64>]) {
    for _ in 0..2 {
        for i in 0..vectors.len() {
            let (done, rest) = vectors.split_at_mut(i);
            let current = &mut rest[0];
            for other in done.iter() {
                let projection = dot(current, other);
                for (value, &o) in current.iter_mut().zip(other) {
                    *value -= projection * o;
                }
            }
            let norm = dot(current, current).sqrt();
            if norm > 0.0 {
                for value in current.iter_mut() {
                    *value /= norm;
                }
            }
        }
    }
}

/// Every eigenvalue of the symmetric `size × size` matrix, largest first, with its unit
/// eigenvector, by cyclic Jacobi rotations (for the small matrices of the Ritz step).
pub fn symmetric_eigen(matrix: &[f64], size: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0.0; size * size];
    for i in 0..size {
        v[i * size + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..size)
            .flat_map(|i| (0..size).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * size + j].powi(2))
            .sum();
        let scale: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..size {
            for q in p + 1..size {
                let apq = a[p * size + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * size + q] - a[p * size + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..size {
                    let (akp, akq) = (a[k * size + p], a[k * size + q]);
                    a[k * size + p] = c * akp - s * akq;
                    a[k * size + q] = s * akp + c * akq;
                }
                for k in 0..size {
                    let (apk, aqk) = (a[p * size + k], a[q * size + k]);
                    a[p * size + k] = c * apk - s * aqk;
                    a[q * size + k] = s * apk + c * aqk;
                }
                for k in 0..size {
                    let (vkp, vkq) = (v[k * size + p], v[k * size + q]);
                    v[k * size + p] = c * vkp - s * vkq;
                    v[k * size + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by(|&i, &j| a[j * size + j].total_cmp(&a[i * size + i]));
    let values = order.iter().map(|&i| a[i * size + i]).collect();
    let vectors = order.iter().map(|&i| (0..size).map(|k| v[k * size + i]).collect()).collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let matrix = [4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 5.0];
        let (values, vectors) = symmetric_eigen(&matrix, 3);
        assert!(values.windows(2).all(|pair| pair[0] >= pair[1]));
        assert!((values.iter().sum::<f64>() - 12.0).abs() < 1e-12);
        for (value, vector) in values.iter().zip(&vectors) {
            let image = multiply(&matrix, 3, vector);
            for (x, y) in image.iter().zip(vector) {
                assert!((x - value * y).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn finds_the_axes_of_an_elongated_cloud() {
        // Variance 25 along (1,1,0,...)/√2, 4 along (1,-1,0,...)/√2, 1 elsewhere, in 40-d.
        let mut random = Random::new(4);
        let dimensions = 40;
        let count = 20_000;
        let mut values = Vec::with_capacity(count * dimensions);
        for _ in 0..count {
            let (a, b) = (random.normal() * 5.0, random.normal() * 2.0);
            let mut point: Vec<f64> = (0..dimensions).map(|_| random.normal()).collect();
            point[0] = (a + b) / 2_f64.sqrt() + 3.0;
            point[1] = (a - b) / 2_f64.sqrt() - 1.0;
            values.extend(point.iter().map(|&x| x as f32));
        }
        let rows = Rows::new(&values, dimensions).unwrap();
        let result = pca(rows, &Settings::new(2)).unwrap();
        assert!(
            (result.explained_variance[0] - 25.0).abs() < 1.0,
            "{:?}",
            result.explained_variance
        );
        assert!((result.explained_variance[1] - 4.0).abs() < 0.3);
        let total = 25.0 + 4.0 + (dimensions - 2) as f64;
        assert!((result.explained_variance_ratio[0] - 25.0 / total).abs() < 0.02);
        let first = &result.components[..dimensions];
        assert!((first[0] - first[1]).abs() < 0.05 && first[0] > 0.6, "{first:?}");
        // Coordinates are the centred rows projected; transform agrees.
        let again = result.transform(rows.row(17));
        assert!((again[0] - result.coordinates[34]).abs() < 1e-3);
        assert!((again[1] - result.coordinates[35]).abs() < 1e-3);
        // The mean of each coordinate is zero.
        let mean0: f64 =
            result.coordinates.iter().step_by(2).map(|&x| f64::from(x)).sum::<f64>() / count as f64;
        assert!(mean0.abs() < 1e-3);
    }

    #[test]
    fn subspace_iteration_agrees_with_full_jacobi() {
        let mut random = Random::new(8);
        let dimensions = 48;
        let values: Vec<f32> = (0..500 * dimensions)
            .map(|i| (random.normal() * (1.0 + (i % dimensions) as f64 / 8.0)) as f32)
            .collect();
        let rows = Rows::new(&values, dimensions).unwrap();
        let centre = mean(rows);
        let data = centered(rows, &centre);
        let data = Rows::new(&data, dimensions).unwrap();
        let covariance: Vec<f64> =
            transposed_product(data, data).iter().map(|&x| f64::from(x) / 499.0).collect();
        let (all, _) = symmetric_eigen(&covariance, dimensions);
        let (some, _) = leading_eigenvectors(&covariance, dimensions, 3, 1);
        for (a, b) in all.iter().zip(&some) {
            assert!((a - b).abs() < 1e-9 * a, "{a} {b}");
        }
    }

    #[test]
    fn too_many_components_is_an_error() {
        let values = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let rows = Rows::new(&values, 2).unwrap();
        assert!(matches!(pca(rows, &Settings::new(3)), Err(Error::Settings(_))));
        assert!(matches!(pca(rows, &Settings::new(0)), Err(Error::Settings(_))));
    }
}
