//! The job kinds that put sites on a node: `site.apply` (create, change,
//! suspend, unsuspend) and `site.remove`. They run on the panel's job engine
//! and call the node's agent (in-process on a single server).

use berth_agent::node::{LocalNode, PhpLimits, SiteInput};
use berth_db::{packages, sites, tenants};
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use berth_proto::SiteId;
use berth_proto::TenantId;
use berth_proto::api::packages::Limits;
use berth_proto::api::sites::SiteStatus;
use berth_proto::api::sites::{Site, SiteKind};
use berth_proto::api::tenants::Tenant;
use berth_proto::api::tenants::TenantStatus;
use berth_proto::{AccountName, DomainName, PhpVersion};
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

/// `site.remove` takes `site_id` and, to delete the files, `delete_files`:
/// `{"tenant", "domain"}` (the site row is gone by the time the job runs).
fn remove_payload(payload: &Value) -> Result<(SiteId, Option<(AccountName, DomainName)>), String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    if obj.keys().any(|k| k != "site_id" && k != "delete_files") {
        return Err("the payload takes only site_id and delete_files".into());
    }
    let id = obj
        .get("site_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or("site_id must be a site id")?;
    let files = match obj.get("delete_files") {
        None | Some(Value::Null) => None,
        Some(f) => {
            let tenant = f["tenant"].as_str().and_then(|t| AccountName::parse(t).ok());
            let domain = f["domain"].as_str().and_then(|d| DomainName::parse(d).ok());
            Some(tenant.zip(domain).ok_or("delete_files takes a tenant and a domain")?)
        }
    };
    Ok((id, files))
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
    node: &LocalNode,
    tenant: &AccountName,
) -> Result<Vec<PhpVersion>, StepError> {
    let newest = node.php_versions().pop();
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

/// Stop the pools no site of theirs uses any more, for every tenant with
/// pools on the node; said in the job's log.
async fn stop_unused_pools(ctx: &StepCtx, node: &LocalNode) -> Result<(), StepError> {
    for tenant in node.pool_tenants().await {
        let mut c = ctx.db().conn().await.map_err(db_err)?;
        let used = php_versions_in_use(&mut c, node, &tenant).await?;
        drop(c);
        match node.stop_unused_pools(&tenant, &used).await {
            Ok(stopped) if !stopped.is_empty() => {
                ctx.log("info", format!("stopped unused PHP pools: {}", stopped.join(", ")))
                    .await;
            }
            Ok(_) => {}
            Err(e) => ctx.log("warn", format!("could not stop unused PHP pools: {e}")).await,
        }
    }
    Ok(())
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
            let input = site_input(&mut c, &site, &mut HashMap::new()).await?;
            drop(c);
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
                    let reports = done.pool.iter().map(|r| ("php-fpm", r)).chain([("nginx", &done.vhost)]);
                    for (service, report) in reports {
                        for s in &report.steps {
                            ctx.log(
                                "info",
                                format!(
                                    "{service} {} ({} ms): {}",
                                    s.name,
                                    s.ms,
                                    s.output.clone().unwrap_or_default()
                                ),
                            )
                            .await;
                        }
                    }
                    // A site that left PHP (or a version) may leave a pool unused.
                    stop_unused_pools(ctx, node).await?;
                    let report = &done.vhost;
                    Ok(Some(json!({ "revision": report.rev, "previous": report.previous,
                        "steps": report.steps, "config": done.config,
                        "php_pool": done.pool.as_ref().map(|p| json!({ "revision": p.rev, "steps": p.steps })) })))
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
        "Takes a deleted site's server block off its node (and its files, when asked)."
    }
    fn batch(&self) -> usize {
        SITE_BATCH
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        let (_, files) = remove_payload(payload)?;
        let mut steps = vec!["remove from node".into()];
        if files.is_some() {
            steps.push("delete files".into());
        }
        Ok(steps)
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let node = node_of(&self.node)?;
            let (id, files) = remove_payload(ctx.payload()).map_err(StepError::Permanent)?;
            if idx == 1 {
                let Some((tenant, domain)) = files else {
                    return Ok(None);
                };
                // The domain was freed when the site was deleted: if the same
                // tenant has put a new site on it since, those are its files now.
                let mut c = ctx.db().conn().await.map_err(db_err)?;
                if sites::domain_in_use(&mut c, &domain).await.map_err(db_err)? {
                    ctx.log("warn", format!("{domain} is used by a site again; its files were kept"))
                        .await;
                    return Ok(None);
                }
                drop(c);
                return match node.delete_site_files(&tenant, &domain) {
                    Ok(gone) => Ok(Some(json!({ "deleted": gone }))),
                    Err(e) => Err(StepError::Retry(e.to_string())),
                };
            }
            let out = match node.remove_site(id, &format!("job {}", ctx.job().id)).await {
                Ok(Some(r)) => json!({ "revision": r.rev, "steps": r.steps }),
                Ok(None) => {
                    ctx.log("info", "the site was not on the node").await;
                    json!({})
                }
                Err(e) if e.retryable() => return Err(StepError::Retry(e.to_string())),
                Err(e) => return Err(StepError::Permanent(e.to_string())),
            };
            stop_unused_pools(ctx, node).await?;
            Ok(Some(out))
        })
    }
}
