//! The audit log: append-only rows in a SHA-256 hash chain.
//!
//! `append` must run on the transaction that makes the change it records, so
//! a change and its audit row commit or roll back together. Writers serialise
//! on the single `audit_head` row, which keeps `seq` gap-free and the chain
//! linear even with several panels on one PostgreSQL.

use crate::row::{i, oparse, os, s, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::audit_chain::{ChainFields, GENESIS, entry_hash};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::audit::{AuditEntry, AuditQuery, AuditVerifyReport};
use berth_proto::{RequestId, Role, TenantId, Timestamp, UserId};
use sqlx::any::AnyRow;

/// Who did it and from where: the same for every row a request writes.
#[derive(Clone, Debug, Default)]
pub struct AuditMeta {
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub request_id: Option<RequestId>,
    pub ip: Option<String>,
}

/// What happened.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub tenant_id: Option<TenantId>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    /// What changed. Never secrets.
    pub summary: serde_json::Value,
}

pub async fn append(c: &mut Conn, meta: &AuditMeta, ev: AuditEvent) -> DbResult<i64> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *c)
        .await?;
    let seq = i(&head, "seq")?;
    let prev = s(&head, "hash")?;
    let at = now_ms();
    let summary = ev.summary.to_string();
    let actor = meta.actor_id.map(|a| a.to_string());
    let tenant = ev.tenant_id.map(|t| t.to_string());
    let request = meta.request_id.map(|r| r.to_string());
    let hash = entry_hash(
        &prev,
        &ChainFields {
            seq,
            at_ms: at,
            actor_id: actor.as_deref(),
            actor_role: meta.actor_role.map(Role::as_str),
            tenant_id: tenant.as_deref(),
            action: ev.action,
            target_type: ev.target_type,
            target_id: ev.target_id.as_deref(),
            request_id: request.as_deref(),
            ip: meta.ip.as_deref(),
            summary: &summary,
        },
    );
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash.clone())
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_id, actor_role, tenant_id, action, target_type, target_id, \
         request_id, ip, summary, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(seq)
    .bind(at)
    .bind(actor)
    .bind(meta.actor_role.map(Role::as_str))
    .bind(tenant)
    .bind(ev.action)
    .bind(ev.target_type)
    .bind(ev.target_id)
    .bind(request)
    .bind(meta.ip.clone())
    .bind(summary)
    .bind(prev)
    .bind(hash)
    .execute(&mut *c)
    .await?;
    Ok(seq)
}

macro_rules! cols {
    () => {
        "a.seq, a.at, a.actor_id, a.actor_role, a.tenant_id, a.action, a.target_type, a.target_id, \
         a.request_id, a.ip, a.summary, a.prev_hash, a.hash"
    };
}

fn decode(r: &AnyRow) -> DbResult<AuditEntry> {
    Ok(AuditEntry {
        seq: i(r, "seq")?,
        at: ts(r, "at")?,
        actor_id: oparse(r, "actor_id")?,
        actor_role: oparse(r, "actor_role")?,
        tenant_id: oparse(r, "tenant_id")?,
        action: s(r, "action")?,
        target_type: s(r, "target_type")?,
        target_id: os(r, "target_id")?,
        request_id: oparse(r, "request_id")?,
        ip: os(r, "ip")?,
        summary: crate::row::json(r, "summary")?,
        hash: s(r, "hash")?,
    })
}

fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND (a.actor_id = ")
                .bind(r.to_string())
                .push(" OR a.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ")
                .bind(r.to_string())
                .push("))");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND a.tenant_id = ").bind(t.to_string());
        }
    }
}

