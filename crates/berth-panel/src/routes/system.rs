//! Health, readiness and Prometheus metrics.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use berth_core::Permission;
use berth_proto::api::Health;

fn health(status: &str) -> Health {
    Health {
        status: status.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> Reply<Health> {
    Reply(health("ok"))
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(st): State<SharedState>) -> impl IntoResponse {
    match st.db.ping().await {
        Ok(()) => (StatusCode::OK, Reply(health("ready"))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Reply(health("database unreachable")))
        }
    }
}

/// Prometheus metrics (text format). Needs staff credentials (a read-only
/// API token is the usual choice for a scraper).
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")),
    security(("bearer" = [])))]
pub async fn metrics(State(st): State<SharedState>, auth: Authed) -> ApiResult<impl IntoResponse> {
    let scope = auth.authorize(Permission::AuditRead)?;
    if !scope.is_all() {
        return Err(ApiError::forbidden("metrics are for staff"));
    }
    let mut c = st.db.conn().await?;
    let counts = berth_db::jobs::counts_by_state(&mut c).await?;
    for s in berth_proto::api::jobs::JobState::ALL {
        let n = counts.iter().find(|(k, _)| *k == s).map(|(_, n)| *n).unwrap_or(0);
        metrics::gauge!("berth_jobs", "state" => s.as_str()).set(n as f64);
    }
    let lag = berth_db::jobs::queue_lag_ms(&mut c).await?;
    metrics::gauge!("berth_jobs_queue_lag_seconds").set(lag as f64 / 1000.0);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    ))
}
