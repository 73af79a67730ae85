//! `POST /v1/embeddings` and `GET /v1/models`, as the OpenAI API has them, so that the
//! official clients and OpenAI embedding classes such as LangChain's work
//! against emb unchanged.

use std::sync::Arc;

use axum::extract::State;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{embed, texts_of};
use crate::error::{ApiError, ApiResult, Json};
use crate::state;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsRequest {
    input: Value,
    model: Option<String>,
    encoding_format: Option<String>,
    dimensions: Option<usize>,
    /// Accepted and ignored, as OpenAI uses it only for abuse monitoring.
    #[allow(dead_code)]
    user: Option<String>,
}

pub async fn embeddings(
    State(state): State<Arc<state::State>>,
    Json(request): Json<EmbeddingsRequest>,
) -> ApiResult<axum::Json<Value>> {
    let batcher = state.served_model(request.model.as_deref())?;
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "encoding_format is {other:?}; it must be \"float\" or \"base64\""
            )))
        }
    };
    let dimensions = batcher.model().dimensions();
    let keep = match request.dimensions {
        None => dimensions,
        Some(wanted) if (1..=dimensions).contains(&wanted) => wanted,
        Some(wanted) => {
            return Err(ApiError::unprocessable(format!(
                "dimensions is {wanted}; {} gives at most {dimensions}",
                batcher.model().info().name
            )))
        }
    };
    let texts = texts_of(&request.input, "input", &batcher)?;
    let name = batcher.model().info().name.clone();
    let (vectors, tokens) = embed(&state, batcher, texts, emb::EmbedOptions::default()).await?;
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, mut vector)| {
            if keep < vector.len() {
                // Shortened vectors are normalised again, as OpenAI's are.
                vector.truncate(keep);
                emb::distance::normalize(&mut vector);
            }
            let embedding = if base64 {
                json!(base64::engine::general_purpose::STANDARD.encode(emb::blob::encode(&vector)))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Ok(axum::Json(json!({
        "object": "list",
        "data": data,
        "model": name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}

pub async fn models(State(state): State<Arc<state::State>>) -> axum::Json<Value> {
    let data: Vec<Value> = state
        .model_names()
        .into_iter()
        .map(|name| json!({"id": name, "object": "model", "created": 0, "owned_by": "emb"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data}))
}
