//! Websites. Every change is a job (`site.apply` / `site.remove`) created in
//! the same transaction as the change and its audit row; the answer names it.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::{Permission, Scope};
use berth_db::audit::AuditEvent;
use berth_db::jobs::NewJob;
use berth_db::{Conn, packages, sites, tenants, usage};
use berth_proto::api::Page;
use berth_proto::api::nodes::{NodeRole, NodeState};
use berth_proto::api::packages::Resource;
use berth_proto::api::sites::{
    CreateSite, DeleteSiteQuery, MAX_ALIASES, PhpVersions, Site, SiteChange, SiteKind, SiteLog, SiteLogKind,
    SiteLogQuery, SiteOptions, SiteQuery, SiteStatus, UpdateSite,
};
use berth_proto::api::tenants::TenantStatus;
use berth_proto::{AccountName, ApiErrorBody, DomainName, JobId, NodeId, PhpVersion, SiteId, TenantId};
use serde_json::json;

fn ev(s: &Site, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: Some(s.tenant_id),
        action,
        target_type: "site",
        target_id: Some(s.id.to_string()),
        summary,
    }
}

/// Enqueue `kind` for a site on the open transaction.
pub(crate) async fn enqueue(
    st: &SharedState,
    c: &mut Conn,
    auth: Option<&Authed>,
    kind: &str,
    site: SiteId,
    tenant: TenantId,
) -> ApiResult<JobId> {
    let mut payload = json!({ "site_id": site });
    if kind == "site.remove" {
        // The row goes before the job runs: say where the site lived.
        if let Some(n) = sites::node_of(c, site).await? {
            payload["node_id"] = json!(n);
        }
        payload["tenant"] = json!(tenants::get(c, &Scope::system(), tenant).await?.name);
    }
    let job = enqueue_payload(st, c, auth, kind, payload, tenant).await?;
    if kind == "site.apply" {
        sites::set_last_job(c, site, job).await?;
    }
    Ok(job)
}

async fn enqueue_payload(
    st: &SharedState,
    c: &mut Conn,
    auth: Option<&Authed>,
    kind: &str,
    payload: serde_json::Value,
    tenant: TenantId,
) -> ApiResult<JobId> {
    let (job, _) = st
        .engine
        .enqueue_on(
            c,
            NewJob {
                queue: "sites".into(),
                kind: kind.into(),
                payload,
                priority: 0,
                max_attempts: 0,
                run_at: berth_db::now_ms(),
                idempotency_key: None,
                tenant_id: Some(tenant),
                created_by: auth.map(|a| a.user.id),
            },
        )
        .await?;
    Ok(job.id)
}

/// Enqueue `kind` for every site of a tenant (suspension, deletion). For
/// `site.remove` the site rows go too, in the same transaction.
pub(crate) async fn enqueue_for_tenant(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    kind: &str,
    tenant: TenantId,
) -> ApiResult<Vec<JobId>> {
    let mut jobs = Vec::new();
    for site in sites::of_tenant(c, tenant).await? {
        jobs.push(enqueue(st, c, Some(auth), kind, site, tenant).await?);
        if kind == "site.remove" {
            sites::delete(c, site).await?;
        }
    }
    Ok(jobs)
}

