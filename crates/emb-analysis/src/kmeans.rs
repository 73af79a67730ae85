//! k-means clustering: Lloyd's algorithm from a greedy k-means++ start, with Elkan's bounds to
//! skip distances that cannot change a point's cluster; optionally several starts, the lowest
//! inertia kept. What scikit-learn's `KMeans` computes.
//!
//! A point moves to its nearest centre; a centre moves to the mean of its points (sums kept in
//! `f64` and updated only for the points that moved). A centre left with no points takes the
//! point farthest from its own centre. Iteration stops when the centres move less than
//! `tolerance × mean variance of the data` in total (scikit-learn's rule) or no point moves.

use rayon::prelude::*;

use crate::linear::{dot_products_into, squared_norms};
use crate::random::Random;
use crate::{Error, Result, Rows};

/// How to cluster.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The number of clusters.
    pub k: usize,
    /// Independent starts; the one with the lowest inertia wins. Default 1, as scikit-learn
    /// (`n_init="auto"` with k-means++): a start is already a careful greedy k-means++ one.
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
        Self { k, starts: 1, max_iterations: 300, tolerance: 1e-4, seed: 0 }
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

/// Points per parallel task in the assignment and update steps.
const CHUNK: usize = 1024;

/// Each row's nearest centre and squared distance to it. With few centres, one SIMD dot
/// product per (point, centre) with the centres held in L1 beats a GEMM of such a thin shape.
fn assign(
    rows: Rows,
    norms: &[f32],
    centroids: &[f32],
    labels: &mut [usize],
    distances: &mut [f32],
) {
    let dimensions = rows.dimensions();
    let centre_norms = squared_norms(Rows::new(centroids, dimensions).expect("whole rows"));
    let k = centre_norms.len();
    rows.values()
        .par_chunks(CHUNK * dimensions)
        .zip(labels.par_chunks_mut(CHUNK))
        .zip(distances.par_chunks_mut(CHUNK))
        .zip(norms.par_chunks(CHUNK))
        .for_each(|(((points, labels), distances), norms)| {
            let mut products = vec![0.0_f32; k];
            for (((point, label), distance), &norm) in
                points.chunks_exact(dimensions).zip(labels).zip(distances).zip(norms)
            {
                emb_core::distance::dot_rows(centroids, point, &mut products);
                let mut nearest = (0, f32::INFINITY);
                for (centre, (&product, &centre_norm)) in
                    products.iter().zip(&centre_norms).enumerate()
                {
                    let partial = centre_norm - 2.0 * product;
                    if partial < nearest.1 {
                        nearest = (centre, partial);
                    }
                }
                *label = nearest.0;
                *distance = (norm + nearest.1).max(0.0);
            }
        });
}

/// Lloyd's iterations with Elkan's bounds: each point keeps an upper bound on the distance to
/// its centre and a lower bound on the distance to every other centre; when the centres move
/// little, the triangle inequality shows most distances need not be computed. (Hamerly's single
/// lower bound prunes little in the hundreds of dimensions of embeddings, where all centres are
/// nearly equally far.) The labels are those of plain Lloyd iterations; only the work differs.
fn lloyd(
    rows: Rows,
    norms: &[f32],
    mut centroids: Vec<f32>,
    max_iterations: usize,
    threshold: f64,
) -> KMeans {
    let (count, dimensions) = (rows.len(), rows.dimensions());
    let k = centroids.len() / dimensions;
    let mut labels = vec![0_usize; count];
    let mut upper = vec![0.0_f32; count];
    let mut lower = vec![0.0_f32; count * k];
    rows.values()
        .par_chunks(CHUNK * dimensions)
        .zip(labels.par_chunks_mut(CHUNK))
        .zip(upper.par_chunks_mut(CHUNK))
        .zip(lower.par_chunks_mut(CHUNK * k))
        .for_each(|(((points, labels), upper), lower)| {
            for (index, (point, lower)) in
                points.chunks_exact(dimensions).zip(lower.chunks_exact_mut(k)).enumerate()
            {
                for (bound, centre) in lower.iter_mut().zip(centroids.chunks_exact(dimensions)) {
                    *bound = distance(point, centre);
                }
                let (nearest, &closest) =
                    lower.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).expect("k >= 1");
                (labels[index], upper[index]) = (nearest, closest);
            }
        });
    let mut sums = Sums::of(rows, &labels, k);
    sums.fill_empty(rows, &mut labels, &mut upper, &mut lower);
    let mut iterations = 0;
    let mut previous = centroids.clone();
    while iterations < max_iterations {
        iterations += 1;
        previous.copy_from_slice(&centroids);
        if sums.centres(&mut centroids) <= threshold {
            break;
        }
        let shifts: Vec<f32> = previous
            .chunks_exact(dimensions)
            .zip(centroids.chunks_exact(dimensions))
            .map(|(before, after)| distance(before, after))
            .collect();
        // Half the distance between every two centres, and from each to its nearest other.
        let mut half = vec![0.0_f32; k * k];
        for a in 0..k {
            for b in a + 1..k {
                let between = distance(
                    &centroids[a * dimensions..(a + 1) * dimensions],
                    &centroids[b * dimensions..(b + 1) * dimensions],
                );
                (half[a * k + b], half[b * k + a]) = (between / 2.0, between / 2.0);
            }
        }
        let nearest_half: Vec<f32> = (0..k)
            .map(|a| {
                (0..k).filter(|&b| b != a).map(|b| half[a * k + b]).fold(f32::INFINITY, f32::min)
            })
            .collect();
        let centroids = &centroids;
        let centre = |c: usize| &centroids[c * dimensions..(c + 1) * dimensions];
        let changes: Vec<(usize, usize, usize)> = rows
            .values()
            .par_chunks(CHUNK * dimensions)
            .zip(labels.par_chunks_mut(CHUNK))
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(CHUNK * k))
            .enumerate()
            .flat_map_iter(|(chunk, (((points, labels), upper), lower))| {
                let mut changes = Vec::new();
                for (index, (point, lower)) in
                    points.chunks_exact(dimensions).zip(lower.chunks_exact_mut(k)).enumerate()
                {
                    let label = labels[index];
                    let mut bound = upper[index] + shifts[label];
                    for (low, &shift) in lower.iter_mut().zip(&shifts) {
                        *low = (*low - shift).max(0.0);
                    }
                    let mut nearest = label;
                    if bound > nearest_half[label] {
                        let mut tight = false;
                        for other in 0..k {
                            if other == nearest
                                || bound <= lower[other]
                                || bound <= half[nearest * k + other]
                            {
                                continue;
                            }
                            if !tight {
                                bound = distance(point, centre(nearest));
                                lower[nearest] = bound;
                                tight = true;
                                if bound <= lower[other] || bound <= half[nearest * k + other] {
                                    continue;
                                }
                            }
                            let candidate = distance(point, centre(other));
                            lower[other] = candidate;
                            if candidate < bound {
                                (nearest, bound) = (other, candidate);
                            }
                        }
                    }
                    (labels[index], upper[index]) = (nearest, bound);
                    if nearest != label {
                        changes.push((chunk * CHUNK + index, label, nearest));
                    }
                }
                changes
            })
            .collect();
        if changes.is_empty() {
            break;
        }
        for (row, from, to) in changes {
            sums.shift(rows.row(row), from, to);
        }
        sums.fill_empty(rows, &mut labels, &mut upper, &mut lower);
    }
    // The labels and inertia of the final centres, computed afresh.
    let mut distances = vec![0.0_f32; count];
    assign(rows, norms, &centroids, &mut labels, &mut distances);
    let inertia = distances.iter().map(|&d| f64::from(d)).sum();
    KMeans { k, labels, centroids, inertia, iterations }
}

