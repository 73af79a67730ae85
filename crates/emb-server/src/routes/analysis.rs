//! The analyses of a collection over HTTP: `POST .../cluster`, `POST .../project` and
//! `GET .../map.html` (the interactive map the page shows, kept while the collection is
//! unchanged).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use emb::analysis::{
    ClusterMethod, ClusterSettings, MapSettings, ProjectionMethod, ProjectionSettings,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::state::{self, blocking};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterRequest {
    /// k-means with this many clusters. Default: chosen by silhouette up to 20.
    k: Option<usize>,
    /// Density clustering (HDBSCAN) with clusters of at least this many items instead.
    min_cluster_size: Option<usize>,
    /// Name clusters by their distinctive words. Default: true.
    labels: Option<bool>,
    #[serde(default)]
    seed: u64,
}

pub async fn cluster(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Json(request): Json<ClusterRequest>,
) -> ApiResult<axum::Json<Value>> {
    let method = match (request.k, request.min_cluster_size) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "give k (k-means) or min_cluster_size (density), not both",
            ))
        }
        (Some(k), None) if (1..=1000).contains(&k) => ClusterMethod::KMeans { k },
        (Some(k), None) => {
            return Err(ApiError::unprocessable(format!("k is {k}; it must be from 1 to 1000")))
        }
        (None, Some(size)) if size >= 2 => {
            ClusterMethod::Density { min_cluster_size: size, min_samples: None }
        }
        (None, Some(_)) => {
            return Err(ApiError::unprocessable("min_cluster_size must be at least 2"))
        }
        (None, None) => ClusterMethod::Auto { max_k: 20 },
    };
    let settings = ClusterSettings {
        method,
        labels: request.labels.unwrap_or(true),
        seed: request.seed,
        ..ClusterSettings::default()
    };
    let clustering = blocking(&state, move |state| {
        state.database(|database| database.cluster(&name, &settings))
    })
    .await?;
    Ok(axum::Json(json!(clustering)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRequest {
    /// pca, umap or tsne. Default: umap.
    method: Option<ProjectionMethod>,
    /// 2 or 3. Default: 2.
    dimensions: Option<usize>,
    #[serde(default)]
    seed: u64,
}

pub async fn project(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Json(request): Json<ProjectRequest>,
) -> ApiResult<axum::Json<Value>> {
    let dimensions = request.dimensions.unwrap_or(2);
    if !(2..=3).contains(&dimensions) {
        return Err(ApiError::unprocessable(format!(
            "dimensions is {dimensions}; it must be 2 or 3"
        )));
    }
    let settings = ProjectionSettings {
        method: request.method.unwrap_or(ProjectionMethod::Umap),
        dimensions,
        seed: request.seed,
    };
    let projection = blocking(&state, move |state| {
        state.database(|database| database.project(&name, &settings))
    })
    .await?;
    Ok(axum::Json(json!(projection)))
}

#[derive(Deserialize)]
pub struct MapQuery {
    /// pca, umap or tsne. Default: UMAP from 16 to 20,000 items, PCA otherwise.
    method: Option<ProjectionMethod>,
}

/// Collections larger than this are mapped by PCA unless asked otherwise: a first UMAP of them
/// takes minutes on a small machine.
const UMAP_LIMIT: u64 = 20_000;

/// UMAP needs more items than its neighbourhood (15); smaller collections are mapped by PCA.
const UMAP_MINIMUM: u64 = 16;

pub async fn map_page(
    State(state): State<Arc<state::State>>,
    Path(name): Path<String>,
    Query(query): Query<MapQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = blocking(&state, move |state| {
        let (info, generation) = state.database(|database| {
            Ok((database.summary(&name)?, database.store().generation(&name)?))
        })?;
        let method = query.method.unwrap_or(if (UMAP_MINIMUM..=UMAP_LIMIT).contains(&info.count) {
            ProjectionMethod::Umap
        } else {
            ProjectionMethod::Pca
        });
        let key = (name.clone(), method.to_string());
        let version = generation.map(|generation| generation.to_string());
        if let Some(version) = &version {
            let maps = state.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((drawn_version, page)) = maps.get(&key) {
                if drawn_version == version {
                    return Ok(Arc::clone(page));
                }
            }
        }
        let settings = MapSettings {
            projection: ProjectionSettings { method, dimensions: 2, seed: 0 },
            ..MapSettings::default()
        };
        let drawn = state.database(|database| database.map(&name, &settings))?;
        let style = emb::plot::Style {
            colour_by: Some(drawn.colour_by.clone()),
            ..emb::plot::Style::default()
        };
        let page =
            Arc::new(emb::plot::html(&drawn.map, &style).map_err(|error| {
                ApiError::unprocessable(format!("cannot draw {name:?}: {error}"))
            })?);
        if let Some(version) = version {
            state
                .maps
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key, (version, Arc::clone(&page)));
        }
        Ok(page)
    })
    .await?;
    Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], page.as_str().to_owned()))
}
