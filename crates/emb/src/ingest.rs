//! Embedding many items into a collection: skip what is unchanged, embed the rest in batches,
//! and write each batch in one transaction while the model works on the next.

use std::collections::HashMap;
use std::sync::mpsc;

use emb_core::store::{Change, Item};
use md5::{Digest, Md5};

use crate::database::parse_metadata;
use crate::sources::{Incoming, Items, Problem};
use crate::{Database, EmbedOptions, Error, Model, Result};

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
    text: String,
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
    /// returns the changes to write (draining `batch`).
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
                Some(_) => {
                    report.updated += 1;
                    to_embed.push(pending);
                }
                None => {
                    report.embedded += 1;
                    to_embed.push(pending);
                }
            }
        }
        if to_embed.is_empty() {
            return Ok(changes);
        }
        let texts: Vec<String> =
            to_embed.iter().map(|pending| format!("{}{}", options.prepend, pending.text)).collect();
        let embedded = model.embed_with(&texts, &options.embed)?;
        report.truncated += embedded.truncated as u64;
        for (pending, vector) in to_embed.into_iter().zip(embedded.vectors) {
            changes.push(Change::Upsert(Item {
                id: pending.id,
                vector,
                content: options.store_content.then_some(pending.text),
                content_blob: None,
                content_hash: pending.hash,
                metadata: pending.metadata.map(|value| value.to_string()),
            }));
        }
        Ok(changes)
    }
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
    if item.text.trim().is_empty() {
        return Err(problem("the text is empty: there is nothing to embed".into()));
    }
    if item.text.contains('\0') {
        return Err(problem(format!(
            "the text contains a NUL byte (at byte {}): is this a binary file?",
            item.text.find('\0').unwrap_or_default()
        )));
    }
    if item.text.len() > options.max_text_bytes {
        return Err(problem(format!(
            "the text is {} bytes, over the limit of {} (the model reads only its first few \
             hundred tokens): split it into chunks, or raise the limit",
            item.text.len(),
            options.max_text_bytes
        )));
    }
    if let Some(first) = seen.get(&id) {
        return Err(problem(format!("duplicate id: it was already used at {first}")));
    }
    seen.insert(id.clone(), item.origin.clone());
    let hash = content_hash(&format!("{prompt}{}{}", options.prepend, item.text));
    Ok(Pending {
        id,
        text: item.text,
        hash,
        metadata: item.metadata.map(serde_json::Value::Object),
    })
}
