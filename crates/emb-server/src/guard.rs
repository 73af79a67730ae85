//! What every request passes through before its route: the API key check, the time limit,
//! and the counting for `/metrics`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::state;

/// Routes open without the key: the health check, and the page's own files (they hold no
/// data; the page asks for the key and sends it with every request it makes).
fn is_open(path: &str) -> bool {
    path == "/health" || path == "/" || path.starts_with("/assets/")
}

/// Refuses requests without the server's key (when it has one).
pub async fn authorize(
    State(state): State<Arc<state::State>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(key) = &state.settings.api_key {
        if !is_open(request.uri().path()) {
            let given = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(bearer_token)
                .unwrap_or_default();
            if !same(given.trim().as_bytes(), key.as_bytes()) {
                return ApiError::unauthorized().into_response();
            }
        }
    }
    next.run(request).await
}

/// The token of an `Authorization` header's `Bearer` scheme, whose name is case-insensitive
/// (RFC 9110, section 11.1): `Bearer KEY`, `bearer KEY` and `BEARER KEY` all give `KEY`.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Answers 413 to a body whose announced length is over the limit, after reading and
/// dropping it (up to [`DRAIN_BYTES`] or [`DRAIN_TIME`]). Clients such as `requests` and
/// `ureq` send the whole body before they read the answer; a server that answers and closes
/// while they write makes them report a broken pipe instead of the 413 and its message.
pub async fn refuse_oversized(
    State(state): State<Arc<state::State>>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match announced {
        Some(length) if length > state.settings.body_limit as u64 => {
            let mut body = request.into_body();
            let mut read = 0_u64;
            let _ = tokio::time::timeout(DRAIN_TIME, async {
                while read <= DRAIN_BYTES {
                    match body.frame().await {
                        Some(Ok(frame)) => {
                            read += frame.data_ref().map_or(0, |data| data.len() as u64);
                        }
                        _ => break,
                    }
                }
            })
            .await;
            ApiError::too_large().into_response()
        }
        _ => next.run(request).await,
    }
}

/// The most of a refused body that is read before answering, and the longest time spent on it;
/// past either the server answers at once and closes the connection.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Compares in time that depends only on the lengths, so that the key cannot be guessed a
/// byte at a time by timing the answers.
fn same(given: &[u8], key: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != key.len());
    for (index, byte) in key.iter().enumerate() {
        difference |= byte ^ given.get(index).copied().unwrap_or(!byte);
    }
    difference == 0
}

/// Answers 504 when the route takes longer than the server's timeout, and counts every answer.
pub async fn time_and_count(
    State(state): State<Arc<state::State>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let limit = state.settings.request_timeout;
    let response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(limit.as_secs_f64()).into_response(),
    };
    state.metrics.record_request(&route, response.status().as_u16(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_equal_only_when_identical() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secreT", b"secret"));
        assert!(!same(b"secret!", b"secret"));
        assert!(!same(b"secre", b"secret"));
        assert!(!same(b"", b"secret"));
    }

    #[test]
    fn only_the_health_check_and_the_page_are_open() {
        assert!(is_open("/health"));
        assert!(is_open("/"));
        assert!(is_open("/assets/app.js"));
        assert!(!is_open("/v1/embeddings"));
        assert!(!is_open("/metrics"));
        assert!(!is_open("/v1/collections/docs/map.html"));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer KEY"), Some("KEY"));
        assert_eq!(bearer_token("bearer KEY"), Some("KEY"));
        assert_eq!(bearer_token("BEARER KEY"), Some("KEY"));
        assert_eq!(bearer_token("Basic KEY"), None);
        assert_eq!(bearer_token("BearerKEY"), None);
    }
}
