//! Job kinds that change a node's configuration history: `node.rollback`
//! (make an earlier revision live again, as a new revision) and
//! `node.drift` (keep or overwrite hand edits). Both go through the one
//! executor, so its checks, health checks and rollback apply.

use berth_agent::node::LocalNode;
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use serde_json::{Value, json};
use std::sync::Arc;

/// The payload's `key`, beside an optional `node` (a node name; `local`
/// when absent), and nothing else.
fn only(payload: &Value, key: &str) -> Result<Value, String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    if obj.keys().any(|k| k != key && k != "node") {
        return Err(format!("the payload takes only {key} and node"));
    }
    obj.get(key).cloned().ok_or_else(|| format!("{key} is required"))
}

fn node_in(payload: &Value) -> Result<String, String> {
    match payload.get("node") {
        None | Some(Value::Null) => Ok("local".into()),
        Some(v) => v
            .as_str()
            .filter(|n| berth_proto::AccountName::parse(n).is_ok())
            .map(str::to_owned)
            .ok_or_else(|| "node must be a node name".into()),
    }
}

fn node(n: &Option<Arc<LocalNode>>) -> Result<&Arc<LocalNode>, StepError> {
    n.as_ref()
        .ok_or_else(|| StepError::Permanent("this panel runs no local node".into()))
}

fn apply_err(e: berth_agent::apply::ApplyError) -> StepError {
    if e.retryable() {
        StepError::Retry(e.to_string())
    } else {
        StepError::Permanent(e.to_string())
    }
}

fn db_err(e: berth_db::DbError) -> StepError {
    StepError::Retry(format!("database: {e}"))
}

/// An enrolled node by name (for jobs on remote nodes).
async fn remote(ctx: &StepCtx, name: &str) -> Result<berth_db::nodes::NodeRow, StepError> {
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    berth_db::nodes::get(&mut c, name).await.map_err(|e| match e {
        berth_db::DbError::NotFound => StepError::Permanent(format!("no node named {name}")),
        e => db_err(e),
    })
}

fn agent_err(e: crate::agents::AgentError) -> StepError {
    if e.retryable() {
        StepError::Retry(e.to_string())
    } else {
        StepError::Permanent(e.to_string())
    }
}

/// Send a change to a remote node's agent and report it.
async fn remote_change(
    ctx: &StepCtx,
    pki: &crate::agents::Pki,
    name: &str,
    path: &str,
    body: Value,
) -> Result<Option<Value>, StepError> {
    let row = remote(ctx, name).await?;
    let rid = ctx.job().id.to_string();
    let mut body = body;
    body["generation"] = json!(ctx.job().created_at.0);
    let done: berth_agent::rpc::Applied = pki
        .call(&row, reqwest::Method::POST, path, Some(&body), Some(&rid))
        .await
        .map_err(agent_err)?;
    match done.revision {
        Some(r) => ctx.log("info", format!("{name}: revision {r} is live")).await,
        None if done.already_applied => ctx.log("info", format!("{name} had done this already")).await,
        None => ctx.log("info", format!("{name}: nothing to change")).await,
    }
    Ok(Some(
        json!({ "node": name, "revision": done.revision, "steps": done.steps }),
    ))
}

pub struct NodeRollback {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<crate::agents::Pki>,
}

impl JobHandler for NodeRollback {
    fn kind(&self) -> &'static str {
        "node.rollback"
    }
    fn description(&self) -> &'static str {
        "Makes an earlier configuration revision live again (as a new revision, through the same checks)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, "rev")?.as_u64().ok_or("rev must be a revision number")?;
        node_in(payload)?;
        Ok(vec!["roll back".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let rev = only(ctx.payload(), "rev")
                .ok()
                .and_then(|v| v.as_u64())
                .ok_or_else(|| StepError::Permanent("rev must be a revision number".into()))?;
            let name = node_in(ctx.payload()).map_err(StepError::Permanent)?;
            if name != "local" {
                return remote_change(ctx, &self.pki, &name, "/v1/nginx/rollback", json!({ "rev": rev })).await;
            }
            let n = node(&self.node)?;
            let r = n.executor().rollback_to(rev, Vec::new()).await.map_err(apply_err)?;
            ctx.log("info", format!("revision {rev} is live again as revision {}", r.rev))
                .await;
            Ok(Some(json!({ "revision": r.rev, "steps": r.steps })))
        })
    }
}

pub struct NodeDrift {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<crate::agents::Pki>,
}

