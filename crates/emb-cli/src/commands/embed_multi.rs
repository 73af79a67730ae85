//! `emb embed-multi`: embed many items into a collection.

use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use emb::sources::{self, Columns, Format, Items};

use crate::cli::{EmbedMultiArgs, TableFormat};

pub fn run(arguments: &EmbedMultiArgs) -> Result<()> {
    let mut database = super::create_database(&arguments.database)?;
    let survey = sources::ColumnSurvey::default();
    let columns = Columns {
        id: arguments.id_column.clone(),
        text: arguments.text_column.clone(),
        metadata: arguments.metadata_columns.clone(),
        survey: Some(survey.clone()),
    };
    let (items, total) = open_items(arguments, &database, columns)?;
    let (model, mut embed) =
        super::load_collection_model(&database, &arguments.collection, &arguments.model)?;
    let documents = arguments.chunk.is_some() || arguments.code.is_some();
    if documents {
        // Passages get the model's document prompt (E5's "passage: "), questions its query one.
        embed = emb::retrieve::document_options(&model, &embed);
    }
    let chunker = arguments
        .chunk
        .as_deref()
        .map(|size| chunker(size, arguments, &model, &embed))
        .transpose()?;
    let (items, total) = match &chunker {
        Some(chunker) => (chunker.apply(items), None),
        None => (items, total),
    };
    let options = emb::IngestOptions {
        batch_size: arguments.batch_size,
        store_content: arguments.store,
        prefix: arguments.prefix.clone(),
        prepend: arguments.prepend.clone(),
        // A document that cannot be read is reported and passed over: the rest of a folder
        // goes in. (Pictures and sounds stop the run unless --skip-errors, as they always have.)
        skip_errors: arguments.skip_errors
            || (!arguments.files.is_empty() && !arguments.binary)
            || arguments.code.is_some(),
        max_text_bytes: arguments.max_text_bytes,
        embed,
        sync_index: false,
        ..emb::IngestOptions::default()
    };
    let bar = super::progress_bar(total, "items");
    let started = Instant::now();
    let mut reported = 0;
    let outcome = database.ingest(&arguments.collection, &model, items, &options, &mut |report| {
        for problem in &report.problems[reported..] {
            bar.suspend(|| eprintln!("skipped {problem}"));
        }
        reported = report.problems.len();
        bar.set_position(report.seen());
    });
    bar.finish_and_clear();
    let report = outcome?;
    report_columns(&survey.report(), arguments);
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{}: {} embedded, {} updated, {} unchanged{} ({} items in {seconds:.1} s, {:.0} items/s)",
        arguments.collection,
        report.embedded,
        report.updated,
        report.skipped,
        if report.problems.is_empty() {
            String::new()
        } else {
            format!(", {} bad items skipped", report.problems.len())
        },
        report.seen(),
        report.seen() as f64 / seconds.max(1e-9),
    );
    if let Some(chunker) = &chunker {
        let stale = database.delete_stale_chunks(
            &arguments.collection,
            &arguments.prefix,
            &chunker.chunk_counts(),
        )?;
        if stale > 0 {
            eprintln!("{stale} chunks of documents that have shrunk were deleted");
        }
    }
    super::sync_index(&mut database, &arguments.collection)?;
    if report.truncated > 0 {
        eprintln!(
            "warning: {} texts were longer than the model's maximum length and were truncated \
             (see `emb tokens`)",
            report.truncated
        );
    }
    Ok(())
}

/// Says which columns of a table made the text (llm's rule: every column but the id), and warns
/// about one that looks like a label or a number rather than prose.
fn report_columns(report: &sources::ColumnReport, arguments: &EmbedMultiArgs) {
    if report.text.is_empty() {
        return;
    }
    let quoted = |columns: &[String]| {
        columns.iter().map(|column| format!("{column:?}")).collect::<Vec<_>>().join(", ")
    };
    eprintln!(
        "text from column{} {}",
        if report.text.len() == 1 { "" } else { "s" },
        quoted(&report.text)
    );
    if !arguments.text_column.is_empty() {
        return;
    }
    for (column, seen) in &report.label_like {
        let prose: Vec<String> = report
            .text
            .iter()
            .filter(|other| !report.label_like.iter().any(|(flagged, _)| flagged == *other))
            .cloned()
            .collect();
        let text_hint = if prose.is_empty() {
            String::new()
        } else {
            format!("--text-column {} to embed only the prose, ", prose.join(","))
        };
        eprintln!(
            "warning: column {column:?} looks like a label or a number, not prose ({seen}), and \
             was embedded as part of the text: pass {text_hint}--metadata-columns {column} to \
             keep it as metadata"
        );
    }
}

