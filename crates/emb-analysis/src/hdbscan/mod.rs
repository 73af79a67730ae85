//! HDBSCAN density clustering (Campello, Moulavi and Sander 2013; the accelerated form of
//! `McInnes` and Healy 2017): clusters are the regions that stay dense over the widest range of
//! density, found without a number of clusters, and points in no such region are noise.
//!
//! 1. Each point's core distance: how far it reaches to hold `min_samples` points, itself
//!    included (scikit-learn's convention).
//! 2. The minimum spanning tree of the mutual reachability distance `max(core(a), core(b),
//!    d(a, b))`, exactly, by Borůvka's rounds over a k-nearest-neighbour graph with a scan of
//!    all rows (GEMM blocks) for the points the graph cannot settle (`spanning_tree.rs`).
//! 3. The single-linkage hierarchy of that tree, condensed by `min_cluster_size`, and the
//!    clusters that maximise the total stability (excess of mass) (`hierarchy.rs`). Merges at
//!    the same distance are taken together, so the result does not depend on how the points
//!    are numbered; scikit-learn joins tied merges one at a time, in the order its sort leaves
//!    them, which at small `min_cluster_size` can move points between neighbouring clusters.
//!
//! ```
//! use emb_analysis::{hdbscan, neighbours::Metric, Rows};
//!
//! // Two tight groups of ten points on a line and one point far from both.
//! let mut points: Vec<f32> = (0..10).map(|i| i as f32 * 0.1).collect();
//! points.extend((0..10).map(|i| 50.0 + i as f32 * 0.1));
//! points.push(200.0);
//! let settings = hdbscan::Settings { metric: Metric::Euclidean, ..Default::default() };
//! let clustering = hdbscan::cluster(Rows::new(&points, 1)?, &settings)?;
//! assert_eq!(clustering.clusters(), 2);
//! assert_ne!(clustering.labels[0], clustering.labels[10]);
//! assert_eq!(clustering.labels[20], None);
//! # Ok::<(), emb_analysis::Error>(())
//! ```

mod hierarchy;
mod spanning_tree;
mod union_find;

use crate::neighbours::Metric;
use crate::{Error, Result, Rows};

/// How to cluster.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The fewest points a cluster may have; smaller groups splitting off are noise. At least
    /// 2. Default 5.
    pub min_cluster_size: usize,
    /// The number of points (the point itself included) within a point's core distance: larger
    /// values smooth the density and call more points noise. Default `None`: the minimum
    /// cluster size.
    pub min_samples: Option<usize>,
    /// How distances are measured. Default cosine (on unit vectors Euclidean distance orders
    /// pairs the same way, but its scale changes stabilities, so results can differ a little).
    pub metric: Metric,
    /// Whether the root, all points, may be selected as the one cluster. Default false, so that
    /// data without structure is all noise rather than one cluster.
    pub allow_single_cluster: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_cluster_size: 5,
            min_samples: None,
            metric: Metric::Cosine,
            allow_single_cluster: false,
        }
    }
}

/// A flat clustering.
#[derive(Clone, Debug)]
pub struct Clustering {
    /// Each point's cluster, `0..clusters()` in the order of the condensed tree, or `None` for
    /// noise.
    pub labels: Vec<Option<usize>>,
    /// How firmly each point belongs to its cluster, in `[0, 1]`: the density at which it left
    /// the cluster over the highest such density in that cluster (0 for noise).
    pub strengths: Vec<f32>,
    /// Each cluster's stability (excess of mass), by label.
    pub stabilities: Vec<f64>,
}

impl Clustering {
    /// The number of clusters.
    pub fn clusters(&self) -> usize {
        self.stabilities.len()
    }

    /// The number of points in each cluster.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.clusters()];
        for label in self.labels.iter().flatten() {
            sizes[*label] += 1;
        }
        sizes
    }

    /// The number of noise points.
    pub fn noise(&self) -> usize {
        self.labels.iter().filter(|label| label.is_none()).count()
    }
}

