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
            target: Target::Vector(vector),
            k,
            prefix: retrieval.prefix.clone(),
            filter: retrieval.filter.clone(),
            keywords: retrieval.hybrid.then(|| Keywords::Text(question.to_owned())),
            ..Search::new(Target::Vector(Vec::new()))
        };
        let hits = self.search(collection, &search)?;
        let Some(reranker) = retrieval.reranker else { return Ok(hits) };
        let mut reranked = reranker.rerank(question, hits)?;
        reranked.truncate(retrieval.count);
        Ok(reranked)
    }
}
