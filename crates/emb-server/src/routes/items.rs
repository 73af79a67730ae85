//! The items of a collection: `POST /v1/collections/{name}/items` writes them (embedding text
//! on the server, or taking the caller's vectors), `POST .../items/delete` removes them, and
//! `GET .../items/{id}` reads one.

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::state::{self, blocking};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsertRequest {
    items: Vec<NewItem>,
    /// Keep each item's text with its vector. Default: true.
    store: Option<bool>,
    /// The model a new collection is made with (text items), or recorded for (vector items).
    /// Default: the server's first model for a new collection, the collection's own after.
    model: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    id: String,
    text: Option<String>,
    vector: Option<Vec<f32>>,
    metadata: Option<Map<String, Value>>,
}

pub async fn upsert(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Json(request): Json<UpsertRequest>,
) -> ApiResult<axum::Json<Value>> {
    if request.items.is_empty() {
        return Err(ApiError::unprocessable("items is empty: give at least one"));
    }
    super::check_count(&state, request.items.len(), "items")?;
    let with_vectors = request.items.iter().filter(|item| item.vector.is_some()).count();
    if with_vectors != 0 && with_vectors != request.items.len() {
        return Err(ApiError::unprocessable(
            "some items have a vector and some do not: send items with vectors and items to embed in separate requests",
        ));
    }
    if let Some(position) =
        request.items.iter().position(|item| item.vector.is_none() && item.text.is_none())
    {
        return Err(ApiError::unprocessable(format!(
            "items[{position}] has neither text nor vector: give the text to embed or the vector"
        )));
    }
    let store = request.store.unwrap_or(true);
    let report = blocking(&state, move |state| {
        let stored_model =
            state.database(|database| Ok(database.header(&name)?.map(|header| header.model)))?;
        let model = request
            .model
            .clone()
            .or(stored_model)
            .or_else(|| state.model_names().into_iter().next())
            .unwrap_or_default();
        if with_vectors > 0 {
            let items: Vec<emb::VectorItem> = request
                .items
                .into_iter()
                .map(|item| emb::VectorItem {
                    id: item.id,
                    vector: item.vector.unwrap_or_default(),
                    content: item.text.filter(|_| store),
                    metadata: item.metadata.map(Value::Object),
                })
                .collect();
            let written = state.database(|database| {
                database.check_model(&name, &model)?;
                database.upsert_vectors(&name, &model, items)
            })?;
            return Ok(json!({"written": written}));
        }
        let batcher = state.collection_model(&model)?;
        let items: emb::sources::Items =
            Box::new(request.items.into_iter().enumerate().map(|(index, item)| {
                Ok(emb::sources::Incoming {
                    id: item.id,
                    content: emb::sources::Content::Text(item.text.unwrap_or_default()),
                    metadata: item.metadata,
                    origin: format!("items[{index}]"),
                })
            }));
        let options = emb::IngestOptions { store_content: store, ..emb::IngestOptions::default() };
        let report = state.database(|database| {
            database.ingest(&name, batcher.model(), items, &options, &mut |_| {})
        })?;
        Ok(json!({
            "embedded": report.embedded,
            "updated": report.updated,
            "skipped": report.skipped,
            "truncated": report.truncated,
        }))
    })
    .await?;
    Ok(axum::Json(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    ids: Vec<String>,
}

pub async fn delete(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Json(request): Json<DeleteRequest>,
) -> ApiResult<axum::Json<Value>> {
    let deleted = blocking(&state, move |state| {
        let ids: Vec<&str> = request.ids.iter().map(String::as_str).collect();
        state.database(|database| database.delete_items(&name, &ids))
    })
    .await?;
    Ok(axum::Json(json!({"deleted": deleted})))
}

#[derive(Deserialize)]
pub struct GetQuery {
    /// Include the vector. Default: false.
    #[serde(default)]
    vector: bool,
}

pub async fn get(
    State(state): State<Arc<state::State>>,
    Path((name, id)): Path<(String, String)>,
    Query(query): Query<GetQuery>,
) -> ApiResult<axum::Json<Value>> {
    let record = blocking(&state, move |state| {
        state.database(|database| {
            database.require(&name)?;
            database
                .store()
                .get(&name, &[id.as_str()])?
                .pop()
                .ok_or(emb::Error::NoSuchItem { collection: name.clone(), id: id.clone() })
        })
    })
    .await?;
    let metadata =
        record.metadata.as_deref().and_then(|text| serde_json::from_str::<Value>(text).ok());
    let mut item = json!({
        "id": record.id,
        "content": record.content,
        "metadata": metadata,
        "updated": record.updated,
    });
    if query.vector {
        item["vector"] = json!(record.vector);
    }
    Ok(axum::Json(item))
}
