//! Questions to word vectors: the nearest words to a sum of words (`most_similar`), analogies
//! by 3CosAdd or 3CosMul, the odd one out, and `king - man + woman` expressions.

use rayon::prelude::*;

use crate::vectors::{dot, inverse};
use crate::{Error, Result, WordVectors};

/// How candidates are scored against the words of a [`Query`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scoring {
    /// Cosine with the mean of the unit vectors, negatives subtracted (3CosAdd, gensim's
    /// `most_similar`). The default.
    #[default]
    Add,
    /// The product of shifted cosines with the positives over those with the negatives
    /// (3CosMul, Levy and Goldberg 2014; gensim's `most_similar_cosmul`).
    Multiply,
}

/// Words to add and subtract, and how to score the answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Words whose direction the answer should share.
    pub positive: Vec<String>,
    /// Words whose direction the answer should lack.
    pub negative: Vec<String>,
    /// How candidates are scored. Default: [`Scoring::Add`].
    pub scoring: Scoring,
    /// Only the first this many words (the most frequent) are candidates. Default: all.
    pub restrict_vocab: Option<usize>,
}

impl Query {
    /// The words nearest `word`.
    pub fn word(word: &str) -> Self {
        Self { positive: vec![word.to_owned()], ..Self::default() }
    }

    /// "`a` is to `b` as `c` is to ?": `b - a + c` (`man`, `king`, `woman` -> `queen`).
    pub fn analogy(a: &str, b: &str, c: &str) -> Self {
        Self {
            positive: vec![b.to_owned(), c.to_owned()],
            negative: vec![a.to_owned()],
            ..Self::default()
        }
    }

    /// The same query scored by `scoring`.
    #[must_use]
    pub fn scored_by(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }
}

/// An expression of words joined by `+` and `-`: `king - man + woman`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression;

impl Expression {
    /// Parses `text` into a [`Query`]; `+` and `-` stand between words (spaces around them are
    /// optional unless a word itself holds a `-`, like `x-ray`).
    pub fn parse(text: &str) -> Result<Query> {
        let mut query = Query::default();
        let mut sign = Some(true);
        for token in tokens(text) {
            match token {
                "+" | "-" => {
                    if sign.is_some() && !(query.positive.is_empty() && query.negative.is_empty()) {
                        return Err(Error::Query(format!("two operators in a row in {text:?}")));
                    }
                    sign = Some(token == "+");
                }
                word => match sign.take() {
                    Some(true) => query.positive.push(word.to_owned()),
                    Some(false) => query.negative.push(word.to_owned()),
                    None => {
                        return Err(Error::Query(format!(
                            "{word:?} follows another word without + or - in {text:?}"
                        )))
                    }
                },
            }
        }
        if sign.is_some() && !(query.positive.is_empty() && query.negative.is_empty()) {
            return Err(Error::Query(format!("{text:?} ends with an operator")));
        }
        if query.positive.is_empty() && query.negative.is_empty() {
            return Err(Error::Query("the expression has no words".to_owned()));
        }
        Ok(query)
    }
}

/// The words and operators of an expression. When any operator stands alone between spaces,
/// only spaces separate (so `x-ray + bone` keeps `x-ray`); otherwise every `+` and `-` is an
/// operator (`king-man+woman`).
fn tokens(text: &str) -> Vec<&str> {
    let spaced = text.split_whitespace().any(|token| token == "+" || token == "-");
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        if spaced || token == "+" || token == "-" {
            out.push(token);
            continue;
        }
        let mut start = 0;
        for (at, character) in token.char_indices() {
            if character == '+' || character == '-' {
                if at > start {
                    out.push(&token[start..at]);
                }
                out.push(&token[at..=at]);
                start = at + 1;
            }
        }
        if start < token.len() {
            out.push(&token[start..]);
        }
    }
    out
}

/// One answer: a word and its score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Similar {
    /// The word.
    pub word: String,
    /// Its score (cosine for [`Scoring::Add`], the 3CosMul ratio for [`Scoring::Multiply`]).
    pub score: f32,
}

