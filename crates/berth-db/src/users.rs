//! Users of every role, with their credentials.

use crate::row::{i, name, oi, oparse, os, ots, parse, ts};
use crate::{Conn, DbError, DbResult, Sql, b, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::users::{User, UserQuery};
use berth_proto::{Email, PackageId, Role, TenantId, Text, UserId};
use sqlx::any::AnyRow;

/// A user plus what only the auth layer may see.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_last_step: Option<i64>,
}

macro_rules! cols {
    () => {
        "u.id, u.email, u.name, u.role, u.tenant_id, u.allocation_package_id, u.password_hash, \
         u.totp_secret, u.totp_pending_secret, u.totp_enabled, u.totp_last_step, u.disabled, \
         u.created_at, u.last_login_at"
    };
}

fn decode(r: &AnyRow) -> DbResult<UserRecord> {
    Ok(UserRecord {
        user: User {
            id: parse(r, "id")?,
            email: name(r, "email")?,
            name: name(r, "name")?,
            role: parse(r, "role")?,
            tenant_id: oparse(r, "tenant_id")?,
            allocation_package_id: oparse(r, "allocation_package_id")?,
            totp_enabled: i(r, "totp_enabled")? != 0,
            disabled: i(r, "disabled")? != 0,
            created_at: ts(r, "created_at")?,
            last_login_at: ots(r, "last_login_at")?,
        },
        password_hash: crate::row::s(r, "password_hash")?,
        totp_secret: os(r, "totp_secret")?,
        totp_pending_secret: os(r, "totp_pending_secret")?,
        totp_last_step: oi(r, "totp_last_step")?,
    })
}

/// Restrict a query on `users u` to what the scope may see.
fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND (u.id = ")
                .bind(r.to_string())
                .push(" OR u.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ")
                .bind(r.to_string())
                .push("))");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND u.tenant_id = ").bind(t.to_string());
        }
    }
}

pub struct NewUser {
    pub email: Email,
    pub name: Text,
    pub role: Role,
    pub tenant_id: Option<TenantId>,
    pub allocation_package_id: Option<PackageId>,
    pub password_hash: String,
}

pub async fn insert(c: &mut Conn, u: NewUser) -> DbResult<User> {
    let id = UserId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO users (id, email, name, role, tenant_id, allocation_package_id, password_hash, \
         totp_enabled, disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $8)",
    )
    .bind(id.to_string())
    .bind(u.email.as_str().to_owned())
    .bind(u.name.as_str().to_owned())
    .bind(u.role.as_str())
    .bind(u.tenant_id.map(|t| t.to_string()))
    .bind(u.allocation_package_id.map(|p| p.to_string()))
    .bind(u.password_hash)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as("a user with this email already exists"))?;
    get_unscoped(c, id).await.map(|r| r.user)
}

/// For authentication only: no scope, because nobody is authenticated yet.
pub async fn get_unscoped(c: &mut Conn, id: UserId) -> DbResult<UserRecord> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM users u WHERE u.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    decode(&row)
}

/// For login only.
pub async fn find_by_email(c: &mut Conn, email: &Email) -> DbResult<Option<UserRecord>> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM users u WHERE u.email = $1"))
        .bind(email.as_str().to_owned())
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// A user inside the scope, else `NotFound`.
pub async fn get(c: &mut Conn, scope: &Scope, id: UserId) -> DbResult<UserRecord> {
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM users u WHERE u.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode(&row)
}

pub async fn list(c: &mut Conn, scope: &Scope, f: &UserQuery) -> DbResult<(Vec<User>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM users u WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(r) = f.role {
            q.push(" AND u.role = ").bind(r.as_str());
        }
        if let Some(t) = f.tenant_id {
            q.push(" AND u.tenant_id = ").bind(t.to_string());
        }
        if let Some(s) = f.q.as_deref().filter(|s| !s.is_empty()) {
            let pat = format!("%{}%", s.to_lowercase());
            q.push(" AND (LOWER(u.email) LIKE ")
                .bind(pat.clone())
                .push(" OR LOWER(u.name) LIKE ")
                .bind(pat)
                .push(")");
        }
        q
    };
    let total: i64 = {
        let row = build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?;
        i(&row, "n")?
    };
    let mut q = build(concat!("SELECT ", cols!()));
    q.push(" ORDER BY u.created_at, u.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let users = rows
        .iter()
        .map(|r| decode(r).map(|u| u.user))
        .collect::<DbResult<_>>()?;
    Ok((users, total))
}

pub async fn count_all(c: &mut Conn) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&mut *c)
        .await?;
    i(&row, "n")
}

pub async fn update_profile(
    c: &mut Conn,
    id: UserId,
    name: Option<&Text>,
    disabled: Option<bool>,
    allocation: Option<Option<PackageId>>,
) -> DbResult<()> {
    let mut q = Sql::new("UPDATE users SET updated_at = ");
    q.bind(now_ms());
    if let Some(n) = name {
        q.push(", name = ").bind(n.as_str().to_owned());
    }
    if let Some(d) = disabled {
        q.push(", disabled = ").bind(b(d));
    }
    if let Some(a) = allocation {
        q.push(", allocation_package_id = ").bind(a.map(|p| p.to_string()));
    }
    q.push(" WHERE id = ").bind(id.to_string());
    let n = q.query().execute(&mut *c).await?.rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

pub async fn set_password_hash(c: &mut Conn, id: UserId, hash: &str) -> DbResult<()> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash.to_owned())
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn touch_login(c: &mut Conn, id: UserId) -> DbResult<()> {
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn set_totp_pending(c: &mut Conn, id: UserId, secret: Option<&str>) -> DbResult<()> {
    sqlx::query("UPDATE users SET totp_pending_secret = $1, updated_at = $2 WHERE id = $3")
        .bind(secret.map(str::to_owned))
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Turn 2FA on with `secret` (or off with `None`).
pub async fn set_totp(c: &mut Conn, id: UserId, secret: Option<&str>, last_step: Option<i64>) -> DbResult<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_enabled = $2, totp_pending_secret = NULL, \
         totp_last_step = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(secret.map(str::to_owned))
    .bind(b(secret.is_some()))
    .bind(last_step)
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Record the TOTP time step just used, only if it is newer than the last one.
/// Returns false when the step was already used (a replay).
pub async fn advance_totp_step(c: &mut Conn, id: UserId, step: i64) -> DbResult<bool> {
    let n = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(id.to_string())
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn delete(c: &mut Conn, id: UserId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// Users of a tenant (removed with it).
pub async fn delete_by_tenant(c: &mut Conn, tenant: TenantId) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM users WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected())
}

pub async fn count_role(c: &mut Conn, role: Role) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = $1 AND disabled = 0")
        .bind(role.as_str())
        .fetch_one(&mut *c)
        .await?;
    i(&row, "n")
}
