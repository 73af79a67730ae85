//! Embedding many items into a collection: skip what is unchanged, embed the rest in batches,
//! and write each batch in one transaction while the model works on the next.

use std::collections::HashMap;
use std::sync::mpsc;

use emb_core::store::{Change, Item};
use md5::{Digest, Md5};

use crate::database::parse_metadata;
use crate::sources::{Content, Incoming, Items, Problem};
use crate::{Database, EmbedOptions, Error, Model, Result, Vector};

/// How [`Database::ingest`] treats its items.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Items per batch (per transaction). Default: 256.
    pub batch_size: usize,
    /// Store each item's text with its vector. Default: false.
    pub store_content: bool,
    /// Prepended to every id. Default: none.
    pub prefix: String,
    /// Prepended to every text before it is embedded (and hashed). Default: none.
    pub prepend: String,
    /// Report bad items and go on, instead of stopping at the first. Default: false.
    pub skip_errors: bool,
    /// Texts longer than this many bytes are refused. Default: 1,000,000.
    pub max_text_bytes: usize,
    /// Files (pictures) larger than this many bytes are refused. Default: 100 MB.
    pub max_binary_bytes: usize,
    /// Prompt options for the model.
    pub embed: EmbedOptions,
    /// Bring the collection's search index (if it has one) up to date at the end. Default:
    /// true; a caller that shows its own progress turns it off and calls
    /// [`Database::sync_index`] itself.
    pub sync_index: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            store_content: false,
            prefix: String::new(),
            prepend: String::new(),
            skip_errors: false,
            max_text_bytes: 1_000_000,
            max_binary_bytes: 100_000_000,
            embed: EmbedOptions::default(),
            sync_index: true,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Items that were new and were embedded.
    pub embedded: u64,
    /// Items that existed and changed (re-embedded, or only their metadata rewritten).
    pub updated: u64,
    /// Items that existed unchanged and were left alone.
    pub skipped: u64,
    /// Embedded texts the model truncated at its maximum length.
    pub truncated: u64,
    /// Bad items reported and passed over (with `skip_errors`).
    pub problems: Vec<Problem>,
    /// What keeping the collection's search index current did, if it has one.
    pub index: Option<crate::IndexSync>,
}

impl IngestReport {
    /// Items read so far, good and bad.
    pub fn seen(&self) -> u64 {
        self.embedded + self.updated + self.skipped + self.problems.len() as u64
    }
}

/// One validated item waiting for its batch.
struct Pending {
    id: String,
    content: Content,
    origin: String,
    hash: [u8; 16],
    metadata: Option<serde_json::Value>,
}

impl Database {
    /// Embeds `items` into `collection` with `model` (creating the collection, or checking it
    /// was made with this model). Calls `progress` after every batch with the totals so far.
    ///
    /// Each batch is written in one transaction: a crash loses at most the batches not yet
    /// committed, and rerunning the same input embeds only what is missing.
    pub fn ingest(
        &mut self,
        collection: &str,
        model: &Model,
        items: Items,
        options: &IngestOptions,
        progress: &mut dyn FnMut(&IngestReport),
    ) -> Result<IngestReport> {
        self.prepare(collection, model)?;
        let prompt = model.prompt(&options.embed)?.unwrap_or_default();
        let mut writer_store = self.reopen()?;
        let (sender, receiver) = mpsc::sync_channel::<Vec<Change>>(1);
        let name = collection.to_owned();
        let writer = std::thread::spawn(move || -> Result<()> {
            for changes in receiver {
                writer_store.apply(&name, &changes)?;
            }
            Ok(())
        });

        let mut report = IngestReport::default();
        let run = || -> Result<()> {
            let mut seen: HashMap<String, String> = HashMap::new();
            let mut batch: Vec<Pending> = Vec::with_capacity(options.batch_size);
            let mut items = items.peekable();
            while let Some(item) = items.next() {
                match item.and_then(|item| validate(item, options, &prompt, &mut seen)) {
                    Ok(pending) => batch.push(pending),
                    Err(problem) if options.skip_errors => report.problems.push(problem),
                    Err(problem) => {
                        return Err(Error::Input {
                            problem,
                            stored: report.embedded + report.updated,
                        })
                    }
                }
                if batch.len() >= options.batch_size.max(1) || items.peek().is_none() {
                    let changes =
                        self.embed_batch(collection, model, options, &mut batch, &mut report)?;
                    if !changes.is_empty() && sender.send(changes).is_err() {
                        break; // the writer failed; its error is reported below
                    }
                    progress(&report);
                }
            }
            Ok(())
        };
        let outcome = run();
        drop(sender);
        let written = writer.join().unwrap_or_else(|_| {
            Err(Error::Core(emb_core::Error::Store {
                context: self.path().display().to_string(),
                source: "the writer thread panicked".into(),
            }))
        });
        written?;
        outcome?;
        if options.sync_index {
            report.index = self.sync_index(collection, &|_, _| {})?;
        }
        Ok(report)
    }

