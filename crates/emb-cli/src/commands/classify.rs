//! `emb classify`: zero-shot against label texts, or a classifier trained on a labelled
//! collection; applied to a collection or to texts from standard input.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{bail, Context, Result};
use emb::analysis::{Classifier, ClassifierMethod, Scored};
use emb::Rows;

use crate::cli::{ClassifierArg, ClassifyArgs};
use crate::output::Printer;

pub fn run(arguments: &ClassifyArgs) -> Result<()> {
    let from_stdin = arguments.collection == "-";
    if from_stdin && arguments.eval.is_some() {
        bail!("--eval needs a collection whose items carry the true class");
    }
    if from_stdin && arguments.save.is_some() {
        bail!("--save needs a collection to save to");
    }
    // The collection whose model embeds label texts and standard-input texts.
    let model_collection = arguments.train.clone().unwrap_or_else(|| arguments.collection.clone());
    let zero_shot_stdin = from_stdin && arguments.train.is_none();
    if zero_shot_stdin && arguments.model.model.is_none() {
        bail!("classifying standard input zero-shot needs a model: pass -m MODEL");
    }
    // Zero-shot classification of standard input reads no collection, so needs no database.
    let mut database =
        if zero_shot_stdin { None } else { Some(super::open_database(&arguments.database)?) };
    let model = || -> Result<(emb::Model, emb::EmbedOptions)> {
        match &database {
            Some(database) => {
                super::load_collection_model(database, &model_collection, &arguments.model)
            }
            None => super::load_model(&arguments.model),
        }
    };
    let classifier = match (&arguments.labels, &arguments.train, &arguments.field) {
        (Some(labels), _, _) => {
            let names: Vec<String> = labels
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            if names.len() < 2 {
                bail!("--labels needs two or more comma-separated class names, got {labels:?}");
            }
            let texts: Vec<String> =
                names.iter().map(|name| arguments.template.replace("{}", name)).collect();
            let (model, options) = model()?;
            let vectors = model.embed_with(&texts, &options)?.vectors;
            ZeroShot { labels: names, centres: vectors.concat(), dimensions: vectors[0].len() }
                .into()
        }
        (None, Some(train), Some(field)) => {
            let method = match arguments.method {
                ClassifierArg::Centroid => ClassifierMethod::Centroid,
                ClassifierArg::Knn => ClassifierMethod::Knn { k: arguments.k },
                ClassifierArg::Logistic => ClassifierMethod::Logistic,
            };
            let classifier = opened(database.as_ref())?.train_classifier(train, field, method)?;
            eprintln!(
                "trained on {} items of {train:?} in {} classes: {}",
                classifier.examples,
                classifier.labels.len(),
                classifier.labels.join(", ")
            );
            Learned::Trained(classifier)
        }
        _ => {
            bail!("give --labels for zero-shot classification, or --train COLLECTION --field FIELD")
        }
    };
    let mut results: Vec<Scored> = if from_stdin {
        let texts: Vec<String> = std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<Vec<_>>>()
            .context("cannot read standard input")?
            .into_iter()
            .filter(|line| !line.trim().is_empty())
            .collect();
        let (model, options) = model()?;
        let vectors = model.embed_with(&texts, &options)?.vectors;
        let dimensions = vectors.first().map_or(1, Vec::len);
        let values = vectors.concat();
        let predictions = classifier.predict(Rows::new(&values, dimensions)?)?;
        texts
            .into_iter()
            .zip(predictions)
            .enumerate()
            .map(|(line, (text, (label, score)))| Scored {
                id: (line + 1).to_string(),
                score,
                label: Some(label),
                content: Some(text),
            })
            .collect()
    } else {
        classifier.classify(opened(database.as_ref())?, &arguments.collection)?
    };
    if let Some(minimum) = arguments.min_score {
        let mut abstained = 0;
        for result in results.iter_mut().filter(|result| result.score < minimum) {
            result.label = None;
            abstained += 1;
        }
        eprintln!(
            "{abstained} of {} items scored below {minimum} for every class and got none",
            results.len()
        );
    }
    let mut printer = Printer::new();
    for result in &results {
        // Every line has a label; null is an item that fits no class (--min-score).
        let mut line =
            serde_json::json!({"id": result.id, "label": result.label, "score": result.score});
        if from_stdin {
            line["content"] = serde_json::json!(result.content);
        }
        printer.json(&line)?;
    }
    printer.finish()?;
    if let Some(field) = &arguments.eval {
        report_accuracy(opened(database.as_ref())?, &arguments.collection, field, &results)?;
    }
    if let Some(field) = &arguments.save {
        let values: Vec<(String, serde_json::Value)> = results
            .iter()
            .map(|result| (result.id.clone(), serde_json::json!(result.label)))
            .collect();
        let database = database.as_mut().context("--save needs a collection to save to")?;
        let written = database.set_metadata_field(&arguments.collection, field, &values)?;
        eprintln!("saved the class of {written} items in metadata field {field:?}");
    }
    Ok(())
}

