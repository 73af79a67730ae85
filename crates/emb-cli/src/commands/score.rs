//! `emb score`: each item's position between two groups of example texts.

use anyhow::Result;
use emb::Rows;

use crate::cli::ScoreArgs;
use crate::output::Printer;

pub fn run(arguments: &ScoreArgs) -> Result<()> {
    let database = super::open_database(&arguments.database)?;
    database.require(&arguments.collection)?;
    let (model, options) =
        super::load_collection_model(&database, &arguments.collection, &arguments.model)?;
    let from = model.embed_with(&arguments.from, &options)?.vectors;
    let to = model.embed_with(&arguments.to, &options)?.vectors;
    let dimensions = from[0].len();
    let (from, to) = (from.concat(), to.concat());
    let mut scored = database.positions(
        &arguments.collection,
        Rows::new(&from, dimensions)?,
        Rows::new(&to, dimensions)?,
    )?;
    if arguments.number > 0 {
        scored.truncate(arguments.number);
    }
    let mut printer = Printer::new();
    for item in &scored {
        printer.json(item)?;
    }
    printer.finish()?;
    Ok(())
}
