//! One file per command; [`run`] dispatches.

mod ask;
mod classify;
mod cluster;
mod collections;
mod dedup;
mod embed;
mod embed_multi;
mod eval;
mod eval_retrieval;
mod index;
mod models;
mod outliers;
mod plot;
mod project;
mod recommend;
mod related;
mod rerank;
mod score;
mod serve;
mod similar;
mod sql;
mod tokens;
mod words;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, Command, DatabaseArgs, ModelArgs};

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Embed(arguments) => embed::run(&arguments),
        Command::EmbedMulti(arguments) => embed_multi::run(&arguments),
        Command::Similar(arguments) => similar::run(&arguments),
        Command::Related(arguments) => related::run(&arguments),
        Command::Ask(arguments) => ask::run(&arguments),
        Command::Rerank(arguments) => rerank::run(&arguments),
        Command::EvalRetrieval(arguments) => eval_retrieval::run(&arguments),
        Command::Index(command) => index::run(command),
        Command::Collections(command) => collections::run(command),
        Command::Tokens(arguments) => tokens::run(&arguments),
        Command::Models(command) => models::run(command),
        Command::Cluster(arguments) => cluster::run(&arguments),
        Command::Project(arguments) => project::run(&arguments),
        Command::Plot(arguments) => plot::run(&arguments),
        Command::Classify(arguments) => classify::run(&arguments),
        Command::Score(arguments) => score::run(&arguments),
        Command::Dedup(arguments) => dedup::run(&arguments),
        Command::Outliers(arguments) => outliers::run(&arguments),
        Command::Recommend(arguments) => recommend::run(&arguments),
        Command::Eval(arguments) => eval::run(&arguments),
        Command::Words(command) => words::run(command),
        Command::Serve(arguments) => serve::run(&arguments),
        Command::Sql(arguments) => sql::run(&arguments),
        Command::SqlExtensionPath => sql::print_extension_path(),
    }
}

/// The model name from `-m`/`EMB_MODEL`, else the configured default.
fn model_name(requested: Option<&str>) -> String {
    requested.map_or_else(|| emb::settings::default_model(&emb::settings::home()), str::to_owned)
}

/// Loads the model `arguments` name and turns its prompt flags into options.
fn load_model(arguments: &ModelArgs) -> Result<(emb::Model, emb::EmbedOptions)> {
    let name = model_name(arguments.model.as_deref());
    let model = emb::Model::load(&name).with_context(|| format!("cannot load model {name}"))?;
    let options = emb::EmbedOptions {
        prompt: arguments.prompt.clone(),
        prompt_name: arguments.prompt_name.clone(),
    };
    Ok((model, options))
}

/// Opens the database `arguments` name (`-d`/`EMB_DB`, else the default one), which must exist:
/// commands that only read never create one (a typo would otherwise give an empty answer).
fn open_database(arguments: &DatabaseArgs) -> Result<emb::Database> {
    let path = arguments.database.clone().unwrap_or_else(emb::Database::default_path);
    match emb::Database::open_existing(&path) {
        Err(error @ emb::Error::NoSuchDatabase { .. }) => {
            let hint = if arguments.database.is_some() {
                "give the path of an existing database with -d (or EMB_DB)"
            } else {
                "store something first (emb embed-multi NAME FILE), or name a database with -d"
            };
            Err(anyhow::anyhow!("{error}; {hint}"))
        }
        opened => opened.map_err(|error| database_error(error, &path)),
    }
}

/// Opens the database `arguments` name, creating it (and its folder) if it does not exist: for
/// commands that write.
fn create_database(arguments: &DatabaseArgs) -> Result<emb::Database> {
    let path = arguments.database.clone().unwrap_or_else(emb::Database::default_path);
    emb::Database::open(&path).map_err(|error| database_error(error, &path))
}

/// `error` from opening the database at `path`, with the path (a URL is shown by the store,
/// without its password).
fn database_error(error: emb::Error, path: &std::path::Path) -> anyhow::Error {
    anyhow::Error::new(error).context(if emb::Database::is_url(path) {
        "cannot open the database".to_owned()
    } else {
        format!("cannot open the database {}", path.display())
    })
}

/// The model to use with `collection`: the one `-m` names, else the collection's own, else the
/// default model. A model other than the collection's is refused.
fn load_collection_model(
    database: &emb::Database,
    collection: &str,
    arguments: &ModelArgs,
) -> Result<(emb::Model, emb::EmbedOptions)> {
    if let Some(requested) = &arguments.model {
        database.check_model(collection, requested)?;
    }
    let stored = database.header(collection)?.map(|header| header.model);
    let name = arguments
        .model
        .clone()
        .or_else(|| stored.clone().filter(|model| !model.is_empty()))
        .unwrap_or_else(|| model_name(None));
    load_model(&ModelArgs { model: Some(name), ..arguments.clone() })
}

/// A progress bar on stderr counting `unit` (invisible when stderr is not a terminal).
fn progress_bar(total: Option<u64>, unit: &str) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}}{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}}{{pos}} {unit}  {{per_sec}}  {{elapsed}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Brings the search index of `collection` (if it has one) up to date after a write, with a
/// progress bar, and says what it did.
fn sync_index(database: &mut emb::Database, collection: &str) -> Result<()> {
    let bar = progress_bar(None, "items linked");
    bar.set_message("index: ");
    let started = std::time::Instant::now();
    let outcome = database.sync_index(collection, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    match outcome? {
        None | Some(emb::IndexSync::Current) => {}
        Some(emb::IndexSync::Updated(count)) => {
            eprintln!("{collection}: index updated with {count} changed items in {seconds:.1} s");
        }
        Some(emb::IndexSync::Rebuilt) => {
            eprintln!("{collection}: index rebuilt in {seconds:.1} s");
        }
    }
    Ok(())
}
