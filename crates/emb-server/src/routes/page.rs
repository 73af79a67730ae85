//! The page at `/`: search a collection and see it as a map. Its files are part of the binary,
//! so it works offline and needs nothing but this server.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../page/index.html");
const SCRIPT: &str = include_str!("../page/app.js");
const STYLE: &str = include_str!("../page/app.css");

/// The no-cache header: the page changes with the binary, not with time.
const NO_CACHE: (axum::http::HeaderName, &str) = (CACHE_CONTROL, "no-cache");

pub async fn index() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/html; charset=utf-8"), NO_CACHE], INDEX)
}

pub async fn script() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), NO_CACHE], SCRIPT)
}

pub async fn style() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), NO_CACHE], STYLE)
}
