//! `emb collections`: list, inspect, delete, export and import collections.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use emb::{CollectionInfo, Store};

use crate::cli::{CollectionsCommand, ExportFormat};
use crate::output::{human_size, table, Printer};

pub fn run(command: CollectionsCommand) -> Result<()> {
    match command {
        CollectionsCommand::List { json, database } => {
            list(&super::open_database(&database)?, json)
        }
        CollectionsCommand::Info { name, json, database } => {
            info(&super::open_database(&database)?, &name, json)
        }
        CollectionsCommand::Delete { name, database } => {
            let mut database = super::open_database(&database)?;
            database.require(&name)?;
            database.delete_collection(&name)?;
            eprintln!("deleted collection {name:?}");
            Ok(())
        }
        CollectionsCommand::Export { name, format, output, database } => {
            export(&super::open_database(&database)?, &name, format, output.as_deref())
        }
        CollectionsCommand::Import { name, input, model, batch_size, database } => {
            let mut database = super::open_database(&database)?;
            let model = model.unwrap_or_else(|| super::model_name(None));
            import(&mut database, &name, &input, &model, batch_size)
        }
    }
}

fn describe(info: &CollectionInfo) -> serde_json::Value {
    serde_json::json!({
        "name": info.name,
        "model": info.model,
        "count": info.count,
        "dimensions": info.dimensions,
        "bytes": info.bytes,
    })
}

fn list(database: &emb::Database, json: bool) -> Result<()> {
    let collections = database.collections()?;
    let mut printer = Printer::new();
    if json {
        for info in &collections {
            printer.json(&describe(info))?;
        }
    } else if collections.is_empty() {
        eprintln!("no collections in {}", database.path().display());
    } else {
        let rows: Vec<Vec<String>> = collections
            .iter()
            .map(|info| {
                vec![
                    info.name.clone(),
                    info.model.clone(),
                    info.count.to_string(),
                    info.dimensions.map_or_else(|| "-".into(), |d| d.to_string()),
                    human_size(info.bytes),
                ]
            })
            .collect();
        for line in table(&["NAME", "MODEL", "ITEMS", "DIMENSIONS", "SIZE"], &rows) {
            printer.line(&line)?;
        }
    }
    printer.finish()?;
    Ok(())
}

fn info(database: &emb::Database, name: &str, json: bool) -> Result<()> {
    let info = database.summary(name)?;
    let mut printer = Printer::new();
    if json {
        printer.json(&describe(&info))?;
    } else {
        printer.line(&format!("name:       {}", info.name))?;
        printer.line(&format!("model:      {}", info.model))?;
        printer.line(&format!("items:      {}", info.count))?;
        printer.line(&format!(
            "dimensions: {}",
            info.dimensions.map_or_else(|| "- (empty)".into(), |d| d.to_string())
        ))?;
        printer.line(&format!("size:       {}", human_size(info.bytes)))?;
        printer.line(&format!("database:   {}", database.path().display()))?;
    }
    printer.finish()?;
    Ok(())
}

/// A writer on `output`, or on standard output.
fn open_output(output: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn record_json(record: &emb::Record, with_vector: bool) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": record.id,
        "content": record.content,
        "metadata": record.metadata.as_deref().map(|text| {
            serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.into()))
        }),
    });
    if with_vector {
        value["embedding"] = serde_json::json!(record.vector);
    }
    value
}

fn export(
    database: &emb::Database,
    name: &str,
    format: ExportFormat,
    output: Option<&Path>,
) -> Result<()> {
    let info = database.summary(name)?;
    let store = database.store();
    match format {
        ExportFormat::Jsonl => {
            let mut out = open_output(output)?;
            store.for_each(name, "", &mut |record| {
                json_line(&mut out, &record_json(&record, true)).map_err(store_error)
            })?;
            out.flush()?;
        }
        ExportFormat::Csv => {
            let mut csv = csv::Writer::from_writer(open_output(output)?);
            let dimensions = info.dimensions.unwrap_or(0);
            let mut header = vec!["id".to_owned(), "content".to_owned(), "metadata".to_owned()];
            header.extend((0..dimensions).map(|index| format!("e{index}")));
            csv.write_record(&header)?;
            store.for_each(name, "", &mut |record| {
                let mut row = vec![
                    record.id,
                    record.content.unwrap_or_default(),
                    record.metadata.unwrap_or_default(),
                ];
                row.extend(record.vector.iter().map(f32::to_string));
                csv.write_record(&row).map_err(store_error)
            })?;
            csv.flush()?;
        }
        ExportFormat::Npy => {
            let Some(path) = output else {
                bail!("npy export needs a file: -o vectors.npy (the ids go beside it, in vectors.jsonl)")
            };
            let dimensions = info.dimensions.unwrap_or(0);
            let mut matrix = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            );
            let ids_path = path.with_extension("jsonl");
            let mut ids = open_output(Some(&ids_path))?;
            matrix.write_all(&npy_header(info.count, dimensions))?;
            store.for_each(name, "", &mut |record| {
                matrix.write_all(&emb::blob::encode(&record.vector)).map_err(store_error)?;
                json_line(&mut ids, &record_json(&record, false)).map_err(store_error)
            })?;
            matrix.flush()?;
            ids.flush()?;
            eprintln!(
                "wrote {} x {dimensions} float32 to {} and the ids to {}",
                info.count,
                path.display(),
                ids_path.display()
            );
        }
    }
    Ok(())
}

/// Writes `value` as one line of JSON.
fn json_line(out: &mut impl Write, value: &serde_json::Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Wraps an error of writing the export so that it can leave the store's visitor.
fn store_error(error: impl std::error::Error + Send + Sync + 'static) -> emb::CoreError {
    emb::CoreError::Store { context: "cannot write the export".into(), source: Box::new(error) }
}

/// The header of a version 1.0 `.npy` file holding a little-endian float32 `rows x columns`
/// matrix, padded to a multiple of 64 bytes as NumPy writes it.
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

fn import(
    database: &mut emb::Database,
    name: &str,
    input: &Path,
    model: &str,
    batch_size: usize,
) -> Result<()> {
    let reader: Box<dyn BufRead> = if input == Path::new("-") {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(input)
                .with_context(|| format!("cannot open {}", input.display()))?,
        ))
    };
    let mut importer = database.importer(name, model)?;
    for (index, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("line {}", index + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        importer.push_json(&line).with_context(|| {
            format!("{} line {}: nothing of its batch was written", input.display(), index + 1)
        })?;
        if importer.pending() >= batch_size {
            importer.flush()?;
        }
    }
    let count = importer.finish()?;
    eprintln!("{name}: imported {count} items");
    Ok(())
}
