//! `GET /v1/collections`, `GET /v1/collections/{name}` and `DELETE /v1/collections/{name}`.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{json, Value};

use crate::error::{ApiResult, Path};
use crate::state::{self, blocking};

fn describe(info: &emb::CollectionInfo) -> Value {
    json!({
        "name": info.name,
        "model": info.model,
        "count": info.count,
        "dimensions": info.dimensions,
        "bytes": info.bytes,
    })
}

pub async fn list(State(state): State<Arc<state::State>>) -> ApiResult<axum::Json<Value>> {
    let collections =
        blocking(&state, |state| state.database(|database| database.collections())).await?;
    let data: Vec<Value> = collections.iter().map(describe).collect();
    Ok(axum::Json(json!({"object": "list", "data": data})))
}

pub async fn info(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let (info, index) = blocking(&state, move |state| {
        state.database(|database| Ok((database.summary(&name)?, database.index_status(&name)?)))
    })
    .await?;
    let mut described = describe(&info);
    described["index"] = serde_json::to_value(index).unwrap_or(Value::Null);
    Ok(axum::Json(described))
}

pub async fn delete(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let deleted = blocking(&state, move |state| {
        state.database(|database| {
            database.require(&name)?;
            let deleted = database.delete_collection(&name)?;
            Ok(json!({"name": name, "deleted": deleted}))
        })
    })
    .await?;
    Ok(axum::Json(deleted))
}
