//! Websites and the domains they answer to.

use crate::row::{i, name, oparse, parse, s, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::sites::{Site, SiteKind, SiteOptions, SiteQuery, SiteStatus, WwwMode};
use berth_proto::{AccountName, DomainName, JobId, NodeId, SiteId, TenantId};
use sqlx::any::AnyRow;

macro_rules! cols {
    () => {
        "s.id, s.tenant_id, s.domain, s.kind, s.options, s.status, s.last_job_id, s.created_at, s.updated_at, \
         s.node_id, COALESCE((SELECT n.name FROM nodes n WHERE n.id = s.node_id), 'local') AS node_name"
    };
}

/// Where a site's files live, relative to its tenant's home on the node.
pub fn document_root(domain: &DomainName) -> String {
    format!("domains/{domain}/public_html")
}

async fn decode(c: &mut Conn, r: &AnyRow) -> DbResult<Site> {
    let mut site = decode_row(r)?;
    let rows = sqlx::query("SELECT domain FROM site_domains WHERE site_id = $1 AND is_primary = 0 ORDER BY domain")
        .bind(site.id.to_string())
        .fetch_all(&mut *c)
        .await?;
    site.aliases = rows.iter().map(|a| name(a, "domain")).collect::<DbResult<_>>()?;
    Ok(site)
}

/// A site row without its aliases.
fn decode_row(r: &AnyRow) -> DbResult<Site> {
    let id: SiteId = parse(r, "id")?;
    let kind: SiteKind = serde_json::from_str(&s(r, "kind")?).map_err(|e| crate::corrupt(format!("site kind: {e}")))?;
    let options: SiteOptions =
        serde_json::from_str(&s(r, "options")?).map_err(|e| crate::corrupt(format!("site options: {e}")))?;
    let status = match s(r, "status")?.as_str() {
        "active" => SiteStatus::Active,
        "suspended" => SiteStatus::Suspended,
        o => return Err(crate::corrupt(format!("site status {o:?}"))),
    };
    let tenant_id: TenantId = parse(r, "tenant_id")?;
    let domain: DomainName = name(r, "domain")?;
    Ok(Site {
        id,
        tenant_id,
        document_root: document_root(&domain),
        domain,
        aliases: Vec::new(),
        kind,
        options,
        node: s(r, "node_name")?,
        status,
        last_job_id: oparse::<JobId>(r, "last_job_id")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND s.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ")
                .bind(r.to_string())
                .push(")");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND s.tenant_id = ").bind(t.to_string());
        }
    }
}

fn kind_json(k: &SiteKind) -> String {
    serde_json::to_string(k).unwrap_or_else(|_| "{}".into())
}

fn options_json(o: &SiteOptions) -> String {
    serde_json::to_string(o).unwrap_or_else(|_| "{}".into())
}

/// The domain rows of a site: 1 primary, 0 aliases, 2 the `www.` partner
/// when the site answers to it (reserved like an alias).
async fn put_domains(
    c: &mut Conn,
    site: SiteId,
    primary: &DomainName,
    aliases: &[DomainName],
    www: WwwMode,
) -> DbResult<()> {
    sqlx::query("DELETE FROM site_domains WHERE site_id = $1")
        .bind(site.to_string())
        .execute(&mut *c)
        .await?;
    let partner = match www {
        WwwMode::None => None,
        _ => primary.www_partner().filter(|p| !aliases.contains(p)),
    };
    let all = std::iter::once((primary, 1i64))
        .chain(aliases.iter().map(|a| (a, 0i64)))
        .chain(partner.iter().map(|p| (p, 2i64)));
    for (d, is_primary) in all {
        sqlx::query("INSERT INTO site_domains (domain, site_id, is_primary) VALUES ($1, $2, $3)")
            .bind(d.as_str().to_owned())
            .bind(site.to_string())
            .bind(is_primary)
            .execute(&mut *c)
            .await
            .map_err(|e| DbError::from(e).unique_as(&format!("the domain {d} is already used by a site")))?;
    }
    Ok(())
}

pub async fn insert(
    c: &mut Conn,
    tenant: TenantId,
    domain: &DomainName,
    aliases: &[DomainName],
    kind: &SiteKind,
    options: &SiteOptions,
    node: Option<NodeId>,
) -> DbResult<Site> {
    let id = SiteId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sites (id, tenant_id, domain, kind, options, status, created_at, updated_at, node_id) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $6, $7)",
    )
    .bind(id.to_string())
    .bind(tenant.to_string())
    .bind(domain.as_str().to_owned())
    .bind(kind_json(kind))
    .bind(options_json(options))
    .bind(now)
    .bind(node.map(|n| n.to_string()))
    .execute(&mut *c)
    .await?;
    put_domains(c, id, domain, aliases, options.www).await?;
    get(c, &Scope::system(), id).await
}

