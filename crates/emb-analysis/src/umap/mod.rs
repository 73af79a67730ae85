//! UMAP: a 2-D or 3-D map of the rows that keeps each one near its nearest neighbours (Leland
//! `McInnes`, John Healy and James Melville, 2018, "UMAP: Uniform Manifold Approximation and
//! Projection for Dimension Reduction").
//!
//! [`project`] runs the method's four steps:
//! 1. the `neighbours - 1` nearest other rows of every row ([`crate::neighbours::exact`], or
//!    an HNSW graph past [`EXACT_UP_TO`] rows, see [`NeighbourSearch`]);
//! 2. the fuzzy graph: each row's distances turned into memberships by a local scale found by
//!    bisection so that they sum to `log2(neighbours)`, then joined with the reverse
//!    memberships by the fuzzy union `a + b - a·b`;
//! 3. a starting layout: the graph's spectral embedding, or random points ([`Initialisation`]);
//! 4. stochastic gradient descent on the fuzzy cross-entropy between the graph and the layout,
//!    with the low-dimensional similarity `1 / (1 + a·d^(2b))` whose `a` and `b` are fitted to
//!    [`Settings::minimum_distance`] and [`Settings::spread`].
//!
//! ```
//! use emb_analysis::{umap, Rows};
//!
//! // Two clouds of 100 points in 8 dimensions, far apart.
//! let mut random = emb_analysis::random::Random::new(1);
//! let values: Vec<f32> = (0..200 * 8)
//!     .map(|at| if at / 8 < 100 { 0.0 } else { 20.0 } + random.normal() as f32)
//!     .collect();
//! let settings = umap::Settings::default().metric(emb_analysis::neighbours::Metric::Euclidean);
//! let map = umap::project(Rows::new(&values, 8)?, &settings)?;
//! assert_eq!(map.coordinates.len(), 200 * 2);
//! # Ok::<(), emb_analysis::Error>(())
//! ```

mod curve;
mod fuzzy;
mod initial;
mod optimise;

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::neighbours::{self, Graph, Metric};
use crate::{Error, Result, Rows};
use curve::Curve;
use optimise::Schedule;

/// [`NeighbourSearch::Automatic`] searches exactly up to this many rows. Near it the two
/// searches cost about the same: on 100,000 word vectors (glove100) of 100 dimensions on two
/// busy cores, the exact search took 52 s and the HNSW graph 65 s, and the maps scored the
/// same trustworthiness (0.8677 and 0.8679); past it the exact search's `n²` work grows faster.
pub const EXACT_UP_TO: usize = 100_000;
/// Points above which the default number of epochs drops from 500 to 200, as in umap-learn.
const LARGE: usize = 10_000;

/// How the starting layout is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Initialisation {
    /// The graph's Laplacian eigenmap: its top non-trivial eigenvectors (umap-learn's default).
    #[default]
    Spectral,
    /// Points drawn uniformly in a box.
    Random,
}

/// How the nearest neighbours are found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NeighbourSearch {
    /// Exactly up to [`EXACT_UP_TO`] rows; past it, approximately for [`Metric::Cosine`] and
    /// still exactly for [`Metric::Euclidean`].
    #[default]
    Automatic,
    /// All pairs compared: `n²·d` work, at the speed of a matrix product (about a second for
    /// 20,000 × 384 on two cores, so minutes past 200,000 rows).
    Exact,
    /// An HNSW graph of the rows (`emb_index::hnsw`), searched once per row: cosine only.
    Approximate,
}