    /// Decides what each item of `batch` needs, embeds those whose content changed, and
    /// returns the changes to write (draining `batch`). Pictures that cannot be read are
    /// reported (with `skip_errors`) or stop the ingest.
    fn embed_batch(
        &self,
        collection: &str,
        model: &Model,
        options: &IngestOptions,
        batch: &mut Vec<Pending>,
        report: &mut IngestReport,
    ) -> Result<Vec<Change>> {
        let ids: Vec<&str> = batch.iter().map(|pending| pending.id.as_str()).collect();
        let stored = self.store().fingerprints(collection, &ids)?;
        let mut changes = Vec::with_capacity(batch.len());
        let mut to_embed = Vec::new();
        for pending in batch.drain(..) {
            match stored.get(&pending.id) {
                Some(fingerprint) if fingerprint.content_hash == Some(pending.hash) => {
                    let stored_metadata = fingerprint.metadata.as_deref().map(parse_metadata);
                    if stored_metadata == pending.metadata {
                        report.skipped += 1;
                    } else {
                        report.updated += 1;
                        changes.push(Change::Metadata {
                            id: pending.id,
                            metadata: pending.metadata.map(|value| value.to_string()),
                        });
                    }
                }
                Some(_) => to_embed.push((pending, true)),
                None => to_embed.push((pending, false)),
            }
        }
        if to_embed.is_empty() {
            return Ok(changes);
        }
        let (texts, binaries): (Vec<_>, Vec<_>) = to_embed
            .into_iter()
            .partition(|(pending, _)| matches!(pending.content, Content::Text(_)));
        let mut embedded = Vec::with_capacity(texts.len() + binaries.len());
        if !texts.is_empty() {
            let prompted: Vec<String> = texts
                .iter()
                .map(|(pending, _)| match &pending.content {
                    Content::Text(text) => format!("{}{text}", options.prepend),
                    Content::Binary(_) => unreachable!("partitioned"),
                })
                .collect();
            let result = model.embed_with(&prompted, &options.embed)?;
            report.truncated += result.truncated as u64;
            embedded.extend(texts.into_iter().zip(result.vectors));
        }
        if !binaries.is_empty() {
            embedded.extend(embed_pictures(model, options, binaries, report)?);
        }
        for ((pending, existed), vector) in embedded {
            if existed {
                report.updated += 1;
            } else {
                report.embedded += 1;
            }
            let (content, content_blob) = match pending.content {
                Content::Text(text) => (options.store_content.then_some(text), None),
                Content::Binary(bytes) => (None, options.store_content.then_some(bytes)),
            };
            changes.push(Change::Upsert(Item {
                id: pending.id,
                vector,
                content,
                content_blob,
                content_hash: pending.hash,
                metadata: pending.metadata.map(|value| value.to_string()),
            }));
        }
        Ok(changes)
    }
}

