//! Word-level evaluation with gensim's semantics: analogy accuracy per section
//! (`evaluate_word_analogies`) and Spearman / Pearson on rated word pairs
//! (`evaluate_word_pairs`), both over the first `restrict_vocab` words, case-insensitively.
//!
//! The analogies are answered all at once: the questions' vectors go through one blocked matrix
//! product with the vocabulary instead of one full scan per question.

use std::collections::HashMap;
use std::path::Path;

use emb_analysis::{linear, quality, Rows};
use rayon::prelude::*;

use crate::query::Scoring;
use crate::vectors::inverse;
use crate::{Error, Result, WordVectors};

/// How to evaluate (gensim's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Questions and pairs with a word outside the first this many words are skipped, and only
    /// these words are candidate answers. Default: 300,000.
    pub restrict_vocab: usize,
    /// Compare words upper-cased, each standing for its most frequent casing. Default: true.
    pub case_insensitive: bool,
    /// How analogy answers are scored. Default: [`Scoring::Add`] (3CosAdd, as gensim).
    pub scoring: Scoring,
}

impl Default for Settings {
    fn default() -> Self {
        Self { restrict_vocab: 300_000, case_insensitive: true, scoring: Scoring::Add }
    }
}

/// The score of one section of an analogy file (or of all of them).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Section {
    /// Its name (`capital-common-countries`, ..., or `Total accuracy`).
    pub section: String,
    /// Questions answered right.
    pub correct: usize,
    /// Questions answered wrong.
    pub incorrect: usize,
}

impl Section {
    /// `correct / (correct + incorrect)`, 0 for an empty section.
    pub fn accuracy(&self) -> f64 {
        let asked = self.correct + self.incorrect;
        if asked == 0 {
            0.0
        } else {
            self.correct as f64 / asked as f64
        }
    }
}

/// The result of an analogy evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analogies {
    /// Every section in file order.
    pub sections: Vec<Section>,
    /// All sections together.
    pub total: Section,
    /// Questions read.
    pub questions: usize,
    /// Questions skipped because a word is outside the restricted vocabulary.
    pub out_of_vocabulary: usize,
}

impl Analogies {
    /// The share of questions skipped for unknown words, in percent (gensim's `oov_ratio`).
    pub fn out_of_vocabulary_percent(&self) -> f64 {
        percent(self.out_of_vocabulary, self.questions)
    }
}

/// The result of a word-pair evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pairs {
    /// Pearson correlation of the model's cosines with the human ratings.
    pub pearson: f64,
    /// Spearman rank correlation (ties get their mean rank, as scipy).
    pub spearman: f64,
    /// Pairs scored.
    pub pairs: usize,
    /// Pairs skipped because a word is outside the restricted vocabulary.
    pub out_of_vocabulary: usize,
}