impl WordVectors {
    /// The `n` best answers to `query`, best first, never one of the query's own words.
    pub fn most_similar(&self, query: &Query, n: usize) -> Result<Vec<Similar>> {
        let all: Vec<&String> = query.positive.iter().chain(&query.negative).collect();
        let rows = self.rows_of(&all)?;
        let (positive, negative) = rows.split_at(query.positive.len());
        if positive.is_empty() && negative.is_empty() {
            return Err(Error::Query("a query needs at least one word".to_owned()));
        }
        let mut excluded: Vec<usize> = rows.clone();
        excluded.sort_unstable();
        excluded.dedup();
        let limit = query.restrict_vocab.unwrap_or(self.len()).min(self.len());
        let scores = match query.scoring {
            Scoring::Add => {
                let mean = self.mean_of_units(positive, negative);
                self.cosines(&mean, limit)
            }
            Scoring::Multiply => self.cosmul_scores(positive, negative, limit),
        };
        Ok(top(&scores, n, &excluded)
            .into_iter()
            .map(|(row, score)| Similar { word: self.word(row).to_owned(), score })
            .collect())
    }

    /// The word of `words` that fits least with the others: the one least similar to the mean
    /// of their unit vectors (gensim's `doesnt_match`).
    pub fn doesnt_match<S: AsRef<str>>(&self, words: &[S]) -> Result<String> {
        if words.len() < 2 {
            return Err(Error::Query("doesnt-match needs at least two words".to_owned()));
        }
        let rows = self.rows_of(words)?;
        let mean = self.mean_of_units(&rows, &[]);
        let odd = rows
            .iter()
            .zip(words)
            .map(|(&row, word)| (dot(self.vector(row), &mean) * inverse(self.norms()[row]), word))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("at least two words");
        Ok(odd.1.as_ref().to_owned())
    }

    /// The unit-length mean of the unit vectors of `positive` minus those of `negative`.
    pub(crate) fn mean_of_units(&self, positive: &[usize], negative: &[usize]) -> Vec<f32> {
        let mut mean = vec![0.0_f32; self.dimensions()];
        for (rows, sign) in [(positive, 1.0_f32), (negative, -1.0)] {
            for &row in rows {
                let scale = sign * inverse(self.norms()[row]);
                for (total, value) in mean.iter_mut().zip(self.vector(row)) {
                    *total += scale * value;
                }
            }
        }
        let count = (positive.len() + negative.len()) as f32;
        for value in &mut mean {
            *value /= count;
        }
        let length = inverse(crate::vectors::norm(&mean));
        mean.iter().map(|value| value * length).collect()
    }

    /// The cosine of `unit` (a unit vector) with each of the first `limit` words.
    fn cosines(&self, unit: &[f32], limit: usize) -> Vec<f32> {
        let dimensions = self.dimensions();
        let values = &self.values()[..limit * dimensions];
        let mut scores = vec![0.0_f32; limit];
        scores
            .par_chunks_mut(4096)
            .zip(values.par_chunks(4096 * dimensions))
            .for_each(|(scores, rows)| emb_core::distance::dot_rows(rows, unit, scores));
        for (score, norm) in scores.iter_mut().zip(self.norms()) {
            *score *= inverse(*norm);
        }
        scores
    }

    fn cosmul_scores(&self, positive: &[usize], negative: &[usize], limit: usize) -> Vec<f32> {
        let shifted = |row: usize| {
            let mut cosines = self.cosines(&self.unit_vector(row), limit);
            for cosine in &mut cosines {
                *cosine = f32::midpoint(1.0, *cosine);
            }
            cosines
        };
        let mut numerator = vec![1.0_f32; limit];
        for &row in positive {
            numerator.iter_mut().zip(shifted(row)).for_each(|(total, value)| *total *= value);
        }
        let mut denominator = vec![1.0_f32; limit];
        for &row in negative {
            denominator.iter_mut().zip(shifted(row)).for_each(|(total, value)| *total *= value);
        }
        numerator.iter().zip(&denominator).map(|(up, down)| up / (down + 1e-6)).collect()
    }
}

