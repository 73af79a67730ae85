//! `emb embed`: embed one text and print its vector.

use std::fmt::Write as _;

use anyhow::Result;
use base64::Engine as _;

use crate::cli::{EmbedArgs, VectorFormat};
use crate::input::read_text;
use crate::output::Printer;

pub fn run(arguments: &EmbedArgs) -> Result<()> {
    let text = read_text(&arguments.source, None)?;
    let (model, options) = super::load_model(&arguments.model)?;
    let mut embedded = model.embed_with(&[text.as_str()], &options)?;
    if embedded.truncated > 0 {
        let report = model.tokenize(&text, &options)?;
        eprintln!(
            "warning: the input is {} tokens long; {} reads the first {} and ignores the rest",
            report.ids.len(),
            model.info().name,
            report.max_seq_length
        );
    }
    let vector = embedded.vectors.remove(0);
    let mut printer = Printer::new();
    match arguments.format {
        VectorFormat::Json => printer.json(&vector)?,
        VectorFormat::Blob => printer.bytes(&emb::blob::encode(&vector))?,
        VectorFormat::Base64 => {
            printer.line(
                &base64::engine::general_purpose::STANDARD.encode(emb::blob::encode(&vector)),
            )?;
        }
        VectorFormat::Hex => {
            let mut hex = String::with_capacity(vector.len() * 8);
            for byte in emb::blob::encode(&vector) {
                write!(hex, "{byte:02x}")?;
            }
            printer.line(&hex)?;
        }
    }
    printer.finish()?;
    Ok(())
}
