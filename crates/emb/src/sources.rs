//! Where items to embed come from: CSV, TSV, JSON, JSON lines, files in a folder, or SQL.
//!
//! Every reader yields [`Incoming`] items or [`Problem`]s that say where the input went wrong,
//! so one bad row never hides in a batch. The column rules are `llm embed-multi`'s: the first
//! column (or key) is the id and the other columns, joined by spaces, are the text; a
//! [`Columns`] spec names them explicitly instead.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// One item to embed, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The item's id (before any prefix).
    pub id: String,
    /// What to embed.
    pub content: Content,
    /// Metadata to store with it (a JSON object).
    pub metadata: Option<Map<String, Value>>,
    /// Where it came from, for messages: `line 12`, `row 3`, `notes/a.md`.
    pub origin: String,
}

impl Incoming {
    /// The item's text, if it is text.
    pub fn text(&self) -> Option<&str> {
        match &self.content {
            Content::Text(text) => Some(text),
            Content::Binary(_) => None,
        }
    }
}

/// What an item holds: text, or the bytes of a file (a picture) embedded as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Text.
    Text(String),
    /// An encoded picture (JPEG, PNG, WebP, GIF), stored in `content_blob` with `--store`.
    Binary(Vec<u8>),
}

/// Something wrong with one input item: where, which id (if known), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `line 12`, `row 3`, a file path.
    pub origin: String,
    /// The item's id, when it could be read.
    pub id: Option<String>,
    /// What is wrong.
    pub cause: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(formatter, "{} (id {id:?}): {}", self.origin, self.cause),
            None => write!(formatter, "{}: {}", self.origin, self.cause),
        }
    }
}

impl Problem {
    fn at(origin: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { origin: origin.into(), id: None, cause: cause.into() }
    }
}

/// The format of a table of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// Guesses the format from the start of the input: `[` is JSON, `{` JSON lines, a tab in
    /// the first line TSV, anything else CSV.
    pub fn detect(start: &[u8]) -> Self {
        let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
        match start.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'[') => Self::Json,
            Some(b'{') => Self::Jsonl,
            _ => {
                let first_line = start.split(|&byte| byte == b'\n').next().unwrap_or_default();
                if first_line.contains(&b'\t') {
                    Self::Tsv
                } else {
                    Self::Csv
                }
            }
        }
    }
}

/// Which columns (or JSON keys) hold the id, the text and the metadata. Default: the first is
/// the id, all others are the text, nothing is metadata.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// The id column. Default: the first.
    pub id: Option<String>,
    /// The text columns, joined by spaces. Default: every column but the id and metadata ones.
    pub text: Vec<String>,
    /// Columns stored as metadata (not embedded). Default: none.
    pub metadata: Vec<String>,
    /// Where to note which columns made the text, and what their values look like.
    pub survey: Option<ColumnSurvey>,
}

/// Rows a [`ColumnSurvey`] looks at: enough to tell prose from labels, bounded in memory.
const SURVEYED_ROWS: usize = 2_000;

/// Notes which columns made each item's text and samples their values, so that a caller can
/// say which columns were embedded and warn about one that looks like a label or a number
/// rather than prose (llm's rule embeds every column but the id). Clones share one survey.
#[derive(Debug, Clone, Default)]
pub struct ColumnSurvey(Arc<Mutex<SurveyState>>);

#[derive(Debug, Default)]
struct SurveyState {
    /// The text columns in the order first seen.
    order: Vec<String>,
    /// Per text column: the values sampled.
    columns: BTreeMap<String, ColumnSample>,
    rows: usize,
}

#[derive(Debug, Default)]
struct ColumnSample {
    values: usize,
    characters: usize,
    numbers: usize,
    distinct: HashSet<String>,
}

/// What a [`ColumnSurvey`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnReport {
    /// The columns whose values were joined into the text, in order.
    pub text: Vec<String>,
    /// Text columns that look like labels or numbers, each with what was seen.
    pub label_like: Vec<(String, String)>,
}

