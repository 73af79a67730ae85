//! `emb eval`: a model's quality on local labelled data.

use anyhow::{bail, Result};
use emb::evaluate::{self, Measure};

use crate::cli::{EvalArgs, EvalTask};
use crate::output::Printer;

pub fn run(arguments: &EvalArgs) -> Result<()> {
    let folder =
        arguments.data.clone().unwrap_or_else(|| evaluate::default_folder(&emb::settings::home()));
    if !folder.is_dir() {
        bail!(
            "no evaluation data in {}: run scripts/fetch-eval-data (it installs gensim's test data there), or pass --data DIR",
            folder.display()
        );
    }
    let tasks = if arguments.task.is_empty() {
        vec![EvalTask::Lee, EvalTask::Newsgroups]
    } else {
        arguments.task.clone()
    };
    let (model, options) = super::load_model(&arguments.model)?;
    let started = std::time::Instant::now();
    let mut measures: Vec<Measure> = Vec::new();
    for task in tasks {
        match task {
            EvalTask::Lee => measures.push(evaluate::lee(&model, &options, &folder)?),
            EvalTask::Newsgroups => {
                measures.extend(evaluate::newsgroups(&model, &options, &folder)?);
            }
        }
    }
    let mut printer = Printer::new();
    if arguments.json {
        for measure in &measures {
            printer.json(measure)?;
        }
    } else {
        printer.line(&format!("model: {}", model.info().name))?;
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
