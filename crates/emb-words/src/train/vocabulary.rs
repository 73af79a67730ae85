//! The vocabulary: one pass over the corpus counts every word and keeps the corpus as word
//! numbers; then the words under the minimum count go, the rest are sorted by count as gensim
//! sorts them, and the corpus is renumbered into the sentences and jobs the workers train on.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use super::corpus::{Corpus, SentenceSink, MAX_SENTENCE_WORDS};
use super::sampling::keep_thresholds;
use super::Settings;
use crate::{Error, Result};

/// A job holds whole sentences of at most this many words in all (gensim's `batch_words`).
pub(crate) const JOB_WORDS: usize = MAX_SENTENCE_WORDS;

/// Every word of the corpus once, numbered in order of first appearance, and the corpus as
/// those numbers.
pub(crate) struct Scan {
    numbers: HashMap<Box<str>, u32, BuildHasherDefault<WordHasher>>,
    counts: Vec<u64>,
    tokens: Vec<u32>,
    /// Where each sentence ends in `tokens`.
    sentence_ends: Vec<usize>,
}

impl SentenceSink for Scan {
    #[inline]
    fn word(&mut self, word: &str) {
        let number = if let Some(&number) = self.numbers.get(word) {
            number
        } else {
            let number = self.counts.len() as u32;
            self.numbers.insert(word.into(), number);
            self.counts.push(0);
            number
        };
        self.counts[number as usize] += 1;
        self.tokens.push(number);
    }

    fn end_sentence(&mut self) {
        self.sentence_ends.push(self.tokens.len());
    }
}

impl Scan {
    /// Reads the corpus once. Fails when it has no words at all.
    pub fn read(corpus: &Corpus) -> Result<Self> {
        let mut scan = Self {
            numbers: HashMap::default(),
            counts: Vec::new(),
            tokens: Vec::new(),
            sentence_ends: Vec::new(),
        };
        corpus.read_into(&mut scan)?;
        if scan.tokens.is_empty() {
            return Err(Error::EmptyCorpus { corpus: corpus.describe() });
        }
        Ok(scan)
    }
}

/// The words kept for training, most frequent first.
pub(crate) struct Vocabulary {
    /// The words.
    pub words: Vec<String>,
    /// How often each occurs in the corpus.
    pub counts: Vec<u64>,
    /// Each word's down-sampling threshold (see [`keep_thresholds`]).
    pub keep: Vec<u32>,
}

/// A group of whole sentences trained on as one unit, like a gensim job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    /// Its sentences, as indexes into [`TrainingCorpus::sentence_ends`].
    pub sentences: Range<usize>,
    /// The words of its sentences as read, unknown words included.
    pub raw_words: u64,
    /// The raw words of the jobs before it in an epoch.
    pub raw_words_before: u64,
}

/// The corpus as vocabulary rows (words outside the vocabulary removed), cut into jobs.
pub(crate) struct TrainingCorpus {
    /// The vocabulary rows of every kept word, sentence after sentence.
    pub words: Vec<u32>,
    /// Where each sentence ends in `words`.
    pub sentence_ends: Vec<usize>,
    /// The jobs of one epoch, in corpus order.
    pub jobs: Vec<Job>,
    /// The words of the corpus as read.
    pub raw_words: u64,
}

impl TrainingCorpus {
    /// The rows of sentence `index`.
    #[inline]
    pub fn sentence(&self, index: usize) -> &[u32] {
        let start = if index == 0 { 0 } else { self.sentence_ends[index - 1] };
        &self.words[start..self.sentence_ends[index]]
    }
}

