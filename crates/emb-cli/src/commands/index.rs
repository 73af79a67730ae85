//! `emb index`: build, inspect and drop a collection's search index.

use anyhow::Result;

use crate::cli::IndexCommand;

pub fn run(command: IndexCommand) -> Result<()> {
    match command {
        IndexCommand::Build { collection, m, ef_construction, quantize, database } => {
            let mut database = super::open_database(&database)?;
            let settings = emb::IndexSettings { m, ef_construction, quantize };
            let bar = super::progress_bar(None, "items linked");
            let started = std::time::Instant::now();
            let outcome = database.build_index(&collection, settings, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let info = outcome?;
            eprintln!(
                "{collection}: index of {} items built in {:.1} s ({}, m = {m}, \
                 ef_construction = {ef_construction}, quantize = {quantize})",
                info.items,
                started.elapsed().as_secs_f64(),
                megabytes(info.bytes),
            );
            Ok(())
        }
        IndexCommand::Info { collection, json, database } => {
            let database = super::open_database(&database)?;
            let Some(status) = database.index_status(&collection)? else {
                anyhow::bail!(
                    "collection {collection:?} has no index; build one with `emb index build {collection}`"
                );
            };
            if json {
                println!("{}", serde_json::to_string(&status)?);
                return Ok(());
            }
            let state = match &status.state {
                emb::IndexState::Current => "current".to_owned(),
                emb::IndexState::Behind { changes } => {
                    format!("{changes} changed items not yet saved (searches apply them)")
                }
                emb::IndexState::Unusable { reason } => {
                    format!("unusable: {reason} (searches scan exactly; rebuild it)")
                }
            };
            let settings = status.settings;
            println!("collection:   {}", status.collection);
            println!("state:        {state}");
            if let Some(items) = status.items {
                println!(
                    "items:        {items} ({} deleted awaiting a rebuild)",
                    status.deleted.unwrap_or(0)
                );
            }
            println!(
                "settings:     m = {}, ef_construction = {}, quantize = {}",
                settings.m, settings.ef_construction, settings.quantize
            );
            if let Some(requested) = status.requested {
                println!(
                    "requested:    m = {}, ef_construction = {}, quantize = {} (a build with \
                     these did not finish; the next rebuild uses them)",
                    requested.m, requested.ef_construction, requested.quantize
                );
            }
            if let (Some(bytes), Some(search)) = (status.bytes, status.search_bytes) {
                println!(
                    "size:         {} on disk, {} read by searches",
                    megabytes(bytes),
                    megabytes(search)
                );
            }
            println!("file:         {}", status.path.display());
            Ok(())
        }
        IndexCommand::Drop { collection, database } => {
            let mut database = super::open_database(&database)?;
            if database.drop_index(&collection)? {
                eprintln!("{collection}: index dropped");
            } else {
                eprintln!("{collection}: had no index");
            }
            Ok(())
        }
    }
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
