//! `emb eval`: a model's quality on local labelled data.

use anyhow::{bail, Result};
use emb::evaluate::{self, Measure};

use crate::cli::{EvalArgs, EvalTask};
use crate::output::Printer;

pub fn run(arguments: &EvalArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let (model_name, measures) = match (&arguments.collection, &arguments.field) {
        (Some(collection), Some(field)) => {
            let database = super::open_database(&arguments.database)?;
            let header = database.require(collection)?;
            (header.model, database.evaluate_labels(collection, field)?)
        }
        _ => data_sets(arguments)?,
    };
    let mut printer = Printer::new();
    if arguments.json {
        for measure in &measures {
            printer.json(measure)?;
        }
    } else {
        printer.line(&format!("model: {model_name}"))?;
        for measure in &measures {
            let reference =
                measure.reference.map_or_else(String::new, |r| format!("  (reference {r:.3})"));
            printer.line(&format!(
                "{:<15} {:<16} {:>7.4}{reference}  {} on {} items",
                measure.dataset, measure.metric, measure.value, measure.task, measure.items
            ))?;
        }
    }
    printer.finish()?;
    eprintln!("evaluated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The measures of gensim's data sets, with the model's name.
fn data_sets(arguments: &EvalArgs) -> Result<(String, Vec<Measure>)> {
    let folder =
        arguments.data.clone().unwrap_or_else(|| evaluate::default_folder(&emb::settings::home()));
    if !folder.is_dir() {
        bail!(
            "no evaluation data in {}: emb eval measures models on gensim's test data (Lee's \
             rated documents and mini_newsgroup, from the gensim 4.4.0 wheel on PyPI), which is \
             not installed. In emb's repository scripts/fetch-eval-data installs it there; or \
             pass --data DIR with a folder that holds lee.cor, similarities0-1.txt and \
             mini_newsgroup.jsonl; or measure a labelled collection of your own with \
             --collection NAME --field FIELD",
            folder.display()
        );
    }
    let tasks = if arguments.task.is_empty() {
        vec![EvalTask::Lee, EvalTask::Newsgroups]
    } else {
        arguments.task.clone()
    };
    let (model, options) = super::load_model(&arguments.model)?;
    let mut measures: Vec<Measure> = Vec::new();
    for task in tasks {
        match task {
            EvalTask::Lee => measures.push(evaluate::lee(&model, &options, &folder)?),
            EvalTask::Newsgroups => {
                measures.extend(evaluate::newsgroups(&model, &options, &folder)?);
            }
        }
    }
    Ok((model.info().name.clone(), measures))
}
