//! The fuzzy simplicial set of section 3 of the UMAP paper: each point's neighbour distances
//! turned into memberships in `(0, 1]` by a local scale, then the directed memberships joined by
//! the fuzzy union `a + b - a·b` into one symmetric weighted graph.

use rayon::prelude::*;

use crate::neighbours::Graph;

/// Binary-search steps for a point's scale: far more than `f64` needs to settle.
const SEARCH_STEPS: usize = 64;
/// The search stops once the membership sum is this close to its target.
const SEARCH_TOLERANCE: f64 = 1e-5;
/// A scale is never below this share of the mean neighbour distance, so that a point whose
/// neighbours all sit at the nearest one's distance keeps a usable scale.
const MINIMUM_SCALE: f64 = 1e-3;

/// A symmetric weighted graph in compressed sparse rows: the edges of row `i` are
/// `offsets[i]..offsets[i + 1]` of `targets` and `weights`, targets ascending.
#[derive(Clone, Debug)]
pub(crate) struct Weighted {
    /// `len + 1` edge offsets.
    pub offsets: Vec<usize>,
    /// The other end of every edge.
    pub targets: Vec<u32>,
    /// Every edge's membership, in `(0, 1]`.
    pub weights: Vec<f32>,
}

impl Weighted {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The edges of `row` as `(target, weight)`.
    pub fn edges(&self, row: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let range = self.offsets[row]..self.offsets[row + 1];
        self.targets[range.clone()]
            .iter()
            .map(|&target| target as usize)
            .zip(&self.weights[range])
            .map(|(target, &weight)| (target, weight))
    }

    /// The heaviest edge's weight (0 for a graph without edges).
    pub fn heaviest(&self) -> f32 {
        self.weights.iter().copied().fold(0.0, f32::max)
    }

    /// The same graph without the edges lighter than `threshold` (both directions of an edge
    /// carry the same weight, so the result stays symmetric).
    pub fn without_lighter_than(&self, threshold: f32) -> Self {
        let mut offsets = Vec::with_capacity(self.offsets.len());
        let mut targets = Vec::with_capacity(self.targets.len());
        let mut weights = Vec::with_capacity(self.weights.len());
        offsets.push(0);
        for row in 0..self.len() {
            for (target, weight) in self.edges(row) {
                if weight >= threshold {
                    targets.push(target as u32);
                    weights.push(weight);
                }
            }
            offsets.push(targets.len());
        }
        Self { offsets, targets, weights }
    }
}

/// The symmetric fuzzy graph of a k-nearest-neighbour graph whose rows do not list the point
/// itself; the neighbourhood counts the point, so the memberships of a row sum to
/// `log2(graph.k + 1)`.
pub(crate) fn fuzzy_graph(graph: &Graph) -> Weighted {
    let count = graph.len();
    let k = graph.k;
    let target = ((k + 1) as f64).log2();
    let mean_distance = if graph.distances.is_empty() {
        0.0
    } else {
        graph.distances.iter().map(|&distance| f64::from(distance)).sum::<f64>()
            / graph.distances.len() as f64
    };
    // Directed memberships, row-major like the neighbour graph.
    let mut memberships = vec![0.0_f32; count * k];
    memberships.par_chunks_mut(k.max(1)).zip(graph.distances.par_chunks(k.max(1))).for_each(
        |(row_memberships, distances)| {
            let scale = local_scale(distances, target, mean_distance);
            for (membership, &distance) in row_memberships.iter_mut().zip(distances) {
                *membership = scale.membership(f64::from(distance)) as f32;
            }
        },
    );
    symmetrise(graph, &memberships)
}

/// How one point turns a distance into a membership.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LocalScale {
    /// The distance to the nearest neighbour that is not a duplicate (ρ in the paper).
    nearest: f64,
    /// The width of the exponential beyond `nearest` (σ in the paper).
    width: f64,
}

impl LocalScale {
    fn membership(self, distance: f64) -> f64 {
        let beyond = distance - self.nearest;
        if beyond <= 0.0 || self.width <= 0.0 {
            1.0
        } else {
            (-beyond / self.width).exp()
        }
    }
}

/// The local scale of a point whose neighbour distances (ascending) are `distances`: ρ is the
/// first non-zero distance, σ is found by bisection so that the memberships sum to `target`.
fn local_scale(distances: &[f32], target: f64, mean_distance: f64) -> LocalScale {
    let nearest =
        distances.iter().map(|&distance| f64::from(distance)).find(|&distance| distance > 0.0);
    let nearest = nearest.unwrap_or(0.0);
    let sum = |width: f64| -> f64 {
        let scale = LocalScale { nearest, width };
        distances.iter().map(|&distance| scale.membership(f64::from(distance))).sum()
    };
    // The sum grows with the width: bisect, doubling the upper end until it brackets the target.
    let (mut low, mut high, mut width) = (0.0_f64, f64::INFINITY, 1.0_f64);
    for _ in 0..SEARCH_STEPS {
        let difference = sum(width) - target;
        if difference.abs() < SEARCH_TOLERANCE {
            break;
        }
        if difference > 0.0 {
            high = width;
            width = f64::midpoint(low, high);
        } else {
            low = width;
            width = if high.is_finite() { f64::midpoint(low, high) } else { width * 2.0 };
        }
    }
    let own_mean = if distances.is_empty() {
        0.0
    } else {
        distances.iter().map(|&distance| f64::from(distance)).sum::<f64>() / distances.len() as f64
    };
    let floor = MINIMUM_SCALE * if nearest > 0.0 { own_mean } else { mean_distance };
    LocalScale { nearest, width: width.max(floor) }
}

