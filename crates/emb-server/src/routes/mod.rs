//! The routes, in one table, and what several of them share: turning request inputs into
//! texts and texts into vectors through a model's batcher.

mod analysis;
mod collections;
mod items;
mod openai;
mod page;
mod search;
mod status;
mod tei;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::batcher::Batcher;
use crate::error::{ApiError, ApiResult};
use crate::guard;
use crate::state::{blocking, State};

/// Every route, and the layers every request passes: the time limit and counting (outermost),
/// the API key, and the body limit (announced sizes first, then what is read).
pub fn router(state: Arc<State>) -> Router {
    let body_limit = state.settings.body_limit;
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::script))
        .route("/assets/app.css", get(page::style))
        .route("/health", get(status::health))
        .route("/info", get(status::info))
        .route("/metrics", get(status::metrics))
        .route("/openapi.json", get(status::openapi))
        .route("/v1/models", get(openai::models))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/embed", post(tei::embed))
        .route("/tokenize", post(tei::tokenize))
        .route("/similarity", post(tei::similarity))
        .route("/v1/collections", get(collections::list))
        .route("/v1/collections/{name}", get(collections::info).delete(collections::delete))
        .route("/v1/collections/{name}/items", post(items::upsert))
        .route("/v1/collections/{name}/items/delete", post(items::delete))
        .route("/v1/collections/{name}/items/{*id}", get(items::get))
        .route("/v1/collections/{name}/search", post(search::search))
        .route("/v1/collections/{name}/related", post(search::related))
        .route("/v1/collections/{name}/cluster", post(analysis::cluster))
        .route("/v1/collections/{name}/project", post(analysis::project))
        .route("/v1/collections/{name}/map.html", get(analysis::map_page))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(Arc::clone(&state), guard::refuse_oversized))
        .layer(from_fn_with_state(Arc::clone(&state), guard::authorize))
        .layer(from_fn_with_state(Arc::clone(&state), guard::time_and_count))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "there is no route {}; the routes are listed at /openapi.json",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        ..ApiError::bad_request(format!("{} does not take {method}; see /openapi.json", uri.path()))
    }
}

/// The texts of an `input` (OpenAI) or `inputs` (TEI) value: a string, an array of strings, an
/// array of token ids (one text) or an array of arrays of token ids. Token ids are the model's
/// own and are decoded to text. `field` names the value in messages.
pub(crate) fn texts_of(value: &Value, field: &str, batcher: &Batcher) -> ApiResult<Vec<String>> {
    let wrong = |at: String| {
        ApiError::unprocessable(format!(
            "{at} must be a string, an array of strings, an array of token ids or an array of arrays of token ids"
        ))
    };
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) if items.is_empty() => {
            Err(ApiError::unprocessable(format!("{field} is empty: give at least one text")))
        }
        Value::Array(items) if items.iter().all(Value::is_number) => {
            Ok(vec![decode(items, field, batcher)?])
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => Ok(text.clone()),
                Value::Array(ids) if !ids.is_empty() => {
                    decode(ids, &format!("{field}[{index}]"), batcher)
                }
                _ => Err(wrong(format!("{field}[{index}]"))),
            })
            .collect(),
        _ => Err(wrong(field.to_owned())),
    }
}

/// The text of an array of token ids.
fn decode(ids: &[Value], field: &str, batcher: &Batcher) -> ApiResult<String> {
    let ids: Vec<u32> = ids
        .iter()
        .map(|id| id.as_u64().and_then(|id| u32::try_from(id).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ApiError::unprocessable(format!(
                "{field} holds something that is not a token id (a whole number from 0)"
            ))
        })?;
    Ok(batcher.model().decode(&ids)?)
}

/// Refuses a request of more than `--max-inputs` texts or items (`what` names them).
pub(crate) fn check_count(state: &State, count: usize, what: &str) -> ApiResult<()> {
    let max_inputs = state.settings.max_inputs;
    if count > max_inputs {
        return Err(ApiError::unprocessable(format!(
            "{count} {what} in one request; this server takes at most {max_inputs} (--max-inputs): split the request"
        )));
    }
    Ok(())
}

/// Embeds `texts` with the batcher's model: tokenizes them on a blocking thread, checks the
/// request's limits, waits in the model's queue and returns the vectors and the tokens used.
pub(crate) async fn embed(
    state: &Arc<State>,
    batcher: Arc<Batcher>,
    texts: Vec<String>,
    options: emb::EmbedOptions,
) -> ApiResult<(Vec<Vec<f32>>, usize)> {
    check_count(state, texts.len(), "inputs")?;
    for (index, text) in texts.iter().enumerate() {
        if let Some(problem) = emb::unembeddable(text) {
            return Err(ApiError::unprocessable(if texts.len() == 1 {
                problem
            } else {
                format!("text {index} (counting from 0): {problem}")
            }));
        }
    }
    let max_tokens = state.settings.max_request_tokens;
    let model = Arc::clone(batcher.model());
    let (prepared, tokens) = blocking(state, move |_| {
        let prepared = model.prepare(&texts, &options)?;
        let tokens: usize = prepared.token_counts().iter().sum();
        Ok((prepared, tokens))
    })
    .await?;
    if tokens > max_tokens {
        return Err(ApiError::unprocessable(format!(
            "the request holds {tokens} tokens; this server takes at most {max_tokens} per request (--max-request-tokens): split the request"
        )));
    }
    let receiver = batcher.submit(prepared, tokens).map_err(|full| ApiError::busy(full.queued))?;
    let vectors = receiver
        .await
        .map_err(|_| ApiError::internal("the model's worker stopped before answering"))??;
    Ok((vectors, tokens))
}