/// Clusters `rows` by density.
pub fn cluster(rows: Rows, settings: &Settings) -> Result<Clustering> {
    rows.check(2)?;
    let count = rows.len();
    let min_samples = settings.min_samples.unwrap_or(settings.min_cluster_size);
    if settings.min_cluster_size < 2 {
        return Err(Error::Settings(format!(
            "minimum cluster size {} is below 2",
            settings.min_cluster_size
        )));
    }
    if min_samples == 0 || min_samples > count {
        return Err(Error::Settings(format!(
            "min_samples {min_samples} must be between 1 and the number of points, {count}"
        )));
    }
    let (edges, _) = spanning_tree::minimum_spanning_tree(rows, settings.metric, min_samples)?;
    Ok(hierarchy::select(count, edges, settings.min_cluster_size, settings.allow_single_cluster))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::Random;

    /// The reference data of `bench/reference/analysis_reference.py` (its `blobs`): `groups`
    /// of `(count, spread)` points around uniform centres in `[-extent, extent]`, then `noise`
    /// uniform points in `[-1.2 extent, 1.2 extent]`; each point's group (`None` for noise).
    pub(crate) fn reference_blobs(
        seed: u64,
        dimensions: usize,
        groups: &[(usize, f64)],
        noise: usize,
        extent: f64,
    ) -> (Vec<f32>, Vec<Option<usize>>) {
        let mut random = Random::new(seed);
        let centres: Vec<Vec<f64>> = groups
            .iter()
            .map(|_| (0..dimensions).map(|_| (random.unit() * 2.0 - 1.0) * extent).collect())
            .collect();
        let root_three = 3.0_f64.sqrt();
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        for (group, (&(count, spread), centre)) in groups.iter().zip(&centres).enumerate() {
            for _ in 0..count {
                for &value in centre {
                    let sum = random.unit() + random.unit() + random.unit() + random.unit();
                    values.push((value + spread * (sum - 2.0) * root_three) as f32);
                }
                labels.push(Some(group));
            }
        }
        for _ in 0..noise {
            for _ in 0..dimensions {
                values.push(((random.unit() * 2.0 - 1.0) * extent * 1.2) as f32);
            }
            labels.push(None);
        }
        (values, labels)
    }

    /// The sum of the values, to check the data is the reference script's.
    pub(crate) fn checksum(values: &[f32]) -> f64 {
        values.iter().map(|&value| f64::from(value)).sum()
    }

    #[test]
    fn finds_what_scikit_learn_finds_on_reference_blobs() {
        // From bench/reference/analysis_reference.py (scikit-learn 1.9.1 HDBSCAN): for each
        // min_cluster_size, the cluster sizes, largest first, and the noise count.
        let references = [(10, [311, 286, 153], 50), (25, [311, 262, 153], 74)];
        let groups = [(300, 0.5), (200, 1.0), (150, 0.3), (100, 1.5)];
        let (values, _) = reference_blobs(7, 2, &groups, 50, 10.0);
        assert!((checksum(&values) - -2_711.895_034_731_133).abs() < 1e-6);
        let rows = Rows::new(&values, 2).unwrap();
        for (min_cluster_size, expected_sizes, expected_noise) in references {
            let settings =
                Settings { min_cluster_size, metric: Metric::Euclidean, ..Settings::default() };
            let clustering = cluster(rows, &settings).unwrap();
            let mut sizes = clustering.sizes();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(sizes.len(), expected_sizes.len(), "{min_cluster_size}: {sizes:?}");
            for (size, expected) in sizes.iter().zip(expected_sizes) {
                assert!(size.abs_diff(expected) <= 3, "{min_cluster_size}: {sizes:?}");
            }
            assert!(clustering.noise().abs_diff(expected_noise) <= 5, "{}", clustering.noise());
        }
    }

    #[test]
    fn settings_out_of_range_are_errors() {
        let values = vec![0.0_f32, 1.0, 2.0, 3.0];
        let rows = Rows::new(&values, 1).unwrap();
        let too_small = Settings { min_cluster_size: 1, ..Settings::default() };
        assert!(matches!(cluster(rows, &too_small), Err(Error::Settings(_))));
        let too_many = Settings { min_samples: Some(5), ..Settings::default() };
        assert!(matches!(cluster(rows, &too_many), Err(Error::Settings(_))));
    }

    #[test]
    fn blobs_of_different_density_come_out_whole_and_scattered_points_are_noise() {
        let mut random = Random::new(4);
        let mut values = Vec::new();
        let mut truth = Vec::new();
        for (blob, (x, y, spread)) in
            [(0.0, 0.0, 0.3), (8.0, 0.0, 0.8), (0.0, 9.0, 0.5)].iter().enumerate()
        {
            for _ in 0..200 {
                values.push((x + random.normal() * spread) as f32);
                values.push((y + random.normal() * spread) as f32);
                truth.push(Some(blob));
            }
        }
        for _ in 0..6 {
            values.push((random.unit() * 60.0 - 30.0 + 40.0) as f32);
            values.push((random.unit() * 60.0 - 30.0 - 40.0) as f32);
            truth.push(None);
        }
        let settings =
            Settings { min_cluster_size: 10, metric: Metric::Euclidean, ..Settings::default() };
        let clustering = cluster(Rows::new(&values, 2).unwrap(), &settings).unwrap();
        assert_eq!(clustering.clusters(), 3);
        assert!(clustering.labels[600..].iter().all(Option::is_none));
        // Each blob maps to one cluster, with at most a few of its edge points as noise.
        for blob in 0..3 {
            let labels = &clustering.labels[blob * 200..(blob + 1) * 200];
            let first = labels.iter().flatten().next().copied();
            assert!(labels.iter().all(|&label| label.is_none() || label == first));
            assert!(labels.iter().filter(|label| label.is_none()).count() < 20);
        }
        assert!(clustering.strengths.iter().all(|&strength| (0.0..=1.0).contains(&strength)));
        assert_eq!(clustering.sizes().iter().sum::<usize>() + clustering.noise(), 606);
    }
}
