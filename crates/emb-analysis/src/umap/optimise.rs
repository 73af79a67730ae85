//! The optimisation of section 3.2 of the UMAP paper: stochastic gradient descent on the fuzzy
//! cross-entropy between the graph and the layout, sampling each edge in proportion to its
//! weight (an edge of weight `w` every `max / w` epochs), pulling its ends together, and pushing
//! the point away from a few points drawn at random (negative sampling), with every gradient
//! component clipped at 4 and a learning rate falling linearly to 0.
//!
//! Each epoch runs in parallel over blocks of points, deterministically: a point moves itself
//! only, seeing the other points where they were at the start of the epoch, and the random
//! draws of a block come from a stream fixed by the seed, the epoch and the block. The layout is
//! therefore the same for a seed on any number of threads. Since a point moves only itself, an
//! edge's attraction is applied twice to it, once for each direction in which the symmetric
//! graph lists the pair (in the paper's implementation each direction moves both ends once).

use rayon::prelude::*;

use super::curve::Curve;
use super::fuzzy::Weighted;
use crate::random::Random;

/// Points per parallel task (and per random stream).
const BLOCK: usize = 512;
/// Every gradient component is clipped to `[-CLIP, CLIP]`.
const CLIP: f32 = 4.0;
/// Keeps the repulsion finite when two points nearly coincide.
const REPULSION_EPSILON: f32 = 1e-3;

/// What the optimisation needs besides the graph and the starting layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    /// The low-dimensional similarity.
    pub curve: Curve,
    /// Passes over the edges.
    pub epochs: usize,
    /// The first epoch's learning rate.
    pub learning_rate: f32,
    /// Random points pushed away per edge sample.
    pub negative_sample_rate: usize,
    /// The weight of the repulsion against the attraction (γ in the paper).
    pub repulsion: f32,
    /// Seeds the negative samples.
    pub seed: u64,
}

/// When each edge is next due: one entry per edge of the graph, in its order.
struct Timetable {
    /// Epochs between two samples of the edge (`max weight / weight`).
    period: Vec<f32>,
    /// The epoch at which the edge is next sampled.
    next: Vec<f32>,
    /// The epoch up to which the edge's negative samples have been drawn.
    negatives_until: Vec<f32>,
}

/// Moves `layout` (row-major, `dimensions` per point) to fit `graph`.
pub(crate) fn optimise(
    graph: &Weighted,
    layout: &mut Vec<f32>,
    dimensions: usize,
    schedule: &Schedule,
) {
    let count = graph.len();
    let heaviest = graph.heaviest();
    if count == 0 || heaviest <= 0.0 {
        return;
    }
    let period: Vec<f32> = graph.weights.iter().map(|&weight| heaviest / weight).collect();
    let mut timetable =
        Timetable { next: period.clone(), negatives_until: vec![0.0; period.len()], period };
    let mut previous = layout.clone();
    let blocks = count.div_ceil(BLOCK);
    let (a, b) = (schedule.curve.a as f32, schedule.curve.b as f32);
    let negative_rate = schedule.negative_sample_rate as f32;
    let gamma = schedule.repulsion;
    for epoch in 1..=schedule.epochs {
        std::mem::swap(&mut previous, layout);
        let now = epoch as f32;
        let rate = schedule.learning_rate * (1.0 - (epoch - 1) as f32 / schedule.epochs as f32);
        // One task per block of points: its rows of the new layout and its edges' timetable.
        let mut tasks = Vec::with_capacity(blocks);
        let (mut rows_left, mut period_left, mut next_left, mut negatives_left) = (
            &mut layout[..],
            &timetable.period[..],
            &mut timetable.next[..],
            &mut timetable.negatives_until[..],
        );
        for block in 0..blocks {
            let first = block * BLOCK;
            let last = (first + BLOCK).min(count);
            let edges = graph.offsets[last] - graph.offsets[first];
            let (rows, rest) = rows_left.split_at_mut((last - first) * dimensions);
            rows_left = rest;
            let (periods, rest) = period_left.split_at(edges);
            period_left = rest;
            let (nexts, rest) = next_left.split_at_mut(edges);
            next_left = rest;
            let (negatives, rest) = negatives_left.split_at_mut(edges);
            negatives_left = rest;
            tasks.push((block, first..last, rows, periods, nexts, negatives));
        }
        let previous = &previous[..];
        tasks.into_par_iter().for_each(|(block, points, rows, periods, nexts, negatives)| {
            let mut random = Random::stream(schedule.seed, (epoch * blocks + block) as u64);
            let base = graph.offsets[points.start];
            rows.copy_from_slice(&previous[points.start * dimensions..points.end * dimensions]);
            for (point, here) in points.zip(rows.chunks_exact_mut(dimensions)) {
                for edge in graph.offsets[point]..graph.offsets[point + 1] {
                    let local = edge - base;
                    if nexts[local] > now {
                        continue;
                    }
                    nexts[local] += periods[local];
                    let target = graph.targets[edge] as usize;
                    let there = &previous[target * dimensions..(target + 1) * dimensions];
                    let squared = squared_distance(here, there);
                    if squared > 0.0 {
                        let power = squared.powf(b);
                        let coefficient = -2.0 * a * b * power / squared / (a * power + 1.0);
                        for (mine, &theirs) in here.iter_mut().zip(there) {
                            let step = (coefficient * (*mine - theirs)).clamp(-CLIP, CLIP);
                            *mine += 2.0 * step * rate;
                        }
                    }
                    // Negative samples at `negative_rate` per period of the edge.
                    let spacing = periods[local] / negative_rate;
                    let draws = ((now - negatives[local]) / spacing).floor().max(0.0);
                    negatives[local] += draws * spacing;
                    for _ in 0..draws as usize {
                        let other = index_below(&mut random, count);
                        if other == point {
                            continue;
                        }
                        let there = &previous[other * dimensions..(other + 1) * dimensions];
                        let squared = squared_distance(here, there);
                        if squared <= 0.0 {
                            continue;
                        }
                        let coefficient = 2.0 * gamma * b
                            / ((REPULSION_EPSILON + squared) * (a * squared.powf(b) + 1.0));
                        for (mine, &theirs) in here.iter_mut().zip(there) {
                            let step = (coefficient * (*mine - theirs)).clamp(-CLIP, CLIP);
                            *mine += step * rate;
                        }
                    }
                }
            }
        });
    }
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// A uniform index in `0..bound` by a multiply and a shift (bias below `bound / 2⁶⁴`).
fn index_below(random: &mut Random, bound: usize) -> usize {
    ((u128::from(random.next_u64()) * bound as u128) >> 64) as usize
}