/// How to project: the defaults are umap-learn's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// The size of a point's neighbourhood, the point included (umap-learn's `n_neighbors`):
    /// larger keeps more of the global shape, smaller more of the local detail. Default: 15.
    pub neighbours: usize,
    /// How close points may sit in the map (umap-learn's `min_dist`). Default: 0.1.
    pub minimum_distance: f32,
    /// The scale of the map's distances, with `minimum_distance`. Default: 1.0.
    pub spread: f32,
    /// The dimensions of the map. Default: 2.
    pub dimensions: usize,
    /// Passes of the optimisation over the graph. Default: `None`, which is 200 above 10,000
    /// points and 500 up to it.
    pub epochs: Option<usize>,
    /// The optimisation's first step size, falling linearly to 0. Default: 1.0.
    pub learning_rate: f32,
    /// Random points pushed away for every edge sample. Default: 5.
    pub negative_sample_rate: usize,
    /// The weight of the push against the pull (γ in the paper). Default: 1.0.
    pub repulsion: f32,
    /// How nearness is measured in the input. Default: cosine.
    pub metric: Metric,
    /// How the starting layout is made. Default: spectral.
    pub initialisation: Initialisation,
    /// How the nearest neighbours are found. Default: automatic.
    pub neighbour_search: NeighbourSearch,
    /// Seeds every random choice. Default: 42.
    pub seed: u64,
    /// Runs the gradient descent on one thread, so that the same rows and seed always give the
    /// same map (umap-learn does the same when given a `random_state`). Otherwise its threads
    /// update the points without locks and two runs differ slightly. Default: false.
    pub reproducible: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            neighbours: 15,
            minimum_distance: 0.1,
            spread: 1.0,
            dimensions: 2,
            epochs: None,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion: 1.0,
            metric: Metric::Cosine,
            initialisation: Initialisation::Spectral,
            neighbour_search: NeighbourSearch::Automatic,
            seed: 42,
            reproducible: false,
        }
    }
}

impl Settings {
    /// Sets [`Settings::neighbours`] (default 15).
    #[must_use]
    pub fn neighbours(mut self, neighbours: usize) -> Self {
        self.neighbours = neighbours;
        self
    }

    /// Sets [`Settings::minimum_distance`] (default 0.1).
    #[must_use]
    pub fn minimum_distance(mut self, minimum_distance: f32) -> Self {
        self.minimum_distance = minimum_distance;
        self
    }

    /// Sets [`Settings::spread`] (default 1.0).
    #[must_use]
    pub fn spread(mut self, spread: f32) -> Self {
        self.spread = spread;
        self
    }

    /// Sets [`Settings::dimensions`] (default 2).
    #[must_use]
    pub fn dimensions(mut self, dimensions: usize) -> Self {
        self.dimensions = dimensions;
        self
    }

    /// Sets [`Settings::epochs`] (default: 200 above 10,000 points, else 500).
    #[must_use]
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = Some(epochs);
        self
    }

    /// Sets [`Settings::learning_rate`] (default 1.0).
    #[must_use]
    pub fn learning_rate(mut self, learning_rate: f32) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    /// Sets [`Settings::negative_sample_rate`] (default 5).
    #[must_use]
    pub fn negative_sample_rate(mut self, negative_sample_rate: usize) -> Self {
        self.negative_sample_rate = negative_sample_rate;
        self
    }

    /// Sets [`Settings::repulsion`] (default 1.0).
    #[must_use]
    pub fn repulsion(mut self, repulsion: f32) -> Self {
        self.repulsion = repulsion;
        self
    }

    /// Sets [`Settings::metric`] (default cosine).
    #[must_use]
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Sets [`Settings::initialisation`] (default spectral).
    #[must_use]
    pub fn initialisation(mut self, initialisation: Initialisation) -> Self {
        self.initialisation = initialisation;
        self
    }

    /// Sets [`Settings::neighbour_search`] (default automatic).
    #[must_use]
    pub fn neighbour_search(mut self, neighbour_search: NeighbourSearch) -> Self {
        self.neighbour_search = neighbour_search;
        self
    }

    /// Sets [`Settings::seed`] (default 42).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`Settings::reproducible`] (default false).
    #[must_use]
    pub fn reproducible(mut self, reproducible: bool) -> Self {
        self.reproducible = reproducible;
        self
    }

    /// The epochs a run over `count` points makes.
    pub fn epochs_for(&self, count: usize) -> usize {
        self.epochs.unwrap_or(if count > LARGE { 200 } else { 500 })
    }

    /// Fails on a setting out of range, whatever the data.
    fn check(&self) -> Result<()> {
        let fail = |message: String| Err(Error::Settings(message));
        if self.neighbours < 2 {
            return fail(format!("neighbours is {}, at least 2 needed", self.neighbours));
        }
        if self.dimensions == 0 {
            return fail("a map needs at least 1 dimension".into());
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return fail(format!("spread is {}, it must be above 0", self.spread));
        }
        if !(self.minimum_distance >= 0.0 && self.minimum_distance <= self.spread) {
            return fail(format!(
                "minimum distance is {}, it must be between 0 and the spread ({})",
                self.minimum_distance, self.spread
            ));
        }
        if self.epochs == Some(0) {
            return fail("epochs is 0".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return fail(format!("learning rate is {}, it must be above 0", self.learning_rate));
        }
        if !(self.repulsion.is_finite() && self.repulsion >= 0.0) {
            return fail(format!("repulsion is {}, it must be 0 or more", self.repulsion));
        }
        Ok(())
    }
}

