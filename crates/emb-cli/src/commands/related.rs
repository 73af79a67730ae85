//! `emb related`: every item's most similar other items.

use anyhow::Result;

use crate::cli::RelatedArgs;
use crate::output::Printer;

pub fn run(arguments: &RelatedArgs) -> Result<()> {
    let mut database = super::open_database(&arguments.database)?;
    let started = std::time::Instant::now();
    let mut printer = Printer::new();
    // A reader that goes away (`| head`) stops the printing, not the storing.
    let mut printing = !arguments.quiet;
    let count = database.related(
        &arguments.collection,
        arguments.number,
        arguments.store,
        &mut |related| {
            if printing {
                match printer.json(related) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                        printing = false;
                    }
                    Err(error) => {
                        return Err(emb::Error::Core(emb::CoreError::Store {
                            context: "output".into(),
                            source: Box::new(error),
                        }))
                    }
                }
            }
            Ok(())
        },
    )?;
    if printing {
        printer.finish()?;
    }
    if arguments.store {
        eprintln!(
            "{}: stored the {} most related items of {count} items in {:.1} s",
            arguments.collection,
            arguments.number,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
