//! Train word vectors with word2vec (skip-gram or CBOW, negative sampling), as gensim 4.4.0's
//! `Word2Vec` does.
//!
//! ```
//! use emb_words::train::{self, Architecture, Corpus, Settings};
//!
//! let sentences = (0..200)
//!     .map(|index| if index % 2 == 0 { "the cat sat on the mat" } else { "one dog ran in a park" })
//!     .map(|line| line.split(' ').map(String::from).collect())
//!     .collect();
//! let settings = Settings::default().architecture(Architecture::SkipGram).dimensions(16).threads(1);
//! let (vectors, report) = train::train(&Corpus::from_sentences(sentences), &settings)?;
//! assert_eq!(vectors.words()[0], "the");
//! assert_eq!(report.vocabulary_size, 11);
//! # Ok::<(), emb_words::Error>(())
//! ```
//!
//! The steps are gensim's: count the words, drop those under the minimum count, sort the rest by
//! descending count; down-sample frequent words with gensim's keep probabilities; draw noise
//! words from the unigram distribution raised to 0.75 (gensim's cumulative table); start the
//! word vectors uniform in `[-1/dimensions, 1/dimensions)` (gensim 4's `prep_vectors`; the C
//! tool and gensim 3 used half that) and the output weights at zero; shrink each word's window
//! to a random 1 to `window`; let the learning rate fall linearly from `alpha` to
//! `minimum_alpha` over all epochs' words; read the sigmoid from word2vec's 1,000-entry table
//! and skip dot products beyond ±6. Sentences go to the threads in jobs of up to 10,000 words,
//! as gensim's, and the threads update the shared weights without locks (Hogwild, see
//! `shared.rs`).
//!
//! Differences from gensim: the corpus is read and counted once and kept in memory as word
//! numbers, 4 bytes a word (gensim reads the file again every epoch); the random numbers come from word2vec's
//! generator seeded per job, not from NumPy, so the vectors are not gensim's bit for bit; the
//! learning rate follows the words handed out rather than the sentences. A single-threaded run
//! gives the same vectors every time for the same corpus and seed.

mod corpus;
mod sampling;
mod settings;
mod shared;
mod vocabulary;
mod worker;

pub use corpus::{Corpus, MAX_SENTENCE_WORDS};
pub use settings::{Architecture, Settings};

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use emb_analysis::random::Random;

use crate::{Result, WordVectors};
use sampling::{NegativeTable, Sigmoid};
use shared::SharedMatrix;
use vocabulary::{Scan, TrainingCorpus};
use worker::{Model, Worker};

/// How often the progress callback hears from a running training.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// How far training has come, in words of the corpus as read (all epochs together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Words trained on so far.
    pub words_done: u64,
    /// Words of all epochs: the corpus's words times the epochs.
    pub words_total: u64,
}

/// What a training did and how long it took.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// Words in the vocabulary (the rows of the vectors).
    pub vocabulary_size: usize,
    /// Words in the corpus as read, unknown and rare words included (gensim's raw words).
    pub corpus_words: u64,
    /// Sentences in the corpus (long lines count once per 10,000-word piece).
    pub sentences: usize,
    /// Passes over the corpus.
    pub epochs: usize,
    /// Words trained on in all epochs, after rare words and down-sampled frequent words were
    /// dropped (gensim's effective words).
    pub trained_words: u64,
    /// Reading and counting the corpus and building the vocabulary, in seconds.
    pub vocabulary_seconds: f64,
    /// The training passes, in seconds.
    pub training_seconds: f64,
}

impl Report {
    /// Words of the corpus as read, over all epochs, per second of training.
    pub fn words_per_second(&self) -> f64 {
        (self.corpus_words * self.epochs as u64) as f64 / self.training_seconds.max(1e-9)
    }
}

/// Trains word vectors on `corpus`: the word vectors, most frequent word first, and a report.
///
/// Fails with [`crate::Error::Settings`] on a setting out of range, [`crate::Error::Io`] or
/// [`crate::Error::Malformed`] when the corpus file cannot be read as UTF-8 text,
/// [`crate::Error::EmptyCorpus`] when it has no words, and
/// [`crate::Error::NoWordReachesMinimumCount`] when every word is too rare.
pub fn train(corpus: &Corpus, settings: &Settings) -> Result<(WordVectors, Report)> {
    train_with_progress(corpus, settings, |_| {})
}

