//! Enrolled nodes and the install's CA. Staff-only data: no tenant scope.

use crate::row::{i, name, oi, os, ots, parse, s, ts};
use crate::{Conn, DbError, DbResult, now_ms};
use berth_proto::api::nodes::{Capabilities, Metrics, Node, NodeRole, NodeState};
use berth_proto::{AccountName, NodeId, Timestamp};
use sqlx::any::AnyRow;

/// A node row with what only the panel needs (certificate fingerprints).
#[derive(Clone, Debug)]
pub struct NodeRow {
    pub node: Node,
    pub id: NodeId,
    pub address: String,
    pub cert_sha256: Option<String>,
    /// A certificate issued by a rotation, accepted beside the current one
    /// until the agent uses it.
    pub next_cert_sha256: Option<String>,
    pub join_token_hash: Option<String>,
    pub join_expires_at: Option<i64>,
}

macro_rules! cols {
    () => {
        "n.id, n.name, n.address, n.roles, n.state, n.join_token_hash, n.join_expires_at, n.cert_sha256, \
         n.cert_serial, n.cert_not_after, n.next_cert_sha256, n.capabilities, n.metrics, n.last_seen_at, \
         n.last_error, n.created_at, (SELECT COUNT(*) FROM sites s WHERE s.node_id = n.id) AS sites"
    };
}

fn state(v: &str) -> DbResult<NodeState> {
    Ok(match v {
        "pending" => NodeState::Pending,
        "trusted" => NodeState::Trusted,
        "revoked" => NodeState::Revoked,
        o => return Err(crate::corrupt(format!("node state {o:?}"))),
    })
}

fn decode(r: &AnyRow) -> DbResult<NodeRow> {
    let id: NodeId = parse(r, "id")?;
    let roles: Vec<NodeRole> =
        serde_json::from_str(&s(r, "roles")?).map_err(|e| crate::corrupt(format!("node roles: {e}")))?;
    let capabilities: Option<Capabilities> = os(r, "capabilities")?
        .map(|c| serde_json::from_str(&c))
        .transpose()
        .map_err(|e| crate::corrupt(format!("node capabilities: {e}")))?;
    let metrics: Option<Metrics> = os(r, "metrics")?
        .map(|c| serde_json::from_str(&c))
        .transpose()
        .map_err(|e| crate::corrupt(format!("node metrics: {e}")))?;
    let address = s(r, "address")?;
    Ok(NodeRow {
        node: Node {
            id: Some(id),
            name: name(r, "name")?,
            address: Some(address.clone()),
            roles,
            state: state(&s(r, "state")?)?,
            capabilities,
            metrics,
            last_seen_at: ots(r, "last_seen_at")?,
            last_error: os(r, "last_error")?,
            cert_serial: os(r, "cert_serial")?,
            cert_not_after: oi(r, "cert_not_after")?.map(Timestamp),
            sites: i(r, "sites")?,
            created_at: Some(ts(r, "created_at")?),
        },
        id,
        address,
        cert_sha256: os(r, "cert_sha256")?,
        next_cert_sha256: os(r, "next_cert_sha256")?,
        join_token_hash: os(r, "join_token_hash")?,
        join_expires_at: oi(r, "join_expires_at")?,
    })
}

fn roles_json(r: &[NodeRole]) -> String {
    serde_json::to_string(r).unwrap_or_else(|_| "[]".into())
}

pub async fn insert(
    c: &mut Conn,
    name: &AccountName,
    address: &str,
    roles: &[NodeRole],
    token_hash: &str,
    expires_at: i64,
) -> DbResult<NodeRow> {
    let id = NodeId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO nodes (id, name, address, roles, state, join_token_hash, join_expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $7)",
    )
    .bind(id.to_string())
    .bind(name.as_str().to_owned())
    .bind(address.to_owned())
    .bind(roles_json(roles))
    .bind(token_hash.to_owned())
    .bind(expires_at)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as(&format!("a node named {name} exists")))?;
    get(c, name.as_str()).await
}

pub async fn get(c: &mut Conn, name: &str) -> DbResult<NodeRow> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM nodes n WHERE n.name = $1"))
        .bind(name.to_owned())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    decode(&row)
}

pub async fn get_by_id(c: &mut Conn, id: NodeId) -> DbResult<NodeRow> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM nodes n WHERE n.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    decode(&row)
}

/// The node a join token belongs to (by the token's hash).
pub async fn by_token(c: &mut Conn, token_hash: &str) -> DbResult<NodeRow> {
    let row = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM nodes n WHERE n.join_token_hash = $1"
    ))
    .bind(token_hash.to_owned())
    .fetch_optional(&mut *c)
    .await?
    .ok_or(DbError::NotFound)?;
    decode(&row)
}

