//! The Barnes-Hut approximation of t-SNE's repulsive forces: a space-partitioning tree over the
//! embedding (a binary tree in 1-D, a quadtree in 2-D, an octree in 3-D) whose cells, seen from a
//! point at distance `d` with side `w < θ·d`, act as one body at their centre of mass.
//!
//! Nodes are stored in depth-first order with the index of the node after each subtree, so the
//! walk needs no stack: summarise a cell and jump past it, or step into its first child. A
//! cell's points are contiguous in the tree's order; leaves hold up to [`LEAF_POINTS`] points,
//! met one by one when the leaf is too near to summarise. A point never interacts with itself:
//! a cell that contains it is always opened.

use rayon::prelude::*;

/// Points a leaf holds at most (above [`MAX_DEPTH`], any number: coincident points).
const LEAF_POINTS: usize = 16;
/// Levels below the root at most; by then cells are narrower than `f32` can tell apart.
const MAX_DEPTH: usize = 40;
/// Points per parallel task of the walk.
const CHUNK: usize = 128;

#[derive(Clone, Copy, Debug)]
struct Node<const D: usize> {
    /// Centre of mass.
    center: [f32; D],
    /// Points in the cell.
    count: f32,
    /// The square of the cell's side (0 for a single point, which is exact as one body).
    width_squared: f32,
    /// The index of the first node after this cell's subtree.
    next: u32,
    /// The cell's points are `order[start..end]`.
    start: u32,
    end: u32,
}

/// A tree over `D`-dimensional points, rebuilt in place every iteration.
#[derive(Debug)]
pub(super) struct Tree<const D: usize> {
    nodes: Vec<Node<D>>,
    /// Point numbers in tree order.
    order: Vec<u32>,
    /// Positions in tree order.
    points: Vec<[f32; D]>,
    /// Orthant of each point of the cell being split, and the order being built.
    codes: Vec<u8>,
    scratch: Vec<u32>,
    /// Repulsive forces in tree order.
    forces: Vec<[f32; D]>,
}

impl<const D: usize> Tree<D> {
    /// An empty tree.
    pub fn new() -> Self {
        assert!((1..=3).contains(&D), "trees for 1 to 3 dimensions");
        Self {
            nodes: Vec::new(),
            order: Vec::new(),
            points: Vec::new(),
            codes: Vec::new(),
            scratch: Vec::new(),
            forces: Vec::new(),
        }
    }

