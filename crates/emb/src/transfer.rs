//! Moving a collection in and out of files: JSON lines, CSV, NumPy `.npy` and Parquet.
//!
//! Every format carries the ids, vectors, content and metadata (`.npy` holds only the matrix, so
//! the rest goes to a JSON lines file beside it), and every one reads back with
//! [`Database::import`], a batch per transaction, a bad row named by its line or row.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use emb_core::store::{Change, Item, Record};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, FloatType};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::{Field, Row};
use serde_json::Value;

use crate::database::parse_metadata;
use crate::sources::Problem;
use crate::{content_hash, Database, Error, Result};

/// A file format for [`Database::export`] and [`Database::import`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// One `{"id", "embedding", "content", "metadata"}` object per line.
    Jsonl,
    /// `id, content, metadata, e0, e1, ...` with a header row.
    Csv,
    /// A float32 matrix (`count x dimensions`); ids, content and metadata in `NAME.jsonl`.
    Npy,
    /// Columns `id`, `content`, `metadata` (strings) and `embedding` (a list of float).
    Parquet,
}

impl FileFormat {
    /// The format a file name's extension names.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            "npy" => Some(Self::Npy),
            "parquet" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// The JSON lines file beside an `.npy` matrix.
pub fn npy_companion(path: &Path) -> PathBuf {
    path.with_extension("jsonl")
}

/// Items read from a file, each with where it was (`line 3`, `row 7`).
type Rows = Box<dyn Iterator<Item = Result<(String, Item), Problem>>>;

/// Rows per Parquet row group.
const ROW_GROUP: usize = 10_000;

const PARQUET_SCHEMA: &str = "message embeddings {
    required binary id (STRING);
    optional binary content (STRING);
    optional binary metadata (STRING);
    required group embedding (LIST) {
        repeated group list {
            required float element;
        }
    }
}";

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Settings { path: path.to_owned(), source }
}

fn file_error(path: &Path, error: impl std::fmt::Display) -> Error {
    io_error(path)(std::io::Error::other(error.to_string()))
}

/// Carries a write error out through the store's visitor.
fn visit_error(error: impl std::fmt::Display) -> emb_core::Error {
    emb_core::Error::Store {
        context: "cannot write the export".into(),
        source: error.to_string().into(),
    }
}

/// One line of a JSON lines export (vectors as float32, printed in their shortest form).
#[derive(serde::Serialize)]
struct ExportLine<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding: Option<&'a [f32]>,
    content: Option<&'a str>,
    metadata: Option<Value>,
}

fn json_line(out: &mut dyn Write, record: &Record, with_vector: bool) -> std::io::Result<()> {
    let line = ExportLine {
        id: &record.id,
        embedding: with_vector.then_some(record.vector.as_slice()),
        content: record.content.as_deref(),
        metadata: record.metadata.as_deref().map(parse_metadata),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// The header of a version 1.0 `.npy` file of a little-endian float32 `rows x columns` matrix,
/// padded to a multiple of 64 bytes as NumPy writes it.
fn npy_header(rows: u64, columns: usize) -> Vec<u8> {
    let mut dictionary =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}");
    let unpadded = 10 + dictionary.len() + 1;
    dictionary.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dictionary.push('\n');
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&(dictionary.len() as u16).to_le_bytes());
    header.extend_from_slice(dictionary.as_bytes());
    header
}

