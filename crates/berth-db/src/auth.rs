//! Credentials other than passwords: sessions, API tokens, recovery codes,
//! password-reset tokens, and the failed-login throttle. Secrets are stored
//! only as SHA-256 hashes (they are long random values, so a fast hash is
//! right; passwords use argon2 in the panel).

use crate::row::{i, name, oi, os, ots, parse, s, ts};
use crate::{Conn, DbError, DbResult, now_ms};
use berth_proto::api::auth::SessionInfo;
use berth_proto::api::tokens::ApiToken;
use berth_proto::{SessionId, Text, TokenAccess, TokenId, UserId};
use sqlx::any::AnyRow;

// ---- sessions ----

#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    pub csrf_token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

fn decode_session(r: &AnyRow) -> DbResult<SessionRecord> {
    Ok(SessionRecord {
        id: parse(r, "id")?,
        user_id: parse(r, "user_id")?,
        csrf_token: s(r, "csrf_token")?,
        ip: os(r, "ip")?,
        user_agent: os(r, "user_agent")?,
        created_at: i(r, "created_at")?,
        last_seen_at: i(r, "last_seen_at")?,
        expires_at: i(r, "expires_at")?,
    })
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: UserId,
    pub csrf_token: &'a str,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: i64,
}

pub async fn create_session(c: &mut Conn, n: NewSession<'_>) -> DbResult<SessionId> {
    let id = SessionId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
    )
    .bind(id.to_string())
    .bind(n.token_hash.to_owned())
    .bind(n.user_id.to_string())
    .bind(n.csrf_token.to_owned())
    .bind(n.ip)
    .bind(n.user_agent)
    .bind(now)
    .bind(n.expires_at)
    .execute(&mut *c)
    .await?;
    Ok(id)
}

/// A live session by token hash (expired and idle ones are not returned).
pub async fn find_session(c: &mut Conn, token_hash: &str, idle_cutoff: i64) -> DbResult<Option<SessionRecord>> {
    let row = sqlx::query(
        "SELECT id, user_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at FROM sessions \
         WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3",
    )
    .bind(token_hash.to_owned())
    .bind(now_ms())
    .bind(idle_cutoff)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(decode_session).transpose()
}

/// Mark a session used; writes at most once a minute to spare the database.
pub async fn touch_session(c: &mut Conn, id: SessionId) -> DbResult<()> {
    let now = now_ms();
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3")
        .bind(now)
        .bind(id.to_string())
        .bind(now - 60_000)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn list_sessions(c: &mut Conn, user: UserId, current: Option<SessionId>) -> DbResult<Vec<SessionInfo>> {
    let rows = sqlx::query(
        "SELECT id, user_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC",
    )
    .bind(user.to_string())
    .bind(now_ms())
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            let s = decode_session(r)?;
            Ok(SessionInfo {
                id: s.id,
                ip: s.ip,
                user_agent: s.user_agent,
                created_at: berth_proto::Timestamp(s.created_at),
                last_seen_at: berth_proto::Timestamp(s.last_seen_at),
                expires_at: berth_proto::Timestamp(s.expires_at),
                current: Some(s.id) == current,
            })
        })
        .collect()
}

pub async fn delete_session(c: &mut Conn, user: UserId, id: SessionId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// End every session of a user, optionally keeping one.
pub async fn delete_user_sessions(c: &mut Conn, user: UserId, keep: Option<SessionId>) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user.to_string())
        .bind(keep.map(|k| k.to_string()).unwrap_or_default())
        .execute(&mut *c)
        .await?
        .rows_affected())
}

/// End every session of every user of a tenant (on suspension).
pub async fn delete_tenant_sessions(c: &mut Conn, tenant: berth_proto::TenantId) -> DbResult<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE tenant_id = $1)")
            .bind(tenant.to_string())
            .execute(&mut *c)
            .await?
            .rows_affected(),
    )
}

pub async fn prune_sessions(c: &mut Conn, idle_cutoff: i64) -> DbResult<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now_ms())
            .bind(idle_cutoff)
            .execute(&mut *c)
            .await?
            .rows_affected(),
    )
}

// ---- API tokens ----

#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub token: ApiToken,
    pub user_id: UserId,
}

fn decode_token(r: &AnyRow) -> DbResult<TokenRecord> {
    let allow: Vec<ipnet::IpNet> = serde_json::from_value(crate::row::json(r, "ip_allowlist")?)
        .map_err(|e| crate::corrupt(format!("ip_allowlist: {e}")))?;
    Ok(TokenRecord {
        user_id: parse(r, "user_id")?,
        token: ApiToken {
            id: parse(r, "id")?,
            name: name(r, "name")?,
            access: parse(r, "access")?,
            prefix: s(r, "prefix")?,
            expires_at: ots(r, "expires_at")?,
            ip_allowlist: allow,
            created_at: ts(r, "created_at")?,
            last_used_at: ots(r, "last_used_at")?,
        },
    })
}

