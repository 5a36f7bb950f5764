//! Nodes (staff): the registry (register, enrol with a join token, revoke,
//! heartbeat, rotate certificates) and a node's configuration history
//! (revisions, journal, drift, rollback, rebuild; the local node's for now).

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::middleware::RequestCtx;
use crate::routes::audit;
use crate::state::SharedState;
use axum::Extension;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_agent::node::LocalNode;
use berth_core::Permission;
use berth_db::audit::AuditEvent;
use berth_db::jobs::NewJob;
use berth_proto::ApiErrorBody;
use berth_proto::api::nodes::{
    CreateNode, DriftAction, DriftItem, JoinRequest, JoinResponse, JournalLine, Node, NodeChange, NodeCreated,
    NodeRole, NodeState, ResolveDrift, RevisionInfo, RollbackRequest,
};
use berth_proto::{AccountName, ErrorCode};
use serde_json::json;
use std::sync::Arc;

/// Where a node's history lives: in this process, or behind an agent.
enum Target {
    Local(Arc<LocalNode>),
    Remote(Box<berth_db::nodes::NodeRow>),
}

async fn target(st: &SharedState, name: &str) -> ApiResult<Target> {
    if name == LOCAL {
        return st
            .node
            .clone()
            .map(Target::Local)
            .ok_or_else(|| ApiError::not_found("node (this panel runs no local node)"));
    }
    let mut c = st.db.conn().await?;
    let row = berth_db::nodes::get(&mut c, name).await?;
    if row.node.state != NodeState::Trusted {
        return Err(ApiError::conflict(format!(
            "node {name} is {}",
            row.node.state.as_str()
        )));
    }
    Ok(Target::Remote(Box::new(row)))
}

fn store_err(e: berth_agent::store::StoreError) -> ApiError {
    ApiError::internal(e)
}

fn agent_err(e: crate::agents::AgentError) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, e.to_string())
}

