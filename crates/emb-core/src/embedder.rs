//! The [`Embedder`] trait: anything that turns inputs into vectors.

use crate::{Input, InputKind, Result, Vector};

/// A model that turns inputs into fixed-size vectors.
///
/// Implementations provide [`Embedder::embed_batch`]; embedding one input is
/// provided on top of it.
pub trait Embedder: Send + Sync {
    /// The name the model is known by (a hub id, a short name or a path).
    fn name(&self) -> &str;

    /// The number of dimensions of every vector this model produces.
    fn dimensions(&self) -> usize;

    /// Whether this model can embed inputs of `kind`.
    fn accepts(&self, kind: InputKind) -> bool;

    /// Embeds a batch of inputs, returning one vector per input in order.
    fn embed_batch(&self, inputs: &[Input<'_>]) -> Result<Vec<Vector>>;

    /// Embeds one input.
    fn embed(&self, input: Input<'_>) -> Result<Vector> {
        let mut vectors = self.embed_batch(&[input])?;
        Ok(vectors.pop().expect("embed_batch returns one vector per input"))
    }
}