fn check_names(domain: &DomainName, aliases: &[DomainName]) -> ApiResult<()> {
    if aliases.len() > MAX_ALIASES {
        return Err(ApiError::invalid_field(
            "aliases",
            format!("at most {MAX_ALIASES} aliases"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for d in std::iter::once(domain).chain(aliases) {
        if !seen.insert(d.as_str()) {
            return Err(ApiError::invalid_field("aliases", format!("{d} is listed twice")));
        }
    }
    Ok(())
}

/// Check a site's kind and options together; a PHP site without a version
/// gets the node's newest.
fn check_kind(
    have: &[PhpVersion],
    proxy_allowed: &[ipnet::IpNet],
    kind: &mut SiteKind,
    options: &SiteOptions,
) -> ApiResult<()> {
    options
        .check()
        .map_err(|(field, msg)| ApiError::invalid_field(field, msg))?;
    if !options.error_pages.is_empty() && !matches!(kind, SiteKind::Static | SiteKind::Php { .. }) {
        return Err(ApiError::invalid_field(
            "options.error_pages",
            "error pages are served from the site's files: static and PHP sites only",
        ));
    }
    if let SiteKind::Php { version, .. } = kind {
        match version {
            Some(v) if !have.contains(v) => {
                let list: Vec<&str> = have.iter().map(|v| v.as_str()).collect();
                return Err(ApiError::invalid_field(
                    "kind.version",
                    format!("PHP {v} is not installed (installed: {})", list.join(", ")),
                ));
            }
            Some(_) => {}
            None => {
                *version = Some(
                    have.last()
                        .cloned()
                        .ok_or_else(|| ApiError::invalid_field("kind", "no PHP version is installed on the node"))?,
                );
            }
        }
    }
    if let SiteKind::Proxy { upstream } = kind {
        if !upstream.ip().is_loopback() && !proxy_allowed.iter().any(|n| n.contains(&upstream.ip())) {
            return Err(ApiError::invalid_field(
                "kind.upstream",
                "a proxy target must be on loopback (127.0.0.0/8 or ::1) or in sites.proxy_allowed_networks",
            ));
        }
        if upstream.port() == 0 {
            return Err(ApiError::invalid_field(
                "kind.upstream",
                "a proxy target needs a port (1-65535)",
            ));
        }
    }
    Ok(())
}

/// Networks besides loopback that proxy sites may target (a setting).
async fn proxy_allowed(st: &SharedState) -> Vec<ipnet::IpNet> {
    st.settings.nets("sites.proxy_allowed_networks").await
}

/// Where a site goes (`None`: the local node) and the PHP versions there.
async fn placement(
    st: &SharedState,
    c: &mut Conn,
    node: Option<&AccountName>,
) -> ApiResult<(Option<NodeId>, Vec<PhpVersion>)> {
    match node.map(|n| n.as_str()) {
        None | Some("local") => {
            let local = st.node.as_ref().ok_or_else(|| {
                ApiError::invalid_field("node", "this panel runs no local node: name an enrolled node")
            })?;
            Ok((None, local.php_versions()))
        }
        Some(name) => {
            let row = match berth_db::nodes::get(c, name).await {
                Ok(r) => r,
                Err(berth_db::DbError::NotFound) => return Err(ApiError::invalid_field("node", "no such node")),
                Err(e) => return Err(e.into()),
            };
            if row.node.state != NodeState::Trusted {
                return Err(ApiError::invalid_field(
                    "node",
                    format!("node {name} is {}", row.node.state.as_str()),
                ));
            }
            if !row.node.roles.contains(&NodeRole::Web) {
                return Err(ApiError::invalid_field("node", format!("node {name} has no web role")));
            }
            let have = row
                .node
                .capabilities
                .as_ref()
                .map(|c| c.php.iter().filter_map(|v| PhpVersion::parse(v).ok()).collect())
                .unwrap_or_default();
            Ok((Some(row.id), have))
        }
    }
}

/// A new site or more domains must fit the tenant's package.
async fn check_quota(c: &mut Conn, tenant: TenantId, new_sites: i64, new_domains: i64) -> ApiResult<()> {
    let t = tenants::get(c, &Scope::system(), tenant).await?;
    let Some(p) = t.package_id else { return Ok(()) };
    let limits = packages::get(c, &Scope::system(), p).await?.limits;
    let used_sites = usage::tenant_used(c, tenant, Resource::Sites).await?.unwrap_or(0);
    let used_domains = usage::tenant_used(c, tenant, Resource::Domains).await?.unwrap_or(0);
    berth_core::quota::check(&limits, Resource::Sites, used_sites, new_sites)?;
    berth_core::quota::check(&limits, Resource::Domains, used_domains, new_domains)?;
    Ok(())
}

/// Sites in my scope.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", params(SiteQuery),
    responses((status = 200, body = Page<Site>)), security(("bearer" = [])))]
pub async fn list_sites(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<SiteQuery>,
) -> ApiResult<Reply<Page<Site>>> {
    let scope = auth.authorize(Permission::SitesRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = sites::list(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a site; a `site.apply` job puts it on the node.
#[utoipa::path(post, path = "/api/v1/sites", tag = "sites", request_body = CreateSite,
    responses((status = 201, body = SiteChange), (status = 409, body = ApiErrorBody, description = "domain taken, limit reached or tenant suspended"),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_site(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateSite>,
) -> ApiResult<(StatusCode, Reply<SiteChange>)> {
    let scope = auth.authorize(Permission::SitesWrite)?;
    let mut req = req;
    check_names(&req.domain, &req.aliases)?;
    // Read before the transaction: a settings-cache miss takes a pooled
    // connection, and waiting for one while holding another deadlocks the
    // pool when every connection does the same.
    let allowed = proxy_allowed(&st).await;
    let node_addresses = st.settings.get("dns.node_addresses").await;
    let dns_ttl = u32::try_from(st.settings.i64("dns.default_ttl").await).unwrap_or(3600);
    let mut tx = st.db.begin().await?;
    let (node_id, have) = placement(&st, &mut tx, req.node.as_ref()).await?;
    check_kind(&have, &allowed, &mut req.kind, &req.options)?;
    let tenant = tenants::get(&mut tx, &scope, req.tenant_id)
        .await
        .map_err(|_| ApiError::invalid_field("tenant_id", "no such tenant"))?;
    if tenant.status == TenantStatus::Suspended {
        return Err(ApiError::conflict("the tenant is suspended"));
    }
    check_quota(&mut tx, tenant.id, 1, 1 + req.aliases.len() as i64).await?;
    let site = sites::insert(
        &mut tx,
        tenant.id,
        &req.domain,
        &req.aliases,
        &req.kind,
        &req.options,
        node_id,
    )
    .await?;
    let job_id = enqueue(&st, &mut tx, Some(&auth), "site.apply", site.id, tenant.id).await?;
    let site = sites::get(&mut tx, &scope, site.id).await?;
    // Its A/AAAA records, in its tenant's zone when the tenant holds one.
    let addresses: Vec<std::net::IpAddr> = node_addresses
        .get(&site.node)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let dns_jobs = crate::routes::dns::add_site_records(&st, &mut tx, &auth, &site, &addresses, dns_ttl).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &site,
            "site.create",
            json!({ "domain": site.domain, "aliases": site.aliases, "kind": site.kind, "options": site.options,
                "node": site.node, "job_id": job_id, "dns_jobs": dns_jobs }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::CREATED, Reply(SiteChange { site, job_id })))
}

/// PHP versions installed on the node, and the ini keys sites may set.
#[utoipa::path(get, path = "/api/v1/php/versions", tag = "sites",
    responses((status = 200, body = PhpVersions)), security(("bearer" = [])))]
pub async fn php_versions(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<PhpVersions>> {
    auth.authorize(Permission::SitesRead)?;
    let versions = st.node.as_ref().map(|n| n.php_versions()).unwrap_or_default();
    Ok(Reply(PhpVersions {
        default: versions.last().cloned(),
        versions,
        ini_keys: berth_proto::php::allowed_keys().map(str::to_owned).collect(),
    }))
}

/// A page of a site's access or error log, newest lines last; `before`
/// (from `next_before`) reads further back.
#[utoipa::path(get, path = "/api/v1/sites/{id}/logs", tag = "sites", params(("id" = SiteId, Path), SiteLogQuery),
    responses((status = 200, body = SiteLog), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn site_logs(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<SiteId>,
    Query(q): Query<SiteLogQuery>,
) -> ApiResult<Reply<SiteLog>> {
    let scope = auth.authorize(Permission::SitesRead)?;
    let lines = q.lines.unwrap_or(100);
    if !(1..=1000).contains(&lines) {
        return Err(ApiError::invalid_field("lines", "must be from 1 to 1000"));
    }
    let mut c = st.db.conn().await?;
    let site = sites::get(&mut c, &scope, id).await?;
    let tenant = tenants::get(&mut c, &Scope::system(), site.tenant_id).await?;
    if let Some(nid) = sites::node_of(&mut c, id).await? {
        // The log is on the site's node: ask its agent.
        let row = berth_db::nodes::get_by_id(&mut c, nid).await?;
        drop(c);
        let req = berth_agent::rpc::LogRequest {
            tenant: tenant.name,
            domain: site.domain,
            error: q.log == SiteLogKind::Error,
            before: q.before,
            lines: lines as usize,
        };
        let page: berth_agent::rpc::LogReply = st
            .pki
            .call(&row, reqwest::Method::POST, "/v1/logs", Some(&req), None)
            .await
            .map_err(|e| ApiError::new(berth_proto::ErrorCode::Unavailable, e.to_string()))?;
        return Ok(Reply(SiteLog {
            lines: page.lines,
            next_before: page.next_before,
            size: page.size,
        }));
    }
    drop(c);
    let node = st
        .node
        .clone()
        .ok_or_else(|| ApiError::not_found("node (this panel runs no local node)"))?;
    let page = tokio::task::spawn_blocking(move || {
        node.site_log(
            &tenant.name,
            &site.domain,
            q.log == SiteLogKind::Error,
            q.before,
            lines as usize,
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Reply(SiteLog {
        lines: page.lines,
        next_before: page.next_before,
        size: page.size,
    }))
}

/// One site.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "sites", params(("id" = SiteId, Path)),
    responses((status = 200, body = Site), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_site(State(st): State<SharedState>, auth: Authed, Path(id): Path<SiteId>) -> ApiResult<Reply<Site>> {
    let scope = auth.authorize(Permission::SitesRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(sites::get(&mut c, &scope, id).await?))
}

/// Change a site's aliases or kind.
#[utoipa::path(patch, path = "/api/v1/sites/{id}", tag = "sites", params(("id" = SiteId, Path)), request_body = UpdateSite,
    responses((status = 200, body = SiteChange), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn update_site(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<SiteId>,
    Json(req): Json<UpdateSite>,
) -> ApiResult<Reply<SiteChange>> {
    let scope = auth.authorize(Permission::SitesWrite)?;
    let allowed = proxy_allowed(&st).await; // before the transaction (see create_site)
    let mut tx = st.db.begin().await?;
    let before = sites::get(&mut tx, &scope, id).await?;
    if let Some(a) = &req.aliases {
        check_names(&before.domain, a)?;
        let added = a.len() as i64 - before.aliases.len() as i64;
        if added > 0 {
            check_quota(&mut tx, before.tenant_id, 0, added).await?;
        }
    }
    let mut req = req;
    if req.kind.is_some() || req.options.is_some() {
        let mut kind = req.kind.clone().unwrap_or_else(|| before.kind.clone());
        let node = AccountName::parse(&before.node).ok();
        let (_, have) = placement(&st, &mut tx, node.as_ref()).await?;
        check_kind(
            &have,
            &allowed,
            &mut kind,
            req.options.as_ref().unwrap_or(&before.options),
        )?;
        if req.kind.is_some() {
            req.kind = Some(kind);
        }
    }
    sites::update(
        &mut tx,
        id,
        req.aliases.as_deref(),
        req.kind.as_ref(),
        req.options.as_ref(),
    )
    .await?;
    let job_id = enqueue(&st, &mut tx, Some(&auth), "site.apply", id, before.tenant_id).await?;
    let after = sites::get(&mut tx, &scope, id).await?;
    let cert_job = super::certificates::follow_site_names(&st, &mut tx, &auth, &before, &after).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &after,
            "site.update",
            json!({
                "aliases": [before.aliases, after.aliases], "kind": [before.kind, after.kind],
                "options": [before.options, after.options], "job_id": job_id, "certificate_job_id": cert_job
            }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(SiteChange { site: after, job_id }))
}

async fn set_status(st: &SharedState, auth: &Authed, id: SiteId, status: SiteStatus) -> ApiResult<SiteChange> {
    let scope = auth.authorize(Permission::SitesSuspend)?;
    let mut tx = st.db.begin().await?;
    let before = sites::get(&mut tx, &scope, id).await?;
    sites::set_status(&mut tx, id, status).await?;
    let job_id = enqueue(st, &mut tx, Some(auth), "site.apply", id, before.tenant_id).await?;
    let after = sites::get(&mut tx, &scope, id).await?;
    let action = if status == SiteStatus::Suspended {
        "site.suspend"
    } else {
        "site.unsuspend"
    };
    audit(&mut tx, auth, ev(&after, action, json!({ "job_id": job_id }))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(SiteChange { site: after, job_id })
}

/// Serve the suspension page instead of the site.
#[utoipa::path(post, path = "/api/v1/sites/{id}/suspend", tag = "sites", params(("id" = SiteId, Path)),
    responses((status = 200, body = SiteChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn suspend_site(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<SiteId>,
) -> ApiResult<Reply<SiteChange>> {
    set_status(&st, &auth, id, SiteStatus::Suspended).await.map(Reply)
}

/// Serve the site again.
#[utoipa::path(post, path = "/api/v1/sites/{id}/unsuspend", tag = "sites", params(("id" = SiteId, Path)),
    responses((status = 200, body = SiteChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn unsuspend_site(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<SiteId>,
) -> ApiResult<Reply<SiteChange>> {
    set_status(&st, &auth, id, SiteStatus::Active).await.map(Reply)
}

/// Delete a site: its server block is removed from the node; its files stay
/// in the tenant's home unless `delete_files=true`.
#[utoipa::path(delete, path = "/api/v1/sites/{id}", tag = "sites", params(("id" = SiteId, Path), DeleteSiteQuery),
    responses((status = 202, body = SiteChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_site(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<SiteId>,
    Query(q): Query<DeleteSiteQuery>,
) -> ApiResult<(StatusCode, Reply<SiteChange>)> {
    let scope = auth.authorize(Permission::SitesWrite)?;
    let mut tx = st.db.begin().await?;
    let site = sites::get(&mut tx, &scope, id).await?;
    let job_id = if q.delete_files {
        let tenant = tenants::get(&mut tx, &Scope::system(), site.tenant_id).await?;
        let mut payload = json!({ "site_id": id, "tenant": tenant.name,
            "delete_files": { "tenant": tenant.name, "domain": site.domain } });
        if let Some(n) = sites::node_of(&mut tx, id).await? {
            payload["node_id"] = json!(n);
        }
        enqueue_payload(&st, &mut tx, Some(&auth), "site.remove", payload, site.tenant_id).await?
    } else {
        enqueue(&st, &mut tx, Some(&auth), "site.remove", id, site.tenant_id).await?
    };
    sites::delete(&mut tx, id).await?;
    let dns_jobs = crate::routes::dns::remove_site_records(&st, &mut tx, &auth, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &site,
            "site.delete",
            json!({ "domain": site.domain, "delete_files": q.delete_files, "job_id": job_id, "dns_jobs": dns_jobs }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::ACCEPTED, Reply(SiteChange { site, job_id })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(to: &str) -> SiteKind {
        SiteKind::Proxy {
            upstream: to.parse().unwrap(),
        }
    }

    #[test]
    fn proxy_targets_are_loopback_or_allowed_networks() {
        let none: Vec<ipnet::IpNet> = vec![];
        let lan: Vec<ipnet::IpNet> = vec!["10.9.0.0/16".parse().unwrap()];
        let o = SiteOptions::default();
        assert!(check_kind(&[], &none, &mut proxy("127.0.0.1:3000"), &o).is_ok());
        assert!(check_kind(&[], &none, &mut proxy("[::1]:3000"), &o).is_ok());
        assert!(check_kind(&[], &none, &mut proxy("10.9.1.2:8080"), &o).is_err());
        assert!(check_kind(&[], &lan, &mut proxy("10.9.1.2:8080"), &o).is_ok());
        assert!(check_kind(&[], &lan, &mut proxy("10.8.1.2:8080"), &o).is_err());
        assert!(check_kind(&[], &lan, &mut proxy("10.9.1.2:0"), &o).is_err());
    }

    #[test]
    fn php_versions_are_checked_and_pinned() {
        let have = vec![PhpVersion::parse("8.1").unwrap(), PhpVersion::parse("8.2").unwrap()];
        let o = SiteOptions::default();
        let mut k = SiteKind::Php {
            version: None,
            ini: Default::default(),
        };
        check_kind(&have, &[], &mut k, &o).unwrap();
        assert!(matches!(&k, SiteKind::Php { version: Some(v), .. } if v.as_str() == "8.2"));
        let mut old = SiteKind::Php {
            version: Some(PhpVersion::parse("5.6").unwrap()),
            ini: Default::default(),
        };
        assert!(check_kind(&have, &[], &mut old, &o).is_err());
        let mut none = SiteKind::Php {
            version: None,
            ini: Default::default(),
        };
        assert!(check_kind(&[], &[], &mut none, &o).is_err(), "nothing installed");
    }
}