impl Database {
    /// Writes `collection` as JSON lines or CSV to `out`; returns the number of items.
    pub fn export_stream(
        &self,
        collection: &str,
        format: FileFormat,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let info = self.require(collection)?;
        let mut count = 0;
        match format {
            FileFormat::Jsonl => self.store().for_each(collection, "", &mut |record| {
                count += 1;
                json_line(out, &record, true).map_err(visit_error)
            })?,
            FileFormat::Csv => {
                let mut csv = csv::Writer::from_writer(&mut *out);
                let mut header = vec!["id".to_owned(), "content".to_owned(), "metadata".to_owned()];
                header.extend((0..info.dimensions.unwrap_or(0)).map(|index| format!("e{index}")));
                csv.write_record(&header).map_err(|error| Error::Core(visit_error(error)))?;
                self.store().for_each(collection, "", &mut |record| {
                    count += 1;
                    let mut row = vec![
                        record.id,
                        record.content.unwrap_or_default(),
                        record.metadata.unwrap_or_default(),
                    ];
                    row.extend(record.vector.iter().map(f32::to_string));
                    csv.write_record(&row).map_err(visit_error)
                })?;
                csv.flush().map_err(|error| Error::Core(visit_error(error)))?;
            }
            FileFormat::Npy | FileFormat::Parquet => {
                return Err(file_error(Path::new("-"), "npy and parquet exports need a file name"))
            }
        }
        Ok(count)
    }

    /// Writes `collection` to the file `path` in `format`; returns the files written.
    ///
    /// `path` itself is replaced when it exists (it was named). An `.npy` export also writes its
    /// ids, content and metadata to [`npy_companion`]`(path)`, a file that was not named: when
    /// that exists, the export writes nothing and fails, unless `replace_companion` is set.
    pub fn export(
        &self,
        collection: &str,
        format: FileFormat,
        path: &Path,
        replace_companion: bool,
    ) -> Result<Vec<PathBuf>> {
        let create = |path: &Path| File::create(path).map(BufWriter::new).map_err(io_error(path));
        match format {
            FileFormat::Jsonl | FileFormat::Csv => {
                let mut out = create(path)?;
                self.export_stream(collection, format, &mut out)?;
                out.flush().map_err(io_error(path))?;
                Ok(vec![path.to_owned()])
            }
            FileFormat::Npy => {
                let info = self.summary(collection)?;
                let companion = npy_companion(path);
                if companion.exists() && !replace_companion {
                    return Err(Error::WouldOverwrite {
                        path: companion,
                        why: "an .npy export writes its ids, content and metadata there",
                    });
                }
                let (mut matrix, mut ids) = (create(path)?, create(&companion)?);
                matrix
                    .write_all(&npy_header(info.count, info.dimensions.unwrap_or(0)))
                    .map_err(io_error(path))?;
                self.store().for_each(collection, "", &mut |record| {
                    matrix
                        .write_all(&emb_core::blob::encode(&record.vector))
                        .map_err(visit_error)?;
                    json_line(&mut ids, &record, false).map_err(visit_error)
                })?;
                matrix.flush().map_err(io_error(path))?;
                ids.flush().map_err(io_error(&companion))?;
                Ok(vec![path.to_owned(), companion])
            }
            FileFormat::Parquet => {
                self.export_parquet(collection, create(path)?).map_err(|error| match error {
                    Error::Core(emb_core::Error::Store { source, .. }) => file_error(path, source),
                    other => other,
                })?;
                Ok(vec![path.to_owned()])
            }
        }
    }

    fn export_parquet(&self, collection: &str, out: BufWriter<File>) -> Result<()> {
        self.require(collection)?;
        let schema = Arc::new(
            parquet::schema::parser::parse_message_type(PARQUET_SCHEMA).map_err(visit_error)?,
        );
        let properties =
            Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
        let mut writer = SerializedFileWriter::new(out, schema, properties).map_err(visit_error)?;
        let mut rows: Vec<Record> = Vec::with_capacity(ROW_GROUP);
        let mut write_group = |rows: &mut Vec<Record>| -> Result<(), emb_core::Error> {
            write_row_group(&mut writer, rows).map_err(visit_error)?;
            rows.clear();
            Ok(())
        };
        self.store().for_each(collection, "", &mut |record| {
            rows.push(record);
            if rows.len() == ROW_GROUP {
                write_group(&mut rows)?;
            }
            Ok(())
        })?;
        if !rows.is_empty() {
            write_group(&mut rows)?;
        }
        writer.close().map_err(visit_error)?;
        Ok(())
    }