/// [`train`], calling `progress` on the calling thread about ten times a second while the
/// epochs run, and once at the end (for a progress bar; the library itself prints nothing).
pub fn train_with_progress(
    corpus: &Corpus,
    settings: &Settings,
    mut progress: impl FnMut(Progress),
) -> Result<(WordVectors, Report)> {
    settings.check()?;
    let started = Instant::now();
    let (vocabulary, training_corpus) = vocabulary::build(Scan::read(corpus)?, settings)?;
    let model = new_model(training_corpus, &vocabulary.counts, vocabulary.keep, settings);
    let vocabulary_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let trained_words = run_epochs(&model, &mut progress);
    let training_seconds = started.elapsed().as_secs_f64();

    let report = Report {
        vocabulary_size: vocabulary.words.len(),
        corpus_words: model.corpus.raw_words,
        sentences: model.corpus.sentence_ends.len(),
        epochs: settings.epochs,
        trained_words,
        vocabulary_seconds,
        training_seconds,
    };
    let values = model.input.into_values(settings.dimensions);
    let vectors = WordVectors::from_parts(vocabulary.words, values, settings.dimensions)?;
    Ok((vectors, report))
}

/// The starting weights and the tables, as gensim's `init_weights` and `make_cum_table`.
fn new_model(corpus: TrainingCorpus, counts: &[u64], keep: Vec<u32>, settings: &Settings) -> Model {
    let dimensions = settings.dimensions;
    let mut random = Random::new(settings.seed);
    let scale = 1.0 / dimensions as f32;
    let input =
        SharedMatrix::from_fn(counts.len(), dimensions, || (random.unit_f32() * 2.0 - 1.0) * scale);
    Model {
        input,
        output: SharedMatrix::zeros(counts.len(), dimensions),
        corpus,
        keep,
        negatives: NegativeTable::new(counts, settings.negative_exponent),
        sigmoid: Sigmoid::new(),
        settings: *settings,
    }
}