/// Builds the vocabulary as gensim's `prepare_vocab` and `sort_by_descending_frequency` do, and
/// renumbers the scanned corpus into it.
///
/// Words seen fewer than `minimum_count` times are dropped (with `maximum_vocabulary`, the
/// minimum is raised to one more than the count of the word at that rank, as gensim's
/// `max_final_vocab`). The rest are sorted by descending count; words with equal counts come
/// in reverse order of first appearance, which is what gensim's
/// `np.lexsort((-indices, -counts))` yields.
pub(crate) fn build(scan: Scan, settings: &Settings) -> Result<(Vocabulary, TrainingCorpus)> {
    let Scan { numbers, counts, mut tokens, sentence_ends } = scan;
    let minimum = effective_minimum_count(&counts, settings);
    let mut kept: Vec<u32> =
        (0..counts.len() as u32).filter(|&number| counts[number as usize] >= minimum).collect();
    if kept.is_empty() {
        return Err(Error::NoWordReachesMinimumCount {
            minimum_count: minimum,
            highest_count: counts.iter().copied().max().unwrap_or(0),
        });
    }
    kept.sort_unstable_by(|&a, &b| {
        counts[b as usize].cmp(&counts[a as usize]).then_with(|| b.cmp(&a))
    });
    let mut row_of = vec![u32::MAX; counts.len()];
    for (row, &number) in kept.iter().enumerate() {
        row_of[number as usize] = row as u32;
    }
    let mut spellings: Vec<Option<Box<str>>> = vec![None; counts.len()];
    for (word, number) in numbers {
        spellings[number as usize] = Some(word);
    }
    let words: Vec<String> = kept
        .iter()
        .map(|&number| spellings[number as usize].take().expect("every number has a word").into())
        .collect();
    let kept_counts: Vec<u64> = kept.iter().map(|&number| counts[number as usize]).collect();
    let keep = keep_thresholds(&kept_counts, settings.sample);
    let vocabulary = Vocabulary { words, counts: kept_counts, keep };

    let raw_words = tokens.len() as u64;
    let jobs = cut_into_jobs(&sentence_ends);
    let mut written = 0;
    let mut start = 0;
    let mut kept_ends = Vec::with_capacity(sentence_ends.len());
    for &end in &sentence_ends {
        for read in start..end {
            let row = row_of[tokens[read] as usize];
            if row != u32::MAX {
                tokens[written] = row;
                written += 1;
            }
        }
        kept_ends.push(written);
        start = end;
    }
    tokens.truncate(written);
    tokens.shrink_to_fit();
    Ok((vocabulary, TrainingCorpus { words: tokens, sentence_ends: kept_ends, jobs, raw_words }))
}

/// The minimum count after `maximum_vocabulary` is applied.
fn effective_minimum_count(counts: &[u64], settings: &Settings) -> u64 {
    let mut minimum = settings.minimum_count;
    if let Some(limit) = settings.maximum_vocabulary {
        if limit < counts.len() {
            let mut sorted = counts.to_vec();
            let (_, &mut at_limit, _) = sorted.select_nth_unstable_by(limit, |a, b| b.cmp(a));
            minimum = minimum.max(at_limit + 1);
        }
    }
    minimum
}

/// Groups sentences into jobs as gensim's job producer does: a sentence joins the current job
/// while the job stays within [`JOB_WORDS`] raw words, and starts the next one otherwise.
fn cut_into_jobs(sentence_ends: &[usize]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut job = Job { sentences: 0..0, raw_words: 0, raw_words_before: 0 };
    let mut start = 0;
    for (index, &end) in sentence_ends.iter().enumerate() {
        let length = (end - start) as u64;
        start = end;
        if job.raw_words + length > JOB_WORDS as u64 && !job.sentences.is_empty() {
            let before = job.raw_words_before + job.raw_words;
            jobs.push(std::mem::replace(
                &mut job,
                Job { sentences: index..index, raw_words: 0, raw_words_before: before },
            ));
        }
        job.sentences.end = index + 1;
        job.raw_words += length;
    }
    if !job.sentences.is_empty() {
        jobs.push(job);
    }
    jobs
}

/// A fast hash for words (the multiply-rotate scheme of rustc's `FxHasher`): counting a corpus
/// is mostly hashing short strings, where the standard library's `SipHash` costs several times
/// more. Not resistant to crafted collisions, which a training corpus has no reason to hold.
#[derive(Default)]
pub(crate) struct WordHasher {
    hash: u64,
}

