//! `ClientError`: what can go wrong talking to the panel, with the API's own
//! error body kept intact so callers can branch on its stable `code`.

use berth_proto::{ApiErrorBody, ErrorCode};
use thiserror::Error;

/// An error from a call to the panel API.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server answered with a non-2xx status. The body is the API's error
    /// body, or (when the server sent something else) a synthesized one with
    /// code `internal` and the response text as message.
    #[error("{} ({}, HTTP {status}{})", body.message, code_str(body.code), request_suffix(body))]
    Api { status: u16, body: ApiErrorBody },
    /// Connecting, sending or reading failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// A 2xx response whose body is not what the route promises.
    #[error("decoding the response: {0}")]
    Decode(String),
    /// The base URL or a path built from it is unusable.
    #[error("bad url: {0}")]
    BadUrl(String),
}

impl ClientError {
    /// The stable API error code, when the server answered with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { body, .. } => Some(body.code),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::Http(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The error body of an API error.
    pub fn api_body(&self) -> Option<&ApiErrorBody> {
        match self {
            ClientError::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Build the error for a non-2xx response from its status and body text.
    pub(crate) fn from_response(status: u16, text: &str) -> ClientError {
        let body = serde_json::from_str::<ApiErrorBody>(text).unwrap_or_else(|_| ApiErrorBody {
            code: ErrorCode::Internal,
            message: if text.trim().is_empty() {
                format!("HTTP {status} with an empty body")
            } else {
                text.trim().to_owned()
            },
            details: None,
            request_id: None,
        });
        ClientError::Api { status, body }
    }
}

/// The wire name of a code (`not_found`), which is what users search docs for.
pub fn code_str(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{code:?}"),
    }
}

fn request_suffix(body: &ApiErrorBody) -> String {
    match &body.request_id {
        Some(id) => format!(", request {id}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_kept() {
        let e = ClientError::from_response(
            404,
            r#"{"code":"not_found","message":"no such tenant","request_id":"r1"}"#,
        );
        assert_eq!(e.code(), Some(ErrorCode::NotFound));
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.to_string(), "no such tenant (not_found, HTTP 404, request r1)");
    }

    #[test]
    fn other_bodies_become_internal() {
        let e = ClientError::from_response(502, "Bad Gateway\n");
        assert_eq!(e.code(), Some(ErrorCode::Internal));
        assert_eq!(e.status(), Some(502));
        assert_eq!(e.api_body().map(|b| b.message.as_str()), Some("Bad Gateway"));
        let e = ClientError::from_response(503, "");
        assert_eq!(e.to_string(), "HTTP 503 with an empty body (internal, HTTP 503)");
    }
}
