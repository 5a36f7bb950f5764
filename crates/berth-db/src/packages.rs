//! Packages (plans) of limits.

use crate::row::{i, name, oparse, parse, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::packages::{Limits, Package};
use berth_proto::{PackageId, Text, UserId};
use sqlx::any::AnyRow;

macro_rules! cols {
    () => {
        "p.id, p.name, p.owner_id, p.limits, p.created_at, p.updated_at"
    };
}

fn decode(r: &AnyRow) -> DbResult<Package> {
    let limits: Limits =
        serde_json::from_value(crate::row::json(r, "limits")?).map_err(|e| crate::corrupt(format!("limits: {e}")))?;
    Ok(Package {
        id: parse(r, "id")?,
        name: name(r, "name")?,
        owner_id: oparse(r, "owner_id")?,
        limits,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

/// Packages a scope may see: staff all; a reseller their own and their
/// allocation; a client the package of their tenant.
fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND (p.owner_id = ")
                .bind(r.to_string())
                .push(" OR p.id IN (SELECT allocation_package_id FROM users WHERE id = ")
                .bind(r.to_string())
                .push("))");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND p.id IN (SELECT package_id FROM tenants WHERE id = ")
                .bind(t.to_string())
                .push(")");
        }
    }
}

fn limits_json(l: &Limits) -> String {
    // Limits is plain data; serialising it cannot fail.
    serde_json::to_string(l).unwrap_or_else(|_| "{}".to_owned())
}

pub async fn insert(c: &mut Conn, name: &Text, owner: Option<UserId>, limits: &Limits) -> DbResult<Package> {
    let id = PackageId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO packages (id, name, owner_id, limits, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id.to_string())
    .bind(name.as_str().to_owned())
    .bind(owner.map(|o| o.to_string()))
    .bind(limits_json(limits))
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as("a package with this name already exists"))?;
    get(c, &Scope::system(), id).await
}

pub async fn get(c: &mut Conn, scope: &Scope, id: PackageId) -> DbResult<Package> {
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM packages p WHERE p.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode(&row)
}

pub async fn list(
    c: &mut Conn,
    scope: &Scope,
    limit: Option<i64>,
    offset: Option<i64>,
) -> DbResult<(Vec<Package>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(limit, offset);
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM packages p WHERE 1 = 1");
    scope_filter(&mut q, scope);
    let total = i(&q.query().fetch_one(&mut *c).await?, "n")?;
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM packages p WHERE 1 = 1"));
    scope_filter(&mut q, scope);
    q.push(" ORDER BY p.created_at, p.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    Ok((rows.iter().map(decode).collect::<DbResult<_>>()?, total))
}

pub async fn update(c: &mut Conn, id: PackageId, name: Option<&Text>, limits: Option<&Limits>) -> DbResult<()> {
    let mut q = Sql::new("UPDATE packages SET updated_at = ");
    q.bind(now_ms());
    if let Some(n) = name {
        q.push(", name = ").bind(n.as_str().to_owned());
    }
    if let Some(l) = limits {
        q.push(", limits = ").bind(limits_json(l));
    }
    q.push(" WHERE id = ").bind(id.to_string());
    let n = q
        .query()
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::from(e).unique_as("a package with this name already exists"))?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

pub async fn delete(c: &mut Conn, id: PackageId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM packages WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// Is the package referenced by a tenant or as an allocation?
pub async fn in_use(c: &mut Conn, id: PackageId) -> DbResult<bool> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM tenants WHERE package_id = $1) + \
         (SELECT COUNT(*) FROM users WHERE allocation_package_id = $1) AS n",
    )
    .bind(id.to_string())
    .fetch_one(&mut *c)
    .await?;
    Ok(i(&row, "n")? > 0)
}
