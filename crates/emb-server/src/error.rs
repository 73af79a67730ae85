//! Every failure a route can answer with, as the OpenAI API shapes it:
//! `{"error": {"message", "type", "code"}}` with a 4xx or 5xx status. The mapping from emb's
//! errors to statuses is here and nowhere else.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// A failed request: the status, an OpenAI-style error type, and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error's type (`invalid_request_error`, `not_found_error`, ...).
    pub kind: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// Seconds after which retrying makes sense (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into(), retry_after: None }
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 422: the request is understood but its values cannot be served.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error", message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }

    /// 413: a body over the server's limit.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "the body is larger than the server's limit (--body-limit); send fewer inputs per request",
        )
    }

    /// 401: a missing or wrong API key.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "this server needs an API key: send the header `Authorization: Bearer KEY` with the key it was started with (--api-key / EMB_API_KEY)",
        )
    }

    /// 503: the queue is full; retry after a second.
    pub fn busy(queued: usize) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded_error",
                format!("the server is busy ({queued} requests already wait for the model); retry after a second"),
            )
        }
    }

    /// 504: the request took longer than the server's timeout.
    pub fn timeout(seconds: f64) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout_error",
            format!("the request took longer than the server's request timeout ({seconds} s; --request-timeout); work already started, such as a write or a map, still finishes: try again"),
        )
    }

    /// 500: a failure of the server itself.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }
}

impl From<emb::Error> for ApiError {
    fn from(error: emb::Error) -> Self {
        use emb::Error as E;
        let message = error.to_string();
        match &error {
            E::NoSuchCollection { .. } | E::NoSuchItem { .. } => Self::not_found(message),
            E::Model(emb_error) if is_missing_model(emb_error) => Self::not_found(message),
            E::ModelMismatch { .. }
            | E::Filter(_)
            | E::Input { .. }
            | E::Analysis(_)
            | E::Unsupported(_) => Self::unprocessable(message),
            E::Model(emb_models_error) if is_bad_input(emb_models_error) => {
                Self::unprocessable(message)
            }
            E::Core(core) if is_bad_request(core) => Self::unprocessable(message),
            _ => {
                tracing::error!(%message, "request failed");
                Self::internal(message)
            }
        }
    }
}

/// Whether a model error means the model is not installed.
fn is_missing_model(error: &emb::ModelError) -> bool {
    matches!(error, emb::ModelError::NotFound { .. })
}

/// Whether a model error is about what the caller sent (a token id, a prompt name).
fn is_bad_input(error: &emb::ModelError) -> bool {
    matches!(error, emb::ModelError::Tokenizer(_) | emb::ModelError::UnknownPrompt { .. })
}

/// Whether a core error is about what the caller sent (a vector, a filter, a collection's name).
fn is_bad_request(error: &emb::CoreError) -> bool {
    use emb::CoreError as C;
    matches!(
        error,
        C::DimensionMismatch { .. }
            | C::InvalidBlob { .. }
            | C::EmptyInput { .. }
            | C::UnsupportedInput { .. }
            | C::InvalidCollectionName { .. }
            | C::FilterTooComplex { .. }
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "code": self.status.as_u16(),
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON body whose rejections are [`ApiError`]s (axum's own are plain text).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "the body must be JSON, sent with the header `Content-Type: application/json`"
                .to_owned()
        }
        JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::too_large();
        }
        _ => rejection.body_text(),
    };
    ApiError { status, ..ApiError::bad_request(message) }
}

/// A query string whose rejections are [`ApiError`]s.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// Path parameters whose rejections are [`ApiError`]s.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection: PathRejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// What a route returns.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_past_a_limit_are_the_clients_mistake() {
        let parsed = emb::Filter::parse(&"not ".repeat(100)).unwrap_err();
        let answer = ApiError::from(emb::Error::Filter(parsed));
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(answer.message.contains("nests deeper than 64 levels"), "{}", answer.message);
        // A database's own refusal, were a filter ever to reach it, is one too.
        let refused = emb::Error::Core(emb::CoreError::FilterTooComplex {
            context: "embeddings.db: cannot filter".into(),
            reason: "Expression tree is too large (maximum depth 1000)".into(),
        });
        assert_eq!(ApiError::from(refused).status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
