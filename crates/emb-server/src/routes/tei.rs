//! The text-embeddings-inference routes: `POST /embed`, `/tokenize` and `/similarity`, with
//! TEI's request and response shapes, for clients written against TEI.

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};

use super::texts_of;
use crate::error::{ApiError, ApiResult, Json};
use crate::state::{self, blocking};

#[derive(Deserialize)]
pub struct EmbedRequest {
    inputs: Value,
    /// Normalise each vector to length 1. Default: true (TEI's default).
    normalize: Option<bool>,
    /// Texts longer than the model's maximum are always cut there, as sentence-transformers
    /// does; TEI's flag is accepted for compatibility.
    #[allow(dead_code)]
    truncate: Option<bool>,
    prompt_name: Option<String>,
    model: Option<String>,
}

async fn embed_route(state: &Arc<state::State>, request: EmbedRequest) -> ApiResult<Vec<Vec<f32>>> {
    let batcher = state.served_model(request.model.as_deref())?;
    let texts = texts_of(&request.inputs, "inputs", &batcher)?;
    let options = emb::EmbedOptions { prompt: None, prompt_name: request.prompt_name };
    let (mut vectors, _) = super::embed(state, batcher, texts, options).await?;
    if request.normalize.unwrap_or(true) {
        for vector in &mut vectors {
            emb::distance::normalize(vector);
        }
    }
    Ok(vectors)
}

pub async fn embed(
    State(state): State<Arc<state::State>>,
    Json(request): Json<EmbedRequest>,
) -> ApiResult<axum::Json<Vec<Vec<f32>>>> {
    embed_route(&state, request).await.map(axum::Json)
}

#[derive(Deserialize)]
pub struct TokenizeRequest {
    inputs: Value,
    prompt_name: Option<String>,
    model: Option<String>,
}

pub async fn tokenize(
    State(state): State<Arc<state::State>>,
    Json(request): Json<TokenizeRequest>,
) -> ApiResult<axum::Json<Value>> {
    let batcher = state.served_model(request.model.as_deref())?;
    let texts = texts_of(&request.inputs, "inputs", &batcher)?;
    super::check_count(&state, texts.len(), "inputs")?;
    let options = emb::EmbedOptions { prompt: None, prompt_name: request.prompt_name };
    let tokenized = blocking(&state, move |_| {
        texts
            .iter()
            .map(|text| {
                let report = batcher.model().tokenize(text, &options)?;
                let tokens: Vec<Value> = report
                    .ids
                    .iter()
                    .zip(&report.tokens)
                    .map(|(id, text)| json!({"id": id, "text": text}))
                    .collect();
                Ok(json!(tokens))
            })
            .collect::<ApiResult<Vec<Value>>>()
    })
    .await?;
    Ok(axum::Json(json!(tokenized)))
}

#[derive(Deserialize)]
pub struct SimilarityRequest {
    inputs: SimilarityInputs,
    model: Option<String>,
}

#[derive(Deserialize)]
pub struct SimilarityInputs {
    source_sentence: String,
    sentences: Vec<String>,
}

pub async fn similarity(
    State(state): State<Arc<state::State>>,
    Json(request): Json<SimilarityRequest>,
) -> ApiResult<axum::Json<Vec<f32>>> {
    if request.inputs.sentences.is_empty() {
        return Err(ApiError::unprocessable("inputs.sentences is empty: give at least one"));
    }
    let mut texts = vec![request.inputs.source_sentence];
    texts.extend(request.inputs.sentences);
    let embed_request = EmbedRequest {
        inputs: json!(texts),
        normalize: Some(true),
        truncate: None,
        prompt_name: None,
        model: request.model,
    };
    let vectors = embed_route(&state, embed_request).await?;
    let (source, others) = vectors.split_first().expect("the source sentence was embedded");
    Ok(axum::Json(others.iter().map(|other| emb::distance::cosine(source, other)).collect()))
}
