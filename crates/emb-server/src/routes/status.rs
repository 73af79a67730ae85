//! `/health`, `/info`, `/metrics` and `/openapi.json`: what the server is and how it does.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::state;

/// The OpenAPI document of every route.
const OPENAPI: &str = include_str!("../openapi.json");

pub async fn health() -> axum::Json<Value> {
    axum::Json(json!({"status": "ok"}))
}

pub async fn info(State(state): State<Arc<state::State>>) -> axum::Json<Value> {
    let settings = &state.settings;
    axum::Json(json!({
        "name": "emb",
        "version": env!("CARGO_PKG_VERSION"),
        "models": state.model_names(),
        "database": settings.database,
        "auth": settings.api_key.is_some(),
        "limits": {
            "body_bytes": settings.body_limit,
            "inputs_per_request": settings.max_inputs,
            "tokens_per_request": settings.max_request_tokens,
            "batch_tokens": settings.batching.max_batch_tokens,
            "batch_requests": settings.batching.max_batch_requests,
            "queue": settings.batching.queue_capacity,
            "timeout_seconds": settings.request_timeout.as_secs_f64(),
        },
    }))
}

pub async fn metrics(State(state): State<Arc<state::State>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(&state.queued()),
    )
}

pub async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI)
}