/// The chunker `--chunk SIZE` asks for, its size lowered to what fits the model.
fn chunker(
    size: &str,
    arguments: &EmbedMultiArgs,
    model: &emb::Model,
    embed: &emb::EmbedOptions,
) -> Result<emb::documents::Chunker> {
    use emb::documents::ChunkSize;
    let mut size: ChunkSize = size.parse().context("--chunk")?;
    if let (ChunkSize::Tokens(asked), Some(budget)) = (size, model.token_budget(embed)?) {
        if asked > budget {
            eprintln!(
                "note: {} takes at most {} tokens, {} of them its special tokens and prompt: \
                 chunking to tokens:{budget}",
                model.info().name,
                model.info().max_seq_length,
                model.info().max_seq_length - budget,
            );
            size = ChunkSize::Tokens(budget);
        }
    }
    Ok(emb::documents::Chunker::new(size, arguments.overlap, model.token_counter()?)?)
}

/// The items the arguments name, and how many there are when that is cheap to know.
fn open_items(
    arguments: &EmbedMultiArgs,
    database: &emb::Database,
    columns: Columns,
) -> Result<(Items, Option<u64>)> {
    if let Some(query) = &arguments.sql {
        // On a SQLite database the query runs there; on PostgreSQL, in an empty SQLite
        // database that holds only what --attach brings.
        let scratch;
        let connection = if let Some(store) = database.sqlite() {
            store.connection()
        } else {
            scratch = rusqlite::Connection::open_in_memory()?;
            &scratch
        };
        for pair in arguments.attach.chunks(2) {
            connection
                .execute("ATTACH DATABASE ?1 AS ?2", [&pair[1], &pair[0]])
                .with_context(|| format!("cannot attach {} as {}", pair[1], pair[0]))?;
        }
        let items =
            sources::read_sql(connection, query, columns).map_err(|p| anyhow::anyhow!("{p}"))?;
        return Ok((items, None));
    }
    if let Some(images) = &arguments.idx {
        let items = sources::read_idx(images, arguments.idx_labels.as_deref())
            .map_err(|problem| anyhow::anyhow!("--idx {problem}"))?;
        return Ok((items, None));
    }
    let extract = emb::documents::ExtractOptions {
        encoding: arguments.encoding.clone(),
        max_bytes: arguments.max_file_size,
    };
    if let Some(folder) = &arguments.code {
        let items = emb::documents::read_code(folder, &extract)
            .map_err(|problem| anyhow::anyhow!("--code {problem}"))?;
        return Ok((items, None));
    }
    if !arguments.files.is_empty() {
        let options = sources::FileOptions { binary: arguments.binary, extract };
        let mut all: Vec<Items> = Vec::new();
        for pair in arguments.files.chunks(2) {
            all.push(
                sources::read_files(Path::new(&pair[0]), &pair[1], &options)
                    .map_err(|problem| anyhow::anyhow!("--files {problem}"))?,
            );
        }
        return Ok((Box::new(all.into_iter().flatten()), None));
    }
    let format = arguments.format.map(|format| match format {
        TableFormat::Csv => Format::Csv,
        TableFormat::Tsv => Format::Tsv,
        TableFormat::Json => Format::Json,
        TableFormat::Jsonl => Format::Jsonl,
    });
    let (reader, total): (Box<dyn BufRead + Send>, Option<u64>) = match arguments.input.as_deref() {
        None => bail!(
            "nothing to embed: give an input file (or - for standard input), --files DIR GLOB, \
             --idx FILE, or --sql"
        ),
        Some(path) if path == Path::new("-") => {
            (Box::new(std::io::BufReader::new(std::io::stdin())), None)
        }
        Some(path) if path.is_dir() => bail!(
            "{} is a folder, not a file of items: to embed the files in it, use --files {} GLOB \
             (for example '**/*.md')",
            path.display(),
            path.display()
        ),
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
            let start =
                reader.fill_buf().with_context(|| format!("cannot read {}", path.display()))?;
            let detected = format.unwrap_or(Format::detect(start));
            // One item a line, less the header row of CSV and TSV; a JSON array has no count.
            let total = match detected {
                Format::Json => None,
                Format::Jsonl => count_lines(path),
                Format::Csv | Format::Tsv => count_lines(path).map(|lines| lines.saturating_sub(1)),
            };
            (Box::new(reader), total)
        }
    };
    let items = sources::read_table(reader, format, columns).context("cannot read the input")?;
    Ok((items, total))
}

/// The number of lines of the file at `path`, as a progress bar's total (an estimate: a quoted
/// newline in a CSV field or blank lines make it high).
fn count_lines(path: &Path) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut lines = 0;
    loop {
        let buffer = reader.fill_buf().ok()?;
        if buffer.is_empty() {
            return Some(lines);
        }
        lines += buffer.split(|&byte| byte == b'\n').count() as u64 - 1;
        let length = buffer.len();
        reader.consume(length);
    }
}
