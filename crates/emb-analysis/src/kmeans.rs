//! k-means clustering (Lloyd's algorithm from a greedy k-means++ start), several starts, the
//! lowest inertia kept: what scikit-learn's `KMeans` does, on the GEMM kernel.
//!
//! Each iteration scores every point against every centre with one matrix product
//! (`|x - c|² = |x|² + |c|² - 2 x·c`), assigns each point to its nearest centre and moves each
//! centre to the mean of its points (sums in `f64`). A centre left with no points moves to the
//! point farthest from its own centre. Iteration stops when the centres move less than
//! `tolerance × mean variance of the data` in total (scikit-learn's rule) or no label changes.

use rayon::prelude::*;

use crate::linear::{dot_products_into, squared_norms};
use crate::random::Random;
use crate::{Error, Result, Rows};

/// How to cluster.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The number of clusters.
    pub k: usize,
    /// Independent starts; the one with the lowest inertia wins. Default 3.
    pub starts: usize,
    /// Iterations per start at most. Default 300.
    pub max_iterations: usize,
    /// Convergence tolerance, relative to the data's mean variance per dimension. Default 1e-4.
    pub tolerance: f64,
    /// The seed of the starts. Default 0.
    pub seed: u64,
}

impl Settings {
    /// `k` clusters with the defaults.
    pub fn new(k: usize) -> Self {
        Self { k, starts: 3, max_iterations: 300, tolerance: 1e-4, seed: 0 }
    }
}

/// A clustering.
#[derive(Clone, Debug)]
pub struct KMeans {
    /// The number of clusters.
    pub k: usize,
    /// The cluster of every point, `0..k`.
    pub labels: Vec<usize>,
    /// `k × dimensions` centres, row-major.
    pub centroids: Vec<f32>,
    /// The sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// Iterations the winning start ran.
    pub iterations: usize,
}

impl KMeans {
    /// The number of points in each cluster.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.k];
        for &label in &self.labels {
            sizes[label] += 1;
        }
        sizes
    }

    /// Centre `cluster`.
    pub fn centroid(&self, cluster: usize) -> &[f32] {
        let dimensions = self.centroids.len() / self.k;
        &self.centroids[cluster * dimensions..(cluster + 1) * dimensions]
    }
}

/// Clusters `rows` into `settings.k` groups by Euclidean distance (for cosine, pass normalised
/// rows: on the unit sphere the two orders agree).
pub fn kmeans(rows: Rows, settings: &Settings) -> Result<KMeans> {
    rows.check(1)?;
    let k = settings.k;
    if k == 0 || k > rows.len() {
        return Err(Error::Settings(format!(
            "k = {k} clusters asked of {} points: k must be between 1 and the number of points",
            rows.len()
        )));
    }
    let norms = squared_norms(rows);
    let threshold = settings.tolerance * mean_variance(rows);
    let mut best: Option<KMeans> = None;
    for start in 0..settings.starts.max(1) {
        let mut random = Random::stream(settings.seed, start as u64);
        let centroids = plus_plus(rows, &norms, k, &mut random);
        let result = lloyd(rows, &norms, centroids, settings.max_iterations, threshold);
        if best.as_ref().is_none_or(|best| result.inertia < best.inertia) {
            best = Some(result);
        }
    }
    Ok(best.expect("at least one start"))
}

/// The mean over dimensions of the per-dimension variance.
fn mean_variance(rows: Rows) -> f64 {
    let mean = crate::linear::mean(rows);
    let mut total = 0.0;
    for row in rows.rows() {
        for (&value, &center) in row.iter().zip(&mean) {
            total += (f64::from(value) - center).powi(2);
        }
    }
    total / (rows.len() * rows.dimensions()) as f64
}