impl ColumnSurvey {
    fn observe(&self, text_columns: &[(&str, &Value)]) {
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.rows += 1;
        let sampling = state.rows <= SURVEYED_ROWS;
        for (column, value) in text_columns {
            if !state.columns.contains_key(*column) {
                state.order.push((*column).to_owned());
                state.columns.insert((*column).to_owned(), ColumnSample::default());
            }
            if !sampling {
                continue;
            }
            let sample = state.columns.get_mut(*column).expect("inserted above");
            let text = text_of(value);
            let trimmed = text.trim();
            if trimmed.is_empty() {
                continue;
            }
            sample.values += 1;
            sample.characters += trimmed.chars().count();
            if value.is_number() || value.is_boolean() || trimmed.parse::<f64>().is_ok() {
                sample.numbers += 1;
            }
            if sample.distinct.len() <= SURVEYED_ROWS {
                sample.distinct.insert(trimmed.to_owned());
            }
        }
    }

    /// The columns that made the text, and those among them that look like labels (short
    /// values that repeat) or numbers. With one text column nothing is label-like: it is the
    /// text.
    pub fn report(&self) -> ColumnReport {
        let state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut label_like = Vec::new();
        if state.order.len() > 1 {
            for column in &state.order {
                let sample = &state.columns[column];
                if sample.values < 5 {
                    continue;
                }
                let mean = sample.characters as f64 / sample.values as f64;
                let distinct = sample.distinct.len();
                if sample.numbers == sample.values {
                    label_like.push((column.clone(), "numbers".to_owned()));
                } else if mean <= 24.0 && distinct * 2 <= sample.values {
                    label_like.push((
                        column.clone(),
                        format!(
                            "short values that repeat: {distinct} different in {} rows",
                            sample.values
                        ),
                    ));
                }
            }
        }
        ColumnReport { text: state.order.clone(), label_like }
    }
}

impl Columns {
    /// Splits one row, given as (column, value) pairs in order, into an item.
    fn split(&self, origin: String, row: Vec<(String, Value)>) -> Result<Incoming, Problem> {
        if row.is_empty() {
            return Err(Problem::at(origin, "the row is empty"));
        }
        let id_column = self.id.clone().unwrap_or_else(|| row[0].0.clone());
        let Some(id_value) = row.iter().find(|(column, _)| *column == id_column).map(|(_, v)| v)
        else {
            return Err(Problem::at(origin, format!("there is no id column {id_column:?}")));
        };
        let id = text_of(id_value);
        for wanted in self.text.iter().chain(&self.metadata) {
            if !row.iter().any(|(column, _)| column == wanted) {
                return Err(Problem {
                    origin,
                    id: Some(id),
                    cause: format!("no column {wanted:?}"),
                });
            }
        }
        let is_text = |column: &String| {
            *column != id_column
                && !self.metadata.contains(column)
                && (self.text.is_empty() || self.text.contains(column))
        };
        if let Some(survey) = &self.survey {
            let text_columns: Vec<(&str, &Value)> = row
                .iter()
                .filter(|(column, _)| is_text(column))
                .map(|(column, value)| (column.as_str(), value))
                .collect();
            survey.observe(&text_columns);
        }
        let mut parts = Vec::new();
        let mut metadata = Map::new();
        for (column, value) in row {
            if self.metadata.contains(&column) && column != id_column {
                metadata.insert(column, value);
            } else if is_text(&column) {
                parts.push(text_of(&value));
            }
        }
        Ok(Incoming {
            id,
            content: Content::Text(parts.join(" ")),
            metadata: (!metadata.is_empty()).then_some(metadata),
            origin,
        })
    }
}

/// A JSON value as text: strings as they are, `null` as nothing, the rest as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The items of a CSV, TSV, JSON or JSON lines input.
pub type Items = Box<dyn Iterator<Item = Result<Incoming, Problem>> + Send>;

