//! t-SNE maps (van der Maaten and Hinton 2008) computed the Barnes-Hut way (van der Maaten
//! 2014), with scikit-learn's defaults.
//!
//! 1. Input affinities: each point's `⌊3·perplexity⌋ + 1` nearest neighbours (exact, on the GEMM
//!    kernel) weighted by a Gaussian over the squared distance (for cosine, the square of the
//!    cosine distance, as scikit-learn does) whose precision is bisected until the row's
//!    perplexity is the one asked for; the rows symmetrised and normalised into a sparse joint
//!    distribution `P`.
//! 2. Start: the first principal components scaled so the first has standard deviation `1e-4`
//!    (or Gaussian noise of that size).
//! 3. Gradient descent on `KL(P ‖ Q)` with Student-t similarities `1 / (1 + |y_i − y_j|²)` in
//!    the map (one degree of freedom whatever its dimensions; scikit-learn uses two for 3-D
//!    maps), `P` exaggerated for the first iterations, momentum 0.5 then 0.8, per-coordinate
//!    gains (+0.2 when the gradient keeps its sign, ×0.8 when it flips, at least 0.01). All
//!    iterations run (scikit-learn may stop early when progress stalls). The attractive forces
//!    run over the sparse `P`; the repulsive ones over a space-partitioning tree that summarises
//!    far cells by their centre of mass: maps have one to three dimensions (a binary tree,
//!    quadtree or octree), as in scikit-learn's Barnes-Hut method.
//!
//! Both force passes run on every core (rayon). Results depend only on the input and the seed.
//!
//! ```
//! use emb_analysis::{tsne, Rows};
//!
//! // Two tight groups of 20 points far apart in 3-D.
//! let points: Vec<f32> = (0..40)
//!     .flat_map(|i| {
//!         let offset = if i < 20 { 0.0 } else { 10.0 };
//!         [offset + (i % 5) as f32 * 0.1, offset + (i % 4) as f32 * 0.1, offset]
//!     })
//!     .collect();
//! let settings = tsne::Settings {
//!     perplexity: 5.0,
//!     metric: emb_analysis::neighbours::Metric::Euclidean,
//!     ..Default::default()
//! };
//! let map = tsne::project(Rows::new(&points, 3)?, &settings)?;
//! assert_eq!(map.coordinates.len(), 40 * 2);
//! # Ok::<(), emb_analysis::Error>(())
//! ```

mod affinities;
mod tree;

use rayon::prelude::*;

use crate::neighbours::{self, Metric};
use crate::pca;
use crate::random::Random;
use crate::{Error, Result, Rows};
use affinities::Affinities;
use tree::Tree;

/// Momentum while `P` is exaggerated.
const EARLY_MOMENTUM: f32 = 0.5;
/// Momentum after.
const LATE_MOMENTUM: f32 = 0.8;
/// The smallest per-coordinate gain.
const MINIMUM_GAIN: f32 = 0.01;
/// The standard deviation of the first coordinate of the start.
const START_SCALE: f64 = 1e-4;

/// How the map starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Initialisation {
    /// The leading principal components, scaled so the first has standard deviation `1e-4`
    /// (scikit-learn's default: maps come out the same way round every time).
    #[default]
    Pca,
    /// Independent Gaussian coordinates of standard deviation `1e-4`.
    Random,
}

/// How to map.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Dimensions of the map, 1 to 3. Default 2 (a quadtree; 3 uses an octree).
    pub dimensions: usize,
    /// The effective number of neighbours each point's affinities spread over. Default 30; the
    /// data must have more than `3 × perplexity` points.
    pub perplexity: f64,
    /// The factor `P` is multiplied by early on, so clusters form before they spread.
    /// Default 12.
    pub early_exaggeration: f64,
    /// Iterations with exaggeration and the low momentum. Default 250.
    pub exaggeration_iterations: usize,
    /// Iterations in all, the exaggerated ones included. Default 1000.
    pub iterations: usize,
    /// The step size. Default `None`: `max(n / early_exaggeration / 4, 50)`, scikit-learn's
    /// `"auto"`.
    pub learning_rate: Option<f64>,
    /// The Barnes-Hut opening angle: a cell of side `w` at distance `d` is summarised when
    /// `w / d < theta`; 0 is exact. Default 0.5.
    pub theta: f64,
    /// How the input points' distances are measured. Default cosine.
    pub metric: Metric,
    /// How the map starts. Default PCA.
    pub initialisation: Initialisation,
    /// The seed of the random start (and of the PCA's starting block). Default 0.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dimensions: 2,
            perplexity: 30.0,
            early_exaggeration: 12.0,
            exaggeration_iterations: 250,
            iterations: 1000,
            learning_rate: None,
            theta: 0.5,
            metric: Metric::Cosine,
            initialisation: Initialisation::Pca,
            seed: 0,
        }
    }
}

