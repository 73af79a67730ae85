//! Classifiers trained on a labelled collection (a metadata field holds each item's class) and
//! applied to another collection or to new vectors.

use emb_analysis::classify::{self, Logistic, LogisticSettings, Prediction};
use emb_analysis::Rows;

use super::understand::{labelled, Scored};
use crate::{Database, Error, Result};

/// How to learn classes from examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassifierMethod {
    /// The nearest class centre (mean of the class's vectors).
    Centroid,
    /// A vote of the k most similar examples.
    Knn {
        /// Examples that vote.
        k: usize,
    },
    /// Multinomial logistic regression on the vectors.
    Logistic,
}

enum Fitted {
    Centres(Vec<f32>),
    Examples { rows: Vec<f32>, classes: Vec<usize>, k: usize },
    Logistic(Logistic),
}

/// A classifier learned from a labelled collection.
pub struct Classifier {
    /// The class names, in class-number order.
    pub labels: Vec<String>,
    /// How many examples it learned from.
    pub examples: usize,
    dimensions: usize,
    fitted: Fitted,
}

impl Classifier {
    /// The class and score of every row.
    pub fn predict(&self, rows: Rows) -> Result<Vec<Prediction>> {
        Ok(match &self.fitted {
            Fitted::Centres(centres) => {
                classify::nearest_centre(rows, Rows::new(centres, self.dimensions)?)?
            }
            Fitted::Examples { rows: examples, classes, k } => {
                classify::knn(Rows::new(examples, self.dimensions)?, classes, rows, *k)?
            }
            Fitted::Logistic(model) => model.predict(rows)?,
        })
    }
}

/// The value of `field` in `metadata` as a class name (strings as they are, other values as JSON).
pub(crate) fn field_value(metadata: Option<&serde_json::Value>, field: &str) -> Option<String> {
    let mut value = metadata?;
    for key in field.split('.') {
        value = value.get(key)?;
    }
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The items of a snapshot that have a metadata field, as classes and vectors.
struct Labelled {
    /// The field's values, in the order first seen.
    labels: Vec<String>,
    /// Each labelled item's class (an index into `labels`).
    classes: Vec<usize>,
    /// Their vectors, row after row.
    values: Vec<f32>,
    dimensions: usize,
}

impl Labelled {
    /// The items of `snapshot` with metadata `field` (the others are left out).
    fn read(snapshot: &crate::Snapshot, field: &str) -> Self {
        let rows = snapshot.rows();
        let mut labelled = Self {
            labels: Vec::new(),
            classes: Vec::new(),
            values: Vec::new(),
            dimensions: rows.dimensions(),
        };
        for (row, metadata) in snapshot.metadata.iter().enumerate() {
            let Some(label) = field_value(metadata.as_ref(), field) else { continue };
            let labels = &mut labelled.labels;
            let class = labels.iter().position(|known| *known == label).unwrap_or_else(|| {
                labels.push(label);
                labels.len() - 1
            });
            labelled.classes.push(class);
            labelled.values.extend_from_slice(rows.row(row));
        }
        labelled
    }
}

impl Database {
    /// Learns the classes in metadata `field` of `collection` (items without it are left out).
    pub fn train_classifier(
        &self,
        collection: &str,
        field: &str,
        method: ClassifierMethod,
    ) -> Result<Classifier> {
        let Labelled { labels, classes, values, dimensions } =
            Labelled::read(&self.snapshot(collection, true)?, field);
        if labels.len() < 2 {
            return Err(Error::Analysis(emb_analysis::Error::Vectors(format!(
                "collection {collection:?} has {} distinct values of metadata field {field:?} in {} items: training needs two classes or more",
                labels.len(),
                classes.len()
            ))));
        }
        let examples = Rows::new(&values, dimensions)?;
        let fitted = match method {
            ClassifierMethod::Centroid => Fitted::Centres(classify::centres(examples, &classes)?),
            ClassifierMethod::Knn { k } => {
                Fitted::Examples { rows: values.clone(), classes: classes.clone(), k }
            }
            ClassifierMethod::Logistic => {
                Fitted::Logistic(Logistic::fit(examples, &classes, &LogisticSettings::default())?)
            }
        };
        Ok(Classifier { labels, examples: classes.len(), dimensions, fitted })
    }

    /// Every item of `collection` classified by `classifier`, in id order.
    pub fn classify(&self, collection: &str, classifier: &Classifier) -> Result<Vec<Scored>> {
        let snapshot = self.snapshot(collection, true)?;
        let predictions = classifier.predict(snapshot.rows())?;
        Ok(labelled(&snapshot, &predictions, &classifier.labels))
    }

    /// What the labels in metadata `field` say of the vectors of `collection` (clustering,
    /// trained classification and retrieval against them: see
    /// [`crate::evaluate::labelled_measures`]); items without the field are left out. Needs
    /// two or more classes.
    pub fn evaluate_labels(
        &self,
        collection: &str,
        field: &str,
    ) -> Result<Vec<crate::evaluate::Measure>> {
        let Labelled { labels, classes, values, dimensions } =
            Labelled::read(&self.snapshot(collection, true)?, field);
        if labels.len() < 2 || classes.len() < 4 {
            return Err(crate::Error::Unsupported(format!(
                "evaluating against metadata field {field:?} needs items of two or more classes; \
                 {} items of {collection:?} have it, in {} classes",
                classes.len(),
                labels.len()
            )));
        }
        let rows = Rows::new(&values, dimensions)?;
        crate::evaluate::labelled_measures(collection, rows, &classes, "item")
    }

    /// The value of metadata `field` of every item of `collection`, by id (for `--eval`).
    pub fn field_values(
        &self,
        collection: &str,
        field: &str,
    ) -> Result<Vec<(String, Option<String>)>> {
        let snapshot = self.snapshot(collection, true)?;
        Ok(snapshot
            .ids
            .iter()
            .zip(&snapshot.metadata)
            .map(|(id, metadata)| (id.clone(), field_value(metadata.as_ref(), field)))
            .collect())
    }
}
