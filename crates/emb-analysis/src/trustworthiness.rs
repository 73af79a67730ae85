//! How far a map can be trusted: whether the points that are near in the map were near in the
//! original space (Venna & Kaski, 2001), with scikit-learn's definition
//! (`sklearn.manifold.trustworthiness`), Euclidean in both spaces:
//!
//! `T(k) = 1 - 2 / (n·k·(2n - 3k - 1)) · Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) - k)`
//!
//! where `Uᵢ` are the `k` nearest neighbours of `i` in the map that are not among its `k`
//! nearest in the original space, and `r(i, j)` is the rank of `j` among the other points by
//! their original distance to `i` (the nearest is 1). 1 means every map neighbour is a true
//! neighbour. For normalised vectors the Euclidean order is the cosine order, so the measure
//! serves embeddings as they are.
//!
//! The original distances are computed in blocks of rows on the GEMM kernel; a point's rank of
//! each map neighbour is counted in one pass over its row (no sort), and a distance that the
//! single-precision product cannot place for certain on one side of a map neighbour's distance
//! is recomputed exactly in `f64`, so the ranks are those of exact distances. Tied distances
//! share the best rank.
//!
//! ```
//! use emb_analysis::{trustworthiness::trustworthiness, Rows};
//!
//! let points: Vec<f32> = (0..40).map(|value| value as f32).collect();
//! let line = Rows::new(&points, 1)?;
//! assert_eq!(trustworthiness(line, line, 5)?, 1.0);
//! # Ok::<(), emb_analysis::Error>(())
//! ```

use rayon::prelude::*;

use crate::linear::dot_products_into;
use crate::{Error, Result, Rows};

/// Rows per GEMM block of original distances.
const BLOCK: usize = 256;

