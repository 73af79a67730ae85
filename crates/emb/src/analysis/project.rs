//! `Database::project`: 2-D or 3-D coordinates of every item (PCA, UMAP or t-SNE), kept beside the database
//! for the map until the collection changes.

use emb_analysis::{pca, tsne, umap};
use serde::{Deserialize, Serialize};

use super::Snapshot;
use crate::{Database, Error, Result};

/// How to flatten the vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectionMethod {
    /// Principal components: fast, linear, keeps global distances.
    Pca,
    /// UMAP: keeps each item near its nearest neighbours; the usual map of embeddings.
    Umap,
    /// t-SNE (Barnes-Hut): tight local groups, slower.
    Tsne,
}

impl std::fmt::Display for ProjectionMethod {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            ProjectionMethod::Pca => "pca",
            ProjectionMethod::Umap => "umap",
            ProjectionMethod::Tsne => "tsne",
        })
    }
}

/// How to project a collection.
#[derive(Clone, Debug)]
pub struct ProjectionSettings {
    /// The method. Default UMAP.
    pub method: ProjectionMethod,
    /// 2 or 3. Default 2.
    pub dimensions: usize,
    /// Random seed. Default 0.
    pub seed: u64,
}

impl Default for ProjectionSettings {
    fn default() -> Self {
        Self { method: ProjectionMethod::Umap, dimensions: 2, seed: 0 }
    }
}

/// Every item's coordinates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Projection {
    /// How they were made.
    pub method: ProjectionMethod,
    /// Coordinates per item.
    pub dimensions: usize,
    /// The ids, in row order.
    pub ids: Vec<String>,
    /// `ids.len() × dimensions` coordinates, row-major.
    pub coordinates: Vec<f32>,
    /// For PCA, the share of variance each axis explains.
    pub explained_variance_ratio: Option<Vec<f64>>,
    /// The collection version they were made from (`database:counter`).
    pub generation: String,
}

impl Projection {
    /// The coordinates of row `row`.
    pub fn point(&self, row: usize) -> &[f32] {
        &self.coordinates[row * self.dimensions..(row + 1) * self.dimensions]
    }
}

impl Database {
    /// Projects `collection` and keeps the result for [`Database::stored_projection`].
    pub fn project(&self, collection: &str, settings: &ProjectionSettings) -> Result<Projection> {
        let snapshot = self.snapshot(collection, false)?;
        let projection = project_snapshot(&snapshot, settings)?;
        self.keep_projection(collection, &projection)?;
        Ok(projection)
    }

    /// Keeps `projection` beside the database for [`Database::stored_projection`]: a first
    /// line `EMBMAP2 CRC LENGTH` (the CRC-32 in hex and the length of the JSON), then the
    /// projection as JSON.
    pub(crate) fn keep_projection(&self, collection: &str, projection: &Projection) -> Result<()> {
        let path = self.cache_path("map", collection);
        let text = serde_json::to_vec(projection).map_err(std::io::Error::other);
        text.and_then(|text| {
            let mut file =
                format!("{MAP_MAGIC} {:08x} {}\n", crc32fast::hash(&text), text.len()).into_bytes();
            file.extend_from_slice(&text);
            write_atomically(&path, &file)
        })
        .map_err(|source| Error::File { path, source })
    }

    /// The projection last made of `collection`, if the collection has not changed since (and
    /// its file is whole).
    pub fn stored_projection(&self, collection: &str) -> Result<Option<Projection>> {
        let path = self.cache_path("map", collection);
        let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
        let projection = match read_projection(&bytes) {
            Ok(projection) => projection,
            Err(reason) => {
                tracing::warn!(path = %path.display(), "ignoring a stored projection: {reason}");
                return Ok(None);
            }
        };
        let current = self.store().generation(collection)?.map(|generation| generation.to_string());
        Ok((current.as_deref() == Some(projection.generation.as_str())).then_some(projection))
    }
}

/// The first word of a stored projection's file.
const MAP_MAGIC: &str = "EMBMAP2";

