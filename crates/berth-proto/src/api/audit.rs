//! The audit log: append-only, hash-chained.

use crate::{RequestId, Role, TenantId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_role: Option<Role>,
    pub tenant_id: Option<TenantId>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub request_id: Option<RequestId>,
    pub ip: Option<String>,
    /// What changed (never secrets).
    pub summary: serde_json::Value,
    /// SHA-256 over the previous hash and this entry's canonical form.
    pub hash: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor_id: Option<UserId>,
    pub tenant_id: Option<TenantId>,
    /// Exact action, or a prefix ending in `.` (`tenant.` matches `tenant.create`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339, inclusive.
    pub since: Option<String>,
    /// RFC 3339, exclusive.
    pub until: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditVerifyReport {
    pub ok: bool,
    pub checked: i64,
    /// The first entry whose hash does not match, when `ok` is false.
    pub first_bad_seq: Option<i64>,
    pub message: String,
}