impl Settings {
    /// The number of neighbours whose affinities are kept for each point.
    fn neighbours(&self, count: usize) -> usize {
        ((3.0 * self.perplexity) as usize + 1).min(count - 1)
    }

    fn check(&self, count: usize) -> Result<()> {
        let fail = |message: String| Err(Error::Settings(message));
        if !(1..=3).contains(&self.dimensions) {
            return fail(format!(
                "maps of {} dimensions asked: between 1 and 3 (the Barnes-Hut tree's)",
                self.dimensions
            ));
        }
        if !(self.perplexity.is_finite() && self.perplexity > 0.0) {
            return fail(format!("perplexity {} is not a positive number", self.perplexity));
        }
        if count as f64 <= 3.0 * self.perplexity {
            return fail(format!(
                "perplexity {} needs more than {} points (3 × perplexity); {count} given: lower it",
                self.perplexity,
                3.0 * self.perplexity
            ));
        }
        if !(self.early_exaggeration.is_finite() && self.early_exaggeration > 0.0) {
            return fail(format!(
                "early exaggeration {} is not a positive number",
                self.early_exaggeration
            ));
        }
        if let Some(rate) = self.learning_rate {
            if !(rate.is_finite() && rate > 0.0) {
                return fail(format!("learning rate {rate} is not a positive number"));
            }
        }
        if !(self.theta.is_finite() && self.theta >= 0.0) {
            return fail(format!("theta {} must be 0 or more", self.theta));
        }
        Ok(())
    }
}

/// A map of the points.
#[derive(Clone, Debug)]
pub struct Projection {
    /// Dimensions of the map.
    pub dimensions: usize,
    /// `n × dimensions` coordinates, row-major, in the order of the input rows.
    pub coordinates: Vec<f32>,
    /// `KL(P ‖ Q)` of the final map (with `Q`'s normaliser from the tree, as optimised).
    pub kl_divergence: f64,
}

impl Projection {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.coordinates.len() / self.dimensions
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.coordinates.is_empty()
    }

    /// Point `index`'s coordinates.
    pub fn point(&self, index: usize) -> &[f32] {
        &self.coordinates[index * self.dimensions..(index + 1) * self.dimensions]
    }
}

/// Maps `rows` to `settings.dimensions` dimensions so that neighbours stay neighbours.
pub fn project(rows: Rows, settings: &Settings) -> Result<Projection> {
    rows.check(2)?;
    let count = rows.len();
    settings.check(count)?;
    let graph = neighbours::exact(rows, settings.neighbours(count), settings.metric)?;
    let affinities = affinities::joint_probabilities(&graph, settings.perplexity);
    drop(graph);
    let mut positions = start(rows, settings)?;
    let kl_divergence = match settings.dimensions {
        1 => optimise::<1>(&affinities, &mut positions, settings),
        2 => optimise::<2>(&affinities, &mut positions, settings),
        _ => optimise::<3>(&affinities, &mut positions, settings),
    };
    Ok(Projection { dimensions: settings.dimensions, coordinates: positions, kl_divergence })
}

