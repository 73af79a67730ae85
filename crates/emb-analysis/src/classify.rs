//! Classification with embeddings as features: nearest class centre (also zero-shot, where each
//! class's "centre" is the embedding of its name or description), k nearest neighbours voting
//! by similarity, and multinomial logistic regression. Similarities are cosine.

use rayon::prelude::*;

use crate::linear::{dot_products, normalised};
use crate::{Error, Result, Rows};

/// A class for each row and how sure the classifier is (cosine to the centre for
/// [`nearest_centre`], the vote share for [`knn`], the probability for [`Logistic`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The class, `0..classes`.
    pub class: usize,
    /// The confidence, in the classifier's own terms (see above).
    pub score: f32,
}

fn check_labels(rows: Rows, labels: &[usize]) -> Result<usize> {
    rows.check(1)?;
    if labels.len() != rows.len() {
        return Err(Error::Vectors(format!("{} labels for {} rows", labels.len(), rows.len())));
    }
    Ok(labels.iter().max().map_or(0, |&label| label + 1))
}

/// The mean of each class's normalised rows, normalised: `classes × dimensions`.
pub fn centres(rows: Rows, labels: &[usize]) -> Result<Vec<f32>> {
    let classes = check_labels(rows, labels)?;
    let dimensions = rows.dimensions();
    let mut sums = vec![0.0_f32; classes * dimensions];
    for (row, &label) in rows.rows().zip(labels) {
        let norm = emb_core::distance::norm(row).max(f32::MIN_POSITIVE);
        for (sum, &value) in sums[label * dimensions..(label + 1) * dimensions].iter_mut().zip(row)
        {
            *sum += value / norm;
        }
    }
    for (class, centre) in sums.chunks_exact_mut(dimensions).enumerate() {
        if centre.iter().all(|&value| value == 0.0) {
            return Err(Error::Vectors(format!("class {class} has no examples")));
        }
        emb_core::distance::normalize(centre);
    }
    Ok(sums)
}

/// Each row's most similar centre (`centres`: one row per class, e.g. from [`centres`] or the
/// embeddings of label texts for zero-shot classification).
pub fn nearest_centre(rows: Rows, centres: Rows) -> Result<Vec<Prediction>> {
    rows.check(0)?;
    check_dimensions(rows, centres)?;
    let units = normalised(rows);
    let centre_units = normalised(centres);
    let scores = dot_products(
        Rows::new(&units, rows.dimensions())?,
        Rows::new(&centre_units, centres.dimensions())?,
    );
    Ok(scores
        .chunks_exact(centres.len().max(1))
        .map(|scores| {
            let (class, &score) =
                scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("a class");
            Prediction { class, score }
        })
        .collect())
}

fn check_dimensions(rows: Rows, other: Rows) -> Result<()> {
    if rows.dimensions() != other.dimensions() {
        return Err(Error::Vectors(format!(
            "vectors of {} dimensions cannot be compared with vectors of {}",
            rows.dimensions(),
            other.dimensions()
        )));
    }
    Ok(())
}