/// Newest first.
pub async fn list(c: &mut Conn, scope: &Scope, f: &AuditQuery) -> DbResult<(Vec<AuditEntry>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let since = f.since.as_deref().map(Timestamp::parse_rfc3339);
    let until = f.until.as_deref().map(Timestamp::parse_rfc3339);
    if matches!(since, Some(None)) || matches!(until, Some(None)) {
        return Err(DbError::Conflict("since/until must be RFC 3339 timestamps".into()));
    }
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM audit_log a WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(a) = f.actor_id {
            q.push(" AND a.actor_id = ").bind(a.to_string());
        }
        if let Some(t) = f.tenant_id {
            q.push(" AND a.tenant_id = ").bind(t.to_string());
        }
        if let Some(act) = f.action.as_deref() {
            if act.ends_with('.') {
                // A prefix: escape LIKE's wildcards in what the user typed.
                let esc = act.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                q.push(" AND a.action LIKE ")
                    .bind(format!("{esc}%"))
                    .push(" ESCAPE '\\'");
            } else {
                q.push(" AND a.action = ").bind(act.to_owned());
            }
        }
        if let Some(tt) = f.target_type.as_deref() {
            q.push(" AND a.target_type = ").bind(tt.to_owned());
        }
        if let Some(tid) = f.target_id.as_deref() {
            q.push(" AND a.target_id = ").bind(tid.to_owned());
        }
        if let Some(Some(t)) = since {
            q.push(" AND a.at >= ").bind(t.millis());
        }
        if let Some(Some(t)) = until {
            q.push(" AND a.at < ").bind(t.millis());
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", cols!()));
    q.push(" ORDER BY a.seq DESC LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    Ok((rows.iter().map(decode).collect::<DbResult<_>>()?, total))
}

/// Recompute the whole chain and compare with what is stored.
pub async fn verify(c: &mut Conn) -> DbResult<AuditVerifyReport> {
    // The head first: entries appended while we read are beyond it and are
    // not mistaken for a broken chain (the head and its row commit together).
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *c)
        .await?;
    let (head_seq, head_hash) = (i(&head, "seq")?, s(&head, "hash")?);
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1i64;
    let mut checked = 0i64;
    let bad = |seq: i64, checked: i64, message: String| AuditVerifyReport {
        ok: false,
        checked,
        first_bad_seq: Some(seq),
        message,
    };
    loop {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM audit_log a WHERE a.seq >= $1 AND a.seq <= $2 ORDER BY a.seq LIMIT 1000"
        ))
        .bind(expected_seq)
        .bind(head_seq)
        .fetch_all(&mut *c)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let seq = i(r, "seq")?;
            if seq != expected_seq {
                return Ok(bad(expected_seq, checked, format!("entry {expected_seq} is missing")));
            }
            let stored_prev = s(r, "prev_hash")?;
            let stored = s(r, "hash")?;
            let actor = os(r, "actor_id")?;
            let role = os(r, "actor_role")?;
            let tenant = os(r, "tenant_id")?;
            let action = s(r, "action")?;
            let tt = s(r, "target_type")?;
            let tid = os(r, "target_id")?;
            let req = os(r, "request_id")?;
            let ip = os(r, "ip")?;
            let summary = s(r, "summary")?;
            let computed = entry_hash(
                &prev,
                &ChainFields {
                    seq,
                    at_ms: i(r, "at")?,
                    actor_id: actor.as_deref(),
                    actor_role: role.as_deref(),
                    tenant_id: tenant.as_deref(),
                    action: &action,
                    target_type: &tt,
                    target_id: tid.as_deref(),
                    request_id: req.as_deref(),
                    ip: ip.as_deref(),
                    summary: &summary,
                },
            );
            if stored_prev != prev || computed != stored {
                return Ok(bad(
                    seq,
                    checked,
                    format!("entry {seq} does not match its hash: it was changed"),
                ));
            }
            prev = stored;
            expected_seq += 1;
            checked += 1;
        }
    }
    if head_seq != checked || head_hash != prev {
        return Ok(bad(
            checked + 1,
            checked,
            format!("the chain ends at entry {checked} but the head says {head_seq}: entries were removed"),
        ));
    }
    Ok(AuditVerifyReport {
        ok: true,
        checked,
        first_bad_seq: None,
        message: format!("{checked} entries verified"),
    })
}
