//! Core types, traits and vector kernels shared by every `emb` crate.
//!
//! This crate has no I/O and no heavy dependencies: it defines what an
//! [`Embedder`] is, what it accepts ([`Input`]), how vectors are compared
//! ([`distance`]) and stored ([`blob`]), and the errors these can raise.
//!
//! ```
//! use emb_core::{blob, distance};
//!
//! let a = [1.0_f32, 0.0, 0.0];
//! let b = [0.6_f32, 0.8, 0.0];
//! assert!((distance::cosine(&a, &b) - 0.6).abs() < 1e-6);
//!
//! let bytes = blob::encode(&b);
//! assert_eq!(blob::decode(&bytes).unwrap(), b.to_vec());
//! ```
#![warn(missing_docs)]

pub mod blob;
pub mod distance;
mod embedder;
mod error;
pub mod filter;
pub mod index;
mod input;
pub mod simd;
pub mod store;
pub mod topk;

pub use embedder::Embedder;
pub use error::{Error, Result};
pub use input::{Input, InputKind};
pub use store::Store;

/// A dense embedding vector.
pub type Vector = Vec<f32>;
