//! `emb rerank`: order passages by a cross-encoder's judgement of how well each answers a query.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use emb::Hit;

use crate::cli::RerankArgs;
use crate::output::Printer;

pub fn run(arguments: &RerankArgs) -> Result<()> {
    let reranker = super::ask::load_reranker(&arguments.reranker)?;
    let hits = if let Some(collection) = &arguments.collection {
        super::ask::retrieve(
            collection,
            &arguments.query,
            &arguments.retrieval,
            &arguments.model,
            &arguments.database,
            Some(&reranker),
            arguments.reranker.candidates,
        )?
    } else {
        let mut hits = reranker.rerank(&arguments.query, read_candidates()?)?;
        hits.truncate(arguments.retrieval.number);
        hits
    };
    let mut printer = Printer::new();
    for hit in &hits {
        printer.json(hit)?;
    }
    Ok(printer.finish()?)
}

/// Candidates from standard input: JSON lines with "content" or "text", and "id" when given.
fn read_candidates() -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for (number, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("cannot read standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let row: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("line {} of standard input is not JSON", number + 1))?;
        let Some(content) = row.get("content").or_else(|| row.get("text")).and_then(|v| v.as_str())
        else {
            bail!(
                "line {} of standard input has no \"content\" or \"text\" to rank (emb similar \
                 prints content for collections stored with --store)",
                number + 1
            );
        };
        let id = match row.get("id") {
            Some(serde_json::Value::String(id)) => id.clone(),
            Some(id) if !id.is_null() => id.to_string(),
            _ => (number + 1).to_string(),
        };
        hits.push(Hit {
            id,
            score: 0.0,
            content: Some(content.to_owned()),
            metadata: row.get("metadata").filter(|value| !value.is_null()).cloned(),
        });
    }
    if hits.is_empty() {
        bail!(
            "nothing to re-rank: name a collection, or pipe JSON lines with \"content\" (emb \
             similar ... | emb rerank -q QUERY)"
        );
    }
    Ok(hits)
}