/// The trustworthiness of the map `low` of the points `high` (the same rows, in the same
/// order) at `k` neighbours; `k` must be at least 1 and below half the number of rows.
pub fn trustworthiness(high: Rows, low: Rows, k: usize) -> Result<f64> {
    if high.len() != low.len() {
        return Err(Error::Vectors(format!(
            "{} original rows but {} mapped rows",
            high.len(),
            low.len()
        )));
    }
    high.check(1)?;
    low.check(1)?;
    let count = high.len();
    if k == 0 || 2 * k >= count {
        return Err(Error::Settings(format!(
            "trustworthiness at {k} neighbours needs 1 <= k < {count} / 2"
        )));
    }
    let mapped = nearest_exactly(low, k);
    let original = Original::new(high);
    let mut products = vec![0.0_f32; BLOCK.min(count) * count];
    let mut total = 0_u64;
    for start in (0..count).step_by(BLOCK) {
        let height = BLOCK.min(count - start);
        let block = Rows::new(
            &high.values()[start * high.dimensions()..(start + height) * high.dimensions()],
            high.dimensions(),
        )?;
        let products = &mut products[..height * count];
        dot_products_into(block, high, products);
        total += products
            .par_chunks(count)
            .enumerate()
            .map(|(offset, row_products)| {
                let row = start + offset;
                original.excess_rank(row, row_products, &mapped[row * k..(row + 1) * k])
            })
            .sum::<u64>();
    }
    let (n, k) = (count as f64, k as f64);
    Ok(1.0 - total as f64 * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

/// The original rows, with what ranking their distances needs.
struct Original<'a> {
    rows: Rows<'a>,
    /// Squared norms in `f64`, and rounded to `f32` for a first, cheap test.
    norms: Vec<f64>,
    rounded_norms: Vec<f32>,
    largest_norm: f64,
    /// The single-precision product of two rows is off by at most about `d·2⁻²⁴·|x|·|y|`;
    /// twice that, on the squared norms (`slack·(|x|² + |y|²)`), bounds the error of a squared
    /// distance from the product with room to spare.
    slack: f64,
}

impl<'a> Original<'a> {
    fn new(rows: Rows<'a>) -> Self {
        let norms: Vec<f64> = rows
            .rows()
            .map(|row| row.iter().map(|&value| f64::from(value) * f64::from(value)).sum())
            .collect();
        Self {
            rounded_norms: norms.iter().map(|&norm| norm as f32).collect(),
            largest_norm: norms.iter().copied().fold(0.0, f64::max),
            norms,
            slack: 2.0 * (rows.dimensions() + 4) as f64 * f64::from(f32::EPSILON) / 2.0,
            rows,
        }
    }

    /// The squared distance between two rows, in `f64` from the values.
    fn exact(&self, row: usize, other: usize) -> f64 {
        self.rows
            .row(row)
            .iter()
            .zip(self.rows.row(other))
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum()
    }

    /// `Σ max(0, r(row, j) - k)` over the map neighbours `j` of `row`, counted in one pass over
    /// the row's `products` with every row.
    fn excess_rank(&self, row: usize, products: &[f32], neighbours: &[u32]) -> u64 {
        let k = neighbours.len();
        let mut thresholds: Vec<f64> =
            neighbours.iter().map(|&other| self.exact(row, other as usize)).collect();
        thresholds.sort_by(f64::total_cmp);
        let farthest = thresholds[k - 1];
        let own = self.norms[row];
        // Rows past this bound (|y|² - 2x·y in f32, widened for its rounding) cannot come
        // before any map neighbour: most rows, skipped without leaving single precision.
        let bound = (farthest - own + 2.0 * self.slack * (own + self.largest_norm)) as f32;
        // closer[b]: the other rows with exactly b thresholds at or below their distance, so
        // that the rows strictly closer than threshold q are those counted in closer[0..=q].
        let mut closer = vec![0_u64; k + 1];
        for (other, (&product, &norm)) in products.iter().zip(&self.rounded_norms).enumerate() {
            if norm - 2.0 * product > bound || other == row {
                continue;
            }
            let approximate = own + self.norms[other] - 2.0 * f64::from(product);
            let error = self.slack * (own + self.norms[other]);
            if approximate - error > farthest {
                continue;
            }
            let uncertain =
                thresholds.iter().any(|&threshold| (approximate - threshold).abs() <= error);
            let distance = if uncertain { self.exact(row, other) } else { approximate };
            closer[thresholds.partition_point(|&threshold| threshold <= distance)] += 1;
        }
        let mut before = 0;
        let mut excess = 0;
        for &count in closer.iter().take(k) {
            before += count;
            // The q-th threshold (from 0) has rank 1 + before; it counts beyond rank k.
            excess += (before + 1).saturating_sub(k as u64);
        }
        excess
    }
}

/// The `k` nearest other rows of every row by Euclidean distance computed in `f64`, nearest
/// first (ties by row number): `len × k` row numbers. The rows are swept in the order of their
/// first coordinate, outwards from each row, until the gap along it alone exceeds the `k`-th
/// distance found: exact, and far below `n²` work for the low-dimensional maps it serves.
fn nearest_exactly(rows: Rows, k: usize) -> Vec<u32> {
    let count = rows.len();
    let dimensions = rows.dimensions();
    let values: Vec<f64> = rows.values().iter().map(|&value| f64::from(value)).collect();
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.sort_by(|&a, &b| {
        values[a as usize * dimensions].total_cmp(&values[b as usize * dimensions])
    });
    let mut position = vec![0_usize; count];
    for (at, &row) in order.iter().enumerate() {
        position[row as usize] = at;
    }
    let mut found = vec![0_u32; count * k];
    found.par_chunks_mut(k).enumerate().for_each(|(row, found)| {
        let here = &values[row * dimensions..(row + 1) * dimensions];
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        let offer = |best: &mut Vec<(f64, u32)>, other: u32| {
            let there = &values[other as usize * dimensions..(other as usize + 1) * dimensions];
            let distance: f64 = here.iter().zip(there).map(|(x, y)| (x - y) * (x - y)).sum();
            if best.len() == k && (distance, other) >= best[k - 1] {
                return;
            }
            let at = best.partition_point(|&kept| kept < (distance, other));
            best.insert(at, (distance, other));
            best.truncate(k);
        };
        let gap = |other: u32| (values[other as usize * dimensions] - here[0]).powi(2);
        let (mut left, mut right) = (position[row], position[row] + 1);
        loop {
            let worst = if best.len() == k { best[k - 1].0 } else { f64::INFINITY };
            let left_gap = if left > 0 { gap(order[left - 1]) } else { f64::INFINITY };
            let right_gap = if right < count { gap(order[right]) } else { f64::INFINITY };
            if left_gap.min(right_gap) > worst || (left == 0 && right == count) {
                break;
            }
            if left_gap <= right_gap {
                left -= 1;
                offer(&mut best, order[left]);
            } else {
                offer(&mut best, order[right]);
                right += 1;
            }
        }
        for (slot, &(_, other)) in found.iter_mut().zip(&best) {
            *slot = other;
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Random;

    /// The reference rows of `bench/reference/trustworthiness.py`: `count × 20` uniform values
    /// from `Random::new(seed)`, and three maps of them.
    fn reference_rows(count: usize, seed: u64) -> (Vec<f32>, [Vec<f32>; 3]) {
        let mut random = Random::new(seed);
        let high: Vec<f32> = (0..count * 20).map(|_| random.unit_f32()).collect();
        let first_two = high.chunks_exact(20).flat_map(|row| [row[0], row[1]]).collect();
        let sums = high
            .chunks_exact(20)
            .flat_map(|row| [row[0] + row[2] + row[4], row[1] - row[3] + row[5]])
            .collect();
        let unrelated = (0..count * 2).map(|_| random.unit_f32()).collect();
        (high, [first_two, sums, unrelated])
    }

    #[test]
    fn matches_scikit_learn() {
        // sklearn.manifold.trustworthiness(high, low, n_neighbors=k), printed by
        // bench/reference/trustworthiness.py (scikit-learn 1.9.1).
        let expected = [
            (5, [0.625_636_986_301_369_9, 0.606_027_397_260_273_9, 0.500_171_232_876_712_3]),
            (12, [0.632_964_278_665_877_2, 0.615_225_971_975_528, 0.509_876_652_851_786_1]),
        ];
        let (high, maps) = reference_rows(300, 11);
        // The script's generator is this crate's: it printed the same first values.
        let start: Vec<f64> = high[..3].iter().map(|&value| f64::from(value)).collect();
        assert_eq!(
            start,
            [0.859_782_874_584_198, 0.806_467_115_879_058_8, 0.964_203_834_533_691_4]
        );
        let high = Rows::new(&high, 20).unwrap();
        for (k, values) in expected {
            for (map, value) in maps.iter().zip(values) {
                let found = trustworthiness(high, Rows::new(map, 2).unwrap(), k).unwrap();
                assert!((found - value).abs() < 1e-6, "k {k}: {found} against {value}");
            }
        }
    }

    #[test]
    fn a_map_that_keeps_the_order_scores_one_and_a_scrambled_one_about_half() {
        let mut random = Random::new(5);
        let count = 400;
        let high: Vec<f32> = (0..count * 10).map(|_| random.normal() as f32).collect();
        let high = Rows::new(&high, 10).unwrap();
        assert_eq!(trustworthiness(high, high, 10).unwrap(), 1.0);
        let scaled: Vec<f32> = high.values().iter().map(|value| value * 3.0 + 1.0).collect();
        assert_eq!(trustworthiness(high, Rows::new(&scaled, 10).unwrap(), 10).unwrap(), 1.0);
        let noise: Vec<f32> = (0..count * 2).map(|_| random.normal() as f32).collect();
        let scrambled = trustworthiness(high, Rows::new(&noise, 2).unwrap(), 10).unwrap();
        assert!((scrambled - 0.5).abs() < 0.05, "{scrambled}");
    }

    #[test]
    fn the_sweep_finds_the_nearest_rows_exactly() {
        let mut random = Random::new(8);
        // Coarse values, so that there are ties to break by row number.
        let values: Vec<f32> = (0..500 * 3).map(|_| random.below(12) as f32).collect();
        let rows = Rows::new(&values, 3).unwrap();
        let found = nearest_exactly(rows, 7);
        for row in 0..500 {
            let mut all: Vec<(f32, u32)> = (0..500_u32)
                .filter(|&other| other as usize != row)
                .map(|other| {
                    let distance = crate::neighbours::Metric::Euclidean
                        .distance(rows.row(row), rows.row(other as usize));
                    (distance, other)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let expected: Vec<u32> = all[..7].iter().map(|&(_, other)| other).collect();
            assert_eq!(found[row * 7..(row + 1) * 7], expected[..], "row {row}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_measure() {
        let values = vec![0.5_f32; 20];
        let rows = Rows::new(&values, 2).unwrap();
        assert!(matches!(trustworthiness(rows, rows, 5), Err(Error::Settings(_))));
        assert!(matches!(trustworthiness(rows, rows, 0), Err(Error::Settings(_))));
        let other = Rows::new(&values[..18], 2).unwrap();
        assert!(matches!(trustworthiness(rows, other, 2), Err(Error::Vectors(_))));
        let mut broken = values.clone();
        broken[3] = f32::NAN;
        let broken = Rows::new(&broken, 2).unwrap();
        assert!(matches!(trustworthiness(broken, rows, 2), Err(Error::Vectors(_))));
    }
}
