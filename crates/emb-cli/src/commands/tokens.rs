//! `emb tokens`: how a model tokenizes a text.

use anyhow::Result;

use crate::cli::TokensArgs;
use crate::input::read_text;
use crate::output::{table, Printer};

pub fn run(arguments: &TokensArgs) -> Result<()> {
    let text = read_text(&arguments.source, arguments.text.as_deref())?;
    let (model, options) = super::load_model(&arguments.model)?;
    let report = model.tokenize(&text, &options)?;
    let mut printer = Printer::new();
    if arguments.json {
        printer.json(&serde_json::json!({
            "model": model.info().name,
            "tokens": report.tokens,
            "ids": report.ids,
            "count": report.ids.len(),
            "used": report.used,
            "max_seq_length": report.max_seq_length,
            "truncated": report.truncated,
        }))?;
        return Ok(printer.finish()?);
    }
    let kept = report.used.saturating_sub(1); // tokens before the final special token survive
    let rows: Vec<Vec<String>> = report
        .tokens
        .iter()
        .zip(&report.ids)
        .enumerate()
        .map(|(index, (token, id))| {
            let note = if report.truncated && index >= kept && index + 1 < report.ids.len() {
                "cut"
            } else {
                ""
            };
            let id = if *id == u32::MAX { "-".to_owned() } else { id.to_string() };
            vec![index.to_string(), id, token.clone(), note.to_owned()]
        })
        .collect();
    for line in table(&["#", "ID", "TOKEN", ""], &rows) {
        printer.line(&line)?;
    }
    let count = report.ids.len();
    if model.word_vectors().is_some() {
        printer.line(&format!(
            "{count} words, {} in {}'s vocabulary (the others are left out of the text's vector)",
            report.used,
            model.info().name
        ))?;
    } else if report.truncated {
        printer.line(&format!(
            "{count} tokens: longer than {}'s limit of {}; it reads the first {} and the final \
             special token, and ignores the {} marked cut",
            model.info().name,
            report.max_seq_length,
            kept,
            count - report.used
        ))?;
    } else {
        printer.line(&format!(
            "{count} tokens ({} reads up to {})",
            model.info().name,
            report.max_seq_length
        ))?;
    }
    Ok(printer.finish()?)
}