impl Pairs {
    /// The share of pairs skipped for unknown words, in percent (gensim's `oov_ratio`).
    pub fn out_of_vocabulary_percent(&self) -> f64 {
        percent(self.out_of_vocabulary, self.pairs + self.out_of_vocabulary)
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The restricted vocabulary: each (upper-cased) key to its first row among the first
/// `restrict_vocab` words.
struct Vocabulary {
    rows: HashMap<String, usize>,
    case_insensitive: bool,
    limit: usize,
}

impl Vocabulary {
    fn new(vectors: &WordVectors, settings: &Settings) -> Self {
        let limit = settings.restrict_vocab.min(vectors.len());
        let mut rows = HashMap::with_capacity(limit);
        for row in (0..limit).rev() {
            rows.insert(fold(vectors.word(row), settings.case_insensitive), row);
        }
        Self { rows, case_insensitive: settings.case_insensitive, limit }
    }

    fn key(&self, word: &str) -> String {
        fold(word, self.case_insensitive)
    }

    fn row(&self, key: &str) -> Option<usize> {
        self.rows.get(key).copied()
    }
}

fn fold(word: &str, case_insensitive: bool) -> String {
    if case_insensitive {
        word.to_uppercase()
    } else {
        word.to_owned()
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|error| Error::io(path, error))
}

/// One question: the rows of a, b, c (b - a + c should give `expected`) and the keys of all four.
struct Question {
    section: usize,
    rows: [usize; 3],
    keys: [String; 4],
}

/// Evaluates `vectors` on an analogy file in the format of word2vec's `questions-words.txt`
/// (`: section` lines, then `a b c expected` lines), as gensim's `evaluate_word_analogies`.
pub fn analogies(vectors: &WordVectors, path: &Path, settings: &Settings) -> Result<Analogies> {
    let vocabulary = Vocabulary::new(vectors, settings);
    let mut sections: Vec<Section> = Vec::new();
    let mut questions = Vec::new();
    let mut read_count = 0;
    let mut out_of_vocabulary = 0;
    for (number, line) in read(path)?.lines().enumerate() {
        if let Some(name) = line.strip_prefix(": ") {
            let name = name.trim_start_matches([':', ' ']).trim().to_owned();
            sections.push(Section { section: name, correct: 0, incorrect: 0 });
            continue;
        }
        if sections.is_empty() {
            return Err(Error::malformed(
                path,
                number + 1,
                "a question before any `: section` line",
            ));
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Ok(words) = <[&str; 4]>::try_from(words) else {
            continue; // gensim skips lines that are not four words
        };
        read_count += 1;
        let keys = words.map(|word| vocabulary.key(word));
        let rows: Vec<Option<usize>> = keys.iter().map(|key| vocabulary.row(key)).collect();
        let (Some(a), Some(b), Some(c), Some(_)) = (rows[0], rows[1], rows[2], rows[3]) else {
            out_of_vocabulary += 1;
            continue;
        };
        questions.push(Question { section: sections.len() - 1, rows: [a, b, c], keys });
    }
    let predictions = answer(vectors, &vocabulary, &questions, settings.scoring);
    for (question, predicted) in questions.iter().zip(predictions) {
        let section = &mut sections[question.section];
        if predicted.as_deref() == Some(question.keys[3].as_str()) {
            section.correct += 1;
        } else {
            section.incorrect += 1;
        }
    }
    let total = Section {
        section: "Total accuracy".to_owned(),
        correct: sections.iter().map(|section| section.correct).sum(),
        incorrect: sections.iter().map(|section| section.incorrect).sum(),
    };
    Ok(Analogies { sections, total, questions: read_count, out_of_vocabulary })
}

/// Questions answered per block (and vocabulary rows per block): one block's products stay in
/// the core's cache while its best answers are picked out.
const QUESTION_BLOCK: usize = 32;
const WORD_BLOCK: usize = 2048;
/// gensim asks `most_similar` for 5 answers and takes the first that is not a question word.
const ANSWERS: usize = 5;

/// gensim's prediction for each question: of the 5 best words (the question's words excluded
/// by row), the first whose key is not one of a, b, c — or the last of them if all are.
fn answer(
    vectors: &WordVectors,
    vocabulary: &Vocabulary,
    questions: &[Question],
    scoring: Scoring,
) -> Vec<Option<String>> {
    let dimensions = vectors.dimensions();
    let limit = vocabulary.limit;
    let units: Vec<f32> = (0..limit).flat_map(|row| vectors.unit_vector(row)).collect();
    let per_question = if scoring == Scoring::Add { 1 } else { 3 };
    let best: Vec<Vec<usize>> = questions
        .par_chunks(QUESTION_BLOCK)
        .flat_map_iter(|block| {
            let queries: Vec<f32> = block
                .iter()
                .flat_map(|question| {
                    let [a, b, c] = question.rows;
                    match scoring {
                        Scoring::Add => vectors.mean_of_units(&[b, c], &[a]),
                        Scoring::Multiply => {
                            [a, b, c].iter().flat_map(|&row| vectors.unit_vector(row)).collect()
                        }
                    }
                })
                .collect();
            let queries = Rows::new(&queries, dimensions).expect("whole rows");
            let mut tops: Vec<Top> =
                block.iter().map(|question| Top::new(ANSWERS + 3, question.rows)).collect();
            let mut products = vec![0.0_f32; queries.len() * WORD_BLOCK];
            let mut scores = vec![0.0_f32; WORD_BLOCK];
            for start in (0..limit).step_by(WORD_BLOCK) {
                let end = (start + WORD_BLOCK).min(limit);
                let words = Rows::new(&units[start * dimensions..end * dimensions], dimensions)
                    .expect("whole rows");
                let width = end - start;
                let products = &mut products[..queries.len() * width];
                linear::dot_products_into_on_this_thread(queries, words, products);
                for (position, top) in tops.iter_mut().enumerate() {
                    let scores = &mut scores[..width];
                    let rows = &products
                        [position * per_question * width..(position + 1) * per_question * width];
                    match scoring {
                        Scoring::Add => scores.copy_from_slice(rows),
                        Scoring::Multiply => {
                            let (a, rest) = rows.split_at(width);
                            let (b, c) = rest.split_at(width);
                            for (index, score) in scores.iter_mut().enumerate() {
                                let shift = |cosine: f32| f32::midpoint(1.0, cosine);
                                *score =
                                    shift(b[index]) * shift(c[index]) / (shift(a[index]) + 1e-6);
                            }
                        }
                    }
                    top.offer(start, scores);
                }
            }
            tops.into_iter().map(Top::rows).collect::<Vec<_>>()
        })
        .collect();
    questions
        .iter()
        .zip(best)
        .map(|(question, rows)| {
            let mut predicted = None;
            for row in rows.into_iter().take(ANSWERS) {
                let key = vocabulary.key(vectors.word(row));
                let ignored = question.keys[..3].contains(&key);
                predicted = Some(key);
                if !ignored {
                    break;
                }
            }
            predicted
        })
        .collect()
}

/// The best rows for one question, its own a, b, c excluded, highest score first (ties to the
/// lower row).
struct Top {
    entries: Vec<(f32, usize)>,
    capacity: usize,
    excluded: [usize; 3],
}

impl Top {
    fn new(capacity: usize, excluded: [usize; 3]) -> Self {
        Self { entries: Vec::with_capacity(capacity + 1), capacity, excluded }
    }

    fn threshold(&self) -> f32 {
        if self.entries.len() < self.capacity {
            f32::NEG_INFINITY
        } else {
            self.entries[self.entries.len() - 1].0
        }
    }

    fn offer(&mut self, first_row: usize, scores: &[f32]) {
        for (chunk_index, chunk) in scores.chunks(16).enumerate() {
            let highest = chunk.iter().fold(f32::NEG_INFINITY, |high, &score| high.max(score));
            if highest <= self.threshold() {
                continue;
            }
            for (offset, &score) in chunk.iter().enumerate() {
                let row = first_row + chunk_index * 16 + offset;
                if score > self.threshold() && !self.excluded.contains(&row) {
                    let at = self.entries.partition_point(|&(kept, _)| kept >= score);
                    self.entries.insert(at, (score, row));
                    self.entries.truncate(self.capacity);
                }
            }
        }
    }

    fn rows(self) -> Vec<usize> {
        self.entries.into_iter().map(|(_, row)| row).collect()
    }
}

/// Evaluates `vectors` on a file of rated word pairs (`word1<TAB>word2<TAB>rating`, `#`
/// comments), as gensim's `evaluate_word_pairs`.
pub fn word_pairs(vectors: &WordVectors, path: &Path, settings: &Settings) -> Result<Pairs> {
    let vocabulary = Vocabulary::new(vectors, settings);
    let mut gold = Vec::new();
    let mut model = Vec::new();
    let mut out_of_vocabulary = 0;
    for line in read(path)?.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [first, second, rating] = fields[..] else { continue };
        let Ok(rating) = rating.trim().parse::<f64>() else { continue };
        let (Some(a), Some(b)) =
            (vocabulary.row(&vocabulary.key(first)), vocabulary.row(&vocabulary.key(second)))
        else {
            out_of_vocabulary += 1;
            continue;
        };
        gold.push(rating);
        model.push(f64::from(unit_cosine(vectors, a, b)));
    }
    if gold.len() < 2 {
        return Err(Error::Query(format!(
            "{}: fewer than two pairs with both words in the vocabulary ({} skipped as unknown)",
            path.display(),
            out_of_vocabulary
        )));
    }
    Ok(Pairs {
        pearson: quality::pearson(&gold, &model),
        spearman: quality::spearman(&gold, &model),
        pairs: gold.len(),
        out_of_vocabulary,
    })
}

/// The cosine as gensim computes it: the dot product of the two unit vectors.
fn unit_cosine(vectors: &WordVectors, a: usize, b: usize) -> f32 {
    let (scale_a, scale_b) = (inverse(vectors.norms()[a]), inverse(vectors.norms()[b]));
    vectors
        .vector(a)
        .iter()
        .zip(vectors.vector(b))
        .map(|(x, y)| (x * scale_a) * (y * scale_b))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> WordVectors {
        let words = ["king", "queen", "man", "woman", "Apple", "apple"].map(String::from).to_vec();
        let values = vec![
            0.9, 0.8, 0.1, 0.0, //
            0.9, 0.1, 0.8, 0.0, //
            0.1, 0.9, 0.1, 0.0, //
            0.1, 0.2, 0.9, 0.0, //
            0.0, 0.1, 0.1, 1.0, //
            0.0, 0.0, 0.1, 1.0,
        ];
        WordVectors::from_parts(words, values, 4).unwrap()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn analogies_count_per_section_and_skip_unknown_words() {
        let questions = file(": royals\nman king woman queen\nMAN KING WOMAN QUEEN\nman king woman apple\n: fruit\nking queen man wombat\nnot four words\n");
        let result = analogies(&vectors(), questions.path(), &Settings::default()).unwrap();
        assert_eq!(
            result.sections[0],
            Section { section: "royals".into(), correct: 2, incorrect: 1 }
        );
        assert_eq!(
            result.sections[1],
            Section { section: "fruit".into(), correct: 0, incorrect: 0 }
        );
        assert_eq!((result.total.correct, result.total.incorrect), (2, 1));
        assert_eq!((result.questions, result.out_of_vocabulary), (4, 1));
        assert!((result.out_of_vocabulary_percent() - 25.0).abs() < 1e-9);
        let cosmul = Settings { scoring: Scoring::Multiply, ..Settings::default() };
        assert_eq!(analogies(&vectors(), questions.path(), &cosmul).unwrap().total.correct, 2);
    }

    #[test]
    fn restricting_the_vocabulary_skips_rarer_words() {
        let questions = file(": royals\nman king woman queen\n");
        let settings = Settings { restrict_vocab: 3, ..Settings::default() };
        let result = analogies(&vectors(), questions.path(), &settings).unwrap();
        assert_eq!((result.total.correct, result.out_of_vocabulary), (0, 1));
    }

    #[test]
    fn a_question_before_a_section_is_an_error_naming_the_line() {
        let questions = file("man king woman queen\n");
        let error = analogies(&vectors(), questions.path(), &Settings::default()).unwrap_err();
        assert!(
            error.to_string().ends_with(":1: a question before any `: section` line"),
            "{error}"
        );
    }

    #[test]
    fn word_pairs_correlate_with_ratings() {
        let pairs = file("# comment\nking\tqueen\t8\nking\tapple\t1\nman\twoman\t7\nman\tapple\t1.5\nx\ty\t3\nbad line\n");
        let result = word_pairs(&vectors(), pairs.path(), &Settings::default()).unwrap();
        assert_eq!((result.pairs, result.out_of_vocabulary), (4, 1));
        assert!(result.spearman > 0.7, "{result:?}");
        assert!((result.out_of_vocabulary_percent() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn the_top_list_keeps_the_best_and_breaks_ties_by_row() {
        let mut top = Top::new(3, [1, usize::MAX, usize::MAX]);
        top.offer(0, &[0.5, 0.99, 0.7, 0.7]);
        top.offer(4, &[0.1, 0.8]);
        assert_eq!(top.rows(), vec![5, 2, 3]);
    }
}