    /// The unnormalised repulsive forces `Σ_j w_ij² (y_i − y_j)` with `w = 1 / (1 + |y_i − y_j|²)`
    /// into `out` (row-major, like `positions`), returning `Z = Σ_{i≠j} w_ij`, both approximated
    /// with opening angle `theta`.
    pub fn repulsion(&mut self, positions: &[f32], theta: f32, out: &mut [f32]) -> f64 {
        let (positions, rest) = positions.as_chunks::<D>();
        assert!(rest.is_empty() && out.len() == positions.len() * D);
        self.build(positions);
        let theta_squared = theta * theta;
        self.forces.resize(positions.len(), [0.0; D]);
        let (nodes, points) = (&self.nodes, &self.points);
        // Per-chunk sums added in order, so the result does not depend on scheduling.
        let normaliser: f64 = self
            .forces
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(chunk, forces)| {
                let mut sum = 0.0_f64;
                for (offset, force) in forces.iter_mut().enumerate() {
                    let position = chunk * CHUNK + offset;
                    sum += walk(nodes, points, position, theta_squared, force);
                }
                sum
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        let (out, _) = out.as_chunks_mut::<D>();
        for (&point, force) in self.order.iter().zip(&self.forces) {
            out[point as usize] = *force;
        }
        normaliser
    }

    fn build(&mut self, positions: &[[f32; D]]) {
        let count = positions.len();
        let mut low = [f32::INFINITY; D];
        let mut high = [f32::NEG_INFINITY; D];
        for point in positions {
            for axis in 0..D {
                low[axis] = low[axis].min(point[axis]);
                high[axis] = high[axis].max(point[axis]);
            }
        }
        let side = (0..D).map(|axis| high[axis] - low[axis]).fold(0.0_f32, f32::max);
        // A little wider than the points, so the highest ones fall inside.
        let half = (side * 0.5 * (1.0 + 1e-5)).max(f32::MIN_POSITIVE);
        let middle: [f32; D] = std::array::from_fn(|axis| (low[axis] + high[axis]) * 0.5);
        self.order.clear();
        self.order.extend(0..count as u32);
        self.codes.resize(count, 0);
        self.scratch.resize(count, 0);
        self.nodes.clear();
        self.split(positions, 0, count, middle, half, 0);
        self.points.clear();
        self.points.extend(self.order.iter().map(|&point| positions[point as usize]));
    }

    /// Adds the cell of `order[start..end]` centred at `middle` with half-side `half`, and its
    /// subtree.
    fn split(
        &mut self,
        positions: &[[f32; D]],
        start: usize,
        end: usize,
        middle: [f32; D],
        half: f32,
        depth: usize,
    ) {
        let index = self.nodes.len();
        let mut sum = [0.0_f64; D];
        for &point in &self.order[start..end] {
            for axis in 0..D {
                sum[axis] += f64::from(positions[point as usize][axis]);
            }
        }
        let count = end - start;
        let width = 2.0 * half;
        self.nodes.push(Node {
            center: std::array::from_fn(|axis| (sum[axis] / count as f64) as f32),
            count: count as f32,
            width_squared: if count == 1 { 0.0 } else { width * width },
            next: 0,
            start: start as u32,
            end: end as u32,
        });
        if count > LEAF_POINTS && depth < MAX_DEPTH {
            // Counting sort of the cell's points by orthant (bit `axis` set: upper half).
            let mut counts = [0_usize; 8];
            for (code, &point) in self.codes[start..end].iter_mut().zip(&self.order[start..end]) {
                let position = &positions[point as usize];
                *code = (0..D)
                    .filter(|&axis| position[axis] >= middle[axis])
                    .fold(0_u8, |code, axis| code | (1 << axis));
                counts[usize::from(*code)] += 1;
            }
            let mut offsets = [0_usize; 9];
            for orthant in 0..8 {
                offsets[orthant + 1] = offsets[orthant] + counts[orthant];
            }
            let mut filled = offsets;
            for (&code, &point) in self.codes[start..end].iter().zip(&self.order[start..end]) {
                let slot = &mut filled[usize::from(code)];
                self.scratch[start + *slot] = point;
                *slot += 1;
            }
            self.order[start..end].copy_from_slice(&self.scratch[start..end]);
            let quarter = half * 0.5;
            for orthant in 0..1 << D {
                if counts[orthant] == 0 {
                    continue;
                }
                let child_middle = std::array::from_fn(|axis| {
                    if orthant & (1 << axis) == 0 {
                        middle[axis] - quarter
                    } else {
                        middle[axis] + quarter
                    }
                });
                self.split(
                    positions,
                    start + offsets[orthant],
                    start + offsets[orthant + 1],
                    child_middle,
                    quarter,
                    depth + 1,
                );
            }
        }
        self.nodes[index].next = self.nodes.len() as u32;
    }
}

/// The repulsion on the point at tree position `position` into `force`; returns its share of
/// `Z`.
#[inline]
fn walk<const D: usize>(
    nodes: &[Node<D>],
    points: &[[f32; D]],
    position: usize,
    theta_squared: f32,
    force: &mut [f32; D],
) -> f64 {
    let point = points[position];
    let position = position as u32;
    let mut total = [0.0_f32; D];
    let mut normaliser = 0.0_f32;
    let mut index = 0;
    while index < nodes.len() {
        let node = &nodes[index];
        let mut difference = [0.0_f32; D];
        let mut squared = 0.0;
        for axis in 0..D {
            difference[axis] = point[axis] - node.center[axis];
            squared += difference[axis] * difference[axis];
        }
        let inside = node.start <= position && position < node.end;
        if !inside && node.width_squared < theta_squared * squared {
            let weight = 1.0 / (1.0 + squared);
            normaliser += node.count * weight;
            let pull = node.count * weight * weight;
            for axis in 0..D {
                total[axis] += pull * difference[axis];
            }
            index = node.next as usize;
        } else if node.next as usize == index + 1 {
            for other in node.start..node.end {
                if other == position {
                    continue;
                }
                let other = &points[other as usize];
                let mut squared = 0.0;
                for axis in 0..D {
                    difference[axis] = point[axis] - other[axis];
                    squared += difference[axis] * difference[axis];
                }
                let weight = 1.0 / (1.0 + squared);
                normaliser += weight;
                for axis in 0..D {
                    total[axis] += weight * weight * difference[axis];
                }
            }
            index += 1;
        } else {
            index += 1;
        }
    }
    *force = total;
    f64::from(normaliser)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Random;

    /// The exact repulsion and `Z` over all pairs: what the tree approximates.
    fn exact_repulsion(positions: &[f32], dimensions: usize, out: &mut [f32]) -> f64 {
        out.par_chunks_mut(dimensions)
            .zip(positions.par_chunks(dimensions))
            .enumerate()
            .map(|(row, (force, point))| {
                force.fill(0.0);
                let mut normaliser = 0.0_f64;
                for (other, position) in positions.chunks_exact(dimensions).enumerate() {
                    if other == row {
                        continue;
                    }
                    let squared: f32 =
                        point.iter().zip(position).map(|(a, b)| (a - b) * (a - b)).sum();
                    let weight = 1.0 / (1.0 + squared);
                    normaliser += f64::from(weight);
                    for ((total, a), b) in force.iter_mut().zip(point).zip(position) {
                        *total += weight * weight * (a - b);
                    }
                }
                normaliser
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum()
    }

    fn compare<const D: usize>(count: usize, theta: f32, tolerance: f64) {
        let mut random = Random::new(D as u64);
        // Two clumps and a scatter, with a few coincident points.
        let mut positions: Vec<f32> = (0..count * D)
            .map(|index| {
                let clump = if (index / D).is_multiple_of(3) { 5.0 } else { 0.0 };
                (random.normal() * 2.0 + clump) as f32
            })
            .collect();
        positions.copy_within(0..3 * D, 3 * D);
        let mut exact = vec![0.0; count * D];
        let exact_normaliser = exact_repulsion(&positions, D, &mut exact);
        let mut approximate = vec![0.0; count * D];
        let normaliser = Tree::<D>::new().repulsion(&positions, theta, &mut approximate);
        assert!(
            (normaliser - exact_normaliser).abs() < tolerance * exact_normaliser,
            "{D}-D: Z {normaliser} against {exact_normaliser}"
        );
        let error: f64 = exact
            .iter()
            .zip(&approximate)
            .map(|(a, b)| f64::from(a - b) * f64::from(a - b))
            .sum::<f64>()
            .sqrt();
        let size: f64 = exact.iter().map(|&a| f64::from(a) * f64::from(a)).sum::<f64>().sqrt();
        assert!(error < tolerance * size, "{D}-D: force error {error} of {size}");
    }

    #[test]
    fn barnes_hut_approximates_the_exact_repulsion() {
        compare::<1>(700, 0.5, 0.05);
        compare::<2>(1500, 0.5, 0.03);
        compare::<3>(1500, 0.5, 0.03);
    }

    #[test]
    fn with_theta_zero_the_tree_is_exact() {
        compare::<2>(500, 0.0, 1e-5);
        compare::<3>(300, 0.0, 1e-5);
    }
}
