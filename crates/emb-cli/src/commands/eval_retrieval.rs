//! `emb eval-retrieval`: recall@k and MRR of vector, hybrid and re-ranked retrieval on
//! questions with known answers.

use std::io::BufRead;

use anyhow::{Context, Result};
use emb::retrieve::{query_options, Question, Retrieval};

use crate::cli::EvalRetrievalArgs;
use crate::output::{table, Printer};

pub fn run(arguments: &EvalRetrievalArgs) -> Result<()> {
    let questions = read_questions(&arguments.questions)?;
    let database = super::open_database(&arguments.database)?;
    database.require(&arguments.collection)?;
    let (model, options) =
        super::load_collection_model(&database, &arguments.collection, &arguments.model)?;
    let options = query_options(&model, &options);
    let reranker = if arguments.no_rerank {
        None
    } else {
        Some(super::ask::load_reranker(&arguments.reranker)?)
    };
    let mut methods = vec![("vector", false, None), ("hybrid", true, None)];
    if let Some(reranker) = &reranker {
        methods.push(("vector + rerank", false, Some(reranker)));
        methods.push(("hybrid + rerank", true, Some(reranker)));
    }
    let mut printer = Printer::new();
    let mut rows = Vec::new();
    for (method, hybrid, reranker) in methods {
        let retrieval = Retrieval {
            hybrid,
            reranker,
            candidates: arguments.reranker.candidates,
            ..Retrieval::default()
        };
        let score = database.evaluate_retrieval(
            &arguments.collection,
            &model,
            &options,
            &questions,
            &retrieval,
            arguments.k,
        )?;
        if arguments.json {
            let mut value = serde_json::to_value(&score)?;
            value["method"] = method.into();
            value["k"] = arguments.k.into();
            printer.json(&value)?;
        } else {
            rows.push(vec![
                method.to_owned(),
                format!("{:.3}", score.recall),
                format!("{:.3}", score.mrr),
                format!("{:.1}", score.milliseconds),
            ]);
        }
    }
    if !arguments.json {
        let recall = format!("RECALL@{}", arguments.k);
        let header = ["METHOD", recall.as_str(), "MRR@10", "MS/QUESTION"];
        for line in table(&header, &rows) {
            printer.line(&line)?;
        }
        eprintln!("{} questions of {}", questions.len(), arguments.questions.display());
    }
    Ok(printer.finish()?)
}

fn read_questions(path: &std::path::Path) -> Result<Vec<Question>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut questions = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        questions.push(serde_json::from_str(&line).with_context(|| {
            format!(
                "line {} of {} is not {{\"question\": ..., \"answer\": ...}}",
                number + 1,
                path.display()
            )
        })?);
    }
    anyhow::ensure!(!questions.is_empty(), "{} holds no questions", path.display());
    Ok(questions)
}
