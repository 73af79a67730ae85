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
    let norms: Vec<f64> = high
        .rows()
        .map(|row| row.iter().map(|&value| f64::from(value) * f64::from(value)).sum())
        .collect();
    // The single-precision product of two rows is off by at most about d·2⁻²⁴·|x|·|y|; twice
    // that, on the squared norms, bounds the error of a squared distance with room to spare.
    let slack = 2.0 * (high.dimensions() + 4) as f64 * f64::from(f32::EPSILON) / 2.0;
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
                let neighbours = &mapped[row * k..(row + 1) * k];
                excess_rank(high, &norms, slack, row, row_products, neighbours)
            })
            .sum::<u64>();
    }
    let (n, k) = (count as f64, k as f64);
    Ok(1.0 - total as f64 * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

/// `Σ max(0, r(row, j) - k)` over the map neighbours `j` of `row`, counted in one pass over the
/// row's products with every row.
fn excess_rank(
    high: Rows,
    norms: &[f64],
    slack: f64,
    row: usize,
    products: &[f32],
    neighbours: &[u32],
) -> u64 {
    let k = neighbours.len();
    let exact = |other: usize| -> f64 {
        high.row(row)
            .iter()
            .zip(high.row(other))
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum()
    };
    let mut thresholds: Vec<f64> = neighbours.iter().map(|&other| exact(other as usize)).collect();
    thresholds.sort_by(f64::total_cmp);
    let farthest = thresholds[k - 1];
    let own = norms[row];
    // closer[b]: the other rows with exactly b thresholds at or below their distance, so that
    // the rows strictly closer than threshold q are those counted in closer[0..=q].
    let mut closer = vec![0_u64; k + 1];
    for (other, &product) in products.iter().enumerate() {
        if other == row {
            continue;
        }
        let approximate = own + norms[other] - 2.0 * f64::from(product);
        let error = slack * (own + norms[other]);
        if approximate - error > farthest {
            continue;
        }
        let uncertain =
            thresholds.iter().any(|&threshold| (approximate - threshold).abs() <= error);
        let distance = if uncertain { exact(other) } else { approximate };
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

/// The `k` nearest other rows of every row by Euclidean distance computed in `f64`, nearest
/// first (a tie goes to the lower row): `len × k` row numbers.
fn nearest_exactly(rows: Rows, k: usize) -> Vec<u32> {
    let count = rows.len();
    let values: Vec<f64> = rows.values().iter().map(|&value| f64::from(value)).collect();
    let dimensions = rows.dimensions();
    let mut found = vec![0_u32; count * k];
    found.par_chunks_mut(k).enumerate().for_each(|(row, found)| {
        let here = &values[row * dimensions..(row + 1) * dimensions];
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        let mut worst = f64::INFINITY;
        for (other, there) in values.chunks_exact(dimensions).enumerate() {
            let distance: f64 = here.iter().zip(there).map(|(x, y)| (x - y) * (x - y)).sum();
            if distance >= worst || other == row {
                continue;
            }
            let at = best.partition_point(|&(kept, _)| kept <= distance);
            best.insert(at, (distance, other as u32));
            if best.len() > k {
                best.pop();
            }
            if best.len() == k {
                worst = best[k - 1].0;
            }
        }
        for (slot, (_, other)) in found.iter_mut().zip(best) {
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
        assert_eq!(
            high[..3],
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
