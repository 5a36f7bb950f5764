//! Job kinds that change a node's configuration history: `node.rollback`
//! (make an earlier revision live again, as a new revision) and
//! `node.drift` (keep or overwrite hand edits). Both go through the one
//! executor, so its checks, health checks and rollback apply.

use berth_agent::node::LocalNode;
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use serde_json::{Value, json};
use std::sync::Arc;

fn only(payload: &Value, key: &str) -> Result<Value, String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    if obj.keys().any(|k| k != key) {
        return Err(format!("the payload takes only {key}"));
    }
    obj.get(key).cloned().ok_or_else(|| format!("{key} is required"))
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

pub struct NodeRollback {
    pub node: Option<Arc<LocalNode>>,
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
        Ok(vec!["roll back".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let n = node(&self.node)?;
            let rev = only(ctx.payload(), "rev")
                .ok()
                .and_then(|v| v.as_u64())
                .ok_or_else(|| StepError::Permanent("rev must be a revision number".into()))?;
            let r = n.executor().rollback_to(rev, Vec::new()).await.map_err(apply_err)?;
            ctx.log("info", format!("revision {rev} is live again as revision {}", r.rev))
                .await;
            Ok(Some(json!({ "revision": r.rev, "steps": r.steps })))
        })
    }
}

pub struct NodeDrift {
    pub node: Option<Arc<LocalNode>>,
}

impl JobHandler for NodeDrift {
    fn kind(&self) -> &'static str {
        "node.drift"
    }
    fn description(&self) -> &'static str {
        "Resolves hand edits of managed files: keep them as a new revision, or overwrite them."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        match only(payload, "action")?.as_str() {
            Some("keep") | Some("overwrite") => Ok(vec!["resolve drift".into()]),
            _ => Err("action must be keep or overwrite".into()),
        }
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let n = node(&self.node)?;
            let keep = only(ctx.payload(), "action")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                == Some("keep".into());
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

pub struct NodeRebuild {
    pub node: Option<Arc<LocalNode>>,
}

impl JobHandler for NodeRebuild {
    fn kind(&self) -> &'static str {
        "node.rebuild"
    }
    fn description(&self) -> &'static str {
        "Re-renders every site's configuration and applies them all as one revision."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        match payload.as_object() {
            Some(o) if o.is_empty() => Ok(vec!["rebuild".into()]),
            _ => Err("the payload is an empty object".into()),
        }
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let n = node(&self.node)?;
            let db_err = |e: berth_db::DbError| StepError::Retry(format!("database: {e}"));
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let sites = berth_db::sites::all(&mut c).await.map_err(db_err)?;
            let mut cache = std::collections::HashMap::new();
            let mut inputs = Vec::with_capacity(sites.len());
            for s in &sites {
                inputs.push(crate::site_jobs::site_input(&mut c, s, &mut cache).await?);
            }
            drop(c);
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
