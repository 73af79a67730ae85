//! Documents and code as items to embed: long texts cut into chunks that fit the model, and
//! source files cut into their functions, methods and classes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use emb_docs::chunk::{chunk, ChunkOptions};
use emb_docs::code::{symbols, CodeOptions, Language};
use emb_docs::extract::{extract_file, Format};
use serde_json::{Map, Value};

use crate::sources::{Content, Incoming, Items, Problem};
use crate::{Database, Result, TokenCounter};

pub use emb_docs::chunk::{ChunkError, ChunkSize};
pub use emb_docs::extract::ExtractOptions;

/// Folders never searched for code: version control, dependencies, build output, caches.
const SKIPPED_FOLDERS: [&str; 10] = [
    ".git",
    ".hg",
    "node_modules",
    "target",
    "__pycache__",
    ".venv",
    "venv",
    "vendor",
    ".mypy_cache",
    ".tox",
];

/// Cuts the texts of items into chunks, each an item of its own: id `ID#N` (N from 0), and
/// metadata `{source, chunk_index, start_line, end_line, heading}` added to the item's own.
/// Markdown and HTML files are cut along their headings.
pub struct Chunker {
    options: ChunkOptions,
    counter: TokenCounter,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Chunker {
    /// A chunker cutting to `size` with `overlap`, counting tokens with `counter`.
    pub fn new(size: ChunkSize, overlap: usize, counter: TokenCounter) -> Result<Self> {
        if overlap >= size.limit() {
            return Err(crate::Error::Unsupported(
                ChunkError::OverlapTooLarge { overlap, size }.to_string(),
            ));
        }
        let options = ChunkOptions { size, overlap, markdown: false };
        Ok(Self { options, counter, counts: Arc::default() })
    }

    /// `items` with each text item replaced by its chunks (pictures pass through).
    pub fn apply(&self, items: Items) -> Items {
        let options = self.options;
        let counter = Arc::clone(&self.counter);
        let counts = Arc::clone(&self.counts);
        Box::new(items.flat_map(move |item| -> Vec<std::result::Result<Incoming, Problem>> {
            let item = match item {
                Ok(item) => item,
                Err(problem) => return vec![Err(problem)],
            };
            let Content::Text(text) = &item.content else { return vec![Ok(item)] };
            let options = ChunkOptions { markdown: is_markdown(&item.id), ..options };
            let pieces = match chunk(text, &options, &*counter) {
                Ok(pieces) => pieces,
                Err(error) => {
                    return vec![Err(Problem {
                        origin: item.origin.clone(),
                        id: Some(item.id.clone()),
                        cause: error.to_string(),
                    })]
                }
            };
            counts.lock().expect("chunk counts").insert(item.id.clone(), pieces.len());
            pieces
                .into_iter()
                .map(|piece| {
                    let mut metadata = item.metadata.clone().unwrap_or_default();
                    metadata.insert("source".into(), Value::from(item.id.clone()));
                    metadata.insert("chunk_index".into(), Value::from(piece.index));
                    metadata.insert("start_line".into(), Value::from(piece.start_line));
                    metadata.insert("end_line".into(), Value::from(piece.end_line));
                    if let Some(heading) = piece.heading {
                        metadata.insert("heading".into(), Value::from(heading));
                    }
                    Ok(Incoming {
                        id: format!("{}#{}", item.id, piece.index),
                        origin: format!(
                            "{} (lines {}-{})",
                            item.origin, piece.start_line, piece.end_line
                        ),
                        content: Content::Text(piece.text),
                        metadata: Some(metadata),
                    })
                })
                .collect()
        }))
    }

    /// How many chunks each item was cut into, by the item's id (once the items are consumed).
    pub fn chunk_counts(&self) -> BTreeMap<String, usize> {
        self.counts.lock().expect("chunk counts").clone()
    }
}

/// Whether an item's id names a file whose text has Markdown headings (Markdown itself, and
/// HTML, whose headings extraction writes as Markdown's).
fn is_markdown(id: &str) -> bool {
    matches!(Format::from_path(Path::new(id)), Format::Markdown | Format::Html)
}

/// The text of a file for embedding: Markdown, HTML and PDF extracted, plain text decoded from
/// whatever encoding it is in, binary and oversized files refused with the reason.
pub fn read_document(path: &Path, options: &ExtractOptions) -> std::result::Result<String, String> {
    extract_file(path, options).map(|document| document.text).map_err(|error| error.to_string())
}

/// The functions, methods and types of the source files under `folder` (Python, Rust,
/// JavaScript, TypeScript, Go; version control, dependency and build folders left out), one
/// item each: id `PATH:NAME` (`PATH:NAME@LINE` for a second symbol of the same name), content
/// the signature, docs and body, metadata `{source, symbol, kind, language, start_line,
/// end_line}`. A file that cannot be read is a problem; the others go on.
pub fn read_code(folder: &Path, extract: &ExtractOptions) -> std::result::Result<Items, Problem> {
    if !folder.is_dir() {
        return Err(Problem {
            origin: folder.display().to_string(),
            id: None,
            cause: "not a folder".into(),
        });
    }
    let mut files = Vec::new();
    let walker =
        walkdir::WalkDir::new(folder).sort_by_file_name().into_iter().filter_entry(|entry| {
            entry.depth() == 0
                || !(entry.file_type().is_dir()
                    && SKIPPED_FOLDERS.contains(&entry.file_name().to_string_lossy().as_ref()))
        });
    for entry in walker {
        let entry = entry.map_err(|error| Problem {
            origin: folder.display().to_string(),
            id: None,
            cause: error.to_string(),
        })?;
        let Some(language) = Language::from_path(entry.path()) else { continue };
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(folder) else { continue };
        let source = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((source, entry.path().to_owned(), language));
    }
    let extract = extract.clone();
    Ok(Box::new(
        files.into_iter().flat_map(move |(source, path, language)| {
            code_items(&source, &path, language, &extract)
        }),
    ))
}

/// The items of one source file.
fn code_items(
    source: &str,
    path: &Path,
    language: Language,
    extract: &ExtractOptions,
) -> Vec<std::result::Result<Incoming, Problem>> {
    let origin = path.display().to_string();
    let problem = |cause: String| Problem { origin: origin.clone(), id: None, cause };
    let text = match read_document(path, extract) {
        Ok(text) => text,
        Err(cause) => return vec![Err(problem(cause))],
    };
    let found = match symbols(&text, language, &CodeOptions::default()) {
        Ok(found) => found,
        Err(error) => return vec![Err(problem(error.to_string()))],
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    found
        .into_iter()
        .map(|symbol| {
            let repeats = seen.entry(symbol.name.clone()).or_default();
            *repeats += 1;
            let id = if *repeats == 1 {
                format!("{source}:{}", symbol.name)
            } else {
                format!("{source}:{}@{}", symbol.name, symbol.start_line)
            };
            let mut metadata = Map::new();
            metadata.insert("source".into(), Value::from(source));
            metadata.insert("symbol".into(), Value::from(symbol.name));
            metadata.insert("kind".into(), Value::from(symbol.kind.name()));
            metadata.insert("language".into(), Value::from(language.name()));
            metadata.insert("start_line".into(), Value::from(symbol.start_line));
            metadata.insert("end_line".into(), Value::from(symbol.end_line));
            Ok(Incoming {
                id,
                content: Content::Text(symbol.content),
                metadata: Some(metadata),
                origin: format!("{origin}:{}", symbol.start_line),
            })
        })
        .collect()
}

impl Database {
    /// Deletes the chunks a document no longer has: for each source in `counts` (its id, with
    /// `prefix`), the items `SOURCE#N` for N at or past its new count, in one write. Returns how
    /// many went.
    pub fn delete_stale_chunks(
        &mut self,
        collection: &str,
        prefix: &str,
        counts: &BTreeMap<String, usize>,
    ) -> Result<u64> {
        const PROBE: usize = 64;
        let mut stale = Vec::new();
        for (source, &count) in counts {
            let mut start = count;
            loop {
                let ids: Vec<String> = (start..start + PROBE)
                    .map(|index| format!("{prefix}{source}#{index}"))
                    .collect();
                let names: Vec<&str> = ids.iter().map(String::as_str).collect();
                let present = self.store().fingerprints(collection, &names)?;
                let found = present.len();
                stale.extend(present.into_keys());
                // Chunks are numbered without gaps: a window not wholly present is the last.
                if found < PROBE {
                    break;
                }
                start += PROBE;
            }
        }
        if stale.is_empty() {
            return Ok(0);
        }
        let names: Vec<&str> = stale.iter().map(String::as_str).collect();
        self.delete_items(collection, &names)
    }
}
