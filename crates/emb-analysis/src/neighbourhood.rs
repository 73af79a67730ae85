//! What the neighbourhoods of a collection say about its items: near-duplicate groups, outliers,
//! a position on the line between two groups of examples, and a taste profile to recommend from.

use rayon::prelude::*;

use crate::linear::{dot_products, normalised};
use crate::neighbours::Graph;
use crate::{Error, Result, Rows};

/// Every row's other rows with cosine similarity at least `threshold`, most similar first.
pub fn pairs_above(rows: Rows, threshold: f32) -> Result<Vec<Vec<(usize, f32)>>> {
    rows.check(1)?;
    let units = normalised(rows);
    let all = Rows::new(&units, rows.dimensions())?;
    let dimensions = rows.dimensions();
    Ok(units
        .par_chunks(512 * dimensions)
        .enumerate()
        .flat_map_iter(|(block_number, block)| {
            let block = Rows::new(block, dimensions).expect("whole rows");
            let scores = dot_products(block, all);
            scores
                .chunks_exact(all.len())
                .enumerate()
                .map(|(offset, scores)| {
                    let row = block_number * 512 + offset;
                    let mut near: Vec<(usize, f32)> = scores
                        .iter()
                        .enumerate()
                        .filter(|&(other, &score)| other != row && score >= threshold)
                        .map(|(other, &score)| (other, score))
                        .collect();
                    near.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    near
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

/// A group of near-duplicates: its central item (the one with the most others above the
/// threshold) first, then the others, most similar to the centre first, with their similarity
/// to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The central row.
    pub centre: usize,
    /// The other rows and their cosine similarity to the centre.
    pub members: Vec<(usize, f32)>,
}

/// Groups of rows whose similarity to the group's centre is at least `threshold`, largest group
/// first; a row belongs to one group at most (as sentence-transformers' community detection
/// with `min_community_size = 2`).
pub fn duplicate_groups(rows: Rows, threshold: f32) -> Result<Vec<Group>> {
    if !(-1.0..=1.0).contains(&threshold) {
        return Err(Error::Settings(format!(
            "a cosine threshold is between -1 and 1, not {threshold}"
        )));
    }
    let near = pairs_above(rows, threshold)?;
    let mut order: Vec<usize> = (0..near.len()).filter(|&row| !near[row].is_empty()).collect();
    order.sort_by(|&a, &b| near[b].len().cmp(&near[a].len()).then(a.cmp(&b)));
    let mut taken = vec![false; near.len()];
    let mut groups = Vec::new();
    for centre in order {
        if taken[centre] {
            continue;
        }
        let members: Vec<(usize, f32)> =
            near[centre].iter().copied().filter(|&(row, _)| !taken[row]).collect();
        if members.is_empty() {
            continue;
        }
        taken[centre] = true;
        for &(row, _) in &members {
            taken[row] = true;
        }
        groups.push(Group { centre, members });
    }
    groups.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.centre.cmp(&b.centre)));
    Ok(groups)
}

/// How to score outliers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutlierMethod {
    /// The mean distance to the k nearest neighbours: far from everything.
    #[default]
    Distance,
    /// The local outlier factor: much sparser than its neighbours' neighbourhoods (> 1).
    LocalOutlierFactor,
}

/// An outlier score for every row of the k-nearest-neighbour `graph` (higher is stranger).
pub fn outlier_scores(graph: &Graph, method: OutlierMethod) -> Vec<f32> {
    let count = graph.len();
    let mean_distance =
        |row: usize| graph.neighbours(row).map(|(_, d)| d).sum::<f32>() / graph.k.max(1) as f32;
    match method {
        OutlierMethod::Distance => (0..count).map(mean_distance).collect(),
        OutlierMethod::LocalOutlierFactor => {
            let k_distance: Vec<f32> = (0..count)
                .map(|row| graph.neighbours(row).last().map_or(0.0, |(_, d)| d))
                .collect();
            let density: Vec<f32> = (0..count)
                .map(|row| {
                    let reach: f32 =
                        graph.neighbours(row).map(|(other, d)| d.max(k_distance[other])).sum();
                    graph.k as f32 / reach.max(1e-12)
                })
                .collect();
            (0..count)
                .map(|row| {
                    let around: f32 = graph.neighbours(row).map(|(other, _)| density[other]).sum();
                    around / graph.k.max(1) as f32 / density[row]
                })
                .collect()
        }
    }
}

/// The line from the mean of the `from` examples to the mean of the `to` examples (both
/// normalised first): a row's position along it is 0 at the `from` mean and 1 at the `to` mean.
#[derive(Clone, Debug)]
pub struct Axis {
    origin: Vec<f32>,
    direction: Vec<f32>,
    length_squared: f32,
}

impl Axis {
    /// The axis between two sets of examples.
    pub fn between(from: Rows, to: Rows) -> Result<Self> {
        from.check(1)?;
        to.check(1)?;
        if from.dimensions() != to.dimensions() {
            return Err(Error::Vectors(
                "the two sets of examples have different dimensions".into(),
            ));
        }
        let origin = mean_unit(from);
        let end = mean_unit(to);
        let direction: Vec<f32> = end.iter().zip(&origin).map(|(b, a)| b - a).collect();
        let length_squared = direction.iter().map(|x| x * x).sum::<f32>();
        if length_squared <= f32::EPSILON {
            return Err(Error::Vectors("the two sets of examples have the same mean".into()));
        }
        Ok(Self { origin, direction, length_squared })
    }

    /// The position of `row` (normalised first) along the axis.
    pub fn position(&self, row: &[f32]) -> f32 {
        let norm = emb_core::distance::norm(row).max(f32::MIN_POSITIVE);
        row.iter()
            .zip(&self.origin)
            .zip(&self.direction)
            .map(|((&x, &a), &d)| (x / norm - a) * d)
            .sum::<f32>()
            / self.length_squared
    }
}

fn mean_unit(rows: Rows) -> Vec<f32> {
    let units = normalised(rows);
    let mut mean = vec![0.0_f32; rows.dimensions()];
    for row in units.chunks_exact(rows.dimensions()) {
        for (total, &value) in mean.iter_mut().zip(row) {
            *total += value / rows.len() as f32;
        }
    }
    mean
}

/// A taste profile to search with: the mean of the liked rows minus `weight` times the mean of
/// the disliked ones (Rocchio's rule), normalised.
pub fn profile(liked: Rows, disliked: Option<Rows>, weight: f32) -> Result<Vec<f32>> {
    liked.check(1)?;
    let mut profile = mean_unit(liked);
    if let Some(disliked) = disliked.filter(|rows| !rows.is_empty()) {
        if disliked.dimensions() != liked.dimensions() {
            return Err(Error::Vectors(
                "liked and disliked items have different dimensions".into(),
            ));
        }
        for (value, away) in profile.iter_mut().zip(mean_unit(disliked)) {
            *value -= weight * away;
        }
    }
    if emb_core::distance::norm(&profile) <= f32::EPSILON {
        return Err(Error::Vectors("the liked and disliked items cancel out".into()));
    }
    emb_core::distance::normalize(&mut profile);
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::{exact, Metric};
    use crate::random::Random;

    #[test]
    fn near_duplicates_group_around_the_most_connected_item() {
        // Rows 0-3 are nearly the same direction, 4-5 another, 6 alone.
        let values = [
            1.0, 0.0, 0.0, 0.99, 0.01, 0.0, 0.98, 0.02, 0.0, 0.97, 0.0, 0.03, 0.0, 1.0, 0.0, 0.0,
            0.99, 0.02, 0.0, 0.0, 1.0,
        ];
        let rows = Rows::new(&values, 3).unwrap();
        let groups = duplicate_groups(rows, 0.99).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].members.len(), 3);
        let mut everyone: Vec<usize> = groups[0].members.iter().map(|m| m.0).collect();
        everyone.push(groups[0].centre);
        everyone.sort_unstable();
        assert_eq!(everyone, vec![0, 1, 2, 3]);
        assert!(groups[0].members.windows(2).all(|pair| pair[0].1 >= pair[1].1));
        assert_eq!((groups[1].centre.min(groups[1].members[0].0), groups[1].members.len()), (4, 1));
        assert!(duplicate_groups(rows, 2.0).is_err());
    }

    #[test]
    fn an_isolated_point_scores_highest_under_both_methods() {
        let mut random = Random::new(2);
        let mut values: Vec<f32> = (0..200 * 5).map(|_| random.normal() as f32 * 0.1).collect();
        values.extend([3.0, 3.0, 3.0, 3.0, 3.0]);
        let rows = Rows::new(&values, 5).unwrap();
        let graph = exact(rows, 10, Metric::Euclidean).unwrap();
        for method in [OutlierMethod::Distance, OutlierMethod::LocalOutlierFactor] {
            let scores = outlier_scores(&graph, method);
            let strangest = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert_eq!(strangest, 200, "{method:?}");
        }
        let lof = outlier_scores(&graph, OutlierMethod::LocalOutlierFactor);
        let typical = lof[..200].iter().sum::<f32>() / 200.0;
        assert!((typical - 1.0).abs() < 0.2, "inliers have a factor near 1: {typical}");
    }

    #[test]
    fn positions_run_from_zero_to_one_between_the_means() {
        let from = [1.0, 0.0, 0.0, 0.9, 0.1, 0.0];
        let to = [0.0, 1.0, 0.0, 0.1, 0.9, 0.0];
        let axis = Axis::between(Rows::new(&from, 3).unwrap(), Rows::new(&to, 3).unwrap()).unwrap();
        let start = mean_unit(Rows::new(&from, 3).unwrap());
        let end = mean_unit(Rows::new(&to, 3).unwrap());
        assert!(axis.position(&start).abs() < 0.05);
        assert!((axis.position(&end) - 1.0).abs() < 0.05);
        assert!(axis.position(&[1.0, 1.0, 0.0]) > 0.3 && axis.position(&[1.0, 1.0, 0.0]) < 0.7);
        assert!(Axis::between(Rows::new(&from, 3).unwrap(), Rows::new(&from, 3).unwrap()).is_err());
    }

    #[test]
    fn a_profile_leans_to_the_liked_and_away_from_the_disliked() {
        let liked = [1.0, 0.0, 0.0];
        let disliked = [0.7, 0.7, 0.0];
        let plain = profile(Rows::new(&liked, 3).unwrap(), None, 0.5).unwrap();
        assert_eq!(plain, vec![1.0, 0.0, 0.0]);
        let pushed =
            profile(Rows::new(&liked, 3).unwrap(), Some(Rows::new(&disliked, 3).unwrap()), 0.5)
                .unwrap();
        assert!(pushed[1] < 0.0 && pushed[0] > 0.8);
    }
}
