//! One file per command; [`run`] dispatches.

mod embed;
mod models;
mod tokens;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, ModelArgs};

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Embed(arguments) => embed::run(&arguments),
        Command::Tokens(arguments) => tokens::run(&arguments),
        Command::Models(command) => models::run(command),
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