pub async fn list(c: &mut Conn) -> DbResult<Vec<NodeRow>> {
    let rows = sqlx::query(concat!("SELECT ", cols!(), " FROM nodes n ORDER BY n.created_at, n.id"))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(decode).collect()
}

/// Enrolment: the token is spent (only if it still is the given one, so two
/// joins with one token cannot both win) and the certificate recorded.
pub async fn trust(
    c: &mut Conn,
    id: NodeId,
    token_hash: &str,
    cert_sha256: &str,
    serial: &str,
    not_after: i64,
) -> DbResult<bool> {
    let n = sqlx::query(
        "UPDATE nodes SET state = 'trusted', join_token_hash = NULL, join_expires_at = NULL, cert_sha256 = $1, \
         cert_serial = $2, cert_not_after = $3, next_cert_sha256 = NULL, updated_at = $4 \
         WHERE id = $5 AND state = 'pending' AND join_token_hash = $6",
    )
    .bind(cert_sha256.to_owned())
    .bind(serial.to_owned())
    .bind(not_after)
    .bind(now_ms())
    .bind(id.to_string())
    .bind(token_hash.to_owned())
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A new join token for a node that has not enrolled yet.
pub async fn set_token(c: &mut Conn, id: NodeId, token_hash: &str, expires_at: i64) -> DbResult<()> {
    sqlx::query(
        "UPDATE nodes SET join_token_hash = $1, join_expires_at = $2, updated_at = $3 WHERE id = $4 AND state = 'pending'",
    )
    .bind(token_hash.to_owned())
    .bind(expires_at)
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A rotation issued a certificate the agent has not confirmed yet.
pub async fn set_next_cert(c: &mut Conn, id: NodeId, sha256: Option<&str>) -> DbResult<()> {
    sqlx::query("UPDATE nodes SET next_cert_sha256 = $1, updated_at = $2 WHERE id = $3")
        .bind(sha256.map(str::to_owned))
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The agent serves the rotated certificate now.
pub async fn rotate_done(c: &mut Conn, id: NodeId, sha256: &str, serial: &str, not_after: i64) -> DbResult<()> {
    sqlx::query(
        "UPDATE nodes SET cert_sha256 = $1, cert_serial = $2, cert_not_after = $3, next_cert_sha256 = NULL, \
         updated_at = $4 WHERE id = $5",
    )
    .bind(sha256.to_owned())
    .bind(serial.to_owned())
    .bind(not_after)
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A heartbeat's outcome: the report, or why there was none.
pub async fn seen(c: &mut Conn, id: NodeId, report: Result<(&Capabilities, &Metrics), &str>) -> DbResult<()> {
    let now = now_ms();
    match report {
        Ok((caps, metrics)) => {
            sqlx::query(
                "UPDATE nodes SET capabilities = $1, metrics = $2, last_seen_at = $3, last_error = NULL, \
                 updated_at = $3 WHERE id = $4",
            )
            .bind(serde_json::to_string(caps).unwrap_or_default())
            .bind(serde_json::to_string(metrics).unwrap_or_default())
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *c)
            .await?;
        }
        Err(e) => {
            sqlx::query("UPDATE nodes SET last_error = $1, updated_at = $2 WHERE id = $3")
                .bind(e.chars().take(1000).collect::<String>())
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

pub async fn revoke(c: &mut Conn, id: NodeId) -> DbResult<()> {
    sqlx::query(
        "UPDATE nodes SET state = 'revoked', join_token_hash = NULL, join_expires_at = NULL, \
         next_cert_sha256 = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The install's CA (certificate PEM, key PEM), if made.
pub async fn ca(c: &mut Conn) -> DbResult<Option<(String, String)>> {
    let row = sqlx::query("SELECT ca_cert_pem, ca_key_pem FROM pki WHERE id = 1")
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| Ok((s(&r, "ca_cert_pem")?, s(&r, "ca_key_pem")?)))
        .transpose()
}

/// Store a new CA unless another panel stored one first; the stored one is
/// answered either way.
pub async fn ca_init(c: &mut Conn, cert_pem: &str, key_pem: &str) -> DbResult<(String, String)> {
    let r = sqlx::query("INSERT INTO pki (id, ca_cert_pem, ca_key_pem, created_at) VALUES (1, $1, $2, $3)")
        .bind(cert_pem.to_owned())
        .bind(key_pem.to_owned())
        .bind(now_ms())
        .execute(&mut *c)
        .await;
    if let Err(e) = r {
        match DbError::from(e).unique_as("ca") {
            DbError::Conflict(_) => {}
            other => return Err(other),
        }
    }
    ca(c).await?.ok_or(DbError::NotFound)
}
