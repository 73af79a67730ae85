//! `emb similar`: the items of a collection nearest a text or one of its items.

use anyhow::{bail, Context, Result};
use emb::{Keywords, Search, Target};

use crate::cli::SimilarArgs;
use crate::input::{origin, read_query, Query};
use crate::output::Printer;

pub fn run(arguments: &SimilarArgs) -> Result<()> {
    let filter = arguments.filter.as_deref().map(emb::Filter::parse).transpose()?;
    let database = super::open_database(&arguments.database)?;
    database.require(&arguments.collection)?;
    let mut keywords = None;
    let target = if let Some(id) = &arguments.id {
        if arguments.hybrid {
            keywords = Some(Keywords::OfTarget);
        }
        Target::Id(id.clone())
    } else {
        let query = read_query(&arguments.source, arguments.binary)?;
        let (model, options) =
            super::load_collection_model(&database, &arguments.collection, &arguments.model)?;
        match query {
            Query::Text(text) => {
                if arguments.hybrid {
                    keywords = Some(Keywords::Text(text.clone()));
                }
                Target::Vector(model.embed_with(&[text], &options)?.vectors.remove(0))
            }
            Query::Binary(bytes) => {
                if arguments.hybrid {
                    bail!(
                        "--hybrid ranks by words, and a picture or sound has none: search \
                         without it"
                    );
                }
                let vector = model
                    .embed_pictures(&[bytes.as_slice()])
                    .with_context(|| format!("cannot search with {}", origin(&arguments.source)))?;
                Target::Vector(vector.into_iter().next().expect("one vector per input"))
            }
        }
    };
    let search = Search {
        target,
        k: arguments.number,
        prefix: arguments.prefix.clone(),
        threshold: arguments.threshold,
        filter,
        exact: arguments.exact,
        ef: arguments.ef,
        keywords,
    };
    let hits = database.search(&arguments.collection, &search)?;
    if hits.is_empty() {
        if let Some(filter) = &search.filter {
            warn_of_missing_fields(&database, &arguments.collection, filter)?;
        }
    }
    let mut printer = Printer::new();
    for hit in hits {
        if arguments.plain {
            printer.line(&format!("{} ({:.4})", hit.id, hit.score))?;
            if let Some(content) = &hit.content {
                printer.line(&format!("  {}", content.replace('\n', "\n  ")))?;
            }
        } else {
            printer.json(&hit)?;
        }
    }
    printer.finish()?;
    Ok(())
}

/// Says which fields of a filter that found nothing no item has (a typo, most often), and which
/// fields the collection's metadata has.
pub fn warn_of_missing_fields(
    database: &emb::Database,
    collection: &str,
    filter: &emb::Filter,
) -> Result<()> {
    if let Some(fields) = database.missing_filter_fields(collection, filter)? {
        let list = |fields: &[String]| {
            fields.iter().map(|field| format!("{field:?}")).collect::<Vec<_>>().join(", ")
        };
        let known = if fields.known.is_empty() {
            "no item of it has metadata".to_owned()
        } else {
            format!("its items' metadata has {}", list(&fields.known))
        };
        eprintln!(
            "warning: no item of {collection:?} has the field{} {} that the filter names; {known}",
            if fields.missing.len() == 1 { "" } else { "s" },
            list(&fields.missing)
        );
    }
    Ok(())
}
