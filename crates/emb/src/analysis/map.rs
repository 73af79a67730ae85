//! `Database::map`: a collection drawn as a map, its points where the projection puts them and
//! coloured by cluster (named by distinctive words) or by a metadata field.

use std::collections::BTreeSet;

use emb_plot::{Field, Map, Point, Thumbnail};

use super::cluster::cluster_snapshot;
use super::project::project_snapshot;
use super::{ClusterSettings, ProjectionMethod, ProjectionSettings};
use crate::thumbnails::{Shrinker, MAX_THUMBNAILS};
use crate::{Database, Error, Result, Snapshot};

/// Categorical metadata fields with more distinct values than this are not offered for colour.
const MAX_CATEGORIES: usize = 40;

/// What colours the map at first (the page can switch among all fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColourBy {
    /// Clusters found now (k-means, named by their distinctive words).
    Cluster,
    /// A metadata field (dotted for nested keys).
    Metadata(String),
}

/// How to draw a collection.
#[derive(Clone, Debug)]
pub struct MapSettings {
    /// The projection: a stored one of this method is reused while the collection is
    /// unchanged. Default: PCA.
    pub projection: ProjectionSettings,
    /// The initial colouring. Default: clusters.
    pub colour_by: ColourBy,
    /// How to find the clusters.
    pub clusters: ClusterSettings,
    /// The title. Default: the collection's name and size.
    pub title: Option<String>,
    /// Whether stored pictures and sounds (`content_blob`) get thumbnails (at most
    /// [`crate::thumbnails::MAX_THUMBNAILS`], spread over the collection). Default: true.
    pub thumbnails: bool,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            projection: ProjectionSettings::default(),
            colour_by: ColourBy::Cluster,
            clusters: ClusterSettings::default(),
            title: None,
            thumbnails: true,
        }
    }
}

/// A map and the name of the field that colours it.
pub struct Drawn {
    /// The map, for `emb_plot::{svg, png, html}`.
    pub map: Map,
    /// The field to colour by.
    pub colour_by: String,
    /// The projection's method.
    pub method: ProjectionMethod,
}

impl Database {
    /// A map of `collection`: its projection (reused when stored and current, else made and
    /// stored), clusters and metadata fields.
    pub fn map(&self, collection: &str, settings: &MapSettings) -> Result<Drawn> {
        let snapshot = self.snapshot(collection, true)?;
        let projection = match self.stored_projection(collection)? {
            Some(stored)
                if stored.method == settings.projection.method
                    && stored.dimensions == 2
                    && stored.ids == snapshot.ids =>
            {
                stored
            }
            _ => {
                let made = project_snapshot(
                    &snapshot,
                    &ProjectionSettings { dimensions: 2, ..settings.projection.clone() },
                )?;
                self.keep_projection(collection, &made)?;
                made
            }
        };
        let mut points: Vec<Point> = (0..snapshot.len())
            .map(|row| {
                let point = projection.point(row);
                let mut drawn = Point::new(snapshot.ids[row].clone(), point[0], point[1]);
                if let Some(text) = &snapshot.contents[row] {
                    drawn = drawn.with_text(text.clone());
                }
                drawn
            })
            .collect();
        if settings.thumbnails {
            for (row, thumbnail) in self.thumbnails(collection, &snapshot)? {
                points[row].thumbnail = Some(thumbnail);
            }
        }
        let mut fields = Vec::new();
        let wants_clusters = settings.colour_by == ColourBy::Cluster;
        if wants_clusters || snapshot.len() >= 3 {
            let clustering = cluster_snapshot(&snapshot, &settings.clusters)?;
            let mut numbers = vec![None; snapshot.len()];
            for (id, cluster) in clustering.assignments() {
                if let Some(row) = snapshot.row_of(id) {
                    numbers[row] = Some(cluster.to_string());
                }
            }
            let mut field = Field::category("cluster", numbers).with_missing("noise");
            for cluster in &clustering.clusters {
                if let Some(label) = cluster.summary.as_ref().or(cluster.label.as_ref()) {
                    field = field.with_label(cluster.id.to_string(), label.clone());
                }
            }
            fields.push(field);
        }
        fields.extend(metadata_fields(&snapshot.metadata));
        let colour_by = match &settings.colour_by {
            ColourBy::Cluster => "cluster".to_owned(),
            ColourBy::Metadata(name) => {
                if !fields.iter().any(|field| field.name == *name) {
                    let available: Vec<&str> =
                        fields.iter().map(|field| field.name.as_str()).collect();
                    return Err(Error::Analysis(emb_analysis::Error::Settings(format!(
                        "collection {collection:?} has no metadata field {name:?} to colour by (fields with few enough values: {})",
                        available.join(", ")
                    ))));
                }
                name.clone()
            }
        };
        let title = settings.title.clone().unwrap_or_else(|| {
            format!("{collection} ({} items, {})", snapshot.len(), projection.method)
        });
        Ok(Drawn {
            map: Map { title: Some(title), points, fields },
            colour_by,
            method: projection.method,
        })
    }
}

impl Database {
    /// Thumbnails of the stored pictures and sounds of `collection`, by snapshot row: every
    /// item's when there are at most [`MAX_THUMBNAILS`], else those of evenly spaced rows.
    fn thumbnails(&self, collection: &str, snapshot: &Snapshot) -> Result<Vec<(usize, Thumbnail)>> {
        let step = snapshot.len().div_ceil(MAX_THUMBNAILS).max(1);
        let mut shrinker = Shrinker::new();
        self.store().for_each(collection, "", &mut |record| {
            if let (Some(row), Some(bytes)) = (snapshot.row_of(&record.id), record.content_blob) {
                if row % step == 0 {
                    shrinker.add(row, bytes);
                }
            }
            Ok(())
        })?;
        Ok(shrinker.finish())
    }
}

/// The metadata fields that can colour a map: numbers, and strings (or booleans) with at most
/// [`MAX_CATEGORIES`] distinct values; top-level keys, in name order.
fn metadata_fields(metadata: &[Option<serde_json::Value>]) -> Vec<Field> {
    let mut keys = BTreeSet::new();
    for object in metadata.iter().flatten().filter_map(serde_json::Value::as_object) {
        keys.extend(object.keys().cloned());
    }
    let mut fields = Vec::new();
    for key in keys {
        if key == "cluster" {
            continue; // a saved clustering: the fresh one is drawn instead
        }
        let values: Vec<Option<&serde_json::Value>> = metadata
            .iter()
            .map(|m| m.as_ref().and_then(|m| m.get(&key)).filter(|v| !v.is_null()))
            .collect();
        if values.iter().flatten().all(|value| value.is_number()) {
            fields.push(Field::number(
                key,
                values.iter().map(|v| v.and_then(serde_json::Value::as_f64)),
            ));
            continue;
        }
        let text = |value: &serde_json::Value| match value {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => Some(value.to_string()),
            _ => None,
        };
        let categories: Vec<Option<String>> = values.iter().map(|v| v.and_then(text)).collect();
        let distinct: BTreeSet<&String> = categories.iter().flatten().collect();
        if !distinct.is_empty() && distinct.len() <= MAX_CATEGORIES {
            fields.push(Field::category(key, categories));
        }
    }
    fields
}
