//! `emb dedup`: groups of near-duplicate items.

use anyhow::Result;

use crate::cli::DedupArgs;
use crate::output::Printer;

pub fn run(arguments: &DedupArgs) -> Result<()> {
    let database = super::open_database(&arguments.database)?;
    let groups = database.duplicates(&arguments.collection, arguments.threshold)?;
    let mut printer = Printer::new();
    for group in &groups {
        printer.json(group)?;
    }
    printer.finish()?;
    let items: usize = groups.iter().map(|group| group.duplicates.len() + 1).sum();
    eprintln!(
        "{}: {} groups of near-duplicates (cosine >= {}) holding {items} items; {} could go",
        arguments.collection,
        groups.len(),
        arguments.threshold,
        items - groups.len()
    );
    Ok(())
}