/// Ask a remote node's agent (GET).
async fn ask<T: serde::de::DeserializeOwned>(
    st: &SharedState,
    row: &berth_db::nodes::NodeRow,
    path: &str,
) -> ApiResult<T> {
    st.pki
        .call(row, reqwest::Method::GET, path, None::<&()>, None)
        .await
        .map_err(agent_err)
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
    Ok(Reply(match target(&st, &name).await? {
        Target::Local(n) => berth_agent::history::revisions(n.executor().store()).map_err(store_err)?,
        Target::Remote(row) => ask(&st, &row, "/v1/nginx/revisions").await?,
    }))
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
    Ok(Reply(match target(&st, &name).await? {
        Target::Local(n) => berth_agent::history::journal(n.executor().store()).map_err(store_err)?,
        Target::Remote(row) => ask(&st, &row, "/v1/nginx/journal").await?,
    }))
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
    Ok(Reply(match target(&st, &name).await? {
        Target::Local(n) => berth_agent::history::drift(n.executor().store()).map_err(store_err)?,
        Target::Remote(row) => ask(&st, &row, "/v1/nginx/drift").await?,
    }))
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
    match target(&st, &name).await? {
        Target::Local(node) => {
            node.executor()
                .store()
                .manifest(req.rev)
                .map_err(|_| ApiError::not_found("revision"))?;
        }
        Target::Remote(row) => {
            let revs: Vec<RevisionInfo> = ask(&st, &row, "/v1/nginx/revisions").await?;
            if !revs.iter().any(|r| r.rev == req.rev) {
                return Err(ApiError::not_found("revision"));
            }
        }
    }
    let c = enqueue(
        &st,
        &auth,
        "node.rollback",
        json!({ "rev": req.rev, "node": name }),
        json!({ "rev": req.rev, "node": name }),
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
    target(&st, &name).await?;
    let action = match req.action {
        DriftAction::Keep => "keep",
        DriftAction::Overwrite => "overwrite",
    };
    let c = enqueue(
        &st,
        &auth,
        "node.drift",
        json!({ "action": action, "node": name }),
        json!({ "action": action, "node": name }),
        "node.drift",
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}

/// A job on a node's configuration (`local` or an enrolled node).
async fn history_job(st: &SharedState, auth: &Authed, name: &str, kind: &'static str) -> ApiResult<NodeChange> {
    auth.authorize(Permission::NodesManage)?;
    target(st, name).await?;
    enqueue(st, auth, kind, json!({ "node": name }), json!({ "node": name }), kind).await
}

/// Re-render every site and apply them as one revision (a job).
#[utoipa::path(post, path = "/api/v1/nodes/{name}/rebuild", tag = "nodes", params(("name" = String, Path)),
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn rebuild(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    let c = history_job(&st, &auth, &name, "node.rebuild").await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}

/// The panel's own node as a registry entry (its report taken now).
async fn local_entry(st: &SharedState) -> ApiResult<Option<Node>> {
    let Some(node) = st.node.clone() else {
        return Ok(None);
    };
    let php = node.php_versions().iter().map(|v| v.to_string()).collect();
    let report = berth_agent::report::collect(std::path::Path::new(node.config().homes_root.as_str()), php).await;
    let mut c = st.db.conn().await?;
    let sites = berth_db::sites::count_on_node(&mut c, None).await?;
    Ok(Some(Node {
        id: None,
        name: AccountName::parse(LOCAL).map_err(ApiError::internal)?,
        address: None,
        roles: vec![NodeRole::Web],
        state: NodeState::Trusted,
        capabilities: Some(report.capabilities),
        metrics: Some(report.metrics),
        last_seen_at: Some(berth_proto::Timestamp(berth_db::now_ms())),
        last_error: None,
        cert_serial: None,
        cert_not_after: None,
        sites,
        created_at: None,
    }))
}

const LOCAL: &str = "local";

/// Node names that cannot be registered.
fn reserved(name: &str) -> bool {
    name == LOCAL || name == berth_pki::PANEL_CN
}

/// Every node: the panel's own (`local`) and the enrolled ones.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "nodes",
    responses((status = 200, body = Vec<Node>)), security(("bearer" = [])))]
pub async fn list_nodes(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Vec<Node>>> {
    auth.authorize(Permission::NodesManage)?;
    let mut out: Vec<Node> = local_entry(&st).await?.into_iter().collect();
    let mut c = st.db.conn().await?;
    out.extend(berth_db::nodes::list(&mut c).await?.into_iter().map(|r| r.node));
    Ok(Reply(out))
}

/// One node.
#[utoipa::path(get, path = "/api/v1/nodes/{name}", tag = "nodes", params(("name" = String, Path)),
    responses((status = 200, body = Node), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_node(State(st): State<SharedState>, auth: Authed, Path(name): Path<String>) -> ApiResult<Reply<Node>> {
    auth.authorize(Permission::NodesManage)?;
    if name == LOCAL {
        return local_entry(&st)
            .await?
            .map(Reply)
            .ok_or_else(|| ApiError::not_found("node"));
    }
    let mut c = st.db.conn().await?;
    Ok(Reply(berth_db::nodes::get(&mut c, &name).await?.node))
}

fn check_address(a: &str) -> ApiResult<()> {
    let ok = a.len() <= 253
        && a.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && port.parse::<u16>().is_ok_and(|p| p > 0)
                && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "address",
            "must be host:port (the agent's RPC address)",
        ))
    }
}