/// Gradient descent of the map `positions` (`n × D`, row-major) from its start; returns the
/// final `KL(P ‖ Q)`.
fn optimise<const D: usize>(
    affinities: &Affinities,
    positions: &mut [f32],
    settings: &Settings,
) -> f64 {
    let count = affinities.len();
    let learning_rate = settings
        .learning_rate
        .unwrap_or_else(|| (count as f64 / settings.early_exaggeration / 4.0).max(50.0))
        as f32;
    let mut tree = Tree::<D>::new();
    let theta = settings.theta as f32;
    let mut update = vec![0.0_f32; count * D];
    let mut gains = vec![1.0_f32; count * D];
    let mut attractive = vec![0.0_f32; count * D];
    let mut repulsive = vec![0.0_f32; count * D];
    for iteration in 0..settings.iterations {
        let early = iteration < settings.exaggeration_iterations;
        let (exaggeration, momentum) = if early {
            (settings.early_exaggeration as f32, EARLY_MOMENTUM)
        } else {
            (1.0, LATE_MOMENTUM)
        };
        let normaliser = tree.repulsion(positions, theta, &mut repulsive) as f32;
        attraction::<D>(affinities, positions, &mut attractive);
        let inverse = 1.0 / normaliser.max(f32::MIN_POSITIVE);
        for (((position, step), gain), (&pull, &push)) in positions
            .iter_mut()
            .zip(&mut update)
            .zip(&mut gains)
            .zip(attractive.iter().zip(&repulsive))
        {
            // ∂KL/∂y = 4 (Σ p w (y_i − y_j) − Σ w² (y_i − y_j) / Z), w = 1 / (1 + |y_i − y_j|²).
            let gradient = 4.0 * (exaggeration * pull - push * inverse);
            *gain = if *step * gradient < 0.0 { *gain + 0.2 } else { *gain * 0.8 };
            *gain = gain.max(MINIMUM_GAIN);
            *step = momentum * *step - learning_rate * *gain * gradient;
            *position += *step;
        }
    }
    let normaliser = tree.repulsion(positions, theta, &mut repulsive);
    divergence::<D>(affinities, positions, normaliser)
}

/// The starting map, `n × dimensions` row-major.
fn start(rows: Rows, settings: &Settings) -> Result<Vec<f32>> {
    let dimensions = settings.dimensions;
    if settings.initialisation == Initialisation::Pca {
        let components = pca::pca(
            rows,
            &pca::Settings { seed: settings.seed, ..pca::Settings::new(dimensions) },
        )?;
        let first: Vec<f64> =
            components.coordinates.iter().step_by(dimensions).map(|&x| f64::from(x)).collect();
        let mean = first.iter().sum::<f64>() / first.len() as f64;
        let deviation = (first.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>()
            / first.len() as f64)
            .sqrt();
        if deviation > 0.0 {
            let scale = START_SCALE / deviation;
            return Ok(components
                .coordinates
                .iter()
                .map(|&x| (f64::from(x) * scale) as f32)
                .collect());
        }
        // All points project to one spot: nothing to keep, start at random.
    }
    let mut random = Random::new(settings.seed);
    Ok((0..rows.len() * dimensions).map(|_| (random.normal() * START_SCALE) as f32).collect())
}

/// `Σ_j p_ij w_ij (y_i − y_j)` for every point into `out`.
fn attraction<const D: usize>(affinities: &Affinities, positions: &[f32], out: &mut [f32]) {
    let (positions, _) = positions.as_chunks::<D>();
    let (out, _) = out.as_chunks_mut::<D>();
    out.par_iter_mut().enumerate().for_each(|(row, force)| {
        let point = positions[row];
        let mut total = [0.0_f32; D];
        for (column, probability) in affinities.row(row) {
            let other = positions[column];
            let mut difference = [0.0_f32; D];
            let mut squared = 0.0;
            for axis in 0..D {
                difference[axis] = point[axis] - other[axis];
                squared += difference[axis] * difference[axis];
            }
            let pull = probability / (1.0 + squared);
            for axis in 0..D {
                total[axis] += pull * difference[axis];
            }
        }
        *force = total;
    });
}