pub struct NewToken<'a> {
    pub user_id: UserId,
    pub name: &'a Text,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub access: TokenAccess,
    pub expires_at: Option<i64>,
    pub ip_allowlist: &'a [ipnet::IpNet],
}

pub async fn create_token(c: &mut Conn, n: NewToken<'_>) -> DbResult<ApiToken> {
    let id = TokenId::new();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, access, expires_at, ip_allowlist, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(n.user_id.to_string())
    .bind(n.name.as_str().to_owned())
    .bind(n.token_hash.to_owned())
    .bind(n.prefix.to_owned())
    .bind(n.access.as_str())
    .bind(n.expires_at)
    .bind(serde_json::to_string(n.ip_allowlist).unwrap_or_else(|_| "[]".to_owned()))
    .bind(now_ms())
    .execute(&mut *c)
    .await?;
    let row = sqlx::query(concat!(
        "SELECT id, user_id, name, prefix, access, expires_at, ip_allowlist, created_at, last_used_at ",
        "FROM api_tokens WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_one(&mut *c)
    .await?;
    Ok(decode_token(&row)?.token)
}

/// An unexpired token by hash.
pub async fn find_token(c: &mut Conn, token_hash: &str) -> DbResult<Option<TokenRecord>> {
    let row = sqlx::query(
        "SELECT id, user_id, name, prefix, access, expires_at, ip_allowlist, created_at, last_used_at \
         FROM api_tokens WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(token_hash.to_owned())
    .bind(now_ms())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(decode_token).transpose()
}

pub async fn touch_token(c: &mut Conn, id: TokenId) -> DbResult<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(id.to_string())
    .bind(now - 60_000)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn list_tokens(c: &mut Conn, user: UserId) -> DbResult<Vec<ApiToken>> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, prefix, access, expires_at, ip_allowlist, created_at, last_used_at \
         FROM api_tokens WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user.to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| decode_token(r).map(|t| t.token)).collect()
}

pub async fn delete_token(c: &mut Conn, user: UserId, id: TokenId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

// ---- recovery codes ----

pub async fn replace_recovery_codes(c: &mut Conn, user: UserId, hashes: &[String]) -> DbResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.to_string())
        .execute(&mut *c)
        .await?;
    for h in hashes {
        sqlx::query("INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(user.to_string())
            .bind(h.clone())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Use up a recovery code; false when it does not exist or was used.
pub async fn consume_recovery_code(c: &mut Conn, user: UserId, hash: &str) -> DbResult<bool> {
    let n =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(now_ms())
            .bind(user.to_string())
            .bind(hash.to_owned())
            .execute(&mut *c)
            .await?
            .rows_affected();
    Ok(n == 1)
}

// ---- password resets ----

pub async fn create_reset(c: &mut Conn, user: UserId, token_hash: &str, expires_at: i64) -> DbResult<()> {
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash.to_owned())
        .bind(user.to_string())
        .bind(now_ms())
        .bind(expires_at)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Use a reset token once; returns its user.
pub async fn consume_reset(c: &mut Conn, token_hash: &str) -> DbResult<Option<UserId>> {
    let row = sqlx::query(
        "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(now_ms())
    .bind(token_hash.to_owned())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(|r| parse(r, "user_id")).transpose()
}

// ---- login throttle ----

/// When the key is locked, the time (ms) the lock ends.
pub async fn throttle_locked_until(c: &mut Conn, key: &str) -> DbResult<Option<i64>> {
    let row = sqlx::query("SELECT locked_until FROM login_throttle WHERE throttle_key = $1")
        .bind(key.to_owned())
        .fetch_optional(&mut *c)
        .await?;
    let until = match row {
        Some(r) => oi(&r, "locked_until")?,
        None => None,
    };
    Ok(until.filter(|u| *u > now_ms()))
}

/// Count a failure; lock the key for `lock_ms` once `max` failures happened
/// inside one lock window. Returns the failure count.
pub async fn throttle_fail(c: &mut Conn, key: &str, max: i64, lock_ms: i64) -> DbResult<i64> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO login_throttle (throttle_key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0) \
         ON CONFLICT (throttle_key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END \
         RETURNING failures",
    )
    .bind(key.to_owned())
    .bind(now)
    .bind(now - lock_ms)
    .fetch_one(&mut *c)
    .await?;
    let failures = i(&row, "failures")?;
    if failures >= max {
        sqlx::query(
            "UPDATE login_throttle SET locked_until = $1, failures = 0, window_start = $2 WHERE throttle_key = $3",
        )
        .bind(now + lock_ms)
        .bind(now)
        .bind(key.to_owned())
        .execute(&mut *c)
        .await?;
    }
    Ok(failures)
}

pub async fn throttle_clear(c: &mut Conn, key: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
        .bind(key.to_owned())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Take back one counted attempt (it turned out to be a success).
pub async fn throttle_forgive(c: &mut Conn, key: &str) -> DbResult<()> {
    sqlx::query("UPDATE login_throttle SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0")
        .bind(key.to_owned())
        .execute(&mut *c)
        .await?;
    Ok(())
}
