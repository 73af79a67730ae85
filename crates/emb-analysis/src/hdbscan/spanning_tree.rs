//! The minimum spanning tree of the mutual reachability graph, exactly, without its `n²` edges.
//!
//! The mutual reachability distance of `a` and `b` is `max(core(a), core(b), d(a, b))`, where a
//! point's core distance is how far it must reach to hold `min_samples` points, itself included.
//! The tree is grown by Borůvka's rounds: every component takes its lightest edge to another
//! component, and all those edges join the tree at once, so components at least halve each
//! round.
//!
//! A point's lightest edge is first looked for among its `k` nearest neighbours (from the exact
//! k-nearest-neighbour graph, which also gives the core distances). Every point beyond them is
//! at least `d_k(a)` away, so no edge outside the list weighs less than
//! `bound(a) = max(core(a), d_k(a))`: a component's lightest listed edge is exact when it weighs
//! less than the bound of each of its points. Points whose bound does not rule them out are
//! scanned against all rows, in GEMM blocks, lowest bound first (each scanned block can rule
//! out the rest). A scanned point's lightest edge out of its component then becomes its bound:
//! components only grow, so its later edges out weigh no less. Ties are broken by the pair's
//! point numbers, so the tree is unique.

use rayon::prelude::*;

use super::union_find::UnionFind;
use crate::linear::{centered, dot_products_into, mean, squared_norms};
use crate::neighbours::{self, Graph, Metric};
use crate::{Result, Rows};

/// Neighbours listed per point at least (more rule out more scans; the kNN pass costs the same).
const CANDIDATES: usize = 32;
/// Rows per scanning block.
const BLOCK: usize = 256;
/// The relative error the lightest scanned edge may carry from the GEMM form it was chosen by.
const SCAN_ROUNDING: f32 = 1e-5;

/// An edge of the tree: two point numbers and their mutual reachability distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Edge {
    pub weight: f32,
    pub low: u32,
    pub high: u32,
}

impl Edge {
    fn new(weight: f32, a: u32, b: u32) -> Self {
        Self { weight, low: a.min(b), high: a.max(b) }
    }

    /// The order edges are taken in: by weight, then by the points' numbers.
    pub fn precedes(&self, other: &Self) -> bool {
        self.weight
            .total_cmp(&other.weight)
            .then(self.low.cmp(&other.low))
            .then(self.high.cmp(&other.high))
            .is_lt()
    }
}

/// Keeps the lighter of `best` and `edge`.
fn keep(best: &mut Option<Edge>, edge: Edge) {
    if best.is_none_or(|current| edge.precedes(&current)) {
        *best = Some(edge);
    }
}

