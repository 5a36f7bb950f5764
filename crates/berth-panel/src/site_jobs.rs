//! The job kinds that put sites on a node: `site.apply` (create, change,
//! suspend, unsuspend) and `site.remove`. They run on the panel's job engine
//! and call the site's node: the in-process agent for `local`, an enrolled
//! agent over mutual TLS otherwise (the job's creation time is the
//! generation, so a retried job is answered "already applied").

use crate::agents::{AgentError, Pki};
use berth_agent::apply::StepReport;
use berth_agent::node::{LocalNode, PhpLimits, SiteInput};
use berth_agent::rpc::{Applied, ApplySite, RemoveSite};
use berth_db::nodes::{self, NodeRow};
use berth_db::{packages, sites, tenants};
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use berth_proto::TenantId;
use berth_proto::api::packages::Limits;
use berth_proto::api::sites::SiteStatus;
use berth_proto::api::sites::{Site, SiteKind};
use berth_proto::api::tenants::Tenant;
use berth_proto::api::tenants::TenantStatus;
use berth_proto::{AccountName, DomainName, PhpVersion};
use berth_proto::{NodeId, SiteId};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What the node needs to know about a site, with its tenant's name,
/// status and PHP limits (cached per tenant across calls).
pub(crate) async fn site_input(
    c: &mut berth_db::Conn,
    site: &Site,
    cache: &mut HashMap<TenantId, (Tenant, PhpLimits)>,
) -> Result<SiteInput, StepError> {
    let (tenant, php) = match cache.get(&site.tenant_id) {
        Some(hit) => hit.clone(),
        None => {
            let tenant = tenants::get(c, &berth_core::Scope::system(), site.tenant_id)
                .await
                .map_err(db_err)?;
            let php = match tenant.package_id {
                Some(p) => php_limits(
                    &packages::get(c, &berth_core::Scope::system(), p)
                        .await
                        .map_err(db_err)?
                        .limits,
                ),
                None => PhpLimits::default(),
            };
            cache.insert(site.tenant_id, (tenant.clone(), php));
            (tenant, php)
        }
    };
    Ok(SiteInput {
        site: site.id,
        tenant: tenant.name.clone(),
        tenant_id: tenant.id,
        domain: site.domain.clone(),
        aliases: site.aliases.clone(),
        kind: site.kind.clone(),
        options: site.options.clone(),
        php,
        suspended: site.status == SiteStatus::Suspended || tenant.status == TenantStatus::Suspended,
        certificate: berth_db::certificates::chain_of_site(c, site.id)
            .await
            .map_err(db_err)?,
    })
}

/// Site jobs one worker runs at once.
const SITE_BATCH: usize = 128;

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

/// What `site.remove` knows: the site row is gone by the time it runs.
struct RemovePayload {
    site: SiteId,
    /// `None`: the panel's local node.
    node: Option<NodeId>,
    tenant: Option<AccountName>,
    /// Delete the files of this domain of `tenant` too.
    files: Option<DomainName>,
}

/// `site.remove` takes `site_id`, and optionally `node_id`, `tenant` and
/// `delete_files: {"tenant", "domain"}`.
fn remove_payload(payload: &Value) -> Result<RemovePayload, String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    if obj
        .keys()
        .any(|k| !matches!(k.as_str(), "site_id" | "delete_files" | "node_id" | "tenant"))
    {
        return Err("the payload takes only site_id, node_id, tenant and delete_files".into());
    }
    let site = obj
        .get("site_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or("site_id must be a site id")?;
    let node = match obj.get("node_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or("node_id must be a node id")?,
        ),
    };
    let mut tenant = match obj.get("tenant") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|t| AccountName::parse(t).ok())
                .ok_or("tenant must be an account name")?,
        ),
    };
    let files = match obj.get("delete_files") {
        None | Some(Value::Null) => None,
        Some(f) => {
            let t = f["tenant"].as_str().and_then(|t| AccountName::parse(t).ok());
            let d = f["domain"].as_str().and_then(|d| DomainName::parse(d).ok());
            let (t, d) = t.zip(d).ok_or("delete_files takes a tenant and a domain")?;
            tenant = Some(t);
            Some(d)
        }
    };
    Ok(RemovePayload {
        site,
        node,
        tenant,
        files,
    })
}

/// One log line per service: each step's name and time.
async fn log_steps(ctx: &StepCtx, service: &str, steps: &[StepReport]) {
    let line: Vec<String> = steps.iter().map(|s| format!("{} {} ms", s.name, s.ms)).collect();
    ctx.log("info", format!("{service}: {}", line.join(", "))).await;
}