impl JobHandler for NodeDrift {
    fn kind(&self) -> &'static str {
        "node.drift"
    }
    fn description(&self) -> &'static str {
        "Resolves hand edits of managed files: keep them as a new revision, or overwrite them."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        node_in(payload)?;
        match only(payload, "action")?.as_str() {
            Some("keep") | Some("overwrite") => Ok(vec!["resolve drift".into()]),
            _ => Err("action must be keep or overwrite".into()),
        }
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let keep = only(ctx.payload(), "action")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                == Some("keep".into());
            let name = node_in(ctx.payload()).map_err(StepError::Permanent)?;
            if name != "local" {
                let action = if keep { "keep" } else { "overwrite" };
                return remote_change(ctx, &self.pki, &name, "/v1/nginx/drift", json!({ "action": action })).await;
            }
            let n = node(&self.node)?;
            let r = if keep {
                n.executor().adopt_drift().await
            } else {
                n.executor().overwrite_drift().await
            }
            .map_err(apply_err)?;
            match r {
                Some(r) => {
                    ctx.log("info", format!("drift resolved as revision {}", r.rev)).await;
                    Ok(Some(json!({ "revision": r.rev, "steps": r.steps })))
                }
                None => {
                    ctx.log("info", "there was no drift").await;
                    Ok(None)
                }
            }
        })
    }
}

/// `node.rebuild`, and `node.templates` (the same with the operator's
/// template as it now is in the node's templates directory).
pub struct NodeRebuild {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<crate::agents::Pki>,
    pub templates: bool,
}

impl JobHandler for NodeRebuild {
    fn kind(&self) -> &'static str {
        if self.templates {
            "node.templates"
        } else {
            "node.rebuild"
        }
    }
    fn description(&self) -> &'static str {
        if self.templates {
            "Puts the operator's server-block template in use after rendering every site with it and passing nginx -t (or goes back to the built-in one)."
        } else {
            "Re-renders every site's configuration and applies them all as one revision."
        }
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        let obj = payload.as_object().ok_or("the payload must be an object")?;
        if obj.keys().any(|k| k != "node") {
            return Err("the payload takes only node".into());
        }
        node_in(payload)?;
        Ok(vec!["rebuild".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let name = node_in(ctx.payload()).map_err(StepError::Permanent)?;
            let node_id = if name == "local" {
                None
            } else {
                Some(remote(ctx, &name).await?.id)
            };
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let sites = berth_db::sites::all(&mut c, node_id).await.map_err(db_err)?;
            let mut cache = std::collections::HashMap::new();
            let mut inputs = Vec::with_capacity(sites.len());
            for s in &sites {
                inputs.push(crate::site_jobs::site_input(&mut c, s, &mut cache).await?);
            }
            drop(c);
            if node_id.is_some() {
                let count = inputs.len();
                let path = if self.templates {
                    "/v1/templates/activate"
                } else {
                    "/v1/sites/rebuild"
                };
                let mut out = remote_change(ctx, &self.pki, &name, path, json!({ "sites": inputs })).await?;
                if let Some(Value::Object(o)) = out.as_mut() {
                    o.insert("sites".into(), json!(count));
                }
                return Ok(out);
            }
            let n = node(&self.node)?;
            if self.templates {
                let reason = format!("job {} (templates)", ctx.job().id);
                return match n.activate_templates(&inputs, &reason).await {
                    Ok((used, r)) => {
                        let which = if used { "the operator's" } else { "the built-in" };
                        ctx.log("info", format!("{which} template is in use (revision {})", r.rev))
                            .await;
                        Ok(Some(
                            json!({ "revision": r.rev, "sites": inputs.len(), "override": used, "steps": r.steps }),
                        ))
                    }
                    Err(e) => {
                        ctx.log("error", e.to_string()).await;
                        Err(StepError::Permanent(e.to_string()))
                    }
                };
            }
            let reason = format!("job {} (rebuild)", ctx.job().id);
            match n.rebuild(&inputs, &reason).await {
                Ok(r) => {
                    ctx.log(
                        "info",
                        format!("{} site(s) applied as revision {}", inputs.len(), r.rev),
                    )
                    .await;
                    Ok(Some(
                        json!({ "revision": r.rev, "sites": inputs.len(), "steps": r.steps }),
                    ))
                }
                Err(e) if e.retryable() => Err(StepError::Retry(e.to_string())),
                Err(e) => Err(StepError::Permanent(e.to_string())),
            }
        })
    }
}

/// `{}` for every trusted node, or `{"name": …}` for one.
fn node_name(payload: &Value) -> Result<Option<String>, String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    if obj.keys().any(|k| k != "name") {
        return Err("the payload takes only name".into());
    }
    match obj.get("name") {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .filter(|n| berth_proto::AccountName::parse(n).is_ok())
            .map(|n| Some(n.to_owned()))
            .ok_or_else(|| "name must be a node name".into()),
    }
}

