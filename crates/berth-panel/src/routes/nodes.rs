//! A node's configuration history (staff): revisions, journal, drift, and
//! the jobs that roll back or resolve drift. Only `local` exists for now.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::audit;
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_agent::node::LocalNode;
use berth_core::Permission;
use berth_db::audit::AuditEvent;
use berth_db::jobs::NewJob;
use berth_proto::ApiErrorBody;
use berth_proto::api::nodes::{
    DriftAction, DriftItem, JournalLine, NodeChange, ResolveDrift, RevisionInfo, RollbackRequest,
};
use serde_json::json;
use std::sync::Arc;

fn local(st: &SharedState, name: &str) -> ApiResult<Arc<LocalNode>> {
    if name != "local" {
        return Err(ApiError::not_found("node"));
    }
    st.node
        .clone()
        .ok_or_else(|| ApiError::not_found("node (this panel runs no local node)"))
}

fn store_err(e: berth_agent::store::StoreError) -> ApiError {
    ApiError::internal(e)
}

/// Configuration revisions of a node, newest first.
#[utoipa::path(get, path = "/api/v1/nodes/{name}/revisions", tag = "nodes", params(("name" = String, Path)),
    responses((status = 200, body = Vec<RevisionInfo>), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn revisions(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<Reply<Vec<RevisionInfo>>> {
    auth.authorize(Permission::NodesManage)?;
    let node = local(&st, &name)?;
    let store = node.executor().store();
    let live = store.current().map_err(store_err)?;
    let mut out: Vec<RevisionInfo> = store
        .history()
        .map_err(store_err)?
        .into_iter()
        .map(|m| RevisionInfo {
            live: Some(m.rev) == live,
            rev: m.rev,
            at: berth_proto::Timestamp(m.at_ms),
            reason: m.reason,
            parent: m.parent,
            files: m.files.len(),
        })
        .collect();
    out.reverse();
    Ok(Reply(out))
}

/// The node's journal: every apply, rejection, rollback and recovery.
#[utoipa::path(get, path = "/api/v1/nodes/{name}/journal", tag = "nodes", params(("name" = String, Path)),
    responses((status = 200, body = Vec<JournalLine>), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn journal(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<Reply<Vec<JournalLine>>> {
    auth.authorize(Permission::NodesManage)?;
    let node = local(&st, &name)?;
    let lines = node.executor().store().journal().map_err(store_err)?;
    Ok(Reply(
        lines
            .into_iter()
            .map(|e| JournalLine {
                at: berth_proto::Timestamp(e.at_ms),
                event: e.event,
                rev: e.rev,
                reason: e.reason,
                detail: e.detail,
            })
            .collect(),
    ))
}

/// Managed files changed by hand since the live revision was applied.
#[utoipa::path(get, path = "/api/v1/nodes/{name}/drift", tag = "nodes", params(("name" = String, Path)),
    responses((status = 200, body = Vec<DriftItem>), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn drift(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<Reply<Vec<DriftItem>>> {
    auth.authorize(Permission::NodesManage)?;
    let node = local(&st, &name)?;
    let d = node.executor().store().drift().map_err(store_err)?;
    Ok(Reply(
        d.into_iter()
            .map(|d| DriftItem {
                path: d.path,
                expected_sha256: d.expected,
                actual_sha256: d.actual,
            })
            .collect(),
    ))
}

async fn enqueue(
    st: &SharedState,
    auth: &Authed,
    kind: &str,
    payload: serde_json::Value,
    summary: serde_json::Value,
    action: &'static str,
) -> ApiResult<NodeChange> {
    let mut tx = st.db.begin().await?;
    let (job, _) = st
        .engine
        .enqueue_on(
            &mut tx,
            NewJob {
                queue: "nodes".into(),
                kind: kind.into(),
                payload,
                priority: 10,
                max_attempts: 1,
                run_at: berth_db::now_ms(),
                idempotency_key: None,
                tenant_id: None,
                created_by: Some(auth.user.id),
            },
        )
        .await?;
    let mut summary = summary;
    summary["job_id"] = json!(job.id);
    audit(
        &mut tx,
        auth,
        AuditEvent {
            tenant_id: None,
            action,
            target_type: "node",
            target_id: Some("local".into()),
            summary,
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(NodeChange { job_id: job.id })
}

/// Make an earlier revision live again (a job; as a new revision).
#[utoipa::path(post, path = "/api/v1/nodes/{name}/rollback", tag = "nodes", params(("name" = String, Path)),
    request_body = RollbackRequest,
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn rollback(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
    Json(req): Json<RollbackRequest>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    auth.authorize(Permission::NodesManage)?;
    let node = local(&st, &name)?;
    node.executor()
        .store()
        .manifest(req.rev)
        .map_err(|_| ApiError::not_found("revision"))?;
    let c = enqueue(
        &st,
        &auth,
        "node.rollback",
        json!({ "rev": req.rev }),
        json!({ "rev": req.rev }),
        "node.rollback",
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}

/// Resolve drift: keep the hand edits as a new revision, or overwrite them.
#[utoipa::path(post, path = "/api/v1/nodes/{name}/drift", tag = "nodes", params(("name" = String, Path)),
    request_body = ResolveDrift,
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn resolve_drift(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
    Json(req): Json<ResolveDrift>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    auth.authorize(Permission::NodesManage)?;
    local(&st, &name)?;
    let action = match req.action {
        DriftAction::Keep => "keep",
        DriftAction::Overwrite => "overwrite",
    };
    let c = enqueue(
        &st,
        &auth,
        "node.drift",
        json!({ "action": action }),
        json!({ "action": action }),
        "node.drift",
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}

/// Re-render every site and apply them as one revision (a job).
#[utoipa::path(post, path = "/api/v1/nodes/{name}/rebuild", tag = "nodes", params(("name" = String, Path)),
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn rebuild(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    auth.authorize(Permission::NodesManage)?;
    local(&st, &name)?;
    let c = enqueue(&st, &auth, "node.rebuild", json!({}), json!({}), "node.rebuild").await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}
