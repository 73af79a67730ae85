//! `emb recommend`: items like the liked ones and unlike the disliked ones.

use anyhow::Result;

use crate::cli::RecommendArgs;
use crate::output::Printer;

pub fn run(arguments: &RecommendArgs) -> Result<()> {
    let database = super::open_database(&arguments.database)?;
    let hits = database.recommend(
        &arguments.collection,
        &arguments.liked,
        &arguments.disliked,
        arguments.weight,
        arguments.number,
    )?;
    let mut printer = Printer::new();
    for hit in &hits {
        printer.json(hit)?;
    }
    printer.finish()?;
    Ok(())
}