pub(crate) async fn trusted_nodes(
    ctx: &StepCtx,
    name: Option<String>,
) -> Result<Vec<berth_db::nodes::NodeRow>, StepError> {
    let db_err = |e: berth_db::DbError| StepError::Retry(format!("database: {e}"));
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    let rows = match name {
        Some(n) => vec![berth_db::nodes::get(&mut c, &n).await.map_err(|e| match e {
            berth_db::DbError::NotFound => StepError::Permanent(format!("no node named {n}")),
            e => db_err(e),
        })?],
        None => berth_db::nodes::list(&mut c).await.map_err(db_err)?,
    };
    Ok(rows
        .into_iter()
        .filter(|r| r.node.state == berth_proto::api::nodes::NodeState::Trusted)
        .collect())
}

/// Ask each trusted node for its report (capabilities and metrics); rotate
/// certificates with a third of their life left.
pub struct NodeHeartbeat {
    pub pki: Arc<crate::agents::Pki>,
}

impl JobHandler for NodeHeartbeat {
    fn kind(&self) -> &'static str {
        "node.heartbeat"
    }
    fn description(&self) -> &'static str {
        "Asks enrolled nodes for their capabilities and metrics (last seen), and rotates certificates that are due."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        node_name(payload)?;
        Ok(vec!["heartbeat".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let name = node_name(ctx.payload()).map_err(StepError::Permanent)?;
            let rows = trusted_nodes(ctx, name).await?;
            let rid = ctx.job().id.to_string();
            let mut out = serde_json::Map::new();
            for row in rows {
                let r: Result<berth_proto::api::nodes::NodeReport, _> = self
                    .pki
                    .call(&row, reqwest::Method::GET, "/v1/info", None::<&()>, Some(&rid))
                    .await;
                let db_err = |e: berth_db::DbError| StepError::Retry(format!("database: {e}"));
                let mut c = ctx.db().conn().await.map_err(db_err)?;
                match &r {
                    Ok(rep) => {
                        berth_db::nodes::seen(&mut c, row.id, Ok((&rep.capabilities, &rep.metrics)))
                            .await
                            .map_err(db_err)?;
                        out.insert(row.node.name.to_string(), json!("ok"));
                    }
                    Err(e) => {
                        berth_db::nodes::seen(&mut c, row.id, Err(&e.to_string()))
                            .await
                            .map_err(db_err)?;
                        ctx.log("warn", e.to_string()).await;
                        out.insert(row.node.name.to_string(), json!(e.to_string()));
                        continue;
                    }
                }
                drop(c);
                let left = row.node.cert_not_after.map_or(0, |t| t.0 - berth_db::now_ms());
                if left < crate::agents::NODE_CERT_DAYS * 86_400_000 / 3 {
                    match crate::agents::rotate(&self.pki, ctx.db(), &row, Some(&rid)).await {
                        Ok(i) => {
                            ctx.log("info", format!("{}: new certificate {}", row.node.name, i.serial_hex))
                                .await
                        }
                        Err(e) => {
                            ctx.log("warn", format!("{}: rotation failed: {e}", row.node.name))
                                .await
                        }
                    }
                }
            }
            Ok(Some(Value::Object(out)))
        })
    }
}

/// Rotate one node's certificate now.
pub struct NodeRotateCert {
    pub pki: Arc<crate::agents::Pki>,
}

impl JobHandler for NodeRotateCert {
    fn kind(&self) -> &'static str {
        "node.rotate_cert"
    }
    fn description(&self) -> &'static str {
        "Gives a node a new key and certificate; the agent serves it without a restart."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        node_name(payload)?.ok_or("name is required")?;
        Ok(vec!["rotate".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let name = node_name(ctx.payload()).map_err(StepError::Permanent)?;
            let Some(row) = trusted_nodes(ctx, name.clone()).await?.pop() else {
                return Err(StepError::Permanent(format!(
                    "node {} is not enrolled",
                    name.unwrap_or_default()
                )));
            };
            let rid = ctx.job().id.to_string();
            let issued = crate::agents::rotate(&self.pki, ctx.db(), &row, Some(&rid))
                .await
                .map_err(|e| {
                    if e.retryable() {
                        StepError::Retry(e.to_string())
                    } else {
                        StepError::Permanent(e.to_string())
                    }
                })?;
            ctx.log(
                "info",
                format!("new certificate {} until {}", issued.serial_hex, issued.not_after_ms),
            )
            .await;
            Ok(Some(
                json!({ "serial": issued.serial_hex, "not_after_ms": issued.not_after_ms }),
            ))
        })
    }
}