/// Reads a table of items in `format` (detected when `None`) from `reader`.
pub fn read_table(
    mut reader: Box<dyn BufRead + Send>,
    format: Option<Format>,
    columns: Columns,
) -> std::io::Result<Items> {
    let format = match format {
        Some(format) => format,
        None => Format::detect(reader.fill_buf()?),
    };
    Ok(match format {
        Format::Csv => delimited(reader, b',', columns),
        Format::Tsv => delimited(reader, b'\t', columns),
        Format::Jsonl => json_lines(reader, columns),
        Format::Json => json_array(reader, columns),
    })
}

fn delimited(reader: Box<dyn BufRead + Send>, delimiter: u8, columns: Columns) -> Items {
    let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(reader);
    let header: Result<Vec<String>, Problem> = csv
        .byte_headers()
        .map_err(|error| Problem::at("line 1", error.to_string()))
        .and_then(|header| {
            header
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    let name = name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name);
                    String::from_utf8(name.to_vec()).map_err(|error| {
                        Problem::at(
                            "line 1",
                            format!(
                                "column {} of the header is not valid UTF-8: {error}",
                                index + 1
                            ),
                        )
                    })
                })
                .collect()
        });
    let header = match header {
        Ok(header) => header,
        Err(problem) => return Box::new(std::iter::once(Err(problem))),
    };
    Box::new(csv.into_byte_records().map(move |record| {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, csv::Position::line);
            Problem::at(format!("line {line}"), error.to_string())
        })?;
        let origin = format!("line {}", record.position().map_or(0, csv::Position::line));
        if record.len() != header.len() {
            // The id, when the row reaches its column, says which item it is.
            let id_index = columns
                .id
                .as_ref()
                .map_or(Some(0), |id| header.iter().position(|name| name == id));
            let id = id_index
                .and_then(|index| record.get(index))
                .and_then(|field| std::str::from_utf8(field).ok())
                .map(str::to_owned);
            return Err(Problem {
                origin,
                id,
                cause: format!(
                    "the row has {} columns; the header has {}",
                    record.len(),
                    header.len()
                ),
            });
        }
        let mut row = Vec::with_capacity(header.len());
        for (name, field) in header.iter().zip(&record) {
            let text = std::str::from_utf8(field).map_err(|error| {
                Problem::at(
                    origin.clone(),
                    format!(
                        "column {name:?} is not valid UTF-8 (invalid byte at offset {} of the field)",
                        error.valid_up_to()
                    ),
                )
            })?;
            row.push((name.clone(), Value::String(text.to_owned())));
        }
        columns.split(origin, row)
    }))
}

fn object_row(origin: &str, value: Value) -> Result<Vec<(String, Value)>, Problem> {
    match value {
        Value::Object(object) => Ok(object.into_iter().collect()),
        other => Err(Problem::at(origin, format!("expected a JSON object, found {other}"))),
    }
}

fn json_lines(reader: Box<dyn BufRead + Send>, columns: Columns) -> Items {
    let mut lines = reader.split(b'\n').enumerate();
    Box::new(std::iter::from_fn(move || loop {
        let (index, line) = lines.next()?;
        let origin = format!("line {}", index + 1);
        let line = match line {
            Ok(line) => line,
            Err(error) => return Some(Err(Problem::at(origin, error.to_string()))),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text,
            Err(error) => {
                return Some(Err(Problem::at(
                    origin,
                    format!("invalid UTF-8 at byte {} of the line", error.valid_up_to()),
                )))
            }
        };
        return Some(
            serde_json::from_str::<Value>(text)
                .map_err(|error| Problem::at(origin.clone(), format!("malformed JSON: {error}")))
                .and_then(|value| object_row(&origin, value))
                .and_then(|row| columns.split(origin.clone(), row)),
        );
    }))
}