    /// Reads the items of the file `path` (in `format`) with their vectors into `collection`,
    /// created for `model` if missing, `batch_size` items per transaction; returns how many.
    /// A bad row stops the import with its line or row named; earlier batches stay written.
    pub fn import(
        &mut self,
        collection: &str,
        model: &str,
        path: &Path,
        format: FileFormat,
        batch_size: usize,
    ) -> Result<u64> {
        let rows: Rows = match format {
            FileFormat::Jsonl => jsonl_rows(open(path)?),
            FileFormat::Csv => csv_rows(open(path)?),
            FileFormat::Npy => npy_rows(path)?,
            FileFormat::Parquet => parquet_rows(path)?,
        };
        if self.header(collection)?.is_none() {
            self.store_mut().create_collection(collection, model)?;
        }
        let mut dimensions = self.require(collection)?.dimensions;
        let mut batch = Vec::with_capacity(batch_size);
        let mut written = 0;
        let mut rows = rows.peekable();
        while let Some(row) = rows.next() {
            let (origin, item) =
                row.map_err(|problem| Error::Input { problem, stored: written })?;
            let expected = *dimensions.get_or_insert(item.vector.len());
            if item.vector.len() != expected {
                let cause =
                    emb_core::Error::DimensionMismatch { expected, received: item.vector.len() };
                let problem = Problem { origin, id: Some(item.id), cause: cause.to_string() };
                return Err(Error::Input { problem, stored: written });
            }
            batch.push(Change::Upsert(item));
            if batch.len() >= batch_size.max(1) || rows.peek().is_none() {
                self.store_mut().apply(collection, &batch)?;
                written += batch.len() as u64;
                batch.clear();
            }
        }
        self.sync_index(collection, &|_, _| {})?;
        Ok(written)
    }
}

fn write_row_group(
    writer: &mut SerializedFileWriter<BufWriter<File>>,
    rows: &[Record],
) -> parquet::errors::Result<()> {
    let mut group = writer.next_row_group()?;
    let strings = |pick: &dyn Fn(&Record) -> Option<&str>| -> (Vec<ByteArray>, Vec<i16>) {
        let mut values = Vec::new();
        let mut levels = Vec::with_capacity(rows.len());
        for record in rows {
            match pick(record) {
                Some(text) => {
                    values.push(ByteArray::from(text));
                    levels.push(1);
                }
                None => levels.push(0),
            }
        }
        (values, levels)
    };
    let mut column = 0;
    while let Some(mut writer) = group.next_column()? {
        match column {
            0 => {
                let ids: Vec<ByteArray> =
                    rows.iter().map(|record| ByteArray::from(record.id.as_str())).collect();
                writer.typed::<ByteArrayType>().write_batch(&ids, None, None)?;
            }
            1 | 2 => {
                let (values, levels) = if column == 1 {
                    strings(&|record| record.content.as_deref())
                } else {
                    strings(&|record| record.metadata.as_deref())
                };
                writer.typed::<ByteArrayType>().write_batch(&values, Some(&levels), None)?;
            }
            _ => {
                // One list per row: the first element starts a row (repetition 0), the rest
                // continue it (1); an empty vector is an empty list (definition 0).
                let mut values = Vec::new();
                let (mut definitions, mut repetitions) = (Vec::new(), Vec::new());
                for record in rows {
                    if record.vector.is_empty() {
                        definitions.push(0);
                        repetitions.push(0);
                    }
                    for (index, &value) in record.vector.iter().enumerate() {
                        values.push(value);
                        definitions.push(1);
                        repetitions.push(i16::from(index > 0));
                    }
                }
                writer.typed::<FloatType>().write_batch(
                    &values,
                    Some(&definitions),
                    Some(&repetitions),
                )?;
            }
        }
        writer.close()?;
        column += 1;
    }
    group.close()?;
    Ok(())
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    Ok(Box::new(BufReader::new(File::open(path).map_err(io_error(path))?)))
}