pub async fn get(c: &mut Conn, scope: &Scope, id: SiteId) -> DbResult<Site> {
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM sites s WHERE s.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode(c, &row).await
}

pub async fn list(c: &mut Conn, scope: &Scope, f: &SiteQuery) -> DbResult<(Vec<Site>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM sites s WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(t) = f.tenant_id {
            q.push(" AND s.tenant_id = ").bind(t.to_string());
        }
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            let esc = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q.push(" AND s.domain LIKE ")
                .bind(format!("%{esc}%"))
                .push(" ESCAPE '\\'");
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", cols!()));
    q.push(" ORDER BY s.created_at, s.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let mut out = rows.iter().map(decode_row).collect::<DbResult<Vec<Site>>>()?;
    // The page's aliases in one query, not one per site.
    if !out.is_empty() {
        let mut a = Sql::new("SELECT domain, site_id FROM site_domains WHERE is_primary = 0 AND site_id IN (");
        for (n, site) in out.iter().enumerate() {
            if n > 0 {
                a.push(", ");
            }
            a.bind(site.id.to_string());
        }
        a.push(") ORDER BY domain");
        let mut by_site: std::collections::HashMap<String, Vec<DomainName>> = std::collections::HashMap::new();
        for r in a.query().fetch_all(&mut *c).await? {
            by_site.entry(s(&r, "site_id")?).or_default().push(name(&r, "domain")?);
        }
        for site in &mut out {
            site.aliases = by_site.remove(&site.id.to_string()).unwrap_or_default();
        }
    }
    Ok((out, total))
}

/// How many sites live on a node (`None`: the local node).
pub async fn count_on_node(c: &mut Conn, node: Option<NodeId>) -> DbResult<i64> {
    let row = match node {
        None => {
            sqlx::query("SELECT COUNT(*) AS n FROM sites WHERE node_id IS NULL")
                .fetch_one(&mut *c)
                .await?
        }
        Some(n) => {
            sqlx::query("SELECT COUNT(*) AS n FROM sites WHERE node_id = $1")
                .bind(n.to_string())
                .fetch_one(&mut *c)
                .await?
        }
    };
    i(&row, "n")
}

/// The node a site lives on (`None`: the panel's local node).
pub async fn node_of(c: &mut Conn, id: SiteId) -> DbResult<Option<NodeId>> {
    let row = sqlx::query("SELECT node_id FROM sites WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    crate::row::oparse(&row, "node_id")
}

/// Every site of a node (`None`: the local node), unscoped, with aliases in
/// two queries (a full rebuild; no N+1 over thousands of sites).
pub async fn all(c: &mut Conn, node: Option<NodeId>) -> DbResult<Vec<Site>> {
    let sql = match node {
        None => concat!(
            "SELECT ",
            cols!(),
            " FROM sites s WHERE s.node_id IS NULL ORDER BY s.created_at, s.id"
        ),
        Some(_) => concat!(
            "SELECT ",
            cols!(),
            " FROM sites s WHERE s.node_id = $1 ORDER BY s.created_at, s.id"
        ),
    };
    let mut q = sqlx::query(sql);
    if let Some(n) = node {
        q = q.bind(n.to_string());
    }
    let rows = q.fetch_all(&mut *c).await?;
    let doms = sqlx::query("SELECT domain, site_id FROM site_domains WHERE is_primary = 0 ORDER BY domain")
        .fetch_all(&mut *c)
        .await?;
    let mut aliases: std::collections::HashMap<String, Vec<DomainName>> = std::collections::HashMap::new();
    for d in &doms {
        aliases.entry(s(d, "site_id")?).or_default().push(name(d, "domain")?);
    }
    rows.iter()
        .map(|r| {
            let mut site = decode_row(r)?;
            site.aliases = aliases.remove(&site.id.to_string()).unwrap_or_default();
            Ok(site)
        })
        .collect()
}

/// Every site of a tenant (for suspension), unscoped: callers checked the tenant.
pub async fn of_tenant(c: &mut Conn, tenant: TenantId) -> DbResult<Vec<SiteId>> {
    let rows = sqlx::query("SELECT id FROM sites WHERE tenant_id = $1 ORDER BY created_at")
        .bind(tenant.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| parse(r, "id")).collect()
}

pub async fn update(
    c: &mut Conn,
    id: SiteId,
    aliases: Option<&[DomainName]>,
    kind: Option<&SiteKind>,
    options: Option<&SiteOptions>,
) -> DbResult<()> {
    let site = get(c, &Scope::system(), id).await?;
    if let Some(o) = options {
        sqlx::query("UPDATE sites SET options = $1, updated_at = $2 WHERE id = $3")
            .bind(options_json(o))
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&mut *c)
            .await?;
    }
    if let Some(k) = kind {
        sqlx::query("UPDATE sites SET kind = $1, updated_at = $2 WHERE id = $3")
            .bind(kind_json(k))
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&mut *c)
            .await?;
    }
    if aliases.is_some() || options.is_some_and(|o| o.www != site.options.www) {
        let www = options.map_or(site.options.www, |o| o.www);
        put_domains(c, id, &site.domain, aliases.unwrap_or(&site.aliases), www).await?;
    }
    Ok(())
}