/// A map of the rows, and how it was made.
#[derive(Clone, Debug)]
pub struct Projection {
    /// `len × dimensions` coordinates, row-major, in the order of the input rows.
    pub coordinates: Vec<f32>,
    /// The number of coordinates per row.
    pub dimensions: usize,
    /// The nearest-neighbour graph the map was made from (`neighbours - 1` other rows each).
    pub neighbours: Graph,
    /// The epochs of the optimisation.
    pub epochs: usize,
    /// Where the time went.
    pub timings: Timings,
}

impl Projection {
    /// The coordinates as rows.
    pub fn rows(&self) -> Rows<'_> {
        Rows::new(&self.coordinates, self.dimensions).expect("coordinates make whole rows")
    }
}

/// The time each step of [`project`] took.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Finding the nearest neighbours.
    pub neighbours: Duration,
    /// Building the fuzzy graph and fitting the similarity curve.
    pub graph: Duration,
    /// Making the starting layout.
    pub initialisation: Duration,
    /// The gradient descent.
    pub optimisation: Duration,
}

/// Maps `rows` to `settings.dimensions` dimensions by UMAP.
///
/// Fails with [`Error::Settings`] when a setting is out of range or there are no more rows
/// than `settings.neighbours` (or `settings.dimensions`), and with [`Error::Vectors`] when a
/// value is not finite.
pub fn project(rows: Rows, settings: &Settings) -> Result<Projection> {
    settings.check()?;
    rows.check(1)?;
    let count = rows.len();
    if count <= settings.neighbours.max(settings.dimensions) {
        return Err(Error::Settings(format!(
            "UMAP with {} neighbours to {} dimensions needs more than {} rows; {count} given",
            settings.neighbours,
            settings.dimensions,
            settings.neighbours.max(settings.dimensions)
        )));
    }
    let started = Instant::now();
    let graph = nearest(rows, settings)?;
    let found = Instant::now();
    let epochs = settings.epochs_for(count);
    let fuzzy = fuzzy::fuzzy_graph(&graph);
    // Edges lighter than this would not be sampled once in all the epochs.
    let fuzzy = fuzzy.without_lighter_than(fuzzy.heaviest() / epochs as f32);
    let curve = Curve::fit(f64::from(settings.minimum_distance), f64::from(settings.spread));
    let built = Instant::now();
    let mut coordinates = match settings.initialisation {
        Initialisation::Spectral => initial::spectral(&fuzzy, settings.dimensions, settings.seed),
        Initialisation::Random => initial::random(count, settings.dimensions, settings.seed),
    };
    let initialised = Instant::now();
    let schedule = Schedule {
        curve,
        epochs,
        learning_rate: settings.learning_rate,
        negative_sample_rate: settings.negative_sample_rate,
        repulsion: settings.repulsion,
        seed: settings.seed,
        sequential: settings.reproducible,
    };
    optimise::optimise(&fuzzy, &mut coordinates, settings.dimensions, &schedule);
    let timings = Timings {
        neighbours: found - started,
        graph: built - found,
        initialisation: initialised - built,
        optimisation: initialised.elapsed(),
    };
    Ok(Projection {
        coordinates,
        dimensions: settings.dimensions,
        neighbours: graph,
        epochs,
        timings,
    })
}

/// The `neighbours - 1` nearest other rows of every row.
fn nearest(rows: Rows, settings: &Settings) -> Result<Graph> {
    let k = settings.neighbours - 1;
    let approximate = match settings.neighbour_search {
        NeighbourSearch::Exact => false,
        NeighbourSearch::Approximate => {
            if settings.metric != Metric::Cosine {
                return Err(Error::Settings(
                    "approximate neighbour search measures cosine distance only".into(),
                ));
            }
            true
        }
        NeighbourSearch::Automatic => settings.metric == Metric::Cosine && rows.len() > EXACT_UP_TO,
    };
    if approximate {
        approximate_neighbours(rows, k)
    } else {
        neighbours::exact(rows, k, settings.metric)
    }
}

