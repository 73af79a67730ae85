//! t-SNE's input affinities: for every point a Gaussian over its nearest neighbours whose width
//! is searched for so the distribution's perplexity is the one asked for, then the conditional
//! distributions symmetrised and normalised into one joint distribution `P` stored sparse.

use rayon::prelude::*;

use crate::neighbours::Graph;

/// Bisection steps of the precision search at most.
const SEARCH_STEPS: usize = 100;
/// How close the entropy must come to `ln(perplexity)`, in nats.
const ENTROPY_TOLERANCE: f64 = 1e-5;

/// A symmetric sparse matrix of joint probabilities in compressed rows: row `i`'s entries are
/// `columns[offsets[i]..offsets[i + 1]]` with `values` alongside, columns ascending; all values
/// together sum to one.
#[derive(Clone, Debug)]
pub(super) struct Affinities {
    pub offsets: Vec<usize>,
    pub columns: Vec<u32>,
    pub values: Vec<f32>,
}

impl Affinities {
    /// Row `row`'s entries as `(column, probability)`.
    pub fn row(&self, row: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let range = self.offsets[row]..self.offsets[row + 1];
        self.columns[range.clone()]
            .iter()
            .map(|&column| column as usize)
            .zip(&self.values[range])
            .map(|(column, &value)| (column, value))
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// The joint probabilities of the points of `graph` at `perplexity`. The Gaussian kernel is over
/// the squared neighbour distances (for cosine distance, its square, as for any metric).
pub(super) fn joint_probabilities(graph: &Graph, perplexity: f64) -> Affinities {
    let (count, k) = (graph.len(), graph.k);
    let mut conditional = vec![0.0_f32; count * k];
    conditional.par_chunks_mut(k).enumerate().for_each(|(row, out)| {
        let squared: Vec<f64> = graph
            .neighbours(row)
            .map(|(_, distance)| f64::from(distance) * f64::from(distance))
            .collect();
        for (slot, probability) in out.iter_mut().zip(conditional_row(&squared, perplexity)) {
            *slot = probability as f32;
        }
    });
    symmetrise(graph, &conditional)
}

/// The distribution `p_j ∝ exp(-β d_j)` over one point's neighbours whose perplexity
/// `exp(H)` matches `perplexity`, with `β` found by bisection (doubling or halving until the
/// target is bracketed).
fn conditional_row(squared: &[f64], perplexity: f64) -> Vec<f64> {
    let target = perplexity.ln();
    // Distances measured from the nearest keep exp() from underflowing at large β; the
    // normalised distribution and its entropy do not change.
    let nearest = squared.iter().copied().fold(f64::INFINITY, f64::min);
    let shifted: Vec<f64> = squared.iter().map(|&value| value - nearest).collect();
    let mut weights = vec![0.0; shifted.len()];
    let (mut beta, mut low, mut high) = (1.0_f64, 0.0_f64, f64::INFINITY);
    for _ in 0..SEARCH_STEPS {
        let mut sum = 0.0;
        let mut weighted = 0.0;
        for (weight, &distance) in weights.iter_mut().zip(&shifted) {
            *weight = (-beta * distance).exp();
            sum += *weight;
            weighted += *weight * distance;
        }
        // H = -Σ p ln p with p = w / S and ln w = -β d: H = ln S + β Σ p d.
        let entropy = sum.ln() + beta * weighted / sum;
        if (entropy - target).abs() <= ENTROPY_TOLERANCE {
            break;
        }
        if entropy > target {
            low = beta;
            beta = if high.is_finite() { f64::midpoint(beta, high) } else { beta * 2.0 };
        } else {
            high = beta;
            beta = f64::midpoint(beta, low);
        }
    }
    let sum: f64 = weights.iter().sum();
    for weight in &mut weights {
        *weight /= sum;
    }
    weights
}

/// `(C + Cᵀ) / sum` of the `count × k` conditional probabilities laid out like `graph`.
fn symmetrise(graph: &Graph, conditional: &[f32]) -> Affinities {
    let (count, k) = (graph.len(), graph.k);
    // Row i holds its own k entries and one for every point that lists i as a neighbour.
    let mut incoming_offsets = vec![0_usize; count + 1];
    for &neighbour in &graph.indices {
        incoming_offsets[neighbour as usize + 1] += 1;
    }
    for row in 0..count {
        incoming_offsets[row + 1] += incoming_offsets[row];
    }
    let mut incoming = vec![(0_u32, 0.0_f32); graph.indices.len()];
    let mut filled = incoming_offsets.clone();
    for (position, (&neighbour, &value)) in graph.indices.iter().zip(conditional).enumerate() {
        let slot = &mut filled[neighbour as usize];
        // Rows are visited in order, so each row's incoming entries come sorted by source.
        incoming[*slot] = ((position / k) as u32, value);
        *slot += 1;
    }
    let rows: Vec<Vec<(u32, f32)>> = (0..count)
        .into_par_iter()
        .map(|row| {
            let mut own: Vec<(u32, f32)> = graph.indices[row * k..(row + 1) * k]
                .iter()
                .copied()
                .zip(conditional[row * k..(row + 1) * k].iter().copied())
                .collect();
            own.sort_unstable_by_key(|&(column, _)| column);
            merge_sum(&own, &incoming[incoming_offsets[row]..incoming_offsets[row + 1]])
        })
        .collect();
    let total: f64 = rows.iter().flatten().map(|&(_, value)| f64::from(value)).sum();
    let scale = 1.0 / total.max(f64::MIN_POSITIVE);
    let mut offsets = Vec::with_capacity(count + 1);
    offsets.push(0);
    let mut columns = Vec::new();
    let mut values = Vec::new();
    for row in rows {
        for (column, value) in row {
            columns.push(column);
            values.push((f64::from(value) * scale) as f32);
        }
        offsets.push(columns.len());
    }
    Affinities { offsets, columns, values }
}

/// Two lists sorted by column merged into one, the values of a column in both added.
fn merge_sum(left: &[(u32, f32)], right: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        let (a, b) = (left[i], right[j]);
        match a.0.cmp(&b.0) {
            std::cmp::Ordering::Less => {
                merged.push(a);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                merged.push(b);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                merged.push((a.0, a.1 + b.1));
                i += 1;
                j += 1;
            }
        }
    }
    merged.extend_from_slice(&left[i..]);
    merged.extend_from_slice(&right[j..]);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::{exact, Metric};
    use crate::random::Random;
    use crate::Rows;

    #[test]
    fn each_conditional_row_has_the_asked_perplexity() {
        let squared: Vec<f64> = (0..90).map(|index| 0.01 * f64::from(index) + 0.3).collect();
        for perplexity in [5.0, 30.0, 60.0] {
            let row = conditional_row(&squared, perplexity);
            let entropy: f64 = row.iter().filter(|&&p| p > 0.0).map(|&p| -p * p.ln()).sum();
            assert!((entropy.exp() - perplexity).abs() < 1e-3 * perplexity, "{perplexity}");
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(row.windows(2).all(|pair| pair[0] >= pair[1]), "nearer is likelier");
        }
    }

    #[test]
    fn joint_probabilities_are_symmetric_and_sum_to_one() {
        let mut random = Random::new(5);
        let values: Vec<f32> = (0..200 * 4).map(|_| random.normal() as f32).collect();
        let graph = exact(Rows::new(&values, 4).unwrap(), 12, Metric::Euclidean).unwrap();
        let joint = joint_probabilities(&graph, 4.0);
        assert_eq!(joint.len(), 200);
        let total: f64 = joint.values.iter().map(|&value| f64::from(value)).sum();
        assert!((total - 1.0).abs() < 1e-5);
        for row in 0..200 {
            let columns: Vec<usize> = joint.row(row).map(|(column, _)| column).collect();
            assert!(columns.windows(2).all(|pair| pair[0] < pair[1]));
            for (column, value) in joint.row(row) {
                assert_ne!(column, row);
                let back = joint.row(column).find(|&(other, _)| other == row).unwrap().1;
                assert!((back - value).abs() <= 1e-7 * value.abs().max(1e-3), "{row} {column}");
            }
        }
    }
}
