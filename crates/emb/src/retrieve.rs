//! Retrieval for question answering: the passages of a collection nearest a question, by
//! vectors or by vectors fused with keywords, optionally re-ranked by a cross-encoder.

use emb_models::{CrossEncoder, Located, Locator};

use crate::database::{Database, Hit, Keywords, Search, Target};
use crate::{EmbedOptions, Error, Filter, Model, Result};

/// The reranker used when none is named: `cross-encoder/ms-marco-MiniLM-L6-v2` (from the hub).
pub const DEFAULT_RERANKER: &str = "cross-encoder/ms-marco-MiniLM-L6-v2";

/// A cross-encoder that re-orders retrieved passages by how well each answers the question.
pub struct Reranker {
    model: CrossEncoder,
    located: Located,
}

impl Reranker {
    /// The reranker named by `EMB_RERANKER`, else [`DEFAULT_RERANKER`].
    pub fn default_name() -> String {
        crate::chat::variable("EMB_RERANKER").unwrap_or_else(|| DEFAULT_RERANKER.to_owned())
    }

    /// Loads the cross-encoder `name` (a folder, a hub id, or a name in the emb cache).
    pub fn load(name: &str) -> Result<Self> {
        let located = Locator::from_environment().locate(name)?;
        let model = CrossEncoder::load(&located.path, &located.id)?;
        Ok(Self { model, located })
    }

    /// The name it was found under.
    pub fn name(&self) -> &str {
        &self.located.id
    }

    /// What the model is.
    pub fn info(&self) -> &emb_models::CrossEncoderInfo {
        self.model.info()
    }

    /// How well each of `passages` answers `query`, in their order (higher is better).
    pub fn score<S: AsRef<str> + Sync>(&self, query: &str, passages: &[S]) -> Result<Vec<f32>> {
        Ok(self.model.score(query, passages)?)
    }

    /// `hits` re-ordered by this model's score for `query`, best first; each hit's score becomes
    /// the model's. Hits need their stored content.
    pub fn rerank(&self, query: &str, hits: Vec<Hit>) -> Result<Vec<Hit>> {
        if let Some(bare) = hits.iter().find(|hit| hit.content.is_none()) {
            return Err(Error::Unsupported(format!(
                "item {:?} has no stored content to re-rank: embed the collection with --store",
                bare.id
            )));
        }
        let passages: Vec<&str> =
            hits.iter().map(|hit| hit.content.as_deref().unwrap_or_default()).collect();
        let scores = self.score(query, &passages)?;
        let mut reranked: Vec<Hit> =
            hits.into_iter().zip(scores).map(|(hit, score)| Hit { score, ..hit }).collect();
        reranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(reranked)
    }
}

/// How to retrieve.
#[derive(Clone)]
pub struct Retrieval<'a> {
    /// How many passages. Default: 5.
    pub count: usize,
    /// Fuse keyword (full-text) ranking with the vectors. Default: vectors only.
    pub hybrid: bool,
    /// Re-rank the candidates with this cross-encoder. Default: none.
    pub reranker: Option<&'a Reranker>,
    /// Candidates retrieved for the reranker to choose `count` from. Default: 30.
    pub candidates: usize,
    /// Only items whose metadata passes this filter. Default: all.
    pub filter: Option<Filter>,
    /// Only ids that start with this. Default: all.
    pub prefix: String,
}

impl Default for Retrieval<'_> {
    fn default() -> Self {
        Self {
            count: 5,
            hybrid: false,
            reranker: None,
            candidates: 30,
            filter: None,
            prefix: String::new(),
        }
    }
}

/// `given`, or when it names no prompt, the model's `query` prompt (E5, BGE and their kin embed
/// questions with one).
pub fn query_options(model: &Model, given: &EmbedOptions) -> EmbedOptions {
    named_prompt(model, given, &["query"])
}

/// `given`, or when it names no prompt, the model's `document` or `passage` prompt (for the
/// passages that questions are asked of).
pub fn document_options(model: &Model, given: &EmbedOptions) -> EmbedOptions {
    named_prompt(model, given, &["document", "passage"])
}

