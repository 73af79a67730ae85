//! Text word-vector files: GloVe (no header), word2vec text and fastText `.vec` (a `count
//! dimensions` header line), one word and its values per line, separated by spaces.

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::{Error, Result, WordVectors};

/// The header of a word2vec / fastText text or binary file, if `line` is one: two integers.
pub(crate) fn header(line: &str) -> Option<(usize, usize)> {
    let mut fields = line.split_ascii_whitespace();
    let count = fields.next()?.parse().ok()?;
    let dimensions = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some((count, dimensions))
}

/// Reads a text file of word vectors; `expected` is the header's (count, dimensions), if any.
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<WordVectors> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let line = bytes[..error.valid_up_to()].split(|&byte| byte == b'\n').count();
        Error::malformed(path, line, "not UTF-8 text (a word2vec binary file? name it .bin)")
    })?;
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    let first = lines.first().ok_or_else(|| Error::UnknownFormat {
        path: path.to_owned(),
        problem: "the file is empty".to_owned(),
    })?;
    let (expected, skip) = match header(first) {
        Some(found) => (Some(found), 1),
        None => (None, 0),
    };
    let dimensions = match expected {
        Some((_, dimensions)) => dimensions,
        None => first.split(' ').filter(|field| !field.is_empty()).count().saturating_sub(1),
    };
    if dimensions == 0 {
        return Err(Error::malformed(path, 1, "a word with no values (is this a vectors file?)"));
    }
    let body = &lines[skip..];
    if let Some((count, _)) = expected {
        if count != body.len() {
            return Err(Error::malformed(
                path,
                1,
                format!(
                    "the header says {count} words but the file has {} lines after it",
                    body.len()
                ),
            ));
        }
    }
    let parsed: Vec<Result<(String, Vec<f32>)>> = body
        .par_chunks(4096)
        .enumerate()
        .flat_map_iter(|(chunk, lines)| {
            lines.iter().enumerate().map(move |(offset, line)| {
                let number = skip + chunk * 4096 + offset + 1;
                parse_line(line, dimensions)
                    .map_err(|problem| Error::malformed(path, number, problem))
            })
        })
        .collect();
    let mut words = Vec::with_capacity(parsed.len());
    let mut values = Vec::with_capacity(parsed.len() * dimensions);
    for line in parsed {
        let (word, vector) = line?;
        words.push(word);
        values.extend_from_slice(&vector);
    }
    WordVectors::from_parts(words, values, dimensions)
}

/// One line: the word (which may itself hold spaces, as in GloVe 840B) and `dimensions` numbers.
fn parse_line(line: &str, dimensions: usize) -> Result<(String, Vec<f32>), String> {
    let fields: Vec<&str> = line.split([' ', '\t']).filter(|field| !field.is_empty()).collect();
    if fields.len() < dimensions + 1 {
        let found = fields.len().saturating_sub(1);
        return Err(format!("{found} values where {dimensions} were expected (a ragged line)"));
    }
    let split = fields.len() - dimensions;
    if split > 1 && fields[split - 1].parse::<f32>().is_ok() {
        return Err(format!(
            "{} values where {dimensions} were expected (a ragged line)",
            fields.len() - 1
        ));
    }
    let word = fields[..split].join(" ");
    let mut vector = Vec::with_capacity(dimensions);
    for (position, field) in fields[split..].iter().enumerate() {
        let value: f32 = field.parse().map_err(|_| {
            format!("value {} of {word:?} is not a number: {field:?}", position + 1)
        })?;
        if !value.is_finite() {
            return Err(format!("value {} of {word:?} is not finite: {field}", position + 1));
        }
        vector.push(value);
    }
    Ok((word, vector))
}

/// Writes `vectors` as word2vec text (with a header) or GloVe text (without).
pub(crate) fn write(vectors: &WordVectors, path: &Path, with_header: bool) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|error| Error::io(path, error))?;
    let mut out = std::io::BufWriter::new(file);
    let mut write = || -> std::io::Result<()> {
        if with_header {
            writeln!(out, "{} {}", vectors.len(), vectors.dimensions())?;
        }
        for (row, word) in vectors.words().iter().enumerate() {
            out.write_all(word.as_bytes())?;
            for value in vectors.vector(row) {
                write!(out, " {value}")?;
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

    fn read_text(text: &str) -> Result<WordVectors> {
        read(Path::new("v.txt"), text.as_bytes())
    }

    #[test]
    fn glove_and_word2vec_text_read_alike() {
        let glove = read_text("the 1 2 3\nof 4 5 6\n").unwrap();
        let word2vec = read_text("2 3\nthe 1 2 3\nof 4 5 6\n").unwrap();
        for vectors in [glove, word2vec] {
            assert_eq!(vectors.words(), ["the", "of"]);
            assert_eq!(vectors.dimensions(), 3);
            assert_eq!(vectors.vector(1), [4.0, 5.0, 6.0]);
        }
    }

    #[test]
    fn words_with_spaces_keep_them() {
        let vectors = read_text("the 1 2\n. . . 3 4\n").unwrap();
        assert_eq!(vectors.word(1), ". . .");
    }

    #[test]
    fn errors_name_the_line() {
        let ragged = read_text("the 1 2 3\nof 4 5\n").unwrap_err().to_string();
        assert_eq!(ragged, "v.txt:2: 2 values where 3 were expected (a ragged line)");
        let long = read_text("2 3\nthe 1 2 3\nof 4 5 6 7\n").unwrap_err().to_string();
        assert_eq!(long, "v.txt:3: 4 values where 3 were expected (a ragged line)");
        let count = read_text("3 2\nthe 1 2\n").unwrap_err().to_string();
        assert!(count.starts_with("v.txt:1: the header says 3 words"), "{count}");
        let number = read_text("the 1 2\nof 4 x\n").unwrap_err().to_string();
        assert_eq!(number, "v.txt:2: value 2 of \"of\" is not a number: \"x\"");
    }

    #[test]
    fn written_text_reads_back() {
        let folder = tempfile::tempdir().unwrap();
        let vectors = read_text("the 1.5 -2\nof 0.25 1e-3\n").unwrap();
        for header in [true, false] {
            let path = folder.path().join("out.txt");
            write(&vectors, &path, header).unwrap();
            let again = read(&path, &std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(again.words(), vectors.words());
            assert_eq!(again.values(), vectors.values());
        }
    }
}
