//! The job kinds that put sites on a node: `site.apply` (create, change,
//! suspend, unsuspend) and `site.remove`. They run on the panel's job engine
//! and call the node's agent (in-process on a single server).

use berth_agent::node::{LocalNode, SiteInput};
use berth_db::{sites, tenants};
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use berth_proto::SiteId;
use berth_proto::api::sites::SiteStatus;
use berth_proto::api::tenants::TenantStatus;
use serde_json::{Value, json};
use std::sync::Arc;

fn site_id(payload: &Value) -> Result<SiteId, String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    if obj.keys().any(|k| k != "site_id") {
        return Err("the payload takes only site_id".into());
    }
    obj.get("site_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "site_id must be a site id".into())
}

fn node_of(node: &Option<Arc<LocalNode>>) -> Result<&Arc<LocalNode>, StepError> {
    node.as_ref()
        .ok_or_else(|| StepError::Permanent("this panel has no node to put sites on (see `berth serve --help`)".into()))
}

fn db_err(e: berth_db::DbError) -> StepError {
    StepError::Retry(format!("database: {e}"))
}

pub struct SiteApply {
    pub node: Option<Arc<LocalNode>>,
}

impl JobHandler for SiteApply {
    fn kind(&self) -> &'static str {
        "site.apply"
    }
    fn description(&self) -> &'static str {
        "Puts a site's current settings on its node (create, change, suspend, unsuspend)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        site_id(payload)?;
        Ok(vec!["apply on node".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let node = node_of(&self.node)?;
            let id = site_id(ctx.payload()).map_err(StepError::Permanent)?;
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let site = match sites::get(&mut c, &berth_core::Scope::system(), id).await {
                Ok(s) => s,
                Err(berth_db::DbError::NotFound) => {
                    ctx.log("info", "the site was deleted meanwhile; nothing to apply")
                        .await;
                    return Ok(None);
                }
                Err(e) => return Err(db_err(e)),
            };
            let tenant = tenants::get(&mut c, &berth_core::Scope::system(), site.tenant_id)
                .await
                .map_err(db_err)?;
            drop(c);
            let input = SiteInput {
                site: site.id,
                tenant: tenant.name.clone(),
                tenant_id: tenant.id,
                domain: site.domain.clone(),
                aliases: site.aliases.clone(),
                kind: site.kind.clone(),
                suspended: site.status == SiteStatus::Suspended || tenant.status == TenantStatus::Suspended,
            };
            let reason = format!("job {}", ctx.job().id);
            match node.apply_site(&input, &reason).await {
                Ok((report, config)) => {
                    for s in &report.steps {
                        ctx.log(
                            "info",
                            format!("{} ({} ms): {}", s.name, s.ms, s.output.clone().unwrap_or_default()),
                        )
                        .await;
                    }
                    Ok(Some(json!({ "revision": report.rev, "previous": report.previous,
                        "steps": report.steps, "config": config })))
                }
                Err(e) => {
                    ctx.log("error", e.to_string()).await;
                    if e.retryable() {
                        Err(StepError::Retry(e.to_string()))
                    } else {
                        Err(StepError::Permanent(e.to_string()))
                    }
                }
            }
        })
    }
}

pub struct SiteRemove {
    pub node: Option<Arc<LocalNode>>,
}

impl JobHandler for SiteRemove {
    fn kind(&self) -> &'static str {
        "site.remove"
    }
    fn description(&self) -> &'static str {
        "Takes a deleted site's server block off its node (its files stay)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        site_id(payload)?;
        Ok(vec!["remove from node".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let node = node_of(&self.node)?;
            let id = site_id(ctx.payload()).map_err(StepError::Permanent)?;
            match node.remove_site(id, &format!("job {}", ctx.job().id)).await {
                Ok(Some(r)) => Ok(Some(json!({ "revision": r.rev, "steps": r.steps }))),
                Ok(None) => {
                    ctx.log("info", "the site was not on the node").await;
                    Ok(None)
                }
                Err(e) if e.retryable() => Err(StepError::Retry(e.to_string())),
                Err(e) => Err(StepError::Permanent(e.to_string())),
            }
        })
    }
}
