//! API v1 request and response bodies, one module per resource.

pub mod audit;
pub mod auth;
pub mod certificates;
pub mod databases;
pub mod dns;
pub mod jobs;
pub mod nodes;
pub mod packages;
pub mod settings;
pub mod sites;
pub mod tenants;
pub mod tokens;
pub mod users;

use serde::{Deserialize, Serialize};

/// One page of a list. `total` counts every match of the filter.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Default and maximum page sizes for every list endpoint.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Clamp a requested page to the allowed range.
pub fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> (i64, i64) {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = offset.unwrap_or(0).max(0);
    (limit, offset)
}

/// `?limit=&offset=` on list endpoints without other filters.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}