/// The database, which every classification but zero-shot of standard input opens.
fn opened(database: Option<&emb::Database>) -> Result<&emb::Database> {
    database.context("classifying a collection needs its database")
}

/// Class vectors made from label texts.
struct ZeroShot {
    labels: Vec<String>,
    centres: Vec<f32>,
    dimensions: usize,
}

enum Learned {
    ZeroShot(ZeroShot),
    Trained(Classifier),
}

impl From<ZeroShot> for Learned {
    fn from(zero_shot: ZeroShot) -> Self {
        Learned::ZeroShot(zero_shot)
    }
}

impl Learned {
    fn predict(&self, rows: Rows) -> Result<Vec<(String, f32)>> {
        Ok(match self {
            Learned::ZeroShot(zero_shot) => {
                let centres = Rows::new(&zero_shot.centres, zero_shot.dimensions)?;
                emb::analysis::nearest_centre(rows, centres)?
                    .into_iter()
                    .map(|p| (zero_shot.labels[p.class].clone(), p.score))
                    .collect()
            }
            Learned::Trained(classifier) => classifier
                .predict(rows)?
                .into_iter()
                .map(|p| (classifier.labels[p.class].clone(), p.score))
                .collect(),
        })
    }

    fn classify(&self, database: &emb::Database, collection: &str) -> Result<Vec<Scored>> {
        Ok(match self {
            Learned::ZeroShot(zero_shot) => database.classify_by_centres(
                collection,
                &zero_shot.labels,
                Rows::new(&zero_shot.centres, zero_shot.dimensions)?,
            )?,
            Learned::Trained(classifier) => database.classify(collection, classifier)?,
        })
    }
}

/// Prints the accuracy of `results` against metadata `field`, overall and per true class.
fn report_accuracy(
    database: &emb::Database,
    collection: &str,
    field: &str,
    results: &[Scored],
) -> Result<()> {
    let truth: BTreeMap<String, Option<String>> =
        database.field_values(collection, field)?.into_iter().collect();
    let mut per_class: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for result in results {
        let Some(Some(expected)) = truth.get(&result.id) else { continue };
        let entry = per_class.entry(expected.clone()).or_default();
        entry.1 += 1;
        if result.label.as_deref() == Some(expected.as_str()) {
            entry.0 += 1;
        }
    }
    let (right, total) = per_class.values().fold((0, 0), |(r, t), (a, b)| (r + a, t + b));
    if total == 0 {
        bail!("no item of {collection:?} has metadata field {field:?} to evaluate against");
    }
    eprintln!(
        "accuracy {:.4} ({right} of {total} items with {field:?})",
        right as f64 / total as f64
    );
    for (class, (right, total)) in per_class {
        eprintln!("  {class}: {:.4} ({right} of {total})", right as f64 / total as f64);
    }
    Ok(())
}
