//! The optimisation of section 3.2 of the UMAP paper: stochastic gradient descent on the fuzzy
//! cross-entropy between the graph and the layout, sampling each edge in proportion to its
//! weight (an edge of weight `w` every `max / w` epochs), pulling its two ends together, and
//! pushing its first end away from a few points drawn at random (negative sampling), with every
//! gradient component clipped at 4 and a learning rate falling linearly to 0.
//!
//! An epoch runs over blocks of points in parallel, each block drawing its negative samples
//! from a random stream fixed by the seed, the epoch and the block. Points move without locks
//! (Hogwild): an edge moves both its ends at once, as umap-learn's parallel mode does, so two
//! threads may now and then overwrite each other's step and two runs differ slightly. Run
//! sequentially, the blocks go in order and a seed always gives the same layout. (Variants
//! that avoid the race in parallel, each point moving only itself against a snapshot of the
//! others, lost about 0.01 of trustworthiness on sentence embeddings: the immediate move of
//! the far end matters.)

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::curve::Curve;
use super::fuzzy::Weighted;
use crate::random::Random;

/// Points per parallel task (and per random stream).
const BLOCK: usize = 256;
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
    /// Runs the blocks one after the other, so that the seed fixes the layout.
    pub sequential: bool,
}

/// A layout that threads update without locks: `f32` bits in relaxed atomics, which compile
/// to plain loads and stores.
struct Shared {
    values: Vec<AtomicU32>,
    dimensions: usize,
}

impl Shared {
    fn load(&self, point: usize, out: &mut [f32]) {
        let start = point * self.dimensions;
        for (value, cell) in out.iter_mut().zip(&self.values[start..start + self.dimensions]) {
            *value = f32::from_bits(cell.load(Ordering::Relaxed));
        }
    }

    fn store(&self, point: usize, values: &[f32]) {
        let start = point * self.dimensions;
        for (&value, cell) in values.iter().zip(&self.values[start..start + self.dimensions]) {
            cell.store(value.to_bits(), Ordering::Relaxed);
        }
    }
}

/// The per-edge state of the sampling, for the edges of one block of points.
struct Timetable<'a> {
    /// Epochs between two samples of the edge (`max weight / weight`).
    period: &'a [f32],
    /// The epoch at which the edge is next sampled.
    next: &'a mut [f32],
    /// The epoch up to which the edge's negative samples have been drawn.
    negatives_until: &'a mut [f32],
}

/// Moves `layout` (row-major, `dimensions` per point) to fit `graph`.
pub(crate) fn optimise(
    graph: &Weighted,
    layout: &mut [f32],
    dimensions: usize,
    schedule: &Schedule,
) {
    let count = graph.len();
    let heaviest = graph.heaviest();
    if count == 0 || heaviest <= 0.0 {
        return;
    }
    let period: Vec<f32> = graph.weights.iter().map(|&weight| heaviest / weight).collect();
    let mut next = period.clone();
    let mut negatives_until = vec![0.0_f32; period.len()];
    let shared = Shared {
        values: layout.iter().map(|value| AtomicU32::new(value.to_bits())).collect(),
        dimensions,
    };
    let blocks = count.div_ceil(BLOCK);
    let step = Step {
        a: schedule.curve.a as f32,
        b: schedule.curve.b as f32,
        gamma: schedule.repulsion,
        negative_rate: schedule.negative_sample_rate as f32,
    };
    for epoch in 1..=schedule.epochs {
        let rate = schedule.learning_rate * (1.0 - (epoch - 1) as f32 / schedule.epochs as f32);
        // One task per block of points, owning its edges' timetable.
        let mut tasks = Vec::with_capacity(blocks);
        let (mut period_left, mut next_left, mut negatives_left) =
            (&period[..], &mut next[..], &mut negatives_until[..]);
        for block in 0..blocks {
            let points = block * BLOCK..((block + 1) * BLOCK).min(count);
            let edges = graph.offsets[points.end] - graph.offsets[points.start];
            let (period, rest) = period_left.split_at(edges);
            period_left = rest;
            let (next, rest) = std::mem::take(&mut next_left).split_at_mut(edges);
            next_left = rest;
            let (negatives_until, rest) = std::mem::take(&mut negatives_left).split_at_mut(edges);
            negatives_left = rest;
            tasks.push((block, points, Timetable { period, next, negatives_until }));
        }
        let context = Context { graph, shared: &shared, epoch: epoch as f32, rate };
        let run = |(block, points, timetable): (usize, Range<usize>, Timetable)| {
            let mut random = Random::stream(schedule.seed, (epoch * blocks + block) as u64);
            // Compiled for 2 and 3 dimensions, where the per-axis loops unroll.
            match dimensions {
                2 => step.block::<2>(&context, points, timetable, &mut random),
                3 => step.block::<3>(&context, points, timetable, &mut random),
                _ => step.block::<0>(&context, points, timetable, &mut random),
            }
        };
        if schedule.sequential {
            tasks.into_iter().for_each(run);
        } else {
            tasks.into_par_iter().for_each(run);
        }
    }
    for (value, cell) in layout.iter_mut().zip(&shared.values) {
        *value = f32::from_bits(cell.load(Ordering::Relaxed));
    }
}

