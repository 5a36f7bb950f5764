//! Tenants (customer accounts).

use crate::row::{i, name, oname, oparse, parse, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::tenants::{Tenant, TenantQuery, TenantStatus};
use berth_proto::{AccountName, PackageId, TenantId, Text, UserId};
use sqlx::any::AnyRow;

macro_rules! cols {
    () => {
        "t.id, t.name, t.display_name, t.owner_id, t.package_id, t.status, t.suspended_reason, \
         t.created_at, t.updated_at"
    };
}

fn decode(r: &AnyRow) -> DbResult<Tenant> {
    let status = match crate::row::s(r, "status")?.as_str() {
        "active" => TenantStatus::Active,
        "suspended" => TenantStatus::Suspended,
        other => return Err(crate::corrupt(format!("tenant status {other:?}"))),
    };
    Ok(Tenant {
        id: parse(r, "id")?,
        name: name(r, "name")?,
        display_name: name(r, "display_name")?,
        owner_id: parse(r, "owner_id")?,
        package_id: oparse(r, "package_id")?,
        status,
        suspended_reason: oname(r, "suspended_reason")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

/// Restrict a query on `tenants t` to the scope.
pub(crate) fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND t.owner_id = ").bind(r.to_string());
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND t.id = ").bind(t.to_string());
        }
    }
}

pub struct NewTenant {
    pub name: AccountName,
    pub display_name: Text,
    pub owner_id: UserId,
    pub package_id: Option<PackageId>,
}

pub async fn insert(c: &mut Conn, t: NewTenant) -> DbResult<Tenant> {
    let id = TenantId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO tenants (id, name, display_name, owner_id, package_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $6)",
    )
    .bind(id.to_string())
    .bind(t.name.into_inner())
    .bind(t.display_name.into_inner())
    .bind(t.owner_id.to_string())
    .bind(t.package_id.map(|p| p.to_string()))
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as("a tenant with this name already exists"))?;
    get(c, &Scope::system(), id).await
}

pub async fn get(c: &mut Conn, scope: &Scope, id: TenantId) -> DbResult<Tenant> {
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM tenants t WHERE t.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode(&row)
}

pub async fn list(c: &mut Conn, scope: &Scope, f: &TenantQuery) -> DbResult<(Vec<Tenant>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM tenants t WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(s) = f.status {
            q.push(" AND t.status = ").bind(s.as_str());
        }
        if let Some(o) = f.owner_id {
            q.push(" AND t.owner_id = ").bind(o.to_string());
        }
        if let Some(s) = f.q.as_deref().filter(|s| !s.is_empty()) {
            let pat = format!("%{}%", s.to_lowercase());
            q.push(" AND (LOWER(t.name) LIKE ")
                .bind(pat.clone())
                .push(" OR LOWER(t.display_name) LIKE ")
                .bind(pat)
                .push(")");
        }
        q
    };
    let row = build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?;
    let total = i(&row, "n")?;
    let mut q = build(concat!("SELECT ", cols!()));
    q.push(" ORDER BY t.created_at, t.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let items = rows.iter().map(decode).collect::<DbResult<_>>()?;
    Ok((items, total))
}

pub async fn update(
    c: &mut Conn,
    id: TenantId,
    display_name: Option<&Text>,
    package_id: Option<Option<PackageId>>,
    owner_id: Option<UserId>,
) -> DbResult<()> {
    let mut q = Sql::new("UPDATE tenants SET updated_at = ");
    q.bind(now_ms());
    if let Some(d) = display_name {
        q.push(", display_name = ").bind(d.as_str().to_owned());
    }
    if let Some(p) = package_id {
        q.push(", package_id = ").bind(p.map(|p| p.to_string()));
    }
    if let Some(o) = owner_id {
        q.push(", owner_id = ").bind(o.to_string());
    }
    q.push(" WHERE id = ").bind(id.to_string());
    let n = q.query().execute(&mut *c).await?.rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

pub async fn set_status(c: &mut Conn, id: TenantId, status: TenantStatus, reason: Option<&Text>) -> DbResult<()> {
    let n = sqlx::query("UPDATE tenants SET status = $1, suspended_reason = $2, updated_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(reason.map(|r| r.as_str().to_owned()))
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

pub async fn delete(c: &mut Conn, id: TenantId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// How many tenants a reseller (or admin) owns.
/// Tenants on a package (its limits changed: their sites are re-applied).
pub async fn with_package(c: &mut Conn, package: PackageId) -> DbResult<Vec<TenantId>> {
    let rows = sqlx::query("SELECT id FROM tenants WHERE package_id = $1")
        .bind(package.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| parse(r, "id")).collect()
}

pub async fn count_owned(c: &mut Conn, owner: UserId) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM tenants WHERE owner_id = $1")
        .bind(owner.to_string())
        .fetch_one(&mut *c)
        .await?;
    i(&row, "n")
}

/// Status of a tenant without a scope, for the login path.
pub async fn status_unscoped(c: &mut Conn, id: TenantId) -> DbResult<Option<TenantStatus>> {
    match get(c, &Scope::system(), id).await {
        Ok(t) => Ok(Some(t.status)),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}