/// `KL(P ‖ Q) = Σ p_ij ln(p_ij / q_ij)` with `q_ij = w_ij / Z`.
fn divergence<const D: usize>(affinities: &Affinities, positions: &[f32], normaliser: f64) -> f64 {
    let (positions, _) = positions.as_chunks::<D>();
    let rows: Vec<f64> = (0..affinities.len())
        .into_par_iter()
        .map(|row| {
            affinities
                .row(row)
                .filter(|&(_, probability)| probability > 0.0)
                .map(|(column, probability)| {
                    let squared: f64 = (0..D)
                        .map(|axis| {
                            f64::from(positions[row][axis] - positions[column][axis]).powi(2)
                        })
                        .sum();
                    let probability = f64::from(probability);
                    probability * (probability * normaliser * (1.0 + squared)).ln()
                })
                .sum()
        })
        .collect();
    rows.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdbscan::tests::{checksum, reference_blobs};

    /// `per_group` points around each of `groups` centres in `dimensions` dimensions, and each
    /// point's group.
    fn groups(
        groups: usize,
        per_group: usize,
        dimensions: usize,
        seed: u64,
    ) -> (Vec<f32>, Vec<usize>) {
        let mut random = Random::new(seed);
        let centres: Vec<f64> = (0..groups * dimensions).map(|_| random.normal() * 6.0).collect();
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for point in 0..groups * per_group {
            let group = point % groups;
            labels.push(group);
            values.extend(
                centres[group * dimensions..(group + 1) * dimensions]
                    .iter()
                    .map(|&centre| (centre + random.normal()) as f32),
            );
        }
        (values, labels)
    }

    /// The share of points whose nearest other point in the map is from their own group.
    fn nearest_agreement(map: &Projection, labels: &[usize]) -> f64 {
        let rows = Rows::new(&map.coordinates, map.dimensions).unwrap();
        let graph = neighbours::exact(rows, 1, Metric::Euclidean).unwrap();
        let agreeing =
            (0..labels.len()).filter(|&row| labels[graph.indices[row] as usize] == labels[row]);
        agreeing.count() as f64 / labels.len() as f64
    }

    #[test]
    fn too_few_points_for_the_perplexity_is_a_settings_error() {
        let values = vec![0.5_f32; 90 * 3];
        let error = project(Rows::new(&values, 3).unwrap(), &Settings::default()).unwrap_err();
        assert!(matches!(error, Error::Settings(ref message) if message.contains("90")), "{error}");
        let settings = Settings { perplexity: 0.0, ..Settings::default() };
        assert!(matches!(
            project(Rows::new(&values, 3).unwrap(), &settings),
            Err(Error::Settings(_))
        ));
    }

    #[test]
    fn groups_stay_apart_in_two_and_three_dimensions_and_repeat_with_the_seed() {
        let (values, labels) = groups(4, 100, 10, 1);
        let rows = Rows::new(&values, 10).unwrap();
        for dimensions in [2, 3] {
            let settings = Settings {
                dimensions,
                perplexity: 15.0,
                metric: Metric::Euclidean,
                ..Settings::default()
            };
            let map = project(rows, &settings).unwrap();
            assert_eq!(map.len(), 400);
            assert!(map.coordinates.iter().all(|value| value.is_finite()));
            assert!(nearest_agreement(&map, &labels) > 0.99, "{dimensions}-D");
            assert!(map.kl_divergence > 0.0 && map.kl_divergence < 2.0, "{}", map.kl_divergence);
            let again = project(rows, &settings).unwrap();
            assert_eq!(again.coordinates, map.coordinates);
        }
    }

    #[test]
    fn matches_scikit_learns_divergence_and_separation() {
        // From bench/reference/analysis_reference.py (scikit-learn 1.9.1 TSNE, perplexity 20,
        // Euclidean, PCA start, otherwise defaults): the final KL divergence and the share of
        // points whose nearest neighbour in the map is from their own blob.
        let (reference_divergence, reference_agreement) = (1.084_240_794, 0.936_666_667);
        let (values, groups) = reference_blobs(3, 10, &[(120, 1.0); 5], 0, 2.0);
        assert!((checksum(&values) - -842.042_708_096_385_5).abs() < 1e-6);
        let labels: Vec<usize> = groups.into_iter().flatten().collect();
        let settings =
            Settings { perplexity: 20.0, metric: Metric::Euclidean, ..Settings::default() };
        let map = project(Rows::new(&values, 10).unwrap(), &settings).unwrap();
        assert!(
            (map.kl_divergence - reference_divergence).abs() < 0.05,
            "KL {} against {reference_divergence}",
            map.kl_divergence
        );
        let agreement = nearest_agreement(&map, &labels);
        assert!(
            agreement > reference_agreement - 0.02,
            "{agreement} against {reference_agreement}"
        );
    }

    #[test]
    fn random_starts_work_and_four_dimensions_are_refused() {
        let (values, labels) = groups(3, 40, 6, 2);
        let rows = Rows::new(&values, 6).unwrap();
        let settings = Settings {
            perplexity: 10.0,
            iterations: 400,
            initialisation: Initialisation::Random,
            ..Settings::default()
        };
        let map = project(rows, &settings).unwrap();
        assert_eq!(map.coordinates.len(), 120 * 2);
        assert!(nearest_agreement(&map, &labels) > 0.95);
        let settings = Settings { dimensions: 4, ..settings };
        assert!(matches!(project(rows, &settings), Err(Error::Settings(_))));
    }
}