pub async fn set_status(c: &mut Conn, id: SiteId, status: SiteStatus) -> DbResult<()> {
    sqlx::query("UPDATE sites SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn set_last_job(c: &mut Conn, id: SiteId, job: JobId) -> DbResult<()> {
    sqlx::query("UPDATE sites SET last_job_id = $1 WHERE id = $2")
        .bind(job.to_string())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, id: SiteId) -> DbResult<()> {
    // The certificate goes with the site (and with it, its renewals).
    crate::certificates::delete_of_site(c, id).await?;
    let n = sqlx::query("DELETE FROM sites WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// Does any site answer to this domain?
pub async fn domain_in_use(c: &mut Conn, domain: &DomainName) -> DbResult<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM site_domains WHERE domain = $1")
        .bind(domain.as_str().to_owned())
        .fetch_one(&mut *c)
        .await?;
    Ok(i(&row, "n")? > 0)
}

/// The kinds of the sites of the tenant with this account name (which PHP
/// versions it still uses); none when the tenant is gone.
pub async fn kinds_of_tenant(c: &mut Conn, tenant: &AccountName) -> DbResult<Vec<SiteKind>> {
    let rows = sqlx::query("SELECT s.kind FROM sites s JOIN tenants t ON t.id = s.tenant_id WHERE t.name = $1")
        .bind(tenant.as_str().to_owned())
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| serde_json::from_str(&s(r, "kind")?).map_err(|e| crate::corrupt(format!("site kind: {e}"))))
        .collect()
}

/// Count of sites and of domains (primary + aliases; not the `www.`
/// partner, which comes with the primary) of a tenant.
pub async fn counts(c: &mut Conn, tenant: TenantId) -> DbResult<(i64, i64)> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM sites WHERE tenant_id = $1) AS sites, \
         (SELECT COUNT(*) FROM site_domains d JOIN sites s ON s.id = d.site_id \
         WHERE s.tenant_id = $1 AND d.is_primary < 2) AS domains",
    )
    .bind(tenant.to_string())
    .fetch_one(&mut *c)
    .await?;
    Ok((i(&row, "sites")?, i(&row, "domains")?))
}