fn node_of(node: &Option<Arc<LocalNode>>) -> Result<&Arc<LocalNode>, StepError> {
    node.as_ref()
        .ok_or_else(|| StepError::Permanent("this panel has no node to put sites on (see `berth serve --help`)".into()))
}

fn db_err(e: berth_db::DbError) -> StepError {
    StepError::Retry(format!("database: {e}"))
}

/// The package's PHP settings, Berth's defaults where it sets none.
fn php_limits(l: &Limits) -> PhpLimits {
    let d = PhpLimits::default();
    let get = |v: Option<i64>, dflt: u32| v.map_or(dflt, |n| u32::try_from(n.clamp(1, 1_000_000)).unwrap_or(dflt));
    PhpLimits {
        max_children: get(l.php_workers, d.max_children),
        memory_mb: get(l.php_memory_mb, d.memory_mb),
        max_execution_s: get(l.php_max_execution_s, d.max_execution_s),
        upload_mb: get(l.php_upload_mb, d.upload_mb),
    }
}

/// PHP versions the tenant's sites use now (a pool of any other version can
/// go). A site without a version uses the node's newest.
async fn php_versions_in_use(
    c: &mut berth_db::Conn,
    newest: Option<PhpVersion>,
    tenant: &AccountName,
) -> Result<Vec<PhpVersion>, StepError> {
    Ok(sites::kinds_of_tenant(c, tenant)
        .await
        .map_err(db_err)?
        .into_iter()
        .filter_map(|k| match k {
            SiteKind::Php { version, .. } => version.or_else(|| newest.clone()),
            _ => None,
        })
        .collect())
}

/// Stop the tenant's pools that none of its sites uses any more (a site
/// left PHP, changed version or went); said in the job's log.
async fn stop_unused_pools(ctx: &StepCtx, node: &LocalNode, tenant: &AccountName) -> Result<(), StepError> {
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    let used = php_versions_in_use(&mut c, node.php_versions().pop(), tenant).await?;
    drop(c);
    match node.stop_unused_pools(tenant, &used).await {
        Ok(stopped) if !stopped.is_empty() => {
            ctx.log("info", format!("stopped unused PHP pools: {}", stopped.join(", ")))
                .await;
        }
        Ok(_) => {}
        Err(e) => ctx.log("warn", format!("could not stop unused PHP pools: {e}")).await,
    }
    Ok(())
}

/// The newest PHP version a remote node reported.
fn remote_newest_php(row: &NodeRow) -> Option<PhpVersion> {
    row.node
        .capabilities
        .as_ref()
        .and_then(|c| c.php.last())
        .and_then(|v| PhpVersion::parse(v).ok())
}

/// One RPC to a site's node on behalf of a job (the job id travels as the
/// request id).
async fn call_agent<B: serde::Serialize>(
    pki: &Pki,
    ctx: &StepCtx,
    row: &NodeRow,
    method: reqwest::Method,
    path: &str,
    body: &B,
) -> Result<Applied, StepError> {
    let rid = ctx.job().id.to_string();
    pki.call(row, method, path, Some(body), Some(&rid))
        .await
        .map_err(agent_err)
}

fn agent_err(e: AgentError) -> StepError {
    if e.retryable() {
        StepError::Retry(e.to_string())
    } else {
        StepError::Permanent(e.to_string())
    }
}

pub struct SiteApply {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for SiteApply {
    fn kind(&self) -> &'static str {
        "site.apply"
    }
    fn description(&self) -> &'static str {
        "Puts a site's current settings on its node (create, change, suspend, unsuspend)."
    }
    /// Site jobs wait on the node's executor, which coalesces what arrives
    /// together into one check and one reload.
    fn batch(&self) -> usize {
        SITE_BATCH
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        site_id(payload)?;
        Ok(vec!["apply on node".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id = site_id(ctx.payload()).map_err(StepError::Permanent)?;
            apply_site(&self.node, &self.pki, ctx, id).await
        })
    }
}

