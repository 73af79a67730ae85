//! Measures of how good a clustering, a classification or a similarity is: silhouette,
//! V-measure, accuracy, Pearson and Spearman correlation.

use std::collections::HashMap;
use std::hash::Hash;

use rayon::prelude::*;

use crate::linear::{dot_products, squared_norms};
use crate::random::Random;
use crate::{Error, Result, Rows};

/// The mean silhouette coefficient of a clustering under Euclidean distance (in `[-1, 1]`;
/// higher is better), over at most `sample` points drawn with `seed` (all points when
/// `sample >= len`). Points alone in their cluster score 0, as in scikit-learn.
pub fn silhouette(rows: Rows, labels: &[usize], sample: usize, seed: u64) -> Result<f64> {
    rows.check(2)?;
    if labels.len() != rows.len() {
        return Err(Error::Vectors(format!("{} labels for {} rows", labels.len(), rows.len())));
    }
    let clusters = labels.iter().max().map_or(0, |&label| label + 1);
    if clusters < 2 {
        return Err(Error::Settings("a silhouette needs at least two clusters".into()));
    }
    let mut chosen: Vec<usize> = (0..rows.len()).collect();
    if sample < rows.len() {
        Random::new(seed).shuffle(&mut chosen);
        chosen.truncate(sample.max(2));
    }
    let sizes = labels.iter().fold(vec![0_usize; clusters], |mut sizes, &label| {
        sizes[label] += 1;
        sizes
    });
    let norms = squared_norms(rows);
    let scores: Vec<f64> = chosen
        .par_chunks(256)
        .flat_map_iter(|block| {
            let values: Vec<f32> =
                block.iter().flat_map(|&row| rows.row(row).iter().copied()).collect();
            let products =
                dot_products(Rows::new(&values, rows.dimensions()).expect("whole rows"), rows);
            block
                .iter()
                .zip(products.chunks(rows.len()))
                .map(|(&row, products)| {
                    let mut sums = vec![0.0_f64; clusters];
                    for (other, (&product, &norm)) in products.iter().zip(&norms).enumerate() {
                        if other != row {
                            let squared = (norms[row] + norm - 2.0 * product).max(0.0);
                            sums[labels[other]] += f64::from(squared.sqrt());
                        }
                    }
                    let own = labels[row];
                    if sizes[own] < 2 {
                        return 0.0;
                    }
                    let inside = sums[own] / (sizes[own] - 1) as f64;
                    let nearest = (0..clusters)
                        .filter(|&cluster| cluster != own && sizes[cluster] > 0)
                        .map(|cluster| sums[cluster] / sizes[cluster] as f64)
                        .fold(f64::INFINITY, f64::min);
                    let larger = inside.max(nearest);
                    if larger > 0.0 {
                        (nearest - inside) / larger
                    } else {
                        0.0
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Homogeneity, completeness and their harmonic mean, the V-measure, of `predicted` against
/// `truth` (both in `[0, 1]`; 1 is a perfect match), as scikit-learn computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VMeasure {
    /// Each cluster holds only members of one class.
    pub homogeneity: f64,
    /// All members of a class are in one cluster.
    pub completeness: f64,
    /// The harmonic mean of the two.
    pub v_measure: f64,
}

/// The [`VMeasure`] of a clustering against true classes.
pub fn v_measure<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> VMeasure {
    assert_eq!(truth.len(), predicted.len(), "labelings of different lengths");
    let count = truth.len() as f64;
    let mut joint: HashMap<(&T, &P), f64> = HashMap::new();
    let mut classes: HashMap<&T, f64> = HashMap::new();
    let mut clusters: HashMap<&P, f64> = HashMap::new();
    for (class, cluster) in truth.iter().zip(predicted) {
        *joint.entry((class, cluster)).or_default() += 1.0;
        *classes.entry(class).or_default() += 1.0;
        *clusters.entry(cluster).or_default() += 1.0;
    }
    let entropy = |counts: &mut dyn Iterator<Item = f64>| -> f64 {
        counts.map(|c| -(c / count) * (c / count).ln()).sum()
    };
    let class_entropy = entropy(&mut classes.values().copied());
    let cluster_entropy = entropy(&mut clusters.values().copied());
    let mut mutual = 0.0;
    for (&(class, cluster), &together) in &joint {
        mutual += together / count * (together * count / (classes[class] * clusters[cluster])).ln();
    }
    let homogeneity = if class_entropy > 0.0 { mutual / class_entropy } else { 1.0 };
    let completeness = if cluster_entropy > 0.0 { mutual / cluster_entropy } else { 1.0 };
    let v_measure = if homogeneity + completeness > 0.0 {
        2.0 * homogeneity * completeness / (homogeneity + completeness)
    } else {
        0.0
    };
    VMeasure { homogeneity, completeness, v_measure }
}

/// The share of positions where `predicted` equals `truth`.
pub fn accuracy<T: PartialEq>(truth: &[T], predicted: &[T]) -> f64 {
    assert_eq!(truth.len(), predicted.len(), "labelings of different lengths");
    if truth.is_empty() {
        return 0.0;
    }
    truth.iter().zip(predicted).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// Pearson's correlation of two equally long series (`NaN` when either is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "series of different lengths");
    let n = a.len() as f64;
    let (mean_a, mean_b) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut covariance, mut variance_a, mut variance_b) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        covariance += (x - mean_a) * (y - mean_b);
        variance_a += (x - mean_a).powi(2);
        variance_b += (y - mean_b).powi(2);
    }
    covariance / (variance_a * variance_b).sqrt()
}

/// Spearman's rank correlation (Pearson's of the ranks, ties given their mean rank).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end) as f64 / 2.0 + 1.0;
        for &index in &order[start..=end] {
            ranks[index] = rank;
        }
        start = end + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_measure_matches_scikit_learn() {
        // sklearn.metrics.homogeneity_completeness_v_measure([0,0,0,1,1,1], [0,0,1,1,2,2])
        // = (0.6666666666666669, 0.420619835714305, 0.5158037429793889)
        let result = v_measure(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]);
        assert!((result.homogeneity - 0.666_666_666_666_666_9).abs() < 1e-12);
        assert!((result.completeness - 0.420_619_835_714_305).abs() < 1e-12);
        assert!((result.v_measure - 0.515_803_742_979_388_9).abs() < 1e-12);
        let perfect = v_measure(&["a", "a", "b"], &[7, 7, 3]);
        assert!((perfect.v_measure - 1.0).abs() < 1e-12);
    }

    #[test]
    fn silhouette_matches_scikit_learn() {
        // sklearn.metrics.silhouette_score([[0,0],[0,1],[1,0],[5,5],[5,6],[7,7]], [0,0,0,1,1,1])
        // = 0.7973462069706079
        let points = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 5.0, 5.0, 5.0, 6.0, 7.0, 7.0];
        let rows = Rows::new(&points, 2).unwrap();
        let score = silhouette(rows, &[0, 0, 0, 1, 1, 1], 100, 0).unwrap();
        assert!((score - 0.797_346_206_970_607_9).abs() < 1e-6, "{score}");
        assert!(silhouette(rows, &[0; 6], 100, 0).is_err());
    }

    #[test]
    fn correlations_match_their_definitions() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 4.0, 5.0, 4.0, 5.0];
        // scipy.stats.pearsonr -> 0.7745966692414834; spearmanr -> 0.7378647873726218
        assert!((pearson(&a, &b) - 0.774_596_669_241_483_4).abs() < 1e-12);
        assert!((spearman(&a, &b) - 0.737_864_787_372_621_8).abs() < 1e-12);
        assert_eq!(accuracy(&[1, 2, 3, 4], &[1, 2, 0, 4]), 0.75);
    }
}
