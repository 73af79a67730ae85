//! `emb serve`: the HTTP server (OpenAI-compatible embeddings, collection routes, the page).

use anyhow::{bail, Result};

use crate::cli::ServeArgs;

pub fn run(arguments: &ServeArgs) -> Result<()> {
    if !(arguments.request_timeout.is_finite() && arguments.request_timeout > 0.0) {
        bail!("--request-timeout must be a positive number of seconds");
    }
    let models = if arguments.models.is_empty() {
        vec![super::model_name(None)]
    } else {
        arguments.models.clone()
    };
    let settings = emb_server::Settings {
        host: arguments.host.clone(),
        port: arguments.port,
        database: {
            let database = arguments.database.clone().unwrap_or_else(emb::Database::default_path);
            if emb::Database::is_url(&database) {
                database
            } else {
                std::path::absolute(database)?
            }
        },
        models,
        api_key: arguments.api_key.clone().filter(|key| !key.is_empty()),
        body_limit: arguments.body_limit,
        max_inputs: arguments.max_inputs.max(1),
        max_request_tokens: arguments.max_request_tokens.max(1),
        batching: emb_server::BatchLimits {
            max_batch_tokens: arguments.max_batch_tokens.max(1),
            max_batch_requests: arguments.max_batch_requests.max(1),
            queue_capacity: arguments.max_queue.max(1),
        },
        request_timeout: std::time::Duration::from_secs_f64(arguments.request_timeout),
    };
    let open = settings.host == "0.0.0.0" || settings.host == "::";
    if open && settings.api_key.is_none() {
        eprintln!("warning: listening on every network interface without --api-key: anyone who can reach this machine can read and write its collections");
    }
    let database = settings.database.clone();
    emb_server::serve_until_stopped(settings, |address| {
        eprintln!(
            "emb serving {} on http://{address}/ (OpenAI API at http://{address}/v1; Ctrl-C stops)",
            database.display()
        );
    })?;
    Ok(())
}
