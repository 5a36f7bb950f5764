//! The audit log, filtered to the caller's scope, and chain verification.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::page;
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use berth_core::Permission;
use berth_proto::api::Page;
use berth_proto::api::audit::{AuditEntry, AuditQuery, AuditVerifyReport};
use berth_proto::{ApiErrorBody, Timestamp};

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn list_audit(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Reply<Page<AuditEntry>>> {
    let scope = auth.authorize(Permission::AuditRead)?;
    for (name, v) in [("since", &q.since), ("until", &q.until)] {
        if let Some(s) = v
            && Timestamp::parse_rfc3339(s).is_none()
        {
            return Err(ApiError::invalid_field(name, "must be an RFC 3339 timestamp"));
        }
    }
    let mut c = st.db.conn().await?;
    let (items, total) = berth_db::audit::list(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Recompute the hash chain of the whole log.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = AuditVerifyReport), (status = 403, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn verify_audit(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<AuditVerifyReport>> {
    auth.authorize(Permission::AuditVerify)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(berth_db::audit::verify(&mut c).await?))
}
