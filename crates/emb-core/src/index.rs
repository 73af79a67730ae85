//! The interface every vector index offers, so that exact search and approximate indexes answer
//! the same questions the same way (and one conformance suite can hold them to it).

/// What to search for: the `k` nearest items, optionally only among ids with a prefix, only
/// among chosen ids, above a threshold, leaving one id out.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// The query vector (need not be normalised).
    pub vector: &'a [f32],
    /// How many hits to return. Default: 10.
    pub k: usize,
    /// How many candidates an approximate index keeps while it searches (more: better recall,
    /// slower); exact search ignores it. Default: the index's own.
    pub ef: Option<usize>,
    /// Only ids that start with this. Default: all.
    pub prefix: &'a str,
    /// Only hits at least this similar. Default: none.
    pub threshold: Option<f32>,
    /// An id to leave out (the item a "more like this" search starts from). Default: none.
    pub exclude: Option<&'a str>,
    /// Only these ids (as a metadata filter chose them), applied during the search so that
    /// `k` hits still come back. Default: all.
    pub allowed: Option<&'a [String]>,
}

impl<'a> Query<'a> {
    /// The 10 nearest items to `vector`.
    pub fn new(vector: &'a [f32]) -> Self {
        Self { vector, k: 10, ef: None, prefix: "", threshold: None, exclude: None, allowed: None }
    }
}

/// One hit of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The item's id.
    pub id: String,
    /// Cosine similarity with the query.
    pub score: f32,
}

/// A searchable set of vectors, each with an id.
pub trait VectorIndex: Send + Sync {
    /// What can go wrong searching.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The number of items.
    fn len(&self) -> usize;

    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of dimensions of the vectors.
    fn dimensions(&self) -> usize;

    /// The best hits for `query`, best first, by cosine similarity.
    fn search(&self, query: &Query<'_>) -> Result<Vec<Hit>, Self::Error>;
}
