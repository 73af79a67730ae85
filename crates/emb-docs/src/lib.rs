//! Documents and code into embeddable pieces.
//!
//! - [`extract`] turns a file (Markdown, HTML, PDF, plain text in any encoding) into text.
//! - [`chunk`] splits long text into chunks that fit a model, by the model's own token count.
//! - [`code`] finds the functions, methods and classes of source files with tree-sitter.
#![warn(missing_docs)]

pub mod chunk;
pub mod code;
pub mod extract;
