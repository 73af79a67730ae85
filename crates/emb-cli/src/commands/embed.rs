//! `emb embed`: embed one text and print its vector, or store it in a collection.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use base64::Engine as _;

use crate::cli::{EmbedArgs, VectorFormat};
use crate::input::{origin, read_query, Query};
use crate::output::Printer;

pub fn run(arguments: &EmbedArgs) -> Result<()> {
    let query = read_query(&arguments.source, arguments.binary)?;
    if let (Some(collection), Some(id)) = (&arguments.collection, &arguments.id) {
        return store(arguments, collection, id, query);
    }
    let (model, options) = super::load_model(&arguments.model)?;
    let text = match query {
        Query::Text(text) => text,
        Query::Binary(bytes) => {
            let vector = model
                .embed_pictures(&[bytes.as_slice()])
                .with_context(|| format!("cannot embed {}", origin(&arguments.source)))?
                .remove(0);
            return print(&vector, arguments.format);
        }
    };
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
    print(&embedded.vectors.remove(0), arguments.format)
}

fn print(vector: &[f32], format: VectorFormat) -> Result<()> {
    let mut printer = Printer::new();
    match format {
        VectorFormat::Json => printer.json(&vector)?,
        VectorFormat::Blob => printer.bytes(&emb::blob::encode(vector))?,
        VectorFormat::Base64 => {
            printer.line(
                &base64::engine::general_purpose::STANDARD.encode(emb::blob::encode(vector)),
            )?;
        }
        VectorFormat::Hex => {
            let mut hex = String::with_capacity(vector.len() * 8);
            for byte in emb::blob::encode(vector) {
                write!(hex, "{byte:02x}")?;
            }
            printer.line(&hex)?;
        }
    }
    printer.finish()?;
    Ok(())
}

/// `emb embed COLLECTION ID`: stores one item, through the same path as `embed-multi`.
fn store(arguments: &EmbedArgs, collection: &str, id: &str, query: Query) -> Result<()> {
    let metadata = match &arguments.metadata {
        None => None,
        Some(json) => match serde_json::from_str(json).context("--metadata is not valid JSON")? {
            serde_json::Value::Object(object) => Some(object),
            other => anyhow::bail!("--metadata must be a JSON object, not {other}"),
        },
    };
    let mut database = super::create_database(&arguments.database)?;
    let (model, embed) = super::load_collection_model(&database, collection, &arguments.model)?;
    let content = match query {
        Query::Text(text) => emb::sources::Content::Text(text),
        Query::Binary(bytes) => emb::sources::Content::Binary(bytes),
    };
    let item = emb::sources::Incoming {
        id: id.to_owned(),
        content,
        metadata,
        origin: origin(&arguments.source),
    };
    let options =
        emb::IngestOptions { store_content: arguments.store, embed, ..Default::default() };
    let report = database.ingest(
        collection,
        &model,
        Box::new(std::iter::once(Ok(item))),
        &options,
        &mut |_| {},
    )?;
    if report.truncated > 0 {
        eprintln!("warning: the text was truncated at the model's maximum length");
    }
    Ok(())
}