/// What every block of an epoch shares.
struct Context<'a> {
    graph: &'a Weighted,
    shared: &'a Shared,
    epoch: f32,
    rate: f32,
}

/// The constants of a gradient step.
#[derive(Clone, Copy)]
struct Step {
    a: f32,
    b: f32,
    gamma: f32,
    negative_rate: f32,
}

impl Step {
    /// Samples the due edges of the points `points` (and their negatives), in `FIXED`
    /// dimensions (0: as many as the layout has).
    fn block<const FIXED: usize>(
        self,
        context: &Context,
        points: Range<usize>,
        timetable: Timetable,
        random: &mut Random,
    ) {
        let Context { graph, shared, epoch, rate } = *context;
        let count = graph.len();
        let dimensions = if FIXED == 0 { shared.dimensions } else { FIXED };
        let mut here = vec![0.0_f32; dimensions];
        let mut there = vec![0.0_f32; dimensions];
        let (here, there) = (&mut here[..dimensions], &mut there[..dimensions]);
        let first_edge = graph.offsets[points.start];
        for point in points {
            for edge in graph.offsets[point]..graph.offsets[point + 1] {
                let local = edge - first_edge;
                if timetable.next[local] > epoch {
                    continue;
                }
                timetable.next[local] += timetable.period[local];
                let target = graph.targets[edge] as usize;
                shared.load(point, here);
                shared.load(target, there);
                let squared = squared_distance(here, there);
                if squared > 0.0 {
                    let power = squared.powf(self.b);
                    let coefficient =
                        -2.0 * self.a * self.b * power / squared / (self.a * power + 1.0);
                    for (mine, theirs) in here.iter_mut().zip(there.iter_mut()) {
                        let change = (coefficient * (*mine - *theirs)).clamp(-CLIP, CLIP) * rate;
                        *mine += change;
                        *theirs -= change;
                    }
                    shared.store(target, there);
                }
                // Negative samples at `negative_rate` per period of the edge.
                let spacing = timetable.period[local] / self.negative_rate;
                let draws = ((epoch - timetable.negatives_until[local]) / spacing).floor().max(0.0);
                timetable.negatives_until[local] += draws * spacing;
                for _ in 0..draws as usize {
                    let other = index_below(random, count);
                    if other == point {
                        continue;
                    }
                    shared.load(other, there);
                    let squared = squared_distance(here, there);
                    if squared <= 0.0 {
                        continue;
                    }
                    let coefficient = 2.0 * self.gamma * self.b
                        / ((REPULSION_EPSILON + squared) * (self.a * squared.powf(self.b) + 1.0));
                    for (mine, &theirs) in here.iter_mut().zip(there.iter()) {
                        *mine += (coefficient * (*mine - theirs)).clamp(-CLIP, CLIP) * rate;
                    }
                }
                shared.store(point, here);
            }
        }
    }
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// A uniform index in `0..bound` by a multiply and a shift (bias below `bound / 2⁶⁴`).
fn index_below(random: &mut Random, bound: usize) -> usize {
    ((u128::from(random.next_u64()) * bound as u128) >> 64) as usize
}