/// The `k` nearest other rows by cosine distance, from an HNSW graph of the rows searched with
/// a candidate list of `max(4k, 100)`; a row for which the search comes back short is scanned
/// exactly.
fn approximate_neighbours(rows: Rows, k: usize) -> Result<Graph> {
    use emb_index::hnsw::{Hnsw, Parameters};
    use emb_index::{Query, VectorIndex};

    let count = rows.len();
    let ids: Vec<String> = (0..count).map(|row| row.to_string()).collect();
    let failed = |error: emb_index::Error| {
        Error::Vectors(format!("the approximate neighbour search failed: {error}"))
    };
    let index = Hnsw::build(
        rows.dimensions(),
        Parameters::default(),
        ids.clone(),
        rows.values().to_vec(),
        None,
        &|_| {},
    )
    .map_err(failed)?;
    let mut indices = vec![0_u32; count * k];
    let mut distances = vec![0.0_f32; count * k];
    indices.par_chunks_mut(k).zip(distances.par_chunks_mut(k)).enumerate().try_for_each(
        |(row, (row_indices, row_distances))| -> Result<()> {
            let query = Query {
                k,
                ef: Some((4 * k).max(100)),
                exclude: Some(&ids[row]),
                ..Query::new(rows.row(row))
            };
            let hits = index.search(&query).map_err(failed)?;
            let mut found: Vec<(u32, f32)> = hits
                .iter()
                .filter_map(|hit| Some((hit.id.parse().ok()?, (1.0 - hit.score).max(0.0))))
                .collect();
            if found.len() < k {
                found = scan(rows, row, k);
            }
            for (slot, (other, distance)) in found.into_iter().take(k).enumerate() {
                row_indices[slot] = other;
                row_distances[slot] = distance;
            }
            Ok(())
        },
    )?;
    Ok(Graph { k, indices, distances })
}

