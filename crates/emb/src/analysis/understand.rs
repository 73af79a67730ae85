//! Near-duplicates, outliers, positions between two sets of examples, recommendations and
//! classification of a collection's items.

use emb_analysis::neighbourhood::{self, Axis, OutlierMethod};
use emb_analysis::neighbours::{self, Metric};
use emb_analysis::{classify, Rows};
use serde::Serialize;

use super::{rows_of, Snapshot};
use crate::{Database, Hit, Result, Search, Target};

/// One near-duplicate of a group's central item.
#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    /// Its id.
    pub id: String,
    /// Cosine similarity to the central item.
    pub score: f32,
    /// Its stored text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A group of near-duplicates, as `emb dedup` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct DuplicateGroup {
    /// The central item: the one most others are near.
    pub id: String,
    /// Its stored text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The others, most similar first.
    pub duplicates: Vec<Duplicate>,
}

/// How to find outliers.
#[derive(Clone, Debug)]
pub struct OutlierSettings {
    /// Neighbours considered. Default 10.
    pub k: usize,
    /// The score. Default: mean distance to the k nearest.
    pub method: OutlierMethod,
}

impl Default for OutlierSettings {
    fn default() -> Self {
        Self { k: 10, method: OutlierMethod::Distance }
    }
}

/// An item and a score, as `emb outliers`, `emb score` and `emb classify` print them.
#[derive(Clone, Debug, Serialize)]
pub struct Scored {
    /// The item's id.
    pub id: String,
    /// A class, for classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The score.
    pub score: f32,
    /// Its stored text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// An outlier, as `emb outliers` prints it.
pub type Outlier = Scored;

impl Database {
    /// Groups of items at least `threshold` similar (cosine) to their group's central item,
    /// largest group first.
    pub fn duplicates(&self, collection: &str, threshold: f32) -> Result<Vec<DuplicateGroup>> {
        let snapshot = self.snapshot(collection, true)?;
        let groups = neighbourhood::duplicate_groups(snapshot.rows(), threshold)?;
        Ok(groups
            .into_iter()
            .map(|group| DuplicateGroup {
                id: snapshot.ids[group.centre].clone(),
                content: snapshot.contents[group.centre].clone(),
                duplicates: group
                    .members
                    .into_iter()
                    .map(|(row, score)| Duplicate {
                        id: snapshot.ids[row].clone(),
                        score,
                        content: snapshot.contents[row].clone(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Every item with its outlier score, strangest first.
    pub fn outliers(&self, collection: &str, settings: &OutlierSettings) -> Result<Vec<Outlier>> {
        let snapshot = self.snapshot(collection, true)?;
        let graph = neighbours::exact(snapshot.rows(), settings.k, Metric::Cosine)?;
        let scores = neighbourhood::outlier_scores(&graph, settings.method);
        Ok(ranked(&snapshot, &scores, None))
    }

    /// Every item's position on the axis from the mean of `from` to the mean of `to` (vectors,
    /// e.g. embedded example texts), 0 at `from`, 1 at `to`; highest first.
    pub fn positions(&self, collection: &str, from: Rows, to: Rows) -> Result<Vec<Scored>> {
        let snapshot = self.snapshot(collection, true)?;
        let axis = Axis::between(from, to)?;
        let scores: Vec<f32> = snapshot.rows().rows().map(|row| axis.position(row)).collect();
        Ok(ranked(&snapshot, &scores, None))
    }

    /// The `k` items nearest a profile of the `liked` items, away from the `disliked` ones
    /// (weighted by `weight`), leaving out the items named.
    pub fn recommend(
        &self,
        collection: &str,
        liked: &[String],
        disliked: &[String],
        weight: f32,
        k: usize,
    ) -> Result<Vec<Hit>> {
        let snapshot = self.snapshot(collection, false)?;
        let dimensions = snapshot.rows().dimensions();
        let liked_rows = rows_of(&snapshot, collection, liked)?;
        let disliked_rows = rows_of(&snapshot, collection, disliked)?;
        let profile = neighbourhood::profile(
            Rows::new(&liked_rows, dimensions)?,
            Some(Rows::new(&disliked_rows, dimensions)?),
            weight,
        )?;
        let mut search = Search::new(Target::Vector(profile));
        search.k = k + liked.len() + disliked.len();
        let mut hits = self.search(collection, &search)?;
        hits.retain(|hit| !liked.contains(&hit.id) && !disliked.contains(&hit.id));
        hits.truncate(k);
        Ok(hits)
    }

    /// Every item's nearest of the `centres` (one vector per label: embedded label texts for
    /// zero-shot classification, or class centres from training data), with the cosine.
    pub fn classify_by_centres(
        &self,
        collection: &str,
        labels: &[String],
        centres: Rows,
    ) -> Result<Vec<Scored>> {
        let snapshot = self.snapshot(collection, true)?;
        let predictions = classify::nearest_centre(snapshot.rows(), centres)?;
        Ok(labelled(&snapshot, &predictions, labels))
    }
}

/// The items with their scores, highest first.
fn ranked(snapshot: &Snapshot, scores: &[f32], label: Option<&str>) -> Vec<Scored> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .map(|row| Scored {
            id: snapshot.ids[row].clone(),
            score: scores[row],
            label: label.map(str::to_owned),
            content: snapshot.contents[row].clone(),
        })
        .collect()
}

/// Predictions as labelled items, in the snapshot's order.
pub(crate) fn labelled(
    snapshot: &Snapshot,
    predictions: &[classify::Prediction],
    labels: &[String],
) -> Vec<Scored> {
    predictions
        .iter()
        .enumerate()
        .map(|(row, prediction)| Scored {
            id: snapshot.ids[row].clone(),
            score: prediction.score,
            label: Some(labels[prediction.class].clone()),
            content: snapshot.contents[row].clone(),
        })
        .collect()
}