/// The `n - 1` edges of the minimum spanning tree of `rows` under mutual reachability with
/// `min_samples`, in no particular order, and the core distances.
pub(super) fn minimum_spanning_tree(
    rows: Rows,
    metric: Metric,
    min_samples: usize,
) -> Result<(Vec<Edge>, Vec<f32>)> {
    let count = rows.len();
    // Neighbours are searched for with the GEMM form `|a|² + |b|² − 2a·b`, which loses less to
    // rounding near the origin: for Euclidean distance, on the centred rows (the distances are
    // the same). Every edge is then weighed directly on the rows as given.
    let centred;
    let search = if metric == Metric::Euclidean {
        centred = centered(rows, &mean(rows));
        Rows::new(&centred, rows.dimensions())?
    } else {
        rows
    };
    let k = (min_samples - 1).max(CANDIDATES).min(count - 1);
    let graph = weighed_neighbours(search, rows, k, metric)?;
    let core: Vec<f32> = (0..count)
        .map(|row| if min_samples > 1 { graph.distances[row * k + min_samples - 2] } else { 0.0 })
        .collect();
    let mut bounds: Vec<f32> = (0..count)
        .map(|row| {
            if k == count - 1 {
                f32::INFINITY // every other point is listed
            } else {
                core[row].max(graph.distances[row * k + k - 1])
            }
        })
        .collect();
    let scanner = Scanner { search, rows, metric, norms: squared_norms(search), core: &core };
    let mut components = UnionFind::new(count);
    let mut component_of = vec![0_u32; count];
    let mut edges = Vec::with_capacity(count - 1);
    while edges.len() + 1 < count {
        for (point, component) in component_of.iter_mut().enumerate() {
            *component = components.find(point as u32);
        }
        // The lightest listed edge of each point, then of each component.
        let listed: Vec<Option<Edge>> = (0..count)
            .into_par_iter()
            .map(|a| {
                let mut best = None;
                for (b, distance) in graph.neighbours(a) {
                    if component_of[b] != component_of[a] {
                        let weight = distance.max(core[a]).max(core[b]);
                        keep(&mut best, Edge::new(weight, a as u32, b as u32));
                    }
                }
                best
            })
            .collect();
        let mut lightest: Vec<Option<Edge>> = vec![None; count];
        for (point, edge) in listed.into_iter().enumerate() {
            if let Some(edge) = edge {
                keep(&mut lightest[component_of[point] as usize], edge);
            }
        }
        // Points that might still hide a lighter edge beyond their lists, lowest bound first.
        let mut unsure: Vec<u32> = (0..count as u32)
            .filter(|&point| {
                lightest[component_of[point as usize] as usize]
                    .is_none_or(|edge| edge.weight >= bounds[point as usize])
            })
            .collect();
        unsure.sort_unstable_by(|&a, &b| bounds[a as usize].total_cmp(&bounds[b as usize]));
        let mut scanned = 0;
        while scanned < unsure.len() {
            let block: Vec<u32> = unsure[scanned..]
                .iter()
                .copied()
                .filter(|&point| {
                    lightest[component_of[point as usize] as usize]
                        .is_none_or(|edge| edge.weight >= bounds[point as usize])
                })
                .take(BLOCK)
                .collect();
            if block.is_empty() {
                break;
            }
            let last = *block.last().expect("a non-empty block");
            scanned += unsure[scanned..].iter().position(|&point| point == last).unwrap_or(0) + 1;
            for (&point, edge) in block.iter().zip(scanner.lightest(&block, &component_of)?) {
                if let Some(edge) = edge {
                    keep(&mut lightest[component_of[point as usize] as usize], edge);
                    // Components only grow, so no later edge out of this point is lighter
                    // (less a hair for the rounding of the GEMM form the scan chose by).
                    let bound = &mut bounds[point as usize];
                    *bound = bound.max(edge.weight * (1.0 - SCAN_ROUNDING));
                }
            }
        }
        for edge in lightest.into_iter().flatten() {
            if components.union(edge.low, edge.high).is_some() {
                edges.push(edge);
            }
        }
    }
    Ok((edges, core))
}

/// The distance of two rows computed directly, in `f64`.
fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let pairs = a.iter().zip(b).map(|(&x, &y)| (f64::from(x), f64::from(y)));
    match metric {
        Metric::Euclidean => pairs.map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt() as f32,
        Metric::Cosine => {
            let (mut product, mut left, mut right) = (0.0, 0.0, 0.0);
            for (x, y) in pairs {
                product += x * y;
                left += x * x;
                right += y * y;
            }
            (1.0 - product / (left * right).sqrt().max(f64::MIN_POSITIVE)).max(0.0) as f32
        }
    }
}

/// The k-nearest-neighbour graph found on `search`, with every listed distance computed
/// directly on `rows` (more precise than the GEMM form for close pairs), nearest first.
fn weighed_neighbours(search: Rows, rows: Rows, k: usize, metric: Metric) -> Result<Graph> {
    let mut graph = neighbours::exact(search, k, metric)?;
    graph.indices.par_chunks_mut(k).zip(graph.distances.par_chunks_mut(k)).enumerate().for_each(
        |(row, (indices, distances))| {
            let mut listed: Vec<(u32, f32)> = indices
                .iter()
                .map(|&other| (other, distance(metric, rows.row(row), rows.row(other as usize))))
                .collect();
            listed.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            for ((index, distance), (other, value)) in indices.iter_mut().zip(distances).zip(listed)
            {
                (*index, *distance) = (other, value);
            }
        },
    );
    Ok(graph)
}

/// Finds points' lightest edges to other components against all rows.
struct Scanner<'a> {
    /// The rows the products are taken of (centred for Euclidean distance).
    search: Rows<'a>,
    /// The rows as given, for direct distances.
    rows: Rows<'a>,
    metric: Metric,
    norms: Vec<f32>,
    core: &'a [f32],
}

