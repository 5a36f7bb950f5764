//! Tenants' databases, database users and their grants.

use crate::row::{i, name, oi, oparse, ots, parse, s, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::databases::{
    Database, DatabaseQuery, DatabaseUser, DbAccess, DbEngine, DbGrant, DbGrantView, DbHost, DbIdent,
};
use berth_proto::{DatabaseId, DatabaseUserId, JobId, NodeId, TenantId};
use sqlx::any::AnyRow;

/// The server a database lives on: its node's id, or `local`.
pub fn node_key(node: Option<NodeId>) -> String {
    node.map_or_else(|| "local".to_owned(), |n| n.to_string())
}

macro_rules! db_cols {
    () => {
        "d.id, d.tenant_id, d.engine, d.name, d.node_id, d.size_bytes, d.size_at, d.last_job_id, d.created_at, \
         COALESCE((SELECT n.name FROM nodes n WHERE n.id = d.node_id), 'local') AS node_name"
    };
}

macro_rules! user_cols {
    () => {
        "u.id, u.tenant_id, u.engine, u.name, u.node_id, u.hosts, u.locked, u.password_changed_at, u.last_job_id, \
         u.created_at, COALESCE((SELECT n.name FROM nodes n WHERE n.id = u.node_id), 'local') AS node_name"
    };
}

fn engine(r: &AnyRow) -> DbResult<DbEngine> {
    let e = s(r, "engine")?;
    DbEngine::parse(&e).ok_or_else(|| crate::corrupt(format!("engine {e:?}")))
}

fn decode_db(r: &AnyRow) -> DbResult<Database> {
    Ok(Database {
        id: parse(r, "id")?,
        tenant_id: parse(r, "tenant_id")?,
        engine: engine(r)?,
        name: name(r, "name")?,
        node: s(r, "node_name")?,
        size_bytes: oi(r, "size_bytes")?,
        size_at: ots(r, "size_at")?,
        last_job_id: oparse::<JobId>(r, "last_job_id")?,
        created_at: ts(r, "created_at")?,
    })
}

fn scope_filter(q: &mut Sql, scope: &Scope, alias: &'static str) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(match alias {
                "d" => " AND d.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ",
                _ => " AND u.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ",
            })
            .bind(r.to_string())
            .push(")");
        }
        ScopeKind::Tenant(t) => {
            q.push(match alias {
                "d" => " AND d.tenant_id = ",
                _ => " AND u.tenant_id = ",
            })
            .bind(t.to_string());
        }
    }
}

fn like(text: &str) -> String {
    let esc = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{esc}%")
}

pub async fn insert_database(
    c: &mut Conn,
    tenant: TenantId,
    engine: DbEngine,
    db_name: &DbIdent,
    node: Option<NodeId>,
) -> DbResult<Database> {
    let id = DatabaseId::new();
    sqlx::query(
        "INSERT INTO databases (id, tenant_id, engine, name, node_id, node_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(tenant.to_string())
    .bind(engine.as_str())
    .bind(db_name.as_str().to_owned())
    .bind(node.map(|n| n.to_string()))
    .bind(node_key(node))
    .bind(now_ms())
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as(&format!("a {engine} database named {db_name} already exists there")))?;
    get_database(c, &Scope::system(), id).await
}