/// Greedy k-means++: each new centre is the best (by resulting inertia) of `2 + ln k` candidates
/// drawn with probability proportional to the squared distance to the nearest centre so far.
fn plus_plus(rows: Rows, norms: &[f32], k: usize, random: &mut Random) -> Vec<f32> {
    let dimensions = rows.dimensions();
    let trials = 2 + (k as f64).ln() as usize;
    let mut centroids = Vec::with_capacity(k * dimensions);
    let first = random.below(rows.len());
    centroids.extend_from_slice(rows.row(first));
    let mut closest = distances_to(rows, norms, &[first]).remove(0);
    let mut potential: f64 = closest.iter().map(|&d| f64::from(d)).sum();
    while centroids.len() < k * dimensions {
        let candidates: Vec<usize> =
            (0..trials).map(|_| sample(&closest, potential, random)).collect();
        let distances = distances_to(rows, norms, &candidates);
        let (best, best_potential, best_closest) = candidates
            .iter()
            .zip(distances)
            .map(|(&candidate, distances)| {
                let merged: Vec<f32> =
                    closest.iter().zip(&distances).map(|(&a, &b)| a.min(b)).collect();
                let potential = merged.iter().map(|&d| f64::from(d)).sum::<f64>();
                (candidate, potential, merged)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("at least two trials");
        centroids.extend_from_slice(rows.row(best));
        closest = best_closest;
        potential = best_potential;
    }
    centroids
}

/// A row drawn with probability proportional to `weights` (which sum to `total`); uniform when
/// every weight is zero (all points already coincide with centres).
fn sample(weights: &[f32], total: f64, random: &mut Random) -> usize {
    if total <= 0.0 {
        return random.below(weights.len());
    }
    let mut target = random.unit() * total;
    for (row, &weight) in weights.iter().enumerate() {
        target -= f64::from(weight);
        if target < 0.0 {
            return row;
        }
    }
    weights.iter().rposition(|&weight| weight > 0.0).unwrap_or(0)
}

/// Squared distances of every row to each of the rows `centres`.
fn distances_to(rows: Rows, norms: &[f32], centres: &[usize]) -> Vec<Vec<f32>> {
    let values: Vec<f32> = centres.iter().flat_map(|&row| rows.row(row).iter().copied()).collect();
    let centre_rows = Rows::new(&values, rows.dimensions()).expect("whole rows");
    let mut products = vec![0.0; centres.len() * rows.len()];
    dot_products_into(centre_rows, rows, &mut products);
    products
        .chunks(rows.len())
        .zip(centres)
        .map(|(products, &centre)| {
            products
                .iter()
                .zip(norms)
                .map(|(&product, &norm)| (norm + norms[centre] - 2.0 * product).max(0.0))
                .collect()
        })
        .collect()
}

/// Rows per block of the assignment step's product.
const BLOCK: usize = 4096;

/// Each row's nearest centre and squared distance to it.
fn assign(
    rows: Rows,
    norms: &[f32],
    centroids: &[f32],
    labels: &mut [usize],
    distances: &mut [f32],
) {
    let k = centroids.len() / rows.dimensions();
    let centre_rows = Rows::new(centroids, rows.dimensions()).expect("whole rows");
    let centre_norms = squared_norms(centre_rows);
    let mut products = vec![0.0_f32; BLOCK.min(rows.len()) * k];
    for start in (0..rows.len()).step_by(BLOCK) {
        let height = BLOCK.min(rows.len() - start);
        let block = Rows::new(
            &rows.values()[start * rows.dimensions()..(start + height) * rows.dimensions()],
            rows.dimensions(),
        )
        .expect("whole rows");
        let products = &mut products[..height * k];
        dot_products_into(block, centre_rows, products);
        products
            .par_chunks(k)
            .zip(labels[start..start + height].par_iter_mut())
            .zip(distances[start..start + height].par_iter_mut())
            .enumerate()
            .for_each(|(offset, ((products, label), distance))| {
                let norm = norms[start + offset];
                let (nearest, best) = products
                    .iter()
                    .zip(&centre_norms)
                    .map(|(&product, &centre)| centre - 2.0 * product)
                    .enumerate()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("k >= 1");
                *label = nearest;
                *distance = (norm + best).max(0.0);
            });
    }
}

fn lloyd(
    rows: Rows,
    norms: &[f32],
    mut centroids: Vec<f32>,
    max_iterations: usize,
    threshold: f64,
) -> KMeans {
    let (count, dimensions) = (rows.len(), rows.dimensions());
    let k = centroids.len() / dimensions;
    let mut labels = vec![usize::MAX; count];
    let mut distances = vec![0.0_f32; count];
    let mut previous = labels.clone();
    let mut iterations = 0;
    while iterations < max_iterations {
        iterations += 1;
        assign(rows, norms, &centroids, &mut labels, &mut distances);
        if labels == previous {
            break;
        }
        let moved = update(rows, &labels, &distances, &mut centroids, k);
        std::mem::swap(&mut previous, &mut labels);
        labels.clone_from(&previous);
        if moved <= threshold {
            break;
        }
    }
    // The labels and inertia of the final centres.
    assign(rows, norms, &centroids, &mut labels, &mut distances);
    let inertia = distances.iter().map(|&d| f64::from(d)).sum();
    KMeans { k, labels, centroids, inertia, iterations }
}

/// Moves every centre to the mean of its points; returns the total squared shift.
fn update(rows: Rows, labels: &[usize], distances: &[f32], centroids: &mut [f32], k: usize) -> f64 {
    let dimensions = rows.dimensions();
    let mut sums = vec![0.0_f64; k * dimensions];
    let mut counts = vec![0_usize; k];
    for (row, &label) in rows.rows().zip(labels) {
        counts[label] += 1;
        for (sum, &value) in sums[label * dimensions..(label + 1) * dimensions].iter_mut().zip(row)
        {
            *sum += f64::from(value);
        }
    }
    // Empty clusters take the points farthest from their centres, farthest first.
    let empty: Vec<usize> = (0..k).filter(|&cluster| counts[cluster] == 0).collect();
    if !empty.is_empty() {
        let mut far: Vec<usize> = (0..labels.len()).collect();
        far.sort_unstable_by(|&a, &b| distances[b].total_cmp(&distances[a]));
        let mut candidates = far.into_iter();
        for &cluster in &empty {
            let Some(row) = candidates.by_ref().find(|&row| counts[labels[row]] > 1) else { break };
            let from = labels[row];
            counts[from] -= 1;
            counts[cluster] = 1;
            for (dimension, &value) in rows.row(row).iter().enumerate() {
                sums[from * dimensions + dimension] -= f64::from(value);
                sums[cluster * dimensions + dimension] = f64::from(value);
            }
        }
    }
    let mut moved = 0.0;
    for cluster in 0..k {
        if counts[cluster] == 0 {
            continue;
        }
        let scale = 1.0 / counts[cluster] as f64;
        for dimension in 0..dimensions {
            let at = cluster * dimensions + dimension;
            let next = sums[at] * scale;
            moved += (next - f64::from(centroids[at])).powi(2);
            centroids[at] = next as f32;
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `clusters` gaussian blobs of `size` points in `dimensions`, centres far apart.
    fn blobs(clusters: usize, size: usize, dimensions: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut random = Random::new(seed);
        let centres: Vec<f64> =
            (0..clusters * dimensions).map(|_| random.normal() * 10.0).collect();
        let mut values = Vec::new();
        let mut truth = Vec::new();
        for point in 0..clusters * size {
            let cluster = point % clusters;
            truth.push(cluster);
            for dimension in 0..dimensions {
                values.push((centres[cluster * dimensions + dimension] + random.normal()) as f32);
            }
        }
        (values, truth)
    }

    #[test]
    fn recovers_well_separated_blobs() {
        let (values, truth) = blobs(6, 200, 16, 5);
        let rows = Rows::new(&values, 16).unwrap();
        let result = kmeans(rows, &Settings::new(6)).unwrap();
        // Every true cluster maps to exactly one found cluster.
        let mut mapping = vec![None; 6];
        for (&found, &expected) in result.labels.iter().zip(&truth) {
            let slot = mapping[expected].get_or_insert(found);
            assert_eq!(*slot, found);
        }
        assert_eq!(result.sizes(), vec![200; 6]);
        // Inertia is the sum of squared distances to the centres it reports.
        let recomputed: f64 = rows
            .rows()
            .zip(&result.labels)
            .map(|(row, &label)| {
                f64::from(emb_core::distance::l2(row, result.centroid(label)).powi(2))
            })
            .sum();
        assert!((recomputed - result.inertia).abs() / recomputed < 1e-4);
    }

    #[test]
    fn centres_are_the_means_of_their_points_at_convergence() {
        let mut random = Random::new(9);
        let values: Vec<f32> = (0..3000).map(|_| random.normal() as f32).collect();
        let rows = Rows::new(&values, 3).unwrap();
        let mut settings = Settings::new(7);
        settings.tolerance = 0.0;
        let result = kmeans(rows, &settings).unwrap();
        for cluster in 0..7 {
            let members: Vec<&[f32]> = rows
                .rows()
                .zip(&result.labels)
                .filter(|(_, &l)| l == cluster)
                .map(|(r, _)| r)
                .collect();
            assert!(!members.is_empty());
            for dimension in 0..3 {
                let mean = members.iter().map(|row| f64::from(row[dimension])).sum::<f64>()
                    / members.len() as f64;
                assert!((mean - f64::from(result.centroid(cluster)[dimension])).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn more_starts_never_give_a_worse_inertia_and_seeds_reproduce() {
        let (values, _) = blobs(10, 50, 8, 11);
        let rows = Rows::new(&values, 8).unwrap();
        let mut one = Settings::new(12);
        one.starts = 1;
        let mut many = one.clone();
        many.starts = 6;
        let (single, several) = (kmeans(rows, &one).unwrap(), kmeans(rows, &many).unwrap());
        assert!(several.inertia <= single.inertia);
        assert_eq!(kmeans(rows, &one).unwrap().labels, single.labels);
    }

    #[test]
    fn duplicate_points_and_k_equal_to_n_work_and_bad_k_is_an_error() {
        let values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0];
        let rows = Rows::new(&values, 2).unwrap();
        let result = kmeans(rows, &Settings::new(4)).unwrap();
        assert!(result.inertia.abs() < 1e-9);
        assert!(matches!(kmeans(rows, &Settings::new(0)), Err(Error::Settings(_))));
        assert!(matches!(kmeans(rows, &Settings::new(5)), Err(Error::Settings(_))));
    }
}