/// Put a site's current settings (and certificate) on its node, for a job:
/// `site.apply`, and the install step of `certificate.issue`.
pub(crate) async fn apply_site(
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    ctx: &StepCtx,
    id: SiteId,
) -> Result<Option<Value>, StepError> {
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
    let input = site_input(&mut c, &site, &mut HashMap::new()).await?;
    if let Some(nid) = sites::node_of(&mut c, id).await.map_err(db_err)? {
        let row = nodes::get_by_id(&mut c, nid).await.map_err(db_err)?;
        let used = php_versions_in_use(&mut c, remote_newest_php(&row), &input.tenant).await?;
        drop(c);
        let req = ApplySite {
            generation: ctx.job().created_at.0,
            site: input,
            php_in_use: used,
        };
        let done = call_agent(pki, ctx, &row, reqwest::Method::PUT, &format!("/v1/sites/{id}"), &req).await?;
        if done.already_applied {
            ctx.log("info", format!("node {} had applied this already", row.node.name))
                .await;
        } else {
            if !done.pool_steps.is_empty() {
                log_steps(ctx, "php-fpm", &done.pool_steps).await;
            }
            log_steps(ctx, &format!("nginx on {}", row.node.name), &done.steps).await;
        }
        for n in &done.notes {
            ctx.log("info", n.clone()).await;
        }
        return Ok(Some(json!({ "node": row.node.name, "revision": done.revision,
            "already_applied": done.already_applied, "steps": done.steps, "config": done.config })));
    }
    drop(c);
    let node = node_of(local)?;
    let reason = format!("job {}", ctx.job().id);
    match node.apply_site(&input, &reason).await {
        Ok(done) => {
            if done.vhost.changes > 1 {
                ctx.log(
                    "info",
                    format!(
                        "nginx applied this with {} other change(s) in one reload",
                        done.vhost.changes - 1
                    ),
                )
                .await;
            }
            if let Some(p) = &done.pool {
                log_steps(ctx, "php-fpm", &p.steps).await;
            }
            log_steps(ctx, "nginx", &done.vhost.steps).await;
            // A site that left PHP (or a version) may leave a pool unused.
            stop_unused_pools(ctx, node, &input.tenant).await?;
            let report = &done.vhost;
            Ok(Some(
                json!({ "node": "local", "revision": report.rev, "previous": report.previous,
                "steps": report.steps, "config": done.config,
                "php_pool": done.pool.as_ref().map(|p| json!({ "revision": p.rev, "steps": p.steps })) }),
            ))
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
}

pub struct SiteRemove {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for SiteRemove {
    fn kind(&self) -> &'static str {
        "site.remove"
    }
    fn description(&self) -> &'static str {
        "Takes a deleted site's server block off its node (and its files, when asked)."
    }
    fn batch(&self) -> usize {
        SITE_BATCH
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        let p = remove_payload(payload)?;
        let mut steps = vec!["remove from node".into()];
        if p.files.is_some() {
            steps.push("delete files".into());
        }
        Ok(steps)
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let p = remove_payload(ctx.payload()).map_err(StepError::Permanent)?;
            // The domain was freed when the site was deleted: if a new site
            // has taken it since, those are its files now.
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let files = match &p.files {
                Some(d) if sites::domain_in_use(&mut c, d).await.map_err(db_err)? => {
                    if idx == 1 || p.node.is_some() {
                        ctx.log("warn", format!("{d} is used by a site again; its files were kept"))
                            .await;
                    }
                    None
                }
                other => other.clone(),
            };
            if let Some(nid) = p.node {
                if idx == 1 {
                    // The node deleted them with the server block.
                    return Ok(None);
                }
                let row = nodes::get_by_id(&mut c, nid).await.map_err(db_err)?;
                let used = match &p.tenant {
                    Some(t) => php_versions_in_use(&mut c, remote_newest_php(&row), t).await?,
                    None => vec![],
                };
                drop(c);
                let req = RemoveSite {
                    generation: ctx.job().created_at.0,
                    tenant: p.tenant.clone(),
                    delete_files: files,
                    php_in_use: used,
                };
                let path = format!("/v1/sites/{}/remove", p.site);
                let done = call_agent(&self.pki, ctx, &row, reqwest::Method::POST, &path, &req).await?;
                for n in &done.notes {
                    ctx.log("info", n.clone()).await;
                }
                return Ok(Some(json!({ "node": row.node.name, "revision": done.revision,
                    "already_applied": done.already_applied, "steps": done.steps })));
            }
            drop(c);
            let node = node_of(&self.node)?;
            if idx == 1 {
                let (Some(tenant), Some(domain)) = (&p.tenant, files) else {
                    return Ok(None);
                };
                return match node.delete_site_files(tenant, &domain) {
                    Ok(gone) => Ok(Some(json!({ "deleted": gone }))),
                    Err(e) => Err(StepError::Retry(e.to_string())),
                };
            }
            let out = match node.remove_site(p.site, &format!("job {}", ctx.job().id)).await {
                Ok(Some(r)) => json!({ "revision": r.rev, "steps": r.steps }),
                Ok(None) => {
                    ctx.log("info", "the site was not on the node").await;
                    json!({})
                }
                Err(e) if e.retryable() => return Err(StepError::Retry(e.to_string())),
                Err(e) => return Err(StepError::Permanent(e.to_string())),
            };
            if let Some(t) = &p.tenant {
                stop_unused_pools(ctx, node, t).await?;
            }
            Ok(Some(out))
        })
    }
}