pub async fn get_database(c: &mut Conn, scope: &Scope, id: DatabaseId) -> DbResult<Database> {
    let mut q = Sql::new(concat!("SELECT ", db_cols!(), " FROM databases d WHERE d.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope, "d");
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode_db(&row)
}

/// The node a database lives on (`None`: local).
pub async fn database_node(c: &mut Conn, id: DatabaseId) -> DbResult<Option<NodeId>> {
    let row = sqlx::query("SELECT node_id FROM databases WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    oparse(&row, "node_id")
}

pub async fn list_databases(c: &mut Conn, scope: &Scope, f: &DatabaseQuery) -> DbResult<(Vec<Database>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM databases d WHERE 1 = 1");
        scope_filter(&mut q, scope, "d");
        if let Some(t) = f.tenant_id {
            q.push(" AND d.tenant_id = ").bind(t.to_string());
        }
        if let Some(e) = f.engine {
            q.push(" AND d.engine = ").bind(e.as_str());
        }
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            q.push(" AND d.name LIKE ").bind(like(text)).push(" ESCAPE '\\'");
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", db_cols!()));
    q.push(" ORDER BY d.name, d.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let out = rows.iter().map(decode_db).collect::<DbResult<Vec<_>>>()?;
    Ok((out, total))
}

/// A tenant's databases on one server (engine and node), by name.
pub async fn tenant_databases_on(
    c: &mut Conn,
    tenant: TenantId,
    engine: DbEngine,
    node: Option<NodeId>,
) -> DbResult<Vec<DbIdent>> {
    let rows =
        sqlx::query("SELECT name FROM databases WHERE tenant_id = $1 AND engine = $2 AND node_key = $3 ORDER BY name")
            .bind(tenant.to_string())
            .bind(engine.as_str())
            .bind(node_key(node))
            .fetch_all(&mut *c)
            .await?;
    rows.iter().map(|r| name(r, "name")).collect()
}

pub async fn set_database_job(c: &mut Conn, id: DatabaseId, job: JobId) -> DbResult<()> {
    sqlx::query("UPDATE databases SET last_job_id = $1 WHERE id = $2")
        .bind(job.to_string())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Record measured sizes of databases on one server.
pub async fn set_sizes(c: &mut Conn, engine: DbEngine, node: Option<NodeId>, sizes: &[(String, i64)]) -> DbResult<()> {
    let now = now_ms();
    for (db, bytes) in sizes {
        sqlx::query(
            "UPDATE databases SET size_bytes = $1, size_at = $2 WHERE node_key = $3 AND engine = $4 AND name = $5",
        )
        .bind(*bytes)
        .bind(now)
        .bind(node_key(node))
        .bind(engine.as_str())
        .bind(db.clone())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The servers (engine, node) that hold at least one database.
pub async fn servers(c: &mut Conn) -> DbResult<Vec<(DbEngine, Option<NodeId>)>> {
    let rows = sqlx::query("SELECT DISTINCT engine, node_id FROM databases ORDER BY engine")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| Ok((engine(r)?, oparse(r, "node_id")?))).collect()
}

pub async fn delete_database(c: &mut Conn, id: DatabaseId) -> DbResult<()> {
    sqlx::query("DELETE FROM database_grants WHERE database_id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    let n = sqlx::query("DELETE FROM databases WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

pub async fn count_databases(c: &mut Conn, tenant: TenantId) -> DbResult<i64> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM databases WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_one(&mut *c)
        .await?;
    i(&r, "n")
}

pub async fn count_users(c: &mut Conn, tenant: TenantId) -> DbResult<i64> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM database_users WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_one(&mut *c)
        .await?;
    i(&r, "n")
}

pub async fn total_size_bytes(c: &mut Conn, tenant: TenantId) -> DbResult<i64> {
    let r = sqlx::query("SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS n FROM databases WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_one(&mut *c)
        .await?;
    i(&r, "n")
}

// ---- users ----

fn hosts_json(hosts: &[DbHost]) -> String {
    serde_json::to_string(hosts).unwrap_or_else(|_| "[]".into())
}

async fn decode_user(c: &mut Conn, r: &AnyRow) -> DbResult<DatabaseUser> {
    let id: DatabaseUserId = parse(r, "id")?;
    let hosts: Vec<DbHost> =
        serde_json::from_str(&s(r, "hosts")?).map_err(|e| crate::corrupt(format!("database user hosts: {e}")))?;
    Ok(DatabaseUser {
        id,
        tenant_id: parse(r, "tenant_id")?,
        engine: engine(r)?,
        name: name(r, "name")?,
        node: s(r, "node_name")?,
        hosts,
        grants: grants_of(c, id).await?,
        locked: i(r, "locked")? != 0,
        password_changed_at: ts(r, "password_changed_at")?,
        last_job_id: oparse::<JobId>(r, "last_job_id")?,
        created_at: ts(r, "created_at")?,
    })
}

pub async fn grants_of(c: &mut Conn, user: DatabaseUserId) -> DbResult<Vec<DbGrantView>> {
    let rows = sqlx::query(
        "SELECT g.database_id, g.access, d.name FROM database_grants g JOIN databases d ON d.id = g.database_id \
         WHERE g.user_id = $1 ORDER BY d.name",
    )
    .bind(user.to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DbGrantView {
                database_id: parse(r, "database_id")?,
                database: name(r, "name")?,
                access: match s(r, "access")?.as_str() {
                    "all" => DbAccess::All,
                    "read_only" => DbAccess::ReadOnly,
                    o => return Err(crate::corrupt(format!("grant access {o:?}"))),
                },
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_user(
    c: &mut Conn,
    tenant: TenantId,
    engine: DbEngine,
    user_name: &DbIdent,
    node: Option<NodeId>,
    secret: &str,
    hosts: &[DbHost],
    locked: bool,
) -> DbResult<DatabaseUserId> {
    let id = DatabaseUserId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO database_users (id, tenant_id, engine, name, node_id, node_key, secret, hosts, locked, \
         password_changed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id.to_string())
    .bind(tenant.to_string())
    .bind(engine.as_str())
    .bind(user_name.as_str().to_owned())
    .bind(node.map(|n| n.to_string()))
    .bind(node_key(node))
    .bind(secret.to_owned())
    .bind(hosts_json(hosts))
    .bind(i64::from(locked))
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as(&format!("a {engine} user named {user_name} already exists there")))?;
    Ok(id)
}

pub async fn get_user(c: &mut Conn, scope: &Scope, id: DatabaseUserId) -> DbResult<DatabaseUser> {
    let mut q = Sql::new(concat!("SELECT ", user_cols!(), " FROM database_users u WHERE u.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope, "u");
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode_user(c, &row).await
}

/// What a job needs beside the user: its node and the server's form of
/// its password (never shown through the API).
pub async fn user_node_and_secret(c: &mut Conn, id: DatabaseUserId) -> DbResult<(Option<NodeId>, String)> {
    let row = sqlx::query("SELECT node_id, secret FROM database_users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok((oparse(&row, "node_id")?, s(&row, "secret")?))
}

pub async fn list_users(c: &mut Conn, scope: &Scope, f: &DatabaseQuery) -> DbResult<(Vec<DatabaseUser>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM database_users u WHERE 1 = 1");
        scope_filter(&mut q, scope, "u");
        if let Some(t) = f.tenant_id {
            q.push(" AND u.tenant_id = ").bind(t.to_string());
        }
        if let Some(e) = f.engine {
            q.push(" AND u.engine = ").bind(e.as_str());
        }
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            q.push(" AND u.name LIKE ").bind(like(text)).push(" ESCAPE '\\'");
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", user_cols!()));
    q.push(" ORDER BY u.name, u.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(decode_user(c, r).await?);
    }
    Ok((out, total))
}

/// Users (id, name) of a tenant on one server.
pub async fn tenant_users_on(
    c: &mut Conn,
    tenant: TenantId,
    engine: DbEngine,
    node: Option<NodeId>,
) -> DbResult<Vec<DatabaseUserId>> {
    let rows = sqlx::query("SELECT id FROM database_users WHERE tenant_id = $1 AND engine = $2 AND node_key = $3")
        .bind(tenant.to_string())
        .bind(engine.as_str())
        .bind(node_key(node))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| parse(r, "id")).collect()
}

/// Every user of a tenant (any server).
pub async fn tenant_users(c: &mut Conn, tenant: TenantId) -> DbResult<Vec<DatabaseUserId>> {
    let rows = sqlx::query("SELECT id FROM database_users WHERE tenant_id = $1 ORDER BY name")
        .bind(tenant.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| parse(r, "id")).collect()
}

/// Users holding a grant on a database.
pub async fn users_of_database(c: &mut Conn, db: DatabaseId) -> DbResult<Vec<DatabaseUserId>> {
    let rows = sqlx::query("SELECT user_id FROM database_grants WHERE database_id = $1")
        .bind(db.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| parse(r, "user_id")).collect()
}

pub async fn set_secret(c: &mut Conn, id: DatabaseUserId, secret: &str) -> DbResult<()> {
    sqlx::query("UPDATE database_users SET secret = $1, password_changed_at = $2 WHERE id = $3")
        .bind(secret.to_owned())
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn set_hosts(c: &mut Conn, id: DatabaseUserId, hosts: &[DbHost]) -> DbResult<()> {
    sqlx::query("UPDATE database_users SET hosts = $1 WHERE id = $2")
        .bind(hosts_json(hosts))
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Lock or unlock every user of a tenant (suspension).
pub async fn set_tenant_locked(c: &mut Conn, tenant: TenantId, locked: bool) -> DbResult<()> {
    sqlx::query("UPDATE database_users SET locked = $1 WHERE tenant_id = $2")
        .bind(i64::from(locked))
        .bind(tenant.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn set_user_job(c: &mut Conn, id: DatabaseUserId, job: JobId) -> DbResult<()> {
    sqlx::query("UPDATE database_users SET last_job_id = $1 WHERE id = $2")
        .bind(job.to_string())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Replace a user's grants. Every database must be the user's tenant's and
/// on the user's server, or the whole change is refused.
pub async fn set_grants(c: &mut Conn, user: DatabaseUserId, grants: &[DbGrant]) -> DbResult<()> {
    let row = sqlx::query("SELECT tenant_id, engine, node_key FROM database_users WHERE id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    let (tenant, eng, key) = (s(&row, "tenant_id")?, s(&row, "engine")?, s(&row, "node_key")?);
    sqlx::query("DELETE FROM database_grants WHERE user_id = $1")
        .bind(user.to_string())
        .execute(&mut *c)
        .await?;
    for g in grants {
        let ok = sqlx::query(
            "SELECT 1 AS x FROM databases WHERE id = $1 AND tenant_id = $2 AND engine = $3 AND node_key = $4",
        )
        .bind(g.database_id.to_string())
        .bind(tenant.clone())
        .bind(eng.clone())
        .bind(key.clone())
        .fetch_optional(&mut *c)
        .await?;
        if ok.is_none() {
            return Err(DbError::Conflict(format!(
                "database {} is not one of this tenant's {eng} databases on the user's server",
                g.database_id
            )));
        }
        sqlx::query("INSERT INTO database_grants (user_id, database_id, access) VALUES ($1, $2, $3)")
            .bind(user.to_string())
            .bind(g.database_id.to_string())
            .bind(g.access.as_str())
            .execute(&mut *c)
            .await
            .map_err(|e| DbError::from(e).unique_as("a database is granted twice"))?;
    }
    Ok(())
}

pub async fn delete_user(c: &mut Conn, id: DatabaseUserId) -> DbResult<()> {
    sqlx::query("DELETE FROM database_grants WHERE user_id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    let n = sqlx::query("DELETE FROM database_users WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
