//! Request extractors whose failures speak our error format: a JSON body
//! (unknown fields refused by the types, size capped by the body limit) and
//! query strings.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use berth_proto::ErrorCode;
use serde::de::DeserializeOwned;

/// `axum::Json` with our error body: 400 for malformed JSON, 422 for a body
/// that is JSON but not a valid request, 413 when too large, 415 without a
/// JSON content type.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let status = r.status().as_u16();
    let text = r.body_text();
    match r {
        JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::InvalidInput, text),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(ErrorCode::MalformedRequest, text),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::MalformedRequest,
            "expected a JSON body with Content-Type: application/json",
        ),
        _ if status == 413 => ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large"),
        _ => ApiError::new(ErrorCode::MalformedRequest, text),
    }
}

/// `axum::extract::Query` with our error body (422).
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, e.body_text())
}

/// Path parameters with our error body: a malformed id is a 404 (it cannot
/// name anything), never a 500.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(ApiError::new(ErrorCode::NotFound, "not found")),
        }
    }
}