/// Decodes and embeds the pictures of one batch (decoding in parallel); a picture that
/// cannot be read becomes a problem with `skip_errors`, else the ingest's error.
fn embed_pictures(
    model: &Model,
    options: &IngestOptions,
    items: Vec<(Pending, bool)>,
    report: &mut IngestReport,
) -> Result<Vec<((Pending, bool), Vector)>> {
    use rayon::prelude::*;
    let Some(pictures) = model.pictures() else {
        let first = &items[0].0;
        return Err(Error::Input {
            problem: Problem {
                origin: first.origin.clone(),
                id: Some(first.id.clone()),
                cause: format!(
                    "{} embeds text, not files' bytes: use a CLIP model (e.g. -m \
                     clip-ViT-B-32) or raw pixels (-m pixels:28x28:gray) for pictures",
                    model.info().name
                ),
            },
            stored: report.embedded + report.updated,
        });
    };
    let prepared: Vec<_> = items
        .par_iter()
        .map(|(pending, _)| match &pending.content {
            Content::Binary(bytes) => pictures.prepare_picture(bytes),
            Content::Text(_) => unreachable!("only binary items come here"),
        })
        .collect();
    let mut ready = Vec::with_capacity(items.len());
    let mut kept = Vec::with_capacity(items.len());
    for (item, outcome) in items.into_iter().zip(prepared) {
        match outcome {
            Ok(picture) => {
                ready.push(picture);
                kept.push(item);
            }
            Err(error) => {
                let problem = Problem {
                    origin: item.0.origin.clone(),
                    id: Some(item.0.id.clone()),
                    cause: error.to_string(),
                };
                if !options.skip_errors {
                    return Err(Error::Input { problem, stored: report.embedded + report.updated });
                }
                report.problems.push(problem);
            }
        }
    }
    let vectors = pictures.embed_pictures(&ready).map_err(crate::Error::from)?;
    Ok(kept.into_iter().zip(vectors).collect())
}

/// The md5 of the text as the model sees it: llm's content hash.
pub fn content_hash(text: &str) -> [u8; 16] {
    Md5::digest(text.as_bytes()).into()
}

/// Checks one item and turns it into a [`Pending`] one; `seen` maps ids to where they were
/// first seen in this input.
fn validate(
    item: Incoming,
    options: &IngestOptions,
    prompt: &str,
    seen: &mut HashMap<String, String>,
) -> Result<Pending, Problem> {
    let id = format!("{}{}", options.prefix, item.id);
    let problem =
        |cause: String| Problem { origin: item.origin.clone(), id: Some(id.clone()), cause };
    if item.id.is_empty() {
        return Err(problem("the id is empty".into()));
    }
    if id.contains('\0') {
        return Err(problem("the id contains a NUL byte".into()));
    }
    match &item.content {
        Content::Text(text) => check_text(text, options).map_err(problem)?,
        Content::Binary(bytes) if bytes.is_empty() => {
            return Err(problem("the file is empty (0 bytes): there is nothing to embed".into()))
        }
        Content::Binary(bytes) if bytes.len() > options.max_binary_bytes => {
            return Err(problem(format!(
                "the file is {} bytes, over the limit of {}",
                bytes.len(),
                options.max_binary_bytes
            )))
        }
        Content::Binary(_) => {}
    }
    if let Some(first) = seen.get(&id) {
        return Err(problem(format!("duplicate id: it was already used at {first}")));
    }
    seen.insert(id.clone(), item.origin.clone());
    // llm hashes a binary item's bytes as they are, and text as the model sees it.
    let hash = match &item.content {
        Content::Text(text) => content_hash(&format!("{prompt}{}{text}", options.prepend)),
        Content::Binary(bytes) => Md5::digest(bytes).into(),
    };
    Ok(Pending {
        id,
        content: item.content,
        origin: item.origin,
        hash,
        metadata: item.metadata.map(serde_json::Value::Object),
    })
}

/// Why `text` cannot be embedded, if it cannot: it is empty or only white space, or it holds a
/// NUL byte (a binary file read as text). The one rule for every way text reaches a model: the
/// CLI's inputs, ingest and the server's routes.
pub fn unembeddable(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("the text is empty: there is nothing to embed".into());
    }
    text.find('\0').map(|position| {
        format!(
            "the text contains a NUL byte (at byte {position}): is this a binary file? (pictures \
             and sounds are embedded as bytes, not text)"
        )
    })
}

/// Why `text` cannot be embedded, if it cannot.
fn check_text(text: &str, options: &IngestOptions) -> Result<(), String> {
    if let Some(problem) = unembeddable(text) {
        return Err(problem);
    }
    if text.len() > options.max_text_bytes {
        return Err(format!(
            "the text is {} bytes, over the limit of {} (the model reads only its first few \
             hundred tokens): split it into chunks, or raise the limit",
            text.len(),
            options.max_text_bytes
        ));
    }
    Ok(())
}