/// Joins the directed memberships `i → j` and `j → i` of every pair into one weight
/// `a + b - a·b`, listing each pair in both rows.
fn symmetrise(graph: &Graph, memberships: &[f32]) -> Weighted {
    let count = graph.len();
    let k = graph.k;
    // The reverse edges of every row: who lists it, with what membership.
    let mut reverse_offsets = vec![0_usize; count + 1];
    for &target in &graph.indices {
        reverse_offsets[target as usize + 1] += 1;
    }
    for row in 0..count {
        reverse_offsets[row + 1] += reverse_offsets[row];
    }
    let mut fill = reverse_offsets.clone();
    let mut reverse = vec![(0_u32, 0.0_f32); graph.indices.len()];
    for (edge, (&target, &membership)) in graph.indices.iter().zip(memberships).enumerate() {
        let slot = &mut fill[target as usize];
        reverse[*slot] = ((edge / k) as u32, membership);
        *slot += 1;
    }
    let rows: Vec<Vec<(u32, f32)>> = (0..count)
        .into_par_iter()
        .map(|row| {
            let mut edges: Vec<(u32, f32)> = graph.indices[row * k..(row + 1) * k]
                .iter()
                .copied()
                .zip(memberships[row * k..(row + 1) * k].iter().copied())
                .chain(reverse[reverse_offsets[row]..reverse_offsets[row + 1]].iter().copied())
                .collect();
            edges.sort_unstable_by_key(|&(target, _)| target);
            let mut joined: Vec<(u32, f32)> = Vec::with_capacity(edges.len());
            let mut previous: Option<(u32, f32)> = None;
            for (target, membership) in edges {
                match previous {
                    Some((last, first)) if last == target => {
                        // Smaller first, so that both rows of a pair compute the same float.
                        let (a, b) = (first.min(membership), first.max(membership));
                        previous = Some((target, a + b - a * b));
                    }
                    _ => {
                        joined.extend(previous);
                        previous = Some((target, membership));
                    }
                }
            }
            joined.extend(previous);
            joined.retain(|&(target, weight)| target as usize != row && weight > 0.0);
            joined
        })
        .collect();
    let mut offsets = Vec::with_capacity(count + 1);
    offsets.push(0);
    let total: usize = rows.iter().map(Vec::len).sum();
    let mut targets = Vec::with_capacity(total);
    let mut weights = Vec::with_capacity(total);
    for row in rows {
        for (target, weight) in row {
            targets.push(target);
            weights.push(weight);
        }
        offsets.push(targets.len());
    }
    Weighted { offsets, targets, weights }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_makes_the_memberships_sum_to_the_target() {
        let distances = [0.2_f32, 0.25, 0.3, 0.5, 0.6, 0.9, 1.4];
        let target = 8.0_f64.log2();
        let scale = local_scale(&distances, target, 0.5);
        assert_eq!(scale.nearest, f64::from(0.2_f32));
        let sum: f64 =
            distances.iter().map(|&distance| scale.membership(f64::from(distance))).sum();
        assert!((sum - target).abs() < 1e-4, "sum {sum}");
        assert_eq!(scale.membership(0.1), 1.0);
        assert!(scale.membership(1.4) < scale.membership(0.5));
    }

    #[test]
    fn duplicates_do_not_count_as_the_nearest_neighbour() {
        let scale = local_scale(&[0.0, 0.0, 0.4, 0.7], 5.0_f64.log2(), 1.0);
        assert_eq!(scale.nearest, f64::from(0.4_f32));
        assert_eq!(scale.membership(0.0), 1.0);
    }

    #[test]
    fn the_union_is_symmetric_and_keeps_one_sided_edges() {
        // 0 lists 1 and 2, 1 lists 0 and 2, 2 lists 1 and 0; 3 lists 2 and 1.
        let graph = Graph {
            k: 2,
            indices: vec![1, 2, 0, 2, 1, 0, 2, 1],
            distances: vec![0.1, 0.3, 0.1, 0.2, 0.2, 0.3, 0.5, 0.6],
        };
        let memberships = [1.0, 0.5, 1.0, 0.25, 1.0, 0.5, 1.0, 0.2];
        let fuzzy = symmetrise(&graph, &memberships);
        let weight = |from: usize, to: usize| {
            fuzzy.edges(from).find(|&(target, _)| target == to).map(|(_, weight)| weight)
        };
        for from in 0..4 {
            for to in 0..4 {
                assert_eq!(weight(from, to), weight(to, from), "{from} {to}");
            }
        }
        assert_eq!(weight(0, 2), Some(0.5 + 0.5 - 0.25));
        assert_eq!(weight(1, 2), Some(0.25 + 1.0 - 0.25));
        assert_eq!(weight(3, 2), Some(1.0));
        assert_eq!(weight(0, 3), None);
        let pruned = fuzzy.without_lighter_than(0.5);
        assert!(pruned.edges(3).all(|(target, _)| target == 2));
        assert_eq!(fuzzy.heaviest(), 1.0);
    }
}
