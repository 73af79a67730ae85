//! `POST /v1/collections/{name}/search` (by text, vector or stored item; with filters, prefix,
//! threshold and hybrid keyword fusion) and `POST .../related` (every item's nearest others).

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};

use super::embed;
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::state::{self, blocking};

/// The most results one search returns.
const MAX_K: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    text: Option<String>,
    vector: Option<Vec<f32>>,
    id: Option<String>,
    /// Results. Default: 10.
    k: Option<usize>,
    #[serde(default)]
    prefix: String,
    threshold: Option<f32>,
    filter: Option<String>,
    #[serde(default)]
    hybrid: bool,
    #[serde(default)]
    exact: bool,
    ef: Option<usize>,
    prompt_name: Option<String>,
    /// Add a `thumbnail` (a `data:` URI) to each hit whose item is a stored picture or sound.
    #[serde(default)]
    thumbnails: bool,
}

/// What to look for, as the request gives it.
enum Looking {
    Text(String),
    Vector(Vec<f32>),
    Id(String),
}

pub async fn search(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Json(request): Json<SearchRequest>,
) -> ApiResult<axum::Json<Value>> {
    let looking = match (request.text, request.vector, request.id) {
        (Some(text), None, None) => Looking::Text(text),
        (None, Some(vector), None) => Looking::Vector(vector),
        (None, None, Some(id)) => Looking::Id(id),
        _ => {
            return Err(ApiError::unprocessable(
                "give exactly one of text (embedded with the collection's model), vector or id (a stored item)",
            ))
        }
    };
    let k = request.k.unwrap_or(10);
    if !(1..=MAX_K).contains(&k) {
        return Err(ApiError::unprocessable(format!("k is {k}; it must be from 1 to {MAX_K}")));
    }
    if request.ef.is_some_and(|ef| ef == 0 || ef > 100_000) {
        return Err(ApiError::unprocessable("ef must be from 1 to 100000"));
    }
    if request.threshold.is_some_and(|threshold| !threshold.is_finite()) {
        return Err(ApiError::unprocessable("threshold must be a number from -1 to 1"));
    }
    let filter = request
        .filter
        .as_deref()
        .map(emb::Filter::parse)
        .transpose()
        .map_err(|error| ApiError::unprocessable(format!("filter: {error}")))?;
    let lookup = name.clone();
    let header =
        blocking(&state, move |state| state.database(|database| database.require(&lookup))).await?;
    let mut keywords = None;
    let target = match looking {
        Looking::Text(text) => {
            let model = header.model.clone();
            let batcher = blocking(&state, move |state| state.collection_model(&model)).await?;
            if request.hybrid {
                keywords = Some(emb::Keywords::Text(text.clone()));
            }
            let options = emb::EmbedOptions { prompt: None, prompt_name: request.prompt_name };
            let (mut vectors, _) = embed(&state, batcher, vec![text], options).await?;
            emb::Target::Vector(vectors.remove(0))
        }
        Looking::Vector(vector) => {
            if let Some(expected) = header.dimensions {
                if vector.len() != expected {
                    return Err(ApiError::unprocessable(format!(
                        "vector has {} dimensions; collection {name:?} has {expected}",
                        vector.len()
                    )));
                }
            }
            if vector.iter().any(|value| !value.is_finite()) {
                return Err(ApiError::unprocessable(
                    "vector holds a value that is not a finite number",
                ));
            }
            emb::Target::Vector(vector)
        }
        Looking::Id(id) => {
            if request.hybrid {
                keywords = Some(emb::Keywords::OfTarget);
            }
            emb::Target::Id(id)
        }
    };
    let search = emb::Search {
        target,
        k,
        prefix: request.prefix,
        threshold: request.threshold,
        filter,
        exact: request.exact,
        ef: request.ef,
        keywords,
    };
    let thumbnails = request.thumbnails;
    let (hits, missing) = blocking(&state, move |state| {
        state.database(|database| {
            let hits = database.search(&name, &search)?;
            let mut data: Vec<Value> =
                hits.iter().map(|hit| serde_json::to_value(hit).unwrap_or(Value::Null)).collect();
            if thumbnails {
                add_thumbnails(database, &name, &hits, &mut data)?;
            }
            // A filter that found nothing may name a field no item has (a typo, most often).
            let missing = match (&search.filter, hits.is_empty()) {
                (Some(filter), true) => database.missing_filter_fields(&name, filter)?,
                _ => None,
            };
            Ok((data, missing))
        })
    })
    .await?;
    let mut answer = json!({"object": "list", "data": hits});
    if let Some(fields) = missing {
        answer["warnings"] = json!([format!(
            "no item has the field(s) {:?} that the filter names; the items' metadata has {:?}",
            fields.missing, fields.known
        )]);
    }
    Ok(axum::Json(answer))
}

/// Sets `thumbnail` on each of `data` (the hits as JSON) whose item has a picture or a sound in
/// `content_blob`.
fn add_thumbnails(
    database: &emb::Database,
    collection: &str,
    hits: &[emb::Hit],
    data: &mut [Value],
) -> emb::Result<()> {
    let ids: Vec<&str> = hits.iter().map(|hit| hit.id.as_str()).collect();
    let stored: std::collections::HashMap<String, Vec<u8>> = database
        .store()
        .get(collection, &ids)?
        .into_iter()
        .filter_map(|record| Some((record.id, record.content_blob?)))
        .collect();
    for (hit, value) in hits.iter().zip(data) {
        if let Some(thumbnail) =
            stored.get(&hit.id).and_then(|bytes| emb::thumbnails::thumbnail(bytes))
        {
            value["thumbnail"] = Value::String(thumbnail.data_uri());
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedRequest {
    /// Related items per item. Default: 10.
    k: Option<usize>,
    /// Also save them in the database's `emb_related` table. Default: false.
    #[serde(default)]
    store: bool,
}

pub async fn related(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Json(request): Json<RelatedRequest>,
) -> ApiResult<axum::Json<Value>> {
    let k = request.k.unwrap_or(10);
    if !(1..=1000).contains(&k) {
        return Err(ApiError::unprocessable(format!("k is {k}; it must be from 1 to 1000")));
    }
    let related = blocking(&state, move |state| {
        state.database(|database| {
            let mut all = Vec::new();
            database.related(&name, k, request.store, &mut |related| {
                all.push(related.clone());
                Ok(())
            })?;
            Ok(all)
        })
    })
    .await?;
    Ok(axum::Json(json!({"object": "list", "data": related})))
}