fn metadata_text(value: Option<Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    }
}

/// An item read from a file: its content hash is that of its content, as if emb had embedded it.
fn item(id: String, vector: Vec<f32>, content: Option<String>, metadata: Option<String>) -> Item {
    Item {
        content_hash: content_hash(content.as_deref().unwrap_or_default()),
        id,
        vector,
        content,
        content_blob: None,
        metadata,
    }
}

fn id_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn jsonl_rows(reader: Box<dyn BufRead>) -> Rows {
    #[derive(serde::Deserialize)]
    struct Line {
        id: Value,
        embedding: Vec<f32>,
        #[serde(default)]
        content: Option<String>,
        #[serde(default)]
        metadata: Option<Value>,
    }
    Box::new(reader.lines().enumerate().filter_map(|(index, line)| {
        let origin = format!("line {}", index + 1);
        let line = match line {
            Ok(line) if line.trim().is_empty() => return None,
            Ok(line) => line,
            Err(error) => return Some(Err(Problem { origin, id: None, cause: error.to_string() })),
        };
        Some(
            serde_json::from_str::<Line>(&line)
                .map(|line| {
                    let item = item(
                        id_text(&line.id),
                        line.embedding,
                        line.content,
                        metadata_text(line.metadata),
                    );
                    (origin.clone(), item)
                })
                .map_err(|error| Problem {
                    origin,
                    id: None,
                    cause: format!("malformed line: {error}"),
                }),
        )
    }))
}

fn csv_rows(reader: Box<dyn BufRead>) -> Rows {
    let mut csv = csv::Reader::from_reader(reader);
    let header: Vec<String> = match csv.headers() {
        Ok(header) => header.iter().map(str::to_owned).collect(),
        Err(error) => {
            return Box::new(std::iter::once(Err(Problem {
                origin: "line 1".into(),
                id: None,
                cause: error.to_string(),
            })))
        }
    };
    let find = |name: &str| header.iter().position(|column| column == name);
    let (id, content, metadata) = (find("id"), find("content"), find("metadata"));
    let dimensions: Vec<usize> = (0..).map_while(|index| find(&format!("e{index}"))).collect();
    Box::new(csv.into_records().map(move |record| {
        let record = record.map_err(|error| Problem {
            origin: "csv".into(),
            id: None,
            cause: error.to_string(),
        })?;
        let origin = format!("line {}", record.position().map_or(0, csv::Position::line));
        let field = |column: Option<usize>| {
            column.and_then(|column| record.get(column)).filter(|text| !text.is_empty())
        };
        let Some(item_id) = field(id) else {
            return Err(Problem {
                origin,
                id: None,
                cause: "no id (the header needs an id column)".into(),
            });
        };
        let vector = dimensions
            .iter()
            .map(|&column| record.get(column).unwrap_or_default().parse::<f32>())
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|error| Problem {
                origin: origin.clone(),
                id: Some(item_id.to_owned()),
                cause: format!("not a number: {error}"),
            })?;
        let item = item(
            item_id.to_owned(),
            vector,
            field(content).map(str::to_owned),
            field(metadata).map(str::to_owned),
        );
        Ok((origin, item))
    }))
}