/// Register a node; the answer carries its one-time join token.
#[utoipa::path(post, path = "/api/v1/nodes", tag = "nodes", request_body = CreateNode,
    responses((status = 201, body = NodeCreated), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_node(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateNode>,
) -> ApiResult<(StatusCode, Reply<NodeCreated>)> {
    auth.authorize(Permission::NodesManage)?;
    if reserved(req.name.as_str()) {
        return Err(ApiError::invalid_field("name", "this name is reserved"));
    }
    check_address(&req.address)?;
    if req.roles.is_empty() || req.roles.len() > 5 {
        return Err(ApiError::invalid_field("roles", "one to five roles"));
    }
    let mut roles = req.roles.clone();
    roles.sort();
    roles.dedup();
    let (token, hash) = crate::agents::new_join_token(st.pki.ca_pin());
    let expires = berth_db::now_ms() + crate::agents::JOIN_TOKEN_MINUTES * 60_000;
    let mut tx = st.db.begin().await?;
    let row = berth_db::nodes::insert(&mut tx, &req.name, &req.address, &roles, &hash, expires).await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: None,
            action: "node.create",
            target_type: "node",
            target_id: Some(row.node.name.to_string()),
            summary: json!({ "address": req.address, "roles": roles }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok((
        StatusCode::CREATED,
        Reply(NodeCreated {
            join_command: format!("berth agent join <panel-url> --token {token}"),
            node: row.node,
            join_token: token,
            join_expires_at: berth_proto::Timestamp(expires),
        }),
    ))
}

/// A new join token for a node that has not enrolled yet (the old one stops working).
#[utoipa::path(post, path = "/api/v1/nodes/{name}/token", tag = "nodes", params(("name" = String, Path)),
    responses((status = 200, body = NodeCreated), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn new_token(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<Reply<NodeCreated>> {
    auth.authorize(Permission::NodesManage)?;
    let mut tx = st.db.begin().await?;
    let row = berth_db::nodes::get(&mut tx, &name).await?;
    if row.node.state != NodeState::Pending {
        return Err(ApiError::conflict("the node has enrolled already or was deleted"));
    }
    let (token, hash) = crate::agents::new_join_token(st.pki.ca_pin());
    let expires = berth_db::now_ms() + crate::agents::JOIN_TOKEN_MINUTES * 60_000;
    berth_db::nodes::set_token(&mut tx, row.id, &hash, expires).await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: None,
            action: "node.token",
            target_type: "node",
            target_id: Some(name.clone()),
            summary: json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(NodeCreated {
        join_command: format!("berth agent join <panel-url> --token {token}"),
        node: row.node,
        join_token: token,
        join_expires_at: berth_proto::Timestamp(expires),
    }))
}

/// Enrol a node: its one-time token and a certificate request made on the
/// node. The certificate is built from the panel's own parameters.
#[utoipa::path(post, path = "/api/v1/nodes/join", tag = "nodes", request_body = JoinRequest,
    responses((status = 200, body = JoinResponse), (status = 401, body = ApiErrorBody, description = "unknown, used or expired token"),
        (status = 422, body = ApiErrorBody)))]
pub async fn join(
    State(st): State<SharedState>,
    Extension(ctx): Extension<RequestCtx>,
    Json(req): Json<JoinRequest>,
) -> ApiResult<Reply<JoinResponse>> {
    let refused = || ApiError::new(ErrorCode::Unauthenticated, "the join token is unknown, used or expired");
    if req.token.len() > 200 || req.csr.len() > 16 * 1024 {
        return Err(refused());
    }
    let hash = crate::agents::token_hash(&req.token);
    let mut tx = st.db.begin().await?;
    let row = match berth_db::nodes::by_token(&mut tx, &hash).await {
        Ok(r) => r,
        Err(berth_db::DbError::NotFound) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    if row.node.state != NodeState::Pending || row.join_expires_at.is_none_or(|t| t < berth_db::now_ms()) {
        return Err(refused());
    }
    let issued = st
        .pki
        .issue_node(&req.csr, row.node.name.as_str())
        .map_err(|e| ApiError::invalid_field("csr", e.to_string()))?;
    if !berth_db::nodes::trust(
        &mut tx,
        row.id,
        &hash,
        &issued.sha256_hex,
        &issued.serial_hex,
        issued.not_after_ms,
    )
    .await?
    {
        return Err(refused());
    }
    berth_db::audit::append(
        &mut tx,
        &berth_db::audit::AuditMeta {
            actor_id: None,
            actor_role: None,
            request_id: Some(ctx.request_id),
            ip: Some(ctx.ip.to_string()),
        },
        AuditEvent {
            tenant_id: None,
            action: "node.join",
            target_type: "node",
            target_id: Some(row.node.name.to_string()),
            summary: json!({ "serial": issued.serial_hex, "not_after": issued.not_after_ms }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    // A first heartbeat at once, so capabilities show without waiting a minute.
    let _ = st
        .engine
        .enqueue(NewJob {
            queue: "nodes".into(),
            kind: "node.heartbeat".into(),
            payload: json!({ "name": row.node.name }),
            priority: 0,
            max_attempts: 1,
            run_at: berth_db::now_ms() + 500,
            idempotency_key: None,
            tenant_id: None,
            created_by: None,
        })
        .await;
    Ok(Reply(JoinResponse {
        name: row.node.name,
        cert_pem: issued.cert_pem,
        ca_pem: st.pki.ca_pem().to_owned(),
    }))
}

/// Delete a node: it is revoked (the panel stops talking to it and refuses
/// its certificate). Refused while sites live on it.
#[utoipa::path(delete, path = "/api/v1/nodes/{name}", tag = "nodes", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_node(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    auth.authorize(Permission::NodesManage)?;
    if name == LOCAL {
        return Err(ApiError::conflict("the panel's own node cannot be deleted"));
    }
    let mut tx = st.db.begin().await?;
    let row = berth_db::nodes::get(&mut tx, &name).await?;
    if row.node.sites > 0 {
        return Err(ApiError::conflict(format!(
            "{} site(s) live on this node; move or delete them first",
            row.node.sites
        )));
    }
    berth_db::nodes::revoke(&mut tx, row.id).await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: None,
            action: "node.revoke",
            target_type: "node",
            target_id: Some(name),
            summary: json!({ "serial": row.node.cert_serial }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A job for an enrolled node named in the path.
async fn registry_job(st: &SharedState, auth: &Authed, name: &str, kind: &'static str) -> ApiResult<NodeChange> {
    auth.authorize(Permission::NodesManage)?;
    let mut c = st.db.conn().await?;
    berth_db::nodes::get(&mut c, name).await?;
    drop(c);
    enqueue(st, auth, kind, json!({ "name": name }), json!({ "name": name }), kind).await
}

/// Rotate a node's certificate now (a job; the agent keeps running).
#[utoipa::path(post, path = "/api/v1/nodes/{name}/rotate-cert", tag = "nodes", params(("name" = String, Path)),
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn rotate_cert(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    let c = registry_job(&st, &auth, &name, "node.rotate_cert").await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}

/// Ask a node for its report now (a job; also runs every minute).
#[utoipa::path(post, path = "/api/v1/nodes/{name}/heartbeat", tag = "nodes", params(("name" = String, Path)),
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn heartbeat(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    let c = registry_job(&st, &auth, &name, "node.heartbeat").await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}

/// Put the operator's server-block template in use (`nginx-vhost.conf.j2`
/// in the node's templates directory), or go back to the built-in when it
/// is gone: a job renders every site with it and applies them through
/// `nginx -t`; a template that fails changes nothing.
#[utoipa::path(post, path = "/api/v1/nodes/{name}/templates/activate", tag = "nodes", params(("name" = String, Path)),
    responses((status = 202, body = NodeChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn activate_templates(
    State(st): State<SharedState>,
    auth: Authed,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Reply<NodeChange>)> {
    let c = history_job(&st, &auth, &name, "node.templates").await?;
    Ok((StatusCode::ACCEPTED, Reply(c)))
}
