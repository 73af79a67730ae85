//! [`Corpus`]: the sentences word2vec trains on, read like gensim's `LineSentence`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Longer sentences are cut into pieces of this many words (gensim's `MAX_WORDS_IN_BATCH`).
pub const MAX_SENTENCE_WORDS: usize = 10_000;

/// Where training sentences come from: a text file with one sentence per line, or sentences
/// already split into words.
///
/// A file is read as gensim's `LineSentence` reads it: lines end at `\n`, must be UTF-8, and are
/// split into words at whitespace (what Python's `str.split()` calls whitespace), with no
/// lowercasing or other normalisation; a blank line is no sentence. Every sentence longer than
/// [`MAX_SENTENCE_WORDS`] words is cut into pieces of that length, as gensim does.
#[derive(Clone, Debug)]
pub struct Corpus {
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    File(PathBuf),
    Sentences(Vec<Vec<String>>),
}

/// Receives a corpus one word at a time, each sentence closed by [`Self::end_sentence`].
pub(crate) trait SentenceSink {
    /// The next word of the current sentence.
    fn word(&mut self, word: &str);
    /// The current sentence is complete (it has at least one word).
    fn end_sentence(&mut self);
}

impl Corpus {
    /// The sentences of the text file at `path` (read when training starts).
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        Self { source: Source::File(path.into()) }
    }

    /// Sentences already split into words.
    pub fn from_sentences(sentences: Vec<Vec<String>>) -> Self {
        Self { source: Source::Sentences(sentences) }
    }

    /// The file, or how many sentences are held in memory, for messages.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::File(path) => path.display().to_string(),
            Source::Sentences(sentences) => format!("{} sentences in memory", sentences.len()),
        }
    }

    /// Hands every word of every sentence to `sink`, in order.
    pub(crate) fn read_into(&self, sink: &mut impl SentenceSink) -> Result<()> {
        match &self.source {
            Source::File(path) => read_file(path, sink),
            Source::Sentences(sentences) => {
                for sentence in sentences {
                    send(sentence.iter().map(String::as_str), sink);
                }
                Ok(())
            }
        }
    }
}

fn read_file(path: &Path, sink: &mut impl SentenceSink) -> Result<()> {
    let file = File::open(path).map_err(|error| Error::io(path, error))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|error| Error::io(path, error))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let text = std::str::from_utf8(&line).map_err(|error| {
            Error::malformed(path, number, format!("not UTF-8 ({error}); save the text as UTF-8"))
        })?;
        if text.is_ascii() {
            send(text.split(is_ascii_space).filter(|word| !word.is_empty()), sink);
        } else {
            send(text.split(is_space).filter(|word| !word.is_empty()), sink);
        }
    }
}

/// Sends one line's or sentence's words, cut into pieces of at most [`MAX_SENTENCE_WORDS`].
fn send<'a>(words: impl Iterator<Item = &'a str>, sink: &mut impl SentenceSink) {
    let mut length = 0;
    for word in words {
        sink.word(word);
        length += 1;
        if length == MAX_SENTENCE_WORDS {
            sink.end_sentence();
            length = 0;
        }
    }
    if length > 0 {
        sink.end_sentence();
    }
}

/// Python's `str.isspace()`: Unicode's white space and the four ASCII separators U+001C–U+001F.
fn is_space(character: char) -> bool {
    character.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&character)
}

/// [`is_space`] for ASCII text: tab, line feed, vertical tab, form feed, carriage return,
/// U+001C–U+001F and the space.
fn is_ascii_space(character: char) -> bool {
    matches!(character, '\t'..='\r' | '\u{1c}'..='\u{1f}' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        sentences: Vec<Vec<String>>,
        current: Vec<String>,
    }

    impl SentenceSink for Collect {
        fn word(&mut self, word: &str) {
            self.current.push(word.to_owned());
        }

        fn end_sentence(&mut self) {
            self.sentences.push(std::mem::take(&mut self.current));
        }
    }

    fn sentences_of_file(content: &[u8]) -> Result<Vec<Vec<String>>> {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("corpus.txt");
        std::fs::write(&path, content).unwrap();
        let mut collect = Collect::default();
        Corpus::from_path(&path).read_into(&mut collect)?;
        Ok(collect.sentences)
    }

    #[test]
    fn lines_split_at_python_whitespace_without_lowercasing() {
        let sentences =
            sentences_of_file(b"The cat\tsat.\r\n\n   \nA\x0bB\x1cC\xc2\xa0D\xe3\x80\x80E\nlast")
                .unwrap();
        let expected: Vec<Vec<&str>> =
            vec![vec!["The", "cat", "sat."], vec!["A", "B", "C", "D", "E"], vec!["last"]];
        assert_eq!(sentences, expected);
    }

    #[test]
    fn long_sentences_are_cut_into_pieces_of_ten_thousand_words() {
        let line = "w ".repeat(MAX_SENTENCE_WORDS * 2 + 3);
        let lengths: Vec<usize> =
            sentences_of_file(line.as_bytes()).unwrap().iter().map(Vec::len).collect();
        assert_eq!(lengths, [MAX_SENTENCE_WORDS, MAX_SENTENCE_WORDS, 3]);
        let exact = "w ".repeat(MAX_SENTENCE_WORDS);
        assert_eq!(sentences_of_file(exact.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn text_that_is_not_utf8_names_its_line() {
        let error = sentences_of_file(b"fine\nbad \xff byte\n").unwrap_err();
        assert!(matches!(error, Error::Malformed { line: 2, .. }), "{error}");
        assert!(error.to_string().contains("save the text as UTF-8"), "{error}");
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let mut collect = Collect::default();
        let error = Corpus::from_path("/nonexistent/corpus.txt").read_into(&mut collect);
        assert!(matches!(error, Err(Error::Io { .. })));
    }

    #[test]
    fn sentences_in_memory_are_cut_and_skip_empty_ones() {
        let long = vec!["x".to_owned(); MAX_SENTENCE_WORDS + 1];
        let corpus = Corpus::from_sentences(vec![vec!["a".into()], vec![], long]);
        let mut collect = Collect::default();
        corpus.read_into(&mut collect).unwrap();
        let lengths: Vec<usize> = collect.sentences.iter().map(Vec::len).collect();
        assert_eq!(lengths, [1, MAX_SENTENCE_WORDS, 1]);
        assert_eq!(corpus.describe(), "3 sentences in memory");
    }
}
