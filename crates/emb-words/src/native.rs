//! emb's own word-vector file (`.embw`): opens by mmap, so 400,000 x 300 vectors load in
//! milliseconds instead of the seconds a text file takes to parse.
//!
//! Layout, little-endian: 64-byte header (`EMBWORD1`, count u64, dimensions u64, zeros), then
//! count x dimensions f32 values, count f32 norms, and the words, each a u32 byte length and
//! its UTF-8 bytes.

use std::io::Write;
use std::path::Path;

use crate::vectors::Values;
use crate::{Error, Result, WordVectors};

const MAGIC: &[u8; 8] = b"EMBWORD1";
const HEADER: usize = 64;

/// Whether `start` (the first bytes of a file) is an emb word-vector file.
pub(crate) fn looks_like(start: &[u8]) -> bool {
    start.starts_with(MAGIC)
}

/// Writes `vectors` to `path` (through a temporary file, so a crash leaves no half file).
pub(crate) fn write(vectors: &WordVectors, path: &Path) -> Result<()> {
    let partial = path.with_extension("embw.partial");
    let file = std::fs::File::create(&partial).map_err(|error| Error::io(&partial, error))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut write = || -> std::io::Result<()> {
        let mut header = [0_u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..16].copy_from_slice(&(vectors.len() as u64).to_le_bytes());
        header[16..24].copy_from_slice(&(vectors.dimensions() as u64).to_le_bytes());
        out.write_all(&header)?;
        for value in vectors.values().iter().chain(vectors.norms()) {
            out.write_all(&value.to_le_bytes())?;
        }
        for word in vectors.words() {
            out.write_all(&(word.len() as u32).to_le_bytes())?;
            out.write_all(word.as_bytes())?;
        }
        out.flush()?;
        out.get_ref().sync_all()
    };
    write().map_err(|error| Error::io(&partial, error))?;
    std::fs::rename(&partial, path).map_err(|error| Error::io(path, error))
}

/// Opens an emb word-vector file by mmap.
pub(crate) fn open(path: &Path) -> Result<WordVectors> {
    let file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
    // SAFETY: the file is only read; emb writes these files once, through a rename, and never
    // changes them in place.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|error| Error::io(path, error))?;
    let broken = |problem: String| Error::UnknownFormat { path: path.to_owned(), problem };
    if map.len() < HEADER || !looks_like(&map) {
        return Err(broken("not an emb word-vector file (no EMBWORD1 header)".to_owned()));
    }
    let number = |at: usize| u64::from_le_bytes(map[at..at + 8].try_into().expect("8 bytes"));
    let count = usize::try_from(number(8)).map_err(|_| broken("too many words".to_owned()))?;
    let dimensions =
        usize::try_from(number(16)).map_err(|_| broken("too many dimensions".to_owned()))?;
    let floats = count
        .checked_mul(dimensions)
        .and_then(|values| values.checked_add(count))
        .filter(|floats| HEADER + floats * 4 <= map.len())
        .ok_or_else(|| broken(format!("too short for {count} words of {dimensions} dimensions")))?;
    if dimensions == 0 {
        return Err(broken("0 dimensions".to_owned()));
    }
    let norms_at = HEADER + count * dimensions * 4;
    let norms = map[norms_at..norms_at + count * 4]
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
        .collect();
    let mut words = Vec::with_capacity(count);
    let mut at = HEADER + floats * 4;
    for position in 0..count {
        let cut = || broken(format!("the file ends inside word {}", position + 1));
        let length = map.get(at..at + 4).ok_or_else(cut)?;
        let length = u32::from_le_bytes(length.try_into().expect("4 bytes")) as usize;
        let bytes = map.get(at + 4..at + 4 + length).ok_or_else(cut)?;
        let word = std::str::from_utf8(bytes)
            .map_err(|_| broken(format!("word {} is not UTF-8", position + 1)))?;
        words.push(word.to_owned());
        at += 4 + length;
    }
    let values = if cfg!(target_endian = "little") {
        Values::Mapped { map, offset: HEADER, len: count * dimensions }
    } else {
        Values::Owned(
            map[HEADER..norms_at]
                .chunks_exact(4)
                .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
                .collect(),
        )
    };
    Ok(WordVectors::assemble(words, values, norms, dimensions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_files_round_trip_by_mmap() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("v.embw");
        let vectors = WordVectors::from_parts(
            vec!["the".into(), "naïve".into(), "of".into()],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            2,
        )
        .unwrap();
        write(&vectors, &path).unwrap();
        let again = open(&path).unwrap();
        assert_eq!(again.words(), vectors.words());
        assert_eq!(again.values(), vectors.values());
        assert_eq!(again.norms(), vectors.norms());
        assert_eq!(again.row_of("naïve"), Some(1));
    }

    #[test]
    fn truncated_native_files_are_refused() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("v.embw");
        let vectors = WordVectors::from_parts(vec!["a".into()], vec![1.0, 2.0], 2).unwrap();
        write(&vectors, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(open(&path).unwrap_err().to_string().contains("ends inside word 1"));
    }
}