fn json_array(mut reader: Box<dyn BufRead + Send>, columns: Columns) -> Items {
    let mut bytes = Vec::new();
    if let Err(error) = reader.read_to_end(&mut bytes) {
        return Box::new(std::iter::once(Err(Problem::at("input", error.to_string()))));
    }
    let values = match serde_json::from_slice::<Vec<Value>>(&bytes) {
        Ok(values) => values,
        Err(error) => {
            return Box::new(std::iter::once(Err(Problem::at(
                format!("line {}", error.line()),
                format!("malformed JSON: {error}"),
            ))))
        }
    };
    Box::new(values.into_iter().enumerate().map(move |(index, value)| {
        let origin = format!("item {}", index + 1);
        object_row(&origin, value).and_then(|row| columns.split(origin, row))
    }))
}

/// How [`read_files`] reads files.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// Take each file's bytes as they are (pictures, sounds). Default: extract text.
    pub binary: bool,
    /// How text is extracted: Markdown, HTML and PDF by their extension, other files as plain
    /// text in whatever encoding they are in; binary and oversized files are problems.
    pub extract: emb_docs::extract::ExtractOptions,
}

/// Every file under `folder` whose path relative to it matches `pattern` (a glob such as
/// `**/*.md`), in path order; the id of each is its relative path with `/` separators. Each is
/// its extracted text (see [`FileOptions`]), or with `binary` its bytes as they are.
pub fn read_files(folder: &Path, pattern: &str, options: &FileOptions) -> Result<Items, Problem> {
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|error| Problem::at(pattern, format!("not a valid glob: {error}")))?
        .compile_matcher();
    if !folder.is_dir() {
        return Err(Problem::at(folder.display().to_string(), "not a folder"));
    }
    let folder = folder.to_owned();
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    for entry in walkdir::WalkDir::new(&folder).sort_by_file_name() {
        let entry =
            entry.map_err(|error| Problem::at(folder.display().to_string(), error.to_string()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(&folder) else { continue };
        let id = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if matcher.is_match(&id) {
            paths.push((id, entry.path().to_owned()));
        }
    }
    let options = options.clone();
    Ok(Box::new(paths.into_iter().map(move |(id, path)| {
        let origin = path.display().to_string();
        if options.binary {
            let bytes = std::fs::read(&path)
                .map_err(|error| Problem::at(origin.clone(), error.to_string()))?;
            return Ok(Incoming { id, content: Content::Binary(bytes), metadata: None, origin });
        }
        let text = crate::documents::read_document(&path, &options.extract)
            .map_err(|cause| Problem { origin: origin.clone(), id: Some(id.clone()), cause })?;
        Ok(Incoming { id, content: Content::Text(text), metadata: None, origin })
    })))
}

/// An IDX file's dimensions and its unsigned-byte data (MNIST's format; gzip or not).
fn read_idx_file(path: &Path) -> Result<(Vec<usize>, Vec<u8>), Problem> {
    let origin = path.display().to_string();
    let problem = |cause: String| Problem::at(origin.clone(), cause);
    let raw = std::fs::read(path).map_err(|error| problem(error.to_string()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut unpacked)
            .map_err(|error| problem(format!("not a complete gzip file: {error}")))?;
        unpacked
    } else {
        raw
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(problem(
            "not an IDX file of unsigned bytes (MNIST's format: it starts 00 00 08)".into(),
        ));
    }
    let count = usize::from(bytes[3]);
    let header = 4 + 4 * count;
    if bytes.len() < header {
        return Err(problem("the IDX header is cut short".into()));
    }
    let dimensions: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected: usize = dimensions.iter().product();
    if bytes.len() - header != expected {
        return Err(problem(format!(
            "the IDX header says {dimensions:?} ({expected} bytes) but {} bytes follow it",
            bytes.len() - header
        )));
    }
    Ok((dimensions, bytes[header..].to_vec()))
}

/// The pictures of an IDX file of grey images (MNIST, Fashion-MNIST: `[count, rows, columns]`
/// bytes, gzip or not), each as a PNG item whose id is its index; with `labels` (an IDX file of
/// one byte per picture) each item's metadata is `{"label": "n"}`.
pub fn read_idx(images: &Path, labels: Option<&Path>) -> Result<Items, Problem> {
    let (dimensions, pixels) = read_idx_file(images)?;
    let [count, rows, columns] = dimensions[..] else {
        return Err(Problem::at(
            images.display().to_string(),
            format!("the IDX file holds {dimensions:?}, not [pictures, rows, columns]"),
        ));
    };
    let labels = match labels {
        Some(path) => {
            let (label_dimensions, values) = read_idx_file(path)?;
            if label_dimensions != [count] {
                return Err(Problem::at(
                    path.display().to_string(),
                    format!("{label_dimensions:?} labels for {count} pictures"),
                ));
            }
            Some(values)
        }
        None => None,
    };
    let origin = images.display().to_string();
    let size = rows * columns;
    Ok(Box::new((0..count).map(move |index| {
        let picture = &pixels[index * size..(index + 1) * size];
        let png = emb_models::pictures::encode_grey_png(columns, rows, picture)
            .map_err(|error| Problem::at(format!("{origin} picture {index}"), error.to_string()))?;
        let metadata = labels.as_ref().map(|labels| {
            let mut metadata = Map::new();
            // A class, not a quantity: a string, so maps colour it by category.
            metadata.insert("label".into(), Value::from(labels[index].to_string()));
            metadata
        });
        Ok(Incoming {
            id: index.to_string(),
            content: Content::Binary(png),
            metadata,
            origin: format!("{origin} picture {index}"),
        })
    })))
}

/// The rows of `query` run on `connection` (first column the id, the rest the text, or as
/// `columns` says).
pub fn read_sql(
    connection: &rusqlite::Connection,
    query: &str,
    columns: Columns,
) -> Result<Items, Problem> {
    let fail = |error: rusqlite::Error| Problem::at("--sql", error.to_string());
    let mut statement = connection.prepare(query).map_err(fail)?;
    let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let mut rows = statement.query([]).map_err(fail)?;
    let mut items = Vec::new();
    let mut number = 0;
    while let Some(row) = rows.next().map_err(fail)? {
        number += 1;
        let mut values = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            let value = match row.get_ref(index).map_err(fail)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(integer) => Value::from(integer),
                rusqlite::types::ValueRef::Real(real) => Value::from(real),
                rusqlite::types::ValueRef::Text(text) | rusqlite::types::ValueRef::Blob(text) => {
                    Value::String(String::from_utf8_lossy(text).into_owned())
                }
            };
            values.push((name.clone(), value));
        }
        items.push(columns.split(format!("row {number}"), values));
    }
    Ok(Box::new(items.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(
        input: &str,
        format: Option<Format>,
        columns: Columns,
    ) -> Vec<Result<Incoming, Problem>> {
        read_table(Box::new(std::io::Cursor::new(input.as_bytes().to_vec())), format, columns)
            .unwrap()
            .collect()
    }

    #[test]
    fn detects_formats() {
        assert_eq!(Format::detect(b"  [{\"id\":1}]"), Format::Json);
        assert_eq!(Format::detect(b"{\"id\":1}\n"), Format::Jsonl);
        assert_eq!(Format::detect(b"id\ttext\n1\tx"), Format::Tsv);
        assert_eq!(Format::detect(b"id,text\n1,x"), Format::Csv);
    }

    #[test]
    fn first_column_is_the_id_and_the_rest_the_text() {
        let items = table(
            "\u{feff}id,title,body\n1,Hello,world\n",
            None,
            Columns { id: Some("id".into()), ..Columns::default() },
        );
        let item = items[0].as_ref().unwrap();
        assert_eq!(
            (item.id.as_str(), item.text().unwrap(), item.origin.as_str()),
            ("1", "Hello world", "line 2")
        );
        let items = table(
            "{\"id\": 7, \"text\": \"seven\", \"n\": 2}\n\n{\"id\": \"b\", \"text\": null}",
            None,
            Columns::default(),
        );
        assert_eq!(items[0].as_ref().unwrap().text(), Some("seven 2"));
        assert_eq!(items[1].as_ref().unwrap().id, "b");
        assert_eq!(items[1].as_ref().unwrap().origin, "line 3");
    }

    #[test]
    fn named_columns_split_text_from_metadata() {
        let columns = Columns {
            id: Some("key".into()),
            text: vec!["body".into()],
            metadata: vec!["year".into()],
            survey: None,
        };
        let items = table(
            "[{\"title\": \"T\", \"key\": \"k1\", \"body\": \"B\", \"year\": 2020}]",
            None,
            columns.clone(),
        );
        let item = items[0].as_ref().unwrap();
        assert_eq!((item.id.as_str(), item.text().unwrap()), ("k1", "B"));
        assert_eq!(item.metadata.as_ref().unwrap()["year"], 2020);
        let missing = table("key\tbody\nk\tb\n", None, columns);
        assert!(missing[0].as_ref().unwrap_err().cause.contains("\"year\""));
    }

    #[test]
    fn bad_rows_say_where() {
        let items = table("id,text\n1,a\n2\n3,c\n", None, Columns::default());
        assert!(items[0].is_ok() && items[2].is_ok());
        let problem = items[1].as_ref().unwrap_err();
        assert_eq!(problem.origin, "line 3");
        assert!(problem.cause.contains("1 columns; the header has 2"), "{problem}");
        assert_eq!(
            problem.to_string(),
            "line 3 (id \"2\"): the row has 1 columns; the header has 2"
        );
        // A named id column the short row does not reach leaves the id unknown.
        let columns = Columns { id: Some("key".into()), ..Columns::default() };
        let items = table(
            "text,key
short
",
            None,
            columns,
        );
        assert_eq!(items[0].as_ref().unwrap_err().id, None);

        let items =
            table("{\"id\": 1, \"text\": \"a\"}\n{\"id\": 2, \"te\n", None, Columns::default());
        assert_eq!(items[1].as_ref().unwrap_err().origin, "line 2");
        assert!(items[1].as_ref().unwrap_err().cause.starts_with("malformed JSON"));
    }

    #[test]
    fn a_survey_names_the_text_columns_and_finds_labels() {
        let survey = ColumnSurvey::default();
        let mut input = String::new();
        for index in 0..20 {
            let label = ["networking", "storage", "text"][index % 3];
            let line = serde_json::json!({
                "id": index,
                "text": format!("paragraph number {index} about things"),
                "label": label,
                "year": 2000 + index,
            });
            input.push_str(&line.to_string());
            input.push('\n');
        }
        let columns = Columns { survey: Some(survey.clone()), ..Columns::default() };
        let items = table(&input, None, columns);
        assert!(items[0].as_ref().unwrap().text().unwrap().ends_with(" networking 2000"));
        let report = survey.report();
        assert_eq!(report.text, ["text", "label", "year"]);
        let flagged: Vec<&str> =
            report.label_like.iter().map(|(column, _)| column.as_str()).collect();
        assert_eq!(flagged, ["label", "year"], "{report:?}");
        assert!(report.label_like[0].1.contains("3 different in 20 rows"), "{report:?}");

        // One text column is the text, whatever it holds.
        let survey = ColumnSurvey::default();
        let columns = Columns { survey: Some(survey.clone()), ..Columns::default() };
        table("id,label\n1,a\n2,a\n3,a\n4,a\n5,a\n6,a\n", None, columns);
        assert_eq!(survey.report().label_like, []);
    }

    /// A small deterministic generator (xorshift64*), so a failing case repeats.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }
    }

    /// `input` with a few random edits: bytes changed, put in, taken out, repeated, cut off.
    fn mutated(random: &mut Random, input: &[u8]) -> Vec<u8> {
        const SPECIAL: &[u8] = b"\"',\t\n\r{}[]:\\\x00\xEF\xBB\xBF\xFF\xC3";
        let mut bytes = input.to_vec();
        for _ in 0..=random.below(4) {
            let at = random.below(bytes.len() + 1);
            let byte = if random.below(2) == 0 {
                SPECIAL[random.below(SPECIAL.len())]
            } else {
                random.next() as u8
            };
            match random.below(5) {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                2 => {
                    let end = (at + random.below(40)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    bytes.splice(at..at, copy);
                }
                3 => bytes.truncate(at),
                _ => bytes.insert(at, byte),
            }
        }
        bytes
    }

    /// Reads `input` as `format`, checking that the reader ends, and that every problem names
    /// a line of the input.
    fn check_reader(input: &[u8], format: Format, columns: &Columns) -> Result<(), String> {
        // Lines as CSV counts them: a lone carriage return ends one too.
        let lines = 1 + input
            .iter()
            .enumerate()
            .filter(|&(at, &byte)| {
                byte == b'\n' || (byte == b'\r' && input.get(at + 1) != Some(&b'\n'))
            })
            .count();
        let mut items = read_table(
            Box::new(std::io::Cursor::new(input.to_vec())),
            Some(format),
            columns.clone(),
        )
        .map_err(|error| error.to_string())?;
        // Each item or problem takes at least one line (or line break) of the input.
        for _ in 0..=lines {
            let Some(item) = items.next() else { return Ok(()) };
            if let Err(problem) = item {
                let line = problem
                    .origin
                    .strip_prefix("line ")
                    .and_then(|number| number.parse::<usize>().ok())
                    .ok_or_else(|| format!("the problem names no line: {problem}"))?;
                if !(1..=lines).contains(&line) {
                    return Err(format!("line {line} of {lines}: {problem}"));
                }
            }
        }
        match items.next() {
            None => Ok(()),
            Some(_) => Err(format!("more than {lines} items from {lines} lines")),
        }
    }

    /// JSON lines and CSV / TSV of random and mutated bytes: the readers never panic or hang,
    /// and every problem names a line.
    #[test]
    fn readers_survive_random_and_mutated_input() {
        let seeds: [&[u8]; 4] = [
                b"{\"id\": 1, \"text\": \"a\", \"year\": 2020}\n\n{\"id\": \"b\", \"text\": null, \"n\": [1, {\"x\": 2}]}\r\n{\"id\": \"\\u00e9\", \"text\": \"\\\"q\\\"\"}\n",
                b"\xEF\xBB\xBFid,text,year\n1,\"a, quoted \"\"text\"\"\",2020\r\n2,\"multi\nline\",\n3,\xC3\xA9t\xC3\xA9,1999\n",
            b"id\ttext\tyear\n1\ta\t2020\n2\t\"b\"\t\n",
            b"id,text\n",
        ];
        let columns = [
            Columns::default(),
            Columns {
                id: Some("id".into()),
                text: vec!["text".into()],
                metadata: vec!["year".into()],
                survey: Some(ColumnSurvey::default()),
            },
        ];
        let case = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reached = std::sync::Arc::clone(&case);
        let worker = std::thread::spawn(move || {
            let mut random = Random(0x0DDB_A115_5EED_0007);
            for case in 0..40_000 {
                reached.store(case, std::sync::atomic::Ordering::Relaxed);
                let input = if case % 5 == 0 {
                    (0..random.below(200)).map(|_| random.next() as u8).collect()
                } else {
                    let seed = seeds[random.below(seeds.len())];
                    mutated(&mut random, seed)
                };
                let format = [Format::Jsonl, Format::Csv, Format::Tsv][case % 3];
                let columns = &columns[random.below(2)];
                let checked = std::panic::catch_unwind(|| check_reader(&input, format, columns));
                let failure = match checked {
                    Ok(Ok(())) => continue,
                    Ok(Err(failure)) => failure,
                    Err(_) => "panicked".to_owned(),
                };
                panic!(
                    "case {case} ({format:?}): {failure}; input {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        });
        let started = std::time::Instant::now();
        while !worker.is_finished() {
            let case = case.load(std::sync::atomic::Ordering::Relaxed);
            assert!(started.elapsed().as_secs() < 120, "a reader hangs on case {case}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    }
}