/// The `k` nearest other rows of `row` by cosine distance, by comparing it with every row.
fn scan(rows: Rows, row: usize, k: usize) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = (0..rows.len())
        .filter(|&other| other != row)
        .map(|other| (other as u32, Metric::Cosine.distance(rows.row(row), rows.row(other))))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Random;
    use crate::trustworthiness::trustworthiness;

    /// `clusters` gaussian blobs of `size` points in `dimensions` dimensions: unit spread around
    /// centres drawn with spread `separation`; the values and each point's blob.
    fn blobs(
        clusters: usize,
        size: usize,
        dimensions: usize,
        separation: f64,
    ) -> (Vec<f32>, Vec<usize>) {
        let mut random = Random::new(17);
        let centres: Vec<f64> =
            (0..clusters * dimensions).map(|_| separation * random.normal()).collect();
        let mut values = Vec::with_capacity(clusters * size * dimensions);
        let mut labels = Vec::with_capacity(clusters * size);
        for point in 0..clusters * size {
            let cluster = point % clusters;
            labels.push(cluster);
            for axis in 0..dimensions {
                values.push((centres[cluster * dimensions + axis] + random.normal()) as f32);
            }
        }
        (values, labels)
    }

    /// The share of the `k` nearest map neighbours of every point that share its label.
    fn purity(map: &Projection, labels: &[usize], k: usize) -> f64 {
        let graph = neighbours::exact(map.rows(), k, Metric::Euclidean).unwrap();
        let same = (0..labels.len())
            .flat_map(|row| graph.neighbours(row).map(move |(other, _)| (row, other)))
            .filter(|&(row, other)| labels[row] == labels[other])
            .count();
        same as f64 / (labels.len() * k) as f64
    }

    #[test]
    fn separated_blobs_stay_separated() {
        let (values, labels) = blobs(5, 120, 50, 4.0);
        let rows = Rows::new(&values, 50).unwrap();
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let map = project(rows, &Settings::default().metric(metric)).unwrap();
            assert_eq!(map.coordinates.len(), 600 * 2);
            assert!(map.coordinates.iter().all(|value| value.is_finite()));
            let purity = purity(&map, &labels, 10);
            assert!(purity > 0.95, "{metric:?}: purity {purity}");
        }
    }

    #[test]
    fn the_map_keeps_neighbourhoods_of_overlapping_clusters() {
        // Blobs that touch, so the graph is connected and the map has to choose.
        let (values, _) = blobs(8, 100, 30, 1.0);
        let rows = Rows::new(&values, 30).unwrap();
        for initialisation in [Initialisation::Spectral, Initialisation::Random] {
            let settings =
                Settings::default().metric(Metric::Euclidean).initialisation(initialisation);
            let map = project(rows, &settings).unwrap();
            let score = trustworthiness(rows, map.rows(), 15).unwrap();
            // Measured 0.962 to 0.964 over runs, from either start; a map of no use scores 0.5.
            assert!(score > 0.95, "{initialisation:?}: trustworthiness {score}");
        }
    }

    #[test]
    fn a_reproducible_run_gives_the_same_map_on_any_number_of_threads() {
        let (values, labels) = blobs(3, 150, 20, 3.0);
        let rows = Rows::new(&values, 20).unwrap();
        let settings = Settings::default().epochs(60).seed(7).reproducible(true);
        let on = |threads: usize, settings: Settings| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| project(rows, &settings).unwrap())
        };
        let one = on(1, settings).coordinates;
        assert_eq!(one, on(3, settings).coordinates);
        assert_ne!(one, on(3, settings.seed(8)).coordinates);
        // In parallel, the map may differ in its details but not in its shape.
        let parallel = on(3, settings.reproducible(false));
        assert!(purity(&parallel, &labels, 10) > 0.95);
    }

    #[test]
    fn small_inputs_and_three_dimensions_work() {
        let (values, labels) = blobs(2, 10, 6, 5.0);
        let rows = Rows::new(&values, 6).unwrap();
        let settings = Settings::default().metric(Metric::Euclidean).neighbours(5);
        let map = project(rows, &settings.dimensions(3)).unwrap();
        assert_eq!((map.coordinates.len(), map.dimensions, map.epochs), (20 * 3, 3, 500));
        assert!(purity(&map, &labels, 3) > 0.9);
        let just_enough = Rows::new(&values[..16 * 6], 6).unwrap();
        assert!(project(just_enough, &Settings::default()).is_ok());
    }

    #[test]
    fn approximate_neighbours_are_nearly_the_exact_ones() {
        let (values, labels) = blobs(4, 100, 24, 3.0);
        let rows = Rows::new(&values, 24).unwrap();
        let settings = Settings::default().neighbour_search(NeighbourSearch::Approximate);
        let map = project(rows, &settings).unwrap();
        let exact = neighbours::exact(rows, 14, Metric::Cosine).unwrap();
        let shared = (0..400)
            .map(|row| {
                let truth: Vec<usize> = exact.neighbours(row).map(|(other, _)| other).collect();
                map.neighbours.neighbours(row).filter(|(other, _)| truth.contains(other)).count()
            })
            .sum::<usize>();
        assert!(shared as f64 / (400.0 * 14.0) > 0.95, "recall {shared}");
        assert!(purity(&map, &labels, 10) > 0.95);
        let euclidean = settings.metric(Metric::Euclidean);
        assert!(matches!(project(rows, &euclidean), Err(Error::Settings(_))));
    }

    #[test]
    fn bad_settings_and_vectors_are_errors() {
        let values = vec![1.0_f32; 15 * 4];
        let rows = Rows::new(&values, 4).unwrap();
        let settings = Settings::default();
        assert!(matches!(project(rows, &settings), Err(Error::Settings(_))));
        let enough = Rows::new(&values[..8], 4).unwrap();
        let twenty = vec![1.0_f32; 20 * 4];
        let twenty = Rows::new(&twenty, 4).unwrap();
        let too_many_dimensions = settings.neighbours(5).dimensions(20);
        assert!(matches!(project(twenty, &too_many_dimensions), Err(Error::Settings(_))));
        for bad in [
            settings.neighbours(1),
            settings.dimensions(0),
            settings.minimum_distance(2.0),
            settings.spread(0.0),
            settings.epochs(0),
            settings.learning_rate(f32::NAN),
            settings.repulsion(-1.0),
        ] {
            assert!(matches!(project(enough, &bad), Err(Error::Settings(_))), "{bad:?}");
        }
        let mut broken = vec![0.5_f32; 40 * 4];
        broken[17] = f32::INFINITY;
        let broken = Rows::new(&broken, 4).unwrap();
        assert!(matches!(project(broken, &settings), Err(Error::Vectors(_))));
        assert!(matches!(project(Rows::new(&[], 4).unwrap(), &settings), Err(Error::Vectors(_))));
    }
}
