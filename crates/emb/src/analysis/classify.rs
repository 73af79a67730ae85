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

impl Database {
    /// Learns the classes in metadata `field` of `collection` (items without it are left out).
    pub fn train_classifier(
        &self,
        collection: &str,
        field: &str,
        method: ClassifierMethod,
    ) -> Result<Classifier> {
        let snapshot = self.snapshot(collection, true)?;
        let rows = snapshot.rows();
        let mut labels: Vec<String> = Vec::new();
        let mut values = Vec::new();
        let mut classes = Vec::new();
        for (row, metadata) in snapshot.metadata.iter().enumerate() {
            let Some(label) = field_value(metadata.as_ref(), field) else { continue };
            let class = labels.iter().position(|known| *known == label).unwrap_or_else(|| {
                labels.push(label);
                labels.len() - 1
            });
            classes.push(class);
            values.extend_from_slice(rows.row(row));
        }
        if labels.len() < 2 {
            return Err(Error::Analysis(emb_analysis::Error::Vectors(format!(
                "collection {collection:?} has {} distinct values of metadata field {field:?} in {} items: training needs two classes or more",
                labels.len(),
                classes.len()
            ))));
        }
        let dimensions = rows.dimensions();
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