/// The projection in a file [`Database::keep_projection`] wrote, or what is wrong with it.
fn read_projection(bytes: &[u8]) -> std::result::Result<Projection, String> {
    let (first, text) = bytes
        .iter()
        .position(|&byte| byte == b'\n')
        .map(|end| (&bytes[..end], &bytes[end + 1..]))
        .ok_or("no first line")?;
    let first = std::str::from_utf8(first).map_err(|_| "a first line that is not text")?;
    let mut words = first.split(' ');
    if words.next() != Some(MAP_MAGIC) {
        return Err("of another format (or damaged)".into());
    }
    let sum = words.next().and_then(|word| u32::from_str_radix(word, 16).ok());
    let length = words.next().and_then(|word| word.parse::<usize>().ok());
    if sum != Some(crc32fast::hash(text)) || length != Some(text.len()) {
        return Err("damaged: it does not match its checksum".into());
    }
    let projection: Projection =
        serde_json::from_slice(text).map_err(|error| format!("unreadable: {error}"))?;
    let whole = projection.ids.len().checked_mul(projection.dimensions)
        == Some(projection.coordinates.len())
        && (2..=3).contains(&projection.dimensions);
    if !whole {
        return Err("its coordinates do not fit its ids".into());
    }
    Ok(projection)
}

/// Writes `bytes` to `path` through a temporary file and a rename: a reader sees the old file or
/// the new one, never a part.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// Projects a snapshot (see [`Database::project`]).
pub fn project_snapshot(snapshot: &Snapshot, settings: &ProjectionSettings) -> Result<Projection> {
    if !(2..=3).contains(&settings.dimensions) {
        return Err(Error::Analysis(emb_analysis::Error::Settings(format!(
            "maps have 2 or 3 dimensions, not {}",
            settings.dimensions
        ))));
    }
    let rows = snapshot.rows();
    let (coordinates, explained) = match settings.method {
        ProjectionMethod::Pca => {
            let mut pca_settings = pca::Settings::new(settings.dimensions);
            pca_settings.seed = settings.seed;
            let result = pca::pca(rows, &pca_settings)?;
            (result.coordinates, Some(result.explained_variance_ratio))
        }
        ProjectionMethod::Umap => {
            let mut umap_settings =
                umap::Settings::default().dimensions(settings.dimensions).seed(settings.seed);
            // A collection no larger than the neighbourhood: every other item is a neighbour,
            // as umap-learn does it.
            if rows.len() <= umap_settings.neighbours && rows.len() > settings.dimensions + 1 {
                umap_settings = umap_settings.neighbours(rows.len() - 1);
            }
            (umap::project(rows, &umap_settings)?.coordinates, None)
        }
        ProjectionMethod::Tsne => {
            let tsne_settings = tsne::Settings {
                dimensions: settings.dimensions,
                seed: settings.seed,
                ..tsne::Settings::default()
            };
            (tsne::project(rows, &tsne_settings)?.coordinates, None)
        }
    };
    Ok(Projection {
        method: settings.method,
        dimensions: settings.dimensions,
        ids: snapshot.ids.clone(),
        coordinates,
        explained_variance_ratio: explained,
        generation: snapshot.generation().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_projection_is_read_only_whole() {
        let folder = tempfile::tempdir().unwrap();
        let database = Database::open(&folder.path().join("e.db")).unwrap();
        let projection = Projection {
            method: ProjectionMethod::Pca,
            dimensions: 2,
            ids: vec!["a".into(), "b".into()],
            coordinates: vec![0.5, 1.0, -1.0, 2.0],
            explained_variance_ratio: Some(vec![0.7, 0.2]),
            generation: "x:1".into(),
        };
        database.keep_projection("c", &projection).unwrap();
        let path = database.cache_path("map", "c");
        let bytes = std::fs::read(&path).unwrap();
        let read = read_projection(&bytes).unwrap();
        assert_eq!(read.coordinates, projection.coordinates);
        // A digit changed (still JSON, still the right shape), a cut, an old file of bare JSON,
        // and coordinates that do not fit the ids.
        let digit = bytes.iter().rposition(|&byte| byte == b'5').unwrap();
        let mut changed = bytes.clone();
        changed[digit] = b'6';
        assert!(read_projection(&changed).unwrap_err().contains("checksum"));
        assert!(read_projection(&bytes[..bytes.len() - 1]).is_err());
        let json = serde_json::to_vec(&projection).unwrap();
        assert!(read_projection(&json).is_err());
        let short = Projection { coordinates: vec![0.5], ..projection };
        database.keep_projection("c", &short).unwrap();
        let error = read_projection(&std::fs::read(&path).unwrap()).unwrap_err();
        assert!(error.contains("do not fit"), "{error}");
    }
}
