//! Stable error codes and the one error body every API error uses:
//! `{"code": "...", "message": "...", "details": ...}`.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes. These strings are a public contract: add new
/// ones, never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not the expected shape.
    MalformedRequest,
    /// A field failed validation; `details` names it.
    InvalidInput,
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// No or bad credentials.
    Unauthenticated,
    /// Credentials are fine but a second factor is needed.
    TotpRequired,
    /// Authenticated but not allowed.
    Forbidden,
    /// Missing CSRF token on a cookie-authenticated write.
    CsrfFailed,
    /// Not found, or outside the caller's scope (we never say which).
    NotFound,
    /// A uniqueness or state conflict.
    Conflict,
    /// A package limit would be exceeded; `details.limit` names it.
    LimitExceeded,
    /// Too many attempts; retry later.
    RateLimited,
    /// The account or tenant is suspended.
    Suspended,
    /// Something broke on our side; the request id is in the logs.
    Internal,
    /// A dependency (database) is unavailable.
    Unavailable,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::MalformedRequest => 400,
            ErrorCode::InvalidInput => 422,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unauthenticated | ErrorCode::TotpRequired => 401,
            ErrorCode::Forbidden | ErrorCode::CsrfFailed | ErrorCode::Suspended => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::LimitExceeded => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// The body of every error response.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The request id, to find this request in logs and audit rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