fn npy_rows(path: &Path) -> Result<Rows> {
    let mut file = BufReader::new(File::open(path).map_err(io_error(path))?);
    let mut prefix = [0_u8; 10];
    file.read_exact(&mut prefix).map_err(io_error(path))?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Err(file_error(path, "not a NumPy .npy file"));
    }
    // Version 1 has a 2-byte header length; versions 2 and 3 a 4-byte one.
    let length = if prefix[6] == 1 {
        usize::from(u16::from_le_bytes([prefix[8], prefix[9]]))
    } else {
        let mut more = [0_u8; 2];
        file.read_exact(&mut more).map_err(io_error(path))?;
        u32::from_le_bytes([prefix[8], prefix[9], more[0], more[1]]) as usize
    };
    let mut header = vec![0_u8; length];
    file.read_exact(&mut header).map_err(io_error(path))?;
    let header = String::from_utf8_lossy(&header);
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return Err(file_error(
            path,
            format!("only C-order little-endian float32 matrices are read, not {}", header.trim()),
        ));
    }
    let shape: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|shape| shape.split(',').filter_map(|part| part.trim().parse().ok()).collect())
        .unwrap_or_default();
    let [rows, columns] = shape[..] else {
        return Err(file_error(path, format!("expected a 2-d matrix, found shape {shape:?}")));
    };
    let companion = npy_companion(path);
    let mut ids = open(&companion)?.lines();
    let mut row = 0;
    Ok(Box::new(std::iter::from_fn(move || {
        if row == rows {
            return None;
        }
        row += 1;
        let origin = format!("row {row}");
        let mut bytes = vec![0_u8; columns * 4];
        if let Err(error) = file.read_exact(&mut bytes) {
            return Some(Err(Problem {
                origin,
                id: None,
                cause: format!("the matrix ends early: {error}"),
            }));
        }
        let vector = emb_core::blob::decode(&bytes).unwrap_or_default();
        let Some(Ok(line)) = ids.next() else {
            return Some(Err(Problem {
                origin,
                id: None,
                cause: format!("{} has no line for this row", companion.display()),
            }));
        };
        Some(
            serde_json::from_str::<Value>(&line)
                .map_err(|error| Problem {
                    origin: origin.clone(),
                    id: None,
                    cause: format!("{}: {error}", companion.display()),
                })
                .map(|mut value| {
                    let item = item(
                        id_text(&value["id"]),
                        vector,
                        value["content"].as_str().map(str::to_owned),
                        metadata_text(Some(value["metadata"].take())),
                    );
                    (origin.clone(), item)
                }),
        )
    })))
}

fn parquet_rows(path: &Path) -> Result<Rows> {
    let reader = SerializedFileReader::new(File::open(path).map_err(io_error(path))?)
        .map_err(|error| file_error(path, error))?;
    let rows: Vec<_> =
        reader.get_row_iter(None).map_err(|error| file_error(path, error))?.collect();
    Ok(Box::new(rows.into_iter().enumerate().map(|(index, row)| {
        let origin = format!("row {}", index + 1);
        let row = row.map_err(|error| Problem {
            origin: origin.clone(),
            id: None,
            cause: error.to_string(),
        })?;
        match parquet_item(&row) {
            Ok(item) => Ok((origin, item)),
            Err(cause) => Err(Problem { origin, id: None, cause }),
        }
    })))
}

/// An item from a Parquet row with columns `id`, `embedding` (or `vector`), and optionally
/// `content` and `metadata`, as pandas or pyarrow write them too.
fn parquet_item(row: &Row) -> Result<Item, String> {
    let mut id = None;
    let mut vector = None;
    let (mut content, mut metadata) = (None, None);
    for (name, field) in row.get_column_iter() {
        match (name.as_str(), field) {
            ("id", Field::Str(text)) => id = Some(text.clone()),
            ("id", Field::Long(number)) => id = Some(number.to_string()),
            ("id", Field::Int(number)) => id = Some(number.to_string()),
            ("embedding" | "vector", Field::ListInternal(list)) => {
                vector = Some(
                    list.elements()
                        .iter()
                        .map(|element| match element {
                            Field::Float(value) => Ok(*value),
                            Field::Double(value) => Ok(*value as f32),
                            other => Err(format!("the embedding holds {other}, not numbers")),
                        })
                        .collect::<Result<Vec<f32>, String>>()?,
                );
            }
            ("content", Field::Str(text)) => content = Some(text.clone()),
            ("metadata", Field::Str(text)) => metadata = Some(text.clone()),
            _ => {}
        }
    }
    let id = id.ok_or("no id column (a string or integer)")?;
    let vector = vector.ok_or("no embedding column (a list of float)")?;
    Ok(item(id, vector, content, metadata))
}