/// The `n` highest of `scores` as (row, score), best first, skipping the rows in `excluded`
/// (sorted). Ties go to the lower row.
pub(crate) fn top(scores: &[f32], n: usize, excluded: &[usize]) -> Vec<(usize, f32)> {
    let wanted = (n + excluded.len()).min(scores.len());
    if wanted == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    let descending =
        |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then_with(|| a.cmp(b));
    if wanted < order.len() {
        order.select_nth_unstable_by(wanted - 1, descending);
        order.truncate(wanted);
    }
    order.sort_unstable_by(descending);
    order
        .into_iter()
        .filter(|row| excluded.binary_search(row).is_err())
        .take(n)
        .map(|row| (row, scores[row]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn royal() -> WordVectors {
        let words = ["king", "queen", "man", "woman", "apple"].map(String::from).to_vec();
        let values = vec![
            0.9, 0.8, 0.1, 0.0, //
            0.9, 0.1, 0.8, 0.0, //
            0.1, 0.9, 0.1, 0.0, //
            0.1, 0.2, 0.9, 0.0, //
            0.0, 0.1, 0.1, 1.0,
        ];
        WordVectors::from_parts(words, values, 4).unwrap()
    }

    #[test]
    fn analogies_answer_with_both_scorings() {
        let vectors = royal();
        for scoring in [Scoring::Add, Scoring::Multiply] {
            let query = Query::analogy("man", "king", "woman").scored_by(scoring);
            let answers = vectors.most_similar(&query, 2).unwrap();
            assert_eq!(answers[0].word, "queen", "{scoring:?}");
            assert!(answers
                .iter()
                .all(|answer| !["man", "king", "woman"].contains(&answer.word.as_str())));
        }
    }

    #[test]
    fn the_nearest_word_excludes_itself_and_scores_by_cosine() {
        let vectors = royal();
        let answers = vectors.most_similar(&Query::word("king"), 4).unwrap();
        assert_eq!(answers.len(), 4);
        assert!(answers.iter().all(|answer| answer.word != "king"));
        let expected = vectors.similarity(0, vectors.row_of(&answers[0].word).unwrap());
        assert!((answers[0].score - expected).abs() < 1e-6);
        assert!(answers.windows(2).all(|pair| pair[0].score >= pair[1].score));
    }

    #[test]
    fn the_odd_word_out_is_found() {
        assert_eq!(royal().doesnt_match(&["king", "queen", "man", "apple"]).unwrap(), "apple");
    }

    #[test]
    fn unknown_words_are_named() {
        let error = royal().most_similar(&Query::analogy("man", "king", "wombat"), 1).unwrap_err();
        assert_eq!(error.to_string(), "not in the vocabulary: wombat");
    }

    #[test]
    fn expressions_parse_with_or_without_spaces() {
        let expected = Query {
            positive: vec!["king".into(), "woman".into()],
            negative: vec!["man".into()],
            ..Query::default()
        };
        assert_eq!(Expression::parse("king - man + woman").unwrap(), expected);
        assert_eq!(Expression::parse("king-man+woman").unwrap(), expected);
        assert_eq!(Expression::parse("- man").unwrap().negative, ["man"]);
        assert!(Expression::parse("king man").is_err());
        assert!(Expression::parse("king +").is_err());
        assert!(Expression::parse("king + - man").is_err());
        assert!(Expression::parse("  ").is_err());
        let hyphen = Expression::parse("x-ray + bone").unwrap();
        assert_eq!(hyphen.positive, ["x-ray", "bone"]);
    }

    #[test]
    fn top_skips_excluded_rows_and_breaks_ties_by_row() {
        let scores = [0.5, 0.9, 0.9, 0.1, 0.7];
        assert_eq!(top(&scores, 2, &[1]), vec![(2, 0.9), (4, 0.7)]);
        assert_eq!(top(&scores, 10, &[]).len(), 5);
    }
}