/// The Euclidean distance of two rows.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    emb_core::distance::squared_l2(a, b).sqrt()
}

/// The per-cluster sums and counts of the points, kept up to date as points change cluster, so
/// moving the centres costs `k × dimensions`, not a pass over the data.
struct Sums {
    totals: Vec<f64>,
    counts: Vec<usize>,
    dimensions: usize,
}

impl Sums {
    fn of(rows: Rows, labels: &[usize], k: usize) -> Self {
        let dimensions = rows.dimensions();
        let empty = || (vec![0.0_f64; k * dimensions], vec![0_usize; k]);
        let (sums, counts) = rows
            .values()
            .par_chunks(CHUNK * dimensions)
            .zip(labels.par_chunks(CHUNK))
            .fold(empty, |(mut sums, mut counts), (points, labels)| {
                for (point, &label) in points.chunks_exact(dimensions).zip(labels) {
                    counts[label] += 1;
                    let sum = &mut sums[label * dimensions..(label + 1) * dimensions];
                    for (total, &value) in sum.iter_mut().zip(point) {
                        *total += f64::from(value);
                    }
                }
                (sums, counts)
            })
            .reduce(empty, |(mut sums, mut counts), (other_sums, other_counts)| {
                for (total, other) in sums.iter_mut().zip(other_sums) {
                    *total += other;
                }
                for (count, other) in counts.iter_mut().zip(other_counts) {
                    *count += other;
                }
                (sums, counts)
            });
        Self { totals: sums, counts, dimensions }
    }

    /// Moves `point` from cluster `from` to cluster `to`.
    fn shift(&mut self, point: &[f32], from: usize, to: usize) {
        let d = self.dimensions;
        self.counts[from] -= 1;
        self.counts[to] += 1;
        for (dimension, &value) in point.iter().enumerate() {
            self.totals[from * d + dimension] -= f64::from(value);
            self.totals[to * d + dimension] += f64::from(value);
        }
    }

    /// Sets every non-empty cluster's centre to the mean of its points; returns the total
    /// squared shift of the centres.
    fn centres(&self, centroids: &mut [f32]) -> f64 {
        let mut moved = 0.0;
        for (cluster, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let scale = 1.0 / count as f64;
            let range = cluster * self.dimensions..(cluster + 1) * self.dimensions;
            for (centre, &sum) in centroids[range.clone()].iter_mut().zip(&self.totals[range]) {
                let next = sum * scale;
                moved += (next - f64::from(*centre)).powi(2);
                *centre = next as f32;
            }
        }
        moved
    }

    /// Gives every empty cluster the point farthest from its centre (by `upper`) among those
    /// whose cluster has others; that point's bounds (`lower`: k per point) are reset so it is
    /// checked again.
    fn fill_empty(
        &mut self,
        rows: Rows,
        labels: &mut [usize],
        upper: &mut [f32],
        lower: &mut [f32],
    ) {
        let empty: Vec<usize> = (0..self.counts.len()).filter(|&c| self.counts[c] == 0).collect();
        if empty.is_empty() {
            return;
        }
        let mut far: Vec<usize> = (0..labels.len()).collect();
        far.sort_unstable_by(|&a, &b| upper[b].total_cmp(&upper[a]));
        let mut candidates = far.into_iter();
        for cluster in empty {
            let Some(row) = candidates.by_ref().find(|&row| self.counts[labels[row]] > 1) else {
                break;
            };
            self.shift(rows.row(row), labels[row], cluster);
            labels[row] = cluster;
            let k = self.counts.len();
            upper[row] = f32::INFINITY;
            lower[row * k..(row + 1) * k].fill(0.0);
        }
    }
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
        let mut mapping = [None; 6];
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
