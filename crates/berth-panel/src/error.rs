//! The one place errors become HTTP responses: `{"code","message","details"}`
//! with a stable code, and the request id added so users can quote it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_proto::{ApiErrorBody, ErrorCode};
use serde_json::Value;

tokio::task_local! {
    /// The id of the request being handled (set by the request-id middleware).
    pub static REQUEST_ID: berth_proto::RequestId;
}

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// Extra headers (for example `Retry-After`).
    pub retry_after_secs: Option<i64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }
    pub fn with_details(mut self, d: Value) -> ApiError {
        self.details = Some(d);
        self
    }
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, message)
    }
    pub fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, message).with_details(serde_json::json!({ "field": field }))
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Conflict, message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthenticated, message)
    }
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        // The cause goes to the log with the request id; the client gets the id.
        tracing::error!(error = %e, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "internal error; the request id identifies it in the logs",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ApiErrorBody {
            code: self.code,
            message: self.message,
            details: self.details,
            request_id: REQUEST_ID.try_with(|r| r.to_string()).ok(),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_secs
            && let Ok(v) = axum::http::HeaderValue::from_str(&s.max(1).to_string())
        {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        if self.code == ErrorCode::Unauthenticated
            && let Ok(v) = axum::http::HeaderValue::from_str("Bearer realm=\"berth\"")
        {
            resp.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

impl From<berth_db::DbError> for ApiError {
    fn from(e: berth_db::DbError) -> ApiError {
        use berth_db::DbError as D;
        match e {
            D::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            D::Conflict(m) => ApiError::conflict(m),
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::new(ErrorCode::Unavailable, "the database is unavailable")
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<berth_core::Denied> for ApiError {
    fn from(e: berth_core::Denied) -> ApiError {
        ApiError::forbidden(e.to_string())
    }
}

impl From<berth_jobs::EnqueueError> for ApiError {
    fn from(e: berth_jobs::EnqueueError) -> ApiError {
        match e {
            berth_jobs::EnqueueError::Db(d) => d.into(),
            other => ApiError::invalid(other.to_string()),
        }
    }
}

impl From<berth_proto::names::InvalidName> for ApiError {
    fn from(e: berth_proto::names::InvalidName) -> ApiError {
        ApiError::invalid_field(e.what, e.to_string())
    }
}

impl From<berth_core::quota::LimitExceeded> for ApiError {
    fn from(e: berth_core::quota::LimitExceeded) -> ApiError {
        ApiError::new(ErrorCode::LimitExceeded, e.to_string()).with_details(serde_json::json!({
            "limit": e.resource, "max": e.limit, "used": e.used
        }))
    }
}
