//! Vector search of `emb`.
//!
//! [`exact`] scores every vector of a collection against the query from a flat, mmap-ed file,
//! at the speed of memory:
//!
//! ```
//! use emb_core::store::Generation;
//! use emb_index::exact::VectorFile;
//! use emb_index::{Query, VectorIndex};
//!
//! let folder = tempfile::tempdir()?;
//! let file = VectorFile::build(&folder.path().join("vectors"), |writer| {
//!     writer.push("east", &emb_core::blob::encode(&[1.0, 0.0]))?;
//!     writer.push("north", &emb_core::blob::encode(&[0.0, 1.0]))?;
//!     Ok(Some(Generation { database: "example".into(), counter: 1 }))
//! })?;
//! let hits = file.search(&Query::new(&[0.9, 0.1]))?;
//! assert_eq!(hits[0].id, "east");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod checksum;
pub mod exact;
pub mod hnsw;
pub mod related;

pub use emb_core::index::{Hit, Query, VectorIndex};
pub use exact::UNTRUSTED;

use std::path::{Path, PathBuf};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong building or searching an index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing an index file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// One stored item cannot be indexed (its vector is malformed or of another size).
    #[error("item {id:?}: {source}")]
    Item {
        /// The item's id.
        id: String,
        /// What is wrong with it.
        #[source]
        source: emb_core::Error,
    },
    /// Build parameters out of range.
    #[error("invalid index parameters: {0}")]
    Parameters(String),
    /// An index or vector file is damaged (a checksum or a bound does not hold) or was written
    /// in another format: it must not be used, and is rebuilt from the database.
    #[error("{path}: {detail}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A vector operation failed (a query of the wrong size, ...).
    #[error(transparent)]
    Core(#[from] emb_core::Error),
}

/// The folder beside the SQLite database `database` where emb keeps its index and vector files
/// (`FILE.emb`).
pub fn cache_folder(database: &Path) -> PathBuf {
    let mut folder = database.to_owned().into_os_string();
    folder.push(".emb");
    PathBuf::from(folder)
}

/// The name of the cache file of `kind` (`hnsw`, `vectors`, ...) of `collection` in its cache
/// folder: the kind and the md5 of the collection's name, so that any name makes a file name.
pub fn cache_file(kind: &str, collection: &str) -> String {
    use md5::Digest;
    format!("{kind}-{}", hex(&md5::Md5::digest(collection.as_bytes())))
}

/// Bytes as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// Maps the file at `path` into memory; `None` if it does not exist.
fn map_file(path: &Path) -> Result<Option<(std::fs::File, memmap2::Mmap)>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io(path)(error)),
    };
    // SAFETY: emb's index and vector files are only ever replaced by rename, never written in
    // place, so the mapped bytes do not change under us.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(Error::io(path))?;
    Ok(Some((file, map)))
}

impl Error {
    /// A [`Error::Damaged`] of `path`.
    fn damaged(path: &Path, detail: impl Into<String>) -> Self {
        Self::Damaged { path: path.to_owned(), detail: detail.into() }
    }

    /// Wraps an I/O error on `path`.
    fn io(path: &Path) -> impl Fn(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.to_owned(), source }
    }
}
