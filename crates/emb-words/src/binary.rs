//! word2vec binary files (`.bin`): a `count dimensions` text header line, then per word its
//! bytes, a space, and `dimensions` little-endian float32 values (often followed by a newline).

use std::io::Write;
use std::path::Path;

use crate::{Error, Result, WordVectors};

/// Reads a word2vec binary file.
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<WordVectors> {
    let end = bytes.iter().position(|&byte| byte == b'\n').ok_or_else(|| {
        Error::malformed(path, 1, "no header line (a word2vec .bin starts with `count dimensions`)")
    })?;
    let first = String::from_utf8_lossy(&bytes[..end]);
    let (count, dimensions) = crate::text::header(&first).ok_or_else(|| {
        Error::malformed(path, 1, format!("the header {first:?} is not `count dimensions`"))
    })?;
    if dimensions == 0 {
        return Err(Error::malformed(path, 1, "the header says 0 dimensions"));
    }
    let mut words = Vec::with_capacity(count);
    let mut values = Vec::with_capacity(count * dimensions);
    let mut at = end + 1;
    let width = dimensions * 4;
    for record in 1..=count {
        while bytes.get(at).is_some_and(|&byte| byte == b'\n') {
            at += 1;
        }
        let space = bytes[at..].iter().position(|&byte| byte == b' ').ok_or_else(|| {
            Error::malformed(path, record, format!("the file ends before word {record} of {count}"))
        })?;
        let word = String::from_utf8_lossy(&bytes[at..at + space]).into_owned();
        at += space + 1;
        let raw = bytes.get(at..at + width).ok_or_else(|| {
            Error::malformed(path, record, format!("the file ends inside the vector of {word:?}"))
        })?;
        for value in raw.chunks_exact(4) {
            let value = f32::from_le_bytes([value[0], value[1], value[2], value[3]]);
            if !value.is_finite() {
                return Err(Error::malformed(
                    path,
                    record,
                    format!("{word:?} has a non-finite value"),
                ));
            }
            values.push(value);
        }
        words.push(word);
        at += width;
    }
    if bytes[at..].iter().any(|&byte| !byte.is_ascii_whitespace()) {
        return Err(Error::malformed(
            path,
            count,
            format!("data after the {count} words the header announces"),
        ));
    }
    WordVectors::from_parts(words, values, dimensions)
}

/// Writes `vectors` as a word2vec binary file.
pub(crate) fn write(vectors: &WordVectors, path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|error| Error::io(path, error))?;
    let mut out = std::io::BufWriter::new(file);
    let mut write = || -> std::io::Result<()> {
        writeln!(out, "{} {}", vectors.len(), vectors.dimensions())?;
        for (row, word) in vectors.words().iter().enumerate() {
            out.write_all(word.as_bytes())?;
            out.write_all(b" ")?;
            for value in vectors.vector(row) {
                out.write_all(&value.to_le_bytes())?;
            }
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    write().map_err(|error| Error::io(path, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_round_trips() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("v.bin");
        let vectors = WordVectors::from_parts(
            vec!["the".into(), "über".into()],
            vec![1.0, -2.5, 0.125, 3.0],
            2,
        )
        .unwrap();
        write(&vectors, &path).unwrap();
        let again = read(&path, &std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(again.words(), ["the", "über"]);
        assert_eq!(again.values(), vectors.values());
    }

    #[test]
    fn truncated_files_say_where() {
        let mut bytes = b"2 2\nthe ".to_vec();
        bytes.extend_from_slice(&1.0_f32.to_le_bytes());
        let error = read(Path::new("v.bin"), &bytes).unwrap_err().to_string();
        assert_eq!(error, "v.bin:1: the file ends inside the vector of \"the\"");
    }
}