/// What [`Database::copy_to`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Items written to the target.
    pub copied: u64,
    /// Items the target already held unchanged (from an earlier, interrupted copy).
    pub skipped: u64,
    /// Items in the collection, in both databases at the end.
    pub count: u64,
}

impl Database {
    /// Copies `collection` from this database to `target` (SQLite to PostgreSQL or back, or
    /// between two of either), streaming `batch_size` items per transaction. Items the target
    /// already holds with the same content and metadata are skipped, so an interrupted copy
    /// resumes where it stopped. At the end both databases must count the same items.
    /// `progress(done, total)` hears how far it has got.
    pub fn copy_to(
        &self,
        collection: &str,
        target: &mut Database,
        batch_size: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<CopyReport> {
        if self.path() == target.path() {
            return Err(Error::Unsupported(format!(
                "{} is both the source and the target of the copy",
                self.path().display()
            )));
        }
        let source = self.summary(collection)?;
        match target.header(collection)? {
            None => target.store_mut().create_collection(collection, &source.model)?,
            Some(existing) => {
                crate::database::check_model(collection, &existing.model, &source.model)?;
                if let (Some(expected), Some(received)) = (existing.dimensions, source.dimensions) {
                    emb_core::distance::check_dimensions(expected, received)?;
                }
            }
        }
        let mut report = CopyReport::default();
        let mut batch: Vec<Record> = Vec::with_capacity(batch_size);
        let mut flush = |batch: &mut Vec<Record>, report: &mut CopyReport| -> Result<()> {
            let ids: Vec<&str> = batch.iter().map(|record| record.id.as_str()).collect();
            let stored = target.store().fingerprints(collection, &ids)?;
            let mut changes = Vec::with_capacity(batch.len());
            for record in batch.drain(..) {
                let hash = record
                    .content_hash
                    .unwrap_or_else(|| content_hash(record.content.as_deref().unwrap_or_default()));
                let unchanged = stored.get(&record.id).is_some_and(|fingerprint| {
                    fingerprint.content_hash == Some(hash)
                        && fingerprint.metadata == record.metadata
                });
                if unchanged {
                    report.skipped += 1;
                    continue;
                }
                changes.push(Change::Upsert(Item {
                    id: record.id,
                    vector: record.vector,
                    content: record.content,
                    content_blob: record.content_blob,
                    content_hash: hash,
                    metadata: record.metadata,
                }));
            }
            if !changes.is_empty() {
                target.store_mut().apply(collection, &changes)?;
                report.copied += changes.len() as u64;
            }
            progress(report.copied + report.skipped, source.count);
            Ok(())
        };
        self.store().for_each(collection, "", &mut |record| {
            batch.push(record);
            if batch.len() >= batch_size.max(1) {
                flush(&mut batch, &mut report).map_err(|error| emb_core::Error::Store {
                    context: format!("copy of {collection:?}"),
                    source: Box::new(error),
                })?;
            }
            Ok(())
        })?;
        flush(&mut batch, &mut report)?;
        target.sync_index(collection, &|_, _| {})?;
        let copied = target.summary(collection)?.count;
        let now = self.summary(collection)?.count;
        if copied != now {
            return Err(Error::Unsupported(format!(
                "after the copy {} holds {copied} items of {collection:?} and {} holds {now}: \
                 the target held items the source does not (delete the collection there and \
                 copy again), or a writer changed the source meanwhile (copy again)",
                target.path().display(),
                self.path().display()
            )));
        }
        report.count = copied;
        Ok(report)
    }
}