impl Scanner<'_> {
    /// The lightest edge from each point of `block` to a point of another component.
    fn lightest(&self, block: &[u32], component_of: &[u32]) -> Result<Vec<Option<Edge>>> {
        let (count, dimensions) = (self.search.len(), self.search.dimensions());
        let gathered: Vec<f32> =
            block.iter().flat_map(|&point| self.search.row(point as usize)).copied().collect();
        let mut products = vec![0.0_f32; block.len() * count];
        dot_products_into(Rows::new(&gathered, dimensions)?, self.search, &mut products);
        Ok(products
            .par_chunks(count)
            .zip(block)
            .map(|(products, &a)| {
                let a = a as usize;
                let (own, reach) = (self.norms[a], self.core[a]);
                let mut best = None;
                for (b, &product) in products.iter().enumerate() {
                    if component_of[b] == component_of[a] {
                        continue;
                    }
                    let distance = match self.metric {
                        Metric::Cosine => {
                            1.0 - product / (own * self.norms[b]).sqrt().max(f32::MIN_POSITIVE)
                        }
                        Metric::Euclidean => (own + self.norms[b] - 2.0 * product).max(0.0).sqrt(),
                    };
                    let weight = distance.max(0.0).max(reach).max(self.core[b]);
                    if best.is_none_or(|edge: Edge| weight <= edge.weight) {
                        keep(&mut best, Edge::new(weight, a as u32, b as u32));
                    }
                }
                // The lightest by the GEMM form, weighed again directly.
                best.map(|edge| {
                    let b = (edge.low + edge.high) as usize - a;
                    let distance = distance(self.metric, self.rows.row(a), self.rows.row(b));
                    Edge { weight: distance.max(reach).max(self.core[b]), ..edge }
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Random;

    /// Prim's algorithm over all pairs: the reference.
    fn prim(rows: Rows, metric: Metric, core: &[f32]) -> Vec<f32> {
        let count = rows.len();
        let mut inside = vec![false; count];
        let mut reach = vec![f32::INFINITY; count];
        let mut weights = Vec::new();
        let mut current = 0;
        inside[0] = true;
        for _ in 1..count {
            for other in 0..count {
                if !inside[other] {
                    let distance = distance(metric, rows.row(current), rows.row(other));
                    let weight = distance.max(core[current]).max(core[other]);
                    reach[other] = reach[other].min(weight);
                }
            }
            let next = (0..count)
                .filter(|&other| !inside[other])
                .min_by(|&a, &b| reach[a].total_cmp(&reach[b]))
                .unwrap();
            weights.push(reach[next]);
            inside[next] = true;
            current = next;
        }
        weights.sort_by(f32::total_cmp);
        weights
    }

    #[test]
    fn matches_prims_algorithm_on_clumpy_data_under_both_metrics() {
        let mut random = Random::new(11);
        // Tight clumps of different sizes far apart, so the late rounds need scans.
        let (count, dimensions) = (900, 5);
        let centres: Vec<f64> = (0..7 * dimensions).map(|_| random.normal() * 10.0).collect();
        let values: Vec<f32> = (0..count * dimensions)
            .map(|index| {
                let clump = (index / dimensions) % 7;
                let spread = 0.05 + 0.1 * clump as f64;
                (centres[clump * dimensions + index % dimensions] + random.normal() * spread) as f32
            })
            .collect();
        let rows = Rows::new(&values, dimensions).unwrap();
        for metric in [Metric::Euclidean, Metric::Cosine] {
            for min_samples in [1, 5, 40] {
                let (edges, core) = minimum_spanning_tree(rows, metric, min_samples).unwrap();
                assert_eq!(edges.len(), count - 1);
                let mut sets = UnionFind::new(count);
                assert!(edges.iter().all(|edge| sets.union(edge.low, edge.high).is_some()));
                let mut weights: Vec<f32> = edges.iter().map(|edge| edge.weight).collect();
                weights.sort_by(f32::total_cmp);
                let expected = prim(rows, metric, &core);
                for (found, expected) in weights.iter().zip(&expected) {
                    assert!(
                        (found - expected).abs() <= 1e-5 * expected,
                        "{metric:?} min_samples {min_samples}: {found} against {expected}"
                    );
                }
            }
        }
    }
}