fn named_prompt(model: &Model, given: &EmbedOptions, names: &[&str]) -> EmbedOptions {
    if given.prompt.is_some() || given.prompt_name.is_some() {
        return given.clone();
    }
    let prompts = &model.info().prompts;
    let prompt_name =
        names.iter().find(|name| prompts.contains_key(**name)).map(|name| (*name).to_owned());
    EmbedOptions { prompt: None, prompt_name }
}

impl Database {
    /// The passages of `collection` that best answer `question`, best first: embedded with
    /// `model` (and `options`' prompt), ranked by vectors or fused with keywords, and re-ranked
    /// when the retrieval names a reranker.
    pub fn retrieve(
        &self,
        collection: &str,
        model: &Model,
        options: &EmbedOptions,
        question: &str,
        retrieval: &Retrieval<'_>,
    ) -> Result<Vec<Hit>> {
        let vector = model.embed_with(&[question], options)?.vectors.remove(0);
        let k = match retrieval.reranker {
            Some(_) => retrieval.candidates.max(retrieval.count),
            None => retrieval.count,
        };
        let search = Search {
            k,
            prefix: retrieval.prefix.clone(),
            filter: retrieval.filter.clone(),
            keywords: retrieval.hybrid.then(|| Keywords::Text(question.to_owned())),
            ..Search::new(Target::Vector(vector))
        };
        let hits = self.search(collection, &search)?;
        let Some(reranker) = retrieval.reranker else { return Ok(hits) };
        let mut reranked = reranker.rerank(question, hits)?;
        reranked.truncate(retrieval.count);
        Ok(reranked)
    }
}

/// A question whose answer is known: the id of the item that answers it, or the `source` (in
/// metadata) of the chunks that do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Question {
    /// The question.
    pub question: String,
    /// The id or source that answers it.
    pub answer: String,
}

/// How well one way of retrieving found the answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RetrievalScore {
    /// How many questions were asked.
    pub questions: usize,
    /// The share of questions with an answering passage among the first `k`.
    pub recall: f64,
    /// The mean over questions of 1 / rank of the first answering passage among the first 10
    /// (0 when none is), MRR@10.
    pub mrr: f64,
    /// Milliseconds per question, embedding and re-ranking included.
    pub milliseconds: f64,
}

/// Whether `hit` answers a question whose answer is `answer`.
fn answers(hit: &Hit, answer: &str) -> bool {
    hit.id == answer
        || hit
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.get("source"))
            .and_then(|source| source.as_str())
            .is_some_and(|source| source == answer)
}

impl Database {
    /// Asks `questions` of `collection` as `retrieval` says (its `count` is raised to 10 for
    /// MRR@10) and scores the answers: recall@`k` and MRR@10.
    pub fn evaluate_retrieval(
        &self,
        collection: &str,
        model: &Model,
        options: &EmbedOptions,
        questions: &[Question],
        retrieval: &Retrieval<'_>,
        k: usize,
    ) -> Result<RetrievalScore> {
        let settings = Retrieval { count: k.max(10), ..retrieval.clone() };
        let started = std::time::Instant::now();
        let (mut found, mut reciprocal) = (0_usize, 0.0);
        for question in questions {
            let hits = self.retrieve(collection, model, options, &question.question, &settings)?;
            let rank = hits.iter().position(|hit| answers(hit, &question.answer));
            if rank.is_some_and(|rank| rank < k) {
                found += 1;
            }
            if let Some(rank) = rank.filter(|&rank| rank < 10) {
                reciprocal += 1.0 / (rank + 1) as f64;
            }
        }
        let count = questions.len().max(1) as f64;
        Ok(RetrievalScore {
            questions: questions.len(),
            recall: found as f64 / count,
            mrr: reciprocal / count,
            milliseconds: started.elapsed().as_secs_f64() * 1000.0 / count,
        })
    }
}