/// Each row's class by a similarity-weighted vote of its `k` most similar training rows.
pub fn knn(train: Rows, labels: &[usize], rows: Rows, k: usize) -> Result<Vec<Prediction>> {
    let classes = check_labels(train, labels)?;
    check_dimensions(train, rows)?;
    if k == 0 {
        return Err(Error::Settings("k nearest neighbours needs k >= 1".into()));
    }
    let train_units = normalised(train);
    let units = normalised(rows);
    let train_rows = Rows::new(&train_units, train.dimensions())?;
    let k = k.min(train.len());
    let predictions = units
        .par_chunks(256 * rows.dimensions().max(1))
        .flat_map_iter(|block| {
            let block = Rows::new(block, rows.dimensions()).expect("whole rows");
            let scores = dot_products(block, train_rows);
            scores
                .chunks_exact(train.len())
                .map(|scores| {
                    let mut best = emb_core::topk::TopK::new(k);
                    for (row, &score) in scores.iter().enumerate() {
                        if score > best.threshold() {
                            best.push(score, row);
                        }
                    }
                    let mut votes = vec![0.0_f32; classes];
                    for (score, row) in best.into_sorted() {
                        votes[labels[row]] += score.max(0.0) + 1e-6;
                    }
                    let total: f32 = votes.iter().sum();
                    let (class, &vote) = votes
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .expect("a class");
                    Prediction { class, score: vote / total.max(f32::MIN_POSITIVE) }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(predictions)
}

/// How to fit a [`Logistic`] model.
#[derive(Clone, Debug)]
pub struct LogisticSettings {
    /// L2 penalty on the weights (scikit-learn's `1 / C` per example). Default 1e-3.
    pub penalty: f32,
    /// Full-batch gradient steps (Adam). Default 500.
    pub iterations: usize,
    /// Step size. Default 0.05.
    pub learning_rate: f32,
}

impl Default for LogisticSettings {
    fn default() -> Self {
        Self { penalty: 1e-3, iterations: 500, learning_rate: 0.05 }
    }
}

/// Multinomial logistic regression on normalised rows.
#[derive(Clone, Debug)]
pub struct Logistic {
    /// `classes × (dimensions + 1)` weights, the bias last in each row.
    pub weights: Vec<f32>,
    /// The number of classes.
    pub classes: usize,
}

impl Logistic {
    /// Fits the model to `rows` with classes `labels`.
    pub fn fit(rows: Rows, labels: &[usize], settings: &LogisticSettings) -> Result<Self> {
        let classes = check_labels(rows, labels)?;
        if classes < 2 {
            return Err(Error::Settings(
                "logistic regression needs examples of two or more classes".into(),
            ));
        }
        let dimensions = rows.dimensions();
        let width = dimensions + 1;
        let units = normalised(rows);
        let count = rows.len() as f32;
        let mut weights = vec![0.0_f32; classes * width];
        let (mut first, mut second) = (vec![0.0_f32; weights.len()], vec![0.0_f32; weights.len()]);
        let (beta1, beta2) = (0.9_f32, 0.999_f32);
        for step in 1..=settings.iterations {
            let gradient = units
                .par_chunks(512 * dimensions)
                .zip(labels.par_chunks(512))
                .fold(
                    || vec![0.0_f32; classes * width],
                    |mut gradient, (block, labels)| {
                        let mut probabilities = vec![0.0_f32; classes];
                        for (row, &label) in block.chunks_exact(dimensions).zip(labels) {
                            softmax(&weights, row, &mut probabilities);
                            for class in 0..classes {
                                let error =
                                    probabilities[class] - f32::from(u8::from(class == label));
                                let slot = &mut gradient[class * width..(class + 1) * width];
                                for (g, &x) in slot.iter_mut().zip(row) {
                                    *g += error * x;
                                }
                                slot[dimensions] += error;
                            }
                        }
                        gradient
                    },
                )
                .reduce(
                    || vec![0.0_f32; classes * width],
                    |mut a, b| {
                        for (x, y) in a.iter_mut().zip(b) {
                            *x += y;
                        }
                        a
                    },
                );
            let correction1 = 1.0 - beta1.powi(step as i32);
            let correction2 = 1.0 - beta2.powi(step as i32);
            for (index, weight) in weights.iter_mut().enumerate() {
                let penalty =
                    if index % width == dimensions { 0.0 } else { settings.penalty * *weight };
                let g = gradient[index] / count + penalty;
                first[index] = beta1 * first[index] + (1.0 - beta1) * g;
                second[index] = beta2 * second[index] + (1.0 - beta2) * g * g;
                *weight -= settings.learning_rate * (first[index] / correction1)
                    / ((second[index] / correction2).sqrt() + 1e-8);
            }
        }
        Ok(Self { weights, classes })
    }

    /// The most probable class of each row.
    pub fn predict(&self, rows: Rows) -> Result<Vec<Prediction>> {
        let width = self.weights.len() / self.classes;
        if rows.dimensions() + 1 != width {
            return Err(Error::Vectors(format!(
                "the model was fitted on {} dimensions, not {}",
                width - 1,
                rows.dimensions()
            )));
        }
        let units = normalised(rows);
        let mut probabilities = vec![0.0_f32; self.classes];
        Ok(units
            .chunks_exact(rows.dimensions())
            .map(|row| {
                softmax(&self.weights, row, &mut probabilities);
                let (class, &score) = probabilities
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .expect("a class");
                Prediction { class, score }
            })
            .collect())
    }
}

/// The class probabilities of one normalised row.
fn softmax(weights: &[f32], row: &[f32], out: &mut [f32]) {
    let width = row.len() + 1;
    for (class, value) in out.iter_mut().enumerate() {
        let w = &weights[class * width..(class + 1) * width];
        *value = emb_core::distance::dot(&w[..row.len()], row) + w[row.len()];
    }
    let largest = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for value in out.iter_mut() {
        *value = (*value - largest).exp();
        total += *value;
    }
    for value in out.iter_mut() {
        *value /= total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Random;

    /// Three noisy directions in 20-d, `count` points each, interleaved.
    fn data(count: usize, noise: f64, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut random = Random::new(seed);
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for point in 0..3 * count {
            let class = point % 3;
            for dimension in 0..20 {
                let signal = if dimension / 5 == class { 1.0 } else { 0.0 };
                values.push((signal + noise * random.normal()) as f32);
            }
            labels.push(class);
        }
        (values, labels)
    }

    #[test]
    fn the_three_classifiers_learn_separable_classes() {
        let (train, train_labels) = data(100, 0.3, 1);
        let (test, test_labels) = data(50, 0.3, 2);
        let (train, test) = (Rows::new(&train, 20).unwrap(), Rows::new(&test, 20).unwrap());
        let accuracy = |predictions: Vec<Prediction>| {
            let classes: Vec<usize> = predictions.iter().map(|p| p.class).collect();
            crate::quality::accuracy(&test_labels, &classes)
        };
        let centre_rows = centres(train, &train_labels).unwrap();
        let by_centre = nearest_centre(test, Rows::new(&centre_rows, 20).unwrap()).unwrap();
        assert!(accuracy(by_centre) > 0.95);
        assert!(accuracy(knn(train, &train_labels, test, 5).unwrap()) > 0.95);
        let model = Logistic::fit(train, &train_labels, &LogisticSettings::default()).unwrap();
        let predictions = model.predict(test).unwrap();
        assert!(predictions.iter().all(|p| (0.0..=1.0).contains(&p.score)));
        assert!(accuracy(predictions) > 0.95);
    }

    #[test]
    fn logistic_regression_beats_centres_when_classes_differ_in_one_direction_only() {
        // Two classes that differ only along dimension 0, with large shared variance elsewhere.
        let mut random = Random::new(5);
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for point in 0..600 {
            let class = point % 2;
            values.push(if class == 0 { 0.3 } else { -0.3 } + 0.1 * random.normal() as f32);
            values.push(3.0 + random.normal() as f32);
            values.push(2.0 * random.normal() as f32);
            labels.push(class);
        }
        let rows = Rows::new(&values, 3).unwrap();
        let model = Logistic::fit(rows, &labels, &LogisticSettings::default()).unwrap();
        let classes: Vec<usize> = model.predict(rows).unwrap().iter().map(|p| p.class).collect();
        assert!(crate::quality::accuracy(&labels, &classes) > 0.9);
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let rows = Rows::new(&[1.0, 0.0, 0.0, 1.0], 2).unwrap();
        let other = Rows::new(&[1.0, 0.0, 0.0], 3).unwrap();
        assert!(nearest_centre(rows, other).is_err());
        assert!(knn(rows, &[0], rows, 1).is_err());
        assert!(knn(rows, &[0, 1], rows, 0).is_err());
        assert!(Logistic::fit(rows, &[0, 0], &LogisticSettings::default()).is_err());
    }
}