/// Runs every epoch's jobs on `settings.threads` threads, which take the next job in corpus
/// order as they come free; the calling thread reports progress meanwhile. Returns the words
/// trained on.
fn run_epochs(model: &Model, progress: &mut impl FnMut(Progress)) -> u64 {
    let settings = &model.settings;
    let jobs = &model.corpus.jobs;
    let job_count = jobs.len() * settings.epochs;
    let words_total = model.corpus.raw_words * settings.epochs as u64;
    let next_job = AtomicUsize::new(0);
    let words_done = AtomicU64::new(0);
    let (finished, all_finished) = mpsc::channel::<()>();
    let trained_words = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..settings.threads)
            .map(|_| {
                let finished = finished.clone();
                let (next_job, words_done) = (&next_job, &words_done);
                scope.spawn(move || {
                    let _finished = finished; // dropped when this thread ends
                    let mut worker = Worker::new(model.input.row_blocks());
                    loop {
                        let number = next_job.fetch_add(1, Ordering::Relaxed);
                        if number >= job_count {
                            return worker.trained_words;
                        }
                        let job = &jobs[number % jobs.len()];
                        let epoch = (number / jobs.len()) as u64;
                        let handed_out = epoch * model.corpus.raw_words + job.raw_words_before;
                        let alpha = settings.alpha_at(handed_out as f64 / words_total as f64);
                        worker.train(model, job, alpha, number as u64);
                        words_done.fetch_add(job.raw_words, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        drop(finished);
        while let Err(mpsc::RecvTimeoutError::Timeout) =
            all_finished.recv_timeout(PROGRESS_INTERVAL)
        {
            progress(Progress { words_done: words_done.load(Ordering::Relaxed), words_total });
        }
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .sum()
    });
    progress(Progress { words_done: words_done.load(Ordering::Relaxed), words_total });
    trained_words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Two topics that never share a sentence: animals and vehicles, each sentence a random
    /// draw of six words of one topic.
    fn two_topic_corpus(sentences: usize, seed: u64) -> Corpus {
        let topics = [
            ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "mouse"],
            ["car", "bus", "train", "truck", "bike", "plane", "boat", "tram"],
        ];
        let mut random = Random::new(seed);
        let lines = (0..sentences)
            .map(|index| {
                let topic = &topics[index % 2];
                (0..6).map(|_| topic[random.below(topic.len())].to_owned()).collect()
            })
            .collect();
        Corpus::from_sentences(lines)
    }

    fn small_settings(architecture: Architecture) -> Settings {
        Settings::default().architecture(architecture).dimensions(20).epochs(10).threads(1)
    }

    fn mean_similarity(vectors: &WordVectors, words: &[&str], others: &[&str]) -> f32 {
        let mut total = 0.0;
        let mut pairs = 0;
        for first in words {
            for second in others.iter().filter(|second| *second != first) {
                let (a, b) = (vectors.row_of(first).unwrap(), vectors.row_of(second).unwrap());
                total += vectors.similarity(a, b);
                pairs += 1;
            }
        }
        total / pairs as f32
    }

    fn check_topics_separate(architecture: Architecture) {
        let settings = small_settings(architecture).threads(2);
        let (vectors, report) = train(&two_topic_corpus(2000, 5), &settings).unwrap();
        assert_eq!(report.vocabulary_size, 16);
        assert_eq!(report.corpus_words, 12_000);
        let animals = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "mouse"];
        let vehicles = ["car", "bus", "train", "truck", "bike", "plane", "boat", "tram"];
        let within = mean_similarity(&vectors, &animals, &animals)
            .min(mean_similarity(&vectors, &vehicles, &vehicles));
        let across = mean_similarity(&vectors, &animals, &vehicles);
        assert!(within > across + 0.3, "{architecture:?}: within {within}, across {across}");
        for word in animals {
            let row = vectors.row_of(word).unwrap();
            let nearest = (0..vectors.len())
                .filter(|&other| other != row)
                .max_by(|&a, &b| vectors.similarity(row, a).total_cmp(&vectors.similarity(row, b)))
                .unwrap();
            assert!(
                animals.contains(&vectors.word(nearest)),
                "{word} is nearest {}",
                vectors.word(nearest)
            );
        }
    }

    #[test]
    fn skip_gram_puts_words_nearer_their_own_group() {
        check_topics_separate(Architecture::SkipGram);
    }

    #[test]
    fn cbow_puts_words_nearer_their_own_group() {
        check_topics_separate(Architecture::Cbow);
    }

    #[test]
    fn one_thread_and_one_seed_give_the_same_vectors_every_time() {
        for architecture in [Architecture::SkipGram, Architecture::Cbow] {
            let settings = small_settings(architecture).epochs(2);
            let corpus = two_topic_corpus(300, 1);
            let (first, _) = train(&corpus, &settings).unwrap();
            let (second, _) = train(&corpus, &settings).unwrap();
            assert_eq!(first.values(), second.values());
            let (other_seed, _) = train(&corpus, &settings.seed(2)).unwrap();
            assert_ne!(first.values(), other_seed.values());
        }
    }

    #[test]
    fn the_report_counts_words_and_progress_reaches_the_end() {
        let settings = small_settings(Architecture::Cbow).epochs(3).sample(0.0);
        let mut last = None;
        let (vectors, report) =
            train_with_progress(&two_topic_corpus(100, 2), &settings, |progress| {
                last = Some(progress);
            })
            .unwrap();
        assert_eq!(vectors.dimensions(), 20);
        assert_eq!((report.corpus_words, report.sentences, report.epochs), (600, 100, 3));
        // Without down-sampling, every word of every epoch is trained on.
        assert_eq!(report.trained_words, 1800);
        assert_eq!(last, Some(Progress { words_done: 1800, words_total: 1800 }));
        assert!(report.words_per_second() > 0.0);
    }

    #[test]
    fn starting_vectors_are_uniform_within_one_over_the_dimensions() {
        let settings = small_settings(Architecture::SkipGram).dimensions(50);
        let model = new_model(
            TrainingCorpus { words: vec![], sentence_ends: vec![], jobs: vec![], raw_words: 0 },
            &[3, 2, 1],
            vec![u32::MAX; 3],
            &settings,
        );
        let values = model.input.into_values(50);
        assert!(values.iter().all(|value| value.abs() <= 0.02));
        assert!(values.iter().any(|value| value.abs() > 0.015));
        assert!(model.output.into_values(50).iter().all(|&value| value == 0.0));
    }

    #[test]
    fn errors_say_what_to_change() {
        let corpus = two_topic_corpus(10, 1);
        let error = train(&corpus, &Settings::default().window(0)).unwrap_err();
        assert!(error.to_string().contains("window is 0"), "{error}");
        let error = train(&Corpus::from_sentences(vec![]), &Settings::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "0 sentences in memory: the corpus has no words; give text with one sentence per \
             line, its words separated by spaces"
        );
        let rare =
            Corpus::from_sentences(vec![vec!["once".into(), "twice".into(), "twice".into()]]);
        let error = train(&rare, &Settings::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no word occurs 5 times or more (the most frequent occurs 2 times): lower the \
             minimum count or train on more text"
        );
        assert!(matches!(
            train(&rare, &Settings::default().dimensions(0)),
            Err(Error::Settings(_))
        ));
    }
}
