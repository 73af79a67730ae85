//! `emb collections`: list, inspect, delete, export and import collections.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use emb::{transfer, CollectionInfo};

use crate::cli::{CollectionsCommand, DatabaseArgs, FileFormat};
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
        CollectionsCommand::Export { name, format, output, overwrite, database } => {
            export(&super::open_database(&database)?, &name, format, output.as_deref(), overwrite)
        }
        CollectionsCommand::Copy { name, from, to, batch_size } => {
            let source = super::open_database(&DatabaseArgs { database: from })?;
            let mut target = super::create_database(&DatabaseArgs { database: Some(to) })?;
            let bar = super::progress_bar(None, "items copied");
            let started = std::time::Instant::now();
            let outcome = source.copy_to(&name, &mut target, batch_size, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let report = outcome?;
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "{name}: {} items copied, {} already there, {} in {} ({:.1} s, {:.0} items/s)",
                report.copied,
                report.skipped,
                report.count,
                target.path().display(),
                seconds,
                (report.copied + report.skipped) as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
        CollectionsCommand::Import { name, input, format, model, batch_size, database } => {
            let mut database = super::create_database(&database)?;
            let model = model.unwrap_or_else(|| super::model_name(None));
            import(&mut database, &name, &input, format, &model, batch_size)
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

fn format_of(format: Option<FileFormat>, path: Option<&Path>) -> Option<transfer::FileFormat> {
    match format {
        Some(FileFormat::Jsonl) => Some(transfer::FileFormat::Jsonl),
        Some(FileFormat::Csv) => Some(transfer::FileFormat::Csv),
        Some(FileFormat::Npy) => Some(transfer::FileFormat::Npy),
        Some(FileFormat::Parquet) => Some(transfer::FileFormat::Parquet),
        None => path.and_then(transfer::FileFormat::from_path),
    }
}

fn export(
    database: &emb::Database,
    name: &str,
    format: Option<FileFormat>,
    output: Option<&Path>,
    overwrite: bool,
) -> Result<()> {
    let format = format_of(format, output).unwrap_or(transfer::FileFormat::Jsonl);
    let Some(path) = output else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if matches!(format, transfer::FileFormat::Npy | transfer::FileFormat::Parquet) {
            bail!("{format:?} export needs a file: -o FILE");
        }
        database.export_stream(name, format, &mut out)?;
        out.flush()?;
        return Ok(());
    };
    let files = database.export(name, format, path, overwrite).map_err(|error| match error {
        emb::Error::WouldOverwrite { .. } => anyhow::anyhow!("{error} (--overwrite)"),
        other => other.into(),
    })?;
    let names: Vec<String> = files.iter().map(|file| file.display().to_string()).collect();
    eprintln!("exported {name} to {}", names.join(" and "));
    Ok(())
}

fn import(
    database: &mut emb::Database,
    name: &str,
    input: &Path,
    format: Option<FileFormat>,
    model: &str,
    batch_size: usize,
) -> Result<()> {
    let format = match format_of(format, Some(input)) {
        Some(format) => format,
        None if input == Path::new("-") => transfer::FileFormat::Jsonl,
        None => bail!(
            "cannot tell the format of {} from its extension: pass --format jsonl|csv|npy|parquet",
            input.display()
        ),
    };
    let count = database
        .import(name, model, input, format, batch_size)
        .with_context(|| format!("cannot import {}", input.display()))?;
    eprintln!("{name}: imported {count} items");
    Ok(())
}
