//! [`WordVectors`]: a vocabulary and one vector per word, in the file's (frequency) order.

use std::collections::HashMap;

pub(crate) use emb_core::distance::{dot, norm};

use crate::{Error, Result};

/// Where the vector values live: read into memory, or mapped from a native file.
pub(crate) enum Values {
    Owned(Vec<f32>),
    Mapped { map: memmap2::Mmap, offset: usize, len: usize },
}

impl Values {
    fn as_slice(&self) -> &[f32] {
        match self {
            Self::Owned(values) => values,
            Self::Mapped { map, offset, len } => {
                let bytes = &map[*offset..*offset + *len * 4];
                // SAFETY: the map holds `len` floats at `offset` (native.rs checks the size), and
                // it is 4-byte aligned there: mmaps are page aligned and the offset is 64.
                #[allow(clippy::cast_ptr_alignment)]
                let start = bytes.as_ptr().cast::<f32>();
                debug_assert!(start.is_aligned());
                unsafe { std::slice::from_raw_parts(start, *len) }
            }
        }
    }
}

/// A vocabulary and one vector per word, like gensim's `KeyedVectors`.
///
/// Words keep the order of the file they came from; word-vector files list words from the most
/// to the least frequent, which is what `restrict_vocab` in [`crate::evaluate`] relies on.
pub struct WordVectors {
    words: Vec<String>,
    index: HashMap<String, u32>,
    values: Values,
    norms: Vec<f32>,
    dimensions: usize,
}

impl WordVectors {
    /// Builds word vectors from `words` and their `values` (row-major, `dimensions` per word).
    ///
    /// When a word appears twice, lookups find its first (most frequent) vector.
    pub fn from_parts(words: Vec<String>, values: Vec<f32>, dimensions: usize) -> Result<Self> {
        if dimensions == 0 {
            return Err(Error::Settings("word vectors need at least one dimension".to_owned()));
        }
        if values.len() != words.len() * dimensions {
            return Err(Error::Settings(format!(
                "{} values are not {} words of {dimensions} dimensions",
                values.len(),
                words.len()
            )));
        }
        let norms = values.chunks_exact(dimensions).map(norm).collect();
        Ok(Self::assemble(words, Values::Owned(values), norms, dimensions))
    }

    pub(crate) fn assemble(
        words: Vec<String>,
        values: Values,
        norms: Vec<f32>,
        dimensions: usize,
    ) -> Self {
        let mut index = HashMap::with_capacity(words.len());
        for (row, word) in words.iter().enumerate() {
            index.entry(word.clone()).or_insert(row as u32);
        }
        Self { words, index, values, norms, dimensions }
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The number of dimensions of every vector.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The words, most frequent first.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The word at `row`.
    pub fn word(&self, row: usize) -> &str {
        &self.words[row]
    }

    /// The row of `word`, if it is in the vocabulary (exact match).
    pub fn row_of(&self, word: &str) -> Option<usize> {
        self.index.get(word).map(|&row| row as usize)
    }

    /// The row of `word`, or of its lowercase form when the word itself is missing.
    pub fn row_of_folded(&self, word: &str) -> Option<usize> {
        self.row_of(word).or_else(|| {
            let lower = word.to_lowercase();
            (lower != word).then(|| self.row_of(&lower)).flatten()
        })
    }

    /// The rows of `words` (each looked up with [`Self::row_of_folded`]), or an error naming
    /// every word that is missing.
    pub fn rows_of<S: AsRef<str>>(&self, words: &[S]) -> Result<Vec<usize>> {
        let mut rows = Vec::with_capacity(words.len());
        let mut missing = Vec::new();
        for word in words {
            match self.row_of_folded(word.as_ref()) {
                Some(row) => rows.push(row),
                None => missing.push(word.as_ref().to_owned()),
            }
        }
        if missing.is_empty() {
            Ok(rows)
        } else {
            Err(Error::UnknownWords { words: missing })
        }
    }

    /// The vector of the word at `row`.
    pub fn vector(&self, row: usize) -> &[f32] {
        &self.values()[row * self.dimensions..(row + 1) * self.dimensions]
    }

    /// The vector of `word`, if it is in the vocabulary.
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.row_of_folded(word).map(|row| self.vector(row))
    }

    /// Every vector, row-major in word order.
    pub fn values(&self) -> &[f32] {
        self.values.as_slice()
    }

    /// The Euclidean length of every vector, in word order.
    pub fn norms(&self) -> &[f32] {
        &self.norms
    }

    /// The vector of the word at `row` scaled to unit length (zero stays zero).
    pub fn unit_vector(&self, row: usize) -> Vec<f32> {
        let scale = inverse(self.norms[row]);
        self.vector(row).iter().map(|value| value * scale).collect()
    }

    /// The cosine similarity of the words at two rows.
    pub fn similarity(&self, first: usize, second: usize) -> f32 {
        dot(self.vector(first), self.vector(second))
            * inverse(self.norms[first])
            * inverse(self.norms[second])
    }
}

impl std::fmt::Debug for WordVectors {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WordVectors")
            .field("words", &self.len())
            .field("dimensions", &self.dimensions)
            .field("mapped", &matches!(self.values, Values::Mapped { .. }))
            .finish_non_exhaustive()
    }
}

/// `1 / value`, or 0 for a zero length (a zero vector is similar to nothing).
pub(crate) fn inverse(value: f32) -> f32 {
    if value > 0.0 {
        1.0 / value
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> WordVectors {
        let words = ["the", "Paris", "paris", "zero"].map(String::from).to_vec();
        let values = vec![1.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
        WordVectors::from_parts(words, values, 3).unwrap()
    }

    #[test]
    fn lookups_prefer_the_exact_word_then_its_lowercase_form() {
        let vectors = sample();
        assert_eq!(vectors.row_of_folded("Paris"), Some(1));
        assert_eq!(vectors.row_of_folded("PARIS"), Some(2));
        assert_eq!(vectors.row_of_folded("THE"), Some(0));
        assert_eq!(vectors.row_of_folded("berlin"), None);
    }

    #[test]
    fn missing_words_are_all_named() {
        let error = sample().rows_of(&["the", "berlin", "rome"]).unwrap_err();
        assert_eq!(error.to_string(), "not in the vocabulary: berlin, rome");
    }

    #[test]
    fn norms_and_similarity_are_cosine() {
        let vectors = sample();
        assert_eq!(vectors.norms(), &[1.0, 5.0, 2.0, 0.0]);
        assert!((vectors.similarity(0, 1) - 0.6).abs() < 1e-6);
        assert_eq!(vectors.similarity(0, 3), 0.0);
        assert_eq!(vectors.unit_vector(1), vec![0.6, 0.8, 0.0]);
    }

    #[test]
    fn ragged_parts_are_refused() {
        assert!(WordVectors::from_parts(vec!["a".into()], vec![1.0, 2.0], 3).is_err());
        assert!(WordVectors::from_parts(vec![], vec![], 0).is_err());
    }
}