impl WordHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, value: u64) {
        self.hash = (self.hash.rotate_left(5) ^ value).wrapping_mul(Self::SEED);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0_u8; 8];
        let remainder = chunks.remainder();
        tail[..remainder.len()].copy_from_slice(remainder);
        self.add(u64::from_le_bytes(tail) ^ ((remainder.len() as u64) << 59));
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(lines: &[&str]) -> Corpus {
        Corpus::from_sentences(
            lines.iter().map(|line| line.split_whitespace().map(String::from).collect()).collect(),
        )
    }

    fn vocabulary_of(lines: &[&str], settings: &Settings) -> Result<(Vocabulary, TrainingCorpus)> {
        build(Scan::read(&corpus(lines))?, settings)
    }

    #[test]
    fn words_are_counted_filtered_and_sorted_like_gensim() {
        let settings = Settings::default().minimum_count(2);
        let (vocabulary, _) =
            vocabulary_of(&["a b c d b", "c d d e", "Rare b e a"], &settings).unwrap();
        // Counts: a 2, b 3, c 2, d 3, e 2, Rare 1. Ties go latest-seen first: d before b, then
        // e, c, a.
        assert_eq!(vocabulary.words, ["d", "b", "e", "c", "a"]);
        assert_eq!(vocabulary.counts, [3, 3, 2, 2, 2]);
    }

    #[test]
    fn the_corpus_is_renumbered_without_dropped_words() {
        let settings = Settings::default().minimum_count(2);
        let (vocabulary, training) =
            vocabulary_of(&["a b c d b", "c d d e", "Rare b e a"], &settings).unwrap();
        let row = |word: &str| vocabulary.words.iter().position(|known| known == word).unwrap();
        let spelled = |index: usize| -> Vec<&str> {
            training
                .sentence(index)
                .iter()
                .map(|&r| vocabulary.words[r as usize].as_str())
                .collect()
        };
        assert_eq!(spelled(0), ["a", "b", "c", "d", "b"]);
        assert_eq!(spelled(2), ["b", "e", "a"]);
        assert_eq!(training.sentence(1)[0], row("c") as u32);
        assert_eq!(training.raw_words, 13);
        assert_eq!(training.jobs, [Job { sentences: 0..3, raw_words: 13, raw_words_before: 0 }]);
    }

    #[test]
    fn maximum_vocabulary_raises_the_minimum_count_as_gensim() {
        // Counts 4, 3, 3, 1: the word at rank 2 occurs 3 times, so the minimum becomes 4.
        let lines = ["a a a a b b b c c c d"];
        let settings = Settings::default().minimum_count(1).maximum_vocabulary(Some(2));
        assert_eq!(vocabulary_of(&lines, &settings).unwrap().0.words, ["a"]);
        let settings = Settings::default().minimum_count(1).maximum_vocabulary(Some(3));
        assert_eq!(vocabulary_of(&lines, &settings).unwrap().0.words, ["a", "c", "b"]);
    }

    #[test]
    fn sentences_are_grouped_into_jobs_of_at_most_ten_thousand_words() {
        let ends = [6000, 10_000, 19_000, 29_000, 29_001];
        let jobs = cut_into_jobs(&ends);
        let spans: Vec<(Range<usize>, u64, u64)> = jobs
            .into_iter()
            .map(|job| (job.sentences, job.raw_words, job.raw_words_before))
            .collect();
        assert_eq!(
            spans,
            [(0..2, 10_000, 0), (2..3, 9000, 10_000), (3..4, 10_000, 19_000), (4..5, 1, 29_000)]
        );
    }

    #[test]
    fn empty_corpora_and_rare_words_are_refused_with_advice() {
        let error = vocabulary_of(&["", ""], &Settings::default()).err().unwrap();
        assert!(matches!(error, Error::EmptyCorpus { .. }), "{error}");
        let error = vocabulary_of(&["a b a c"], &Settings::default()).err().unwrap();
        assert!(
            matches!(
                error,
                Error::NoWordReachesMinimumCount { minimum_count: 5, highest_count: 2 }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("lower the minimum count"), "{error}");
    }

    #[test]
    fn the_hasher_tells_words_apart() {
        let hash = |word: &str| {
            let mut hasher = WordHasher::default();
            hasher.write(word.as_bytes());
            hasher.finish()
        };
        assert_ne!(hash("a"), hash("a\0"));
        assert_ne!(hash("the"), hash("they"));
        assert_ne!(hash("abcdefgh"), hash("abcdefgh\0"));
    }
}
