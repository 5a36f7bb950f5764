//! Nodes: the registry (enrolment over mutual TLS, trust state,
//! capabilities, heartbeat and metrics) and a node's configuration history
//! (revisions, journal, drift, rollback). The panel's own node is `local`.

use crate::{AccountName, JobId, NodeId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevisionInfo {
    pub rev: u64,
    pub at: Timestamp,
    /// Who or what asked (a job, a rollback…).
    pub reason: String,
    pub parent: Option<u64>,
    pub files: usize,
    /// The revision the service runs now.
    pub live: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JournalLine {
    pub at: Timestamp,
    /// applied, rejected, rolled_back, recovered.
    pub event: String,
    pub rev: Option<u64>,
    pub reason: String,
    pub detail: Option<String>,
}

/// A managed file whose live content differs from its revision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DriftItem {
    pub path: String,
    pub expected_sha256: Option<String>,
    /// `null`: the file is missing.
    pub actual_sha256: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    pub rev: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriftAction {
    /// Record the hand edits as a new revision (after the checker accepts them).
    Keep,
    /// Put the managed content back, discarding the hand edits.
    Overwrite,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDrift {
    pub action: DriftAction,
}

/// A node change answers the job that makes it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeChange {
    pub job_id: JobId,
}

/// What a node is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Web,
    Mail,
    Dns,
    Db,
    Backup,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Web => "web",
            NodeRole::Mail => "mail",
            NodeRole::Dns => "dns",
            NodeRole::Db => "db",
            NodeRole::Backup => "backup",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Created; waits for `berth agent join` with its token.
    Pending,
    /// Enrolled: holds a certificate from the panel's CA.
    Trusted,
    /// Deleted: the panel no longer talks to it or accepts its certificate.
    Revoked,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Pending => "pending",
            NodeState::Trusted => "trusted",
            NodeState::Revoked => "revoked",
        }
    }
}

/// What the agent found installed (reported with every heartbeat).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Capabilities {
    pub agent_version: String,
    /// `PRETTY_NAME` of /etc/os-release.
    pub os: String,
    pub kernel: String,
    pub systemd: bool,
    pub nginx: Option<String>,
    pub php: Vec<String>,
}

/// Basic load figures (reported with every heartbeat).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Metrics {
    pub cpu_cores: u32,
    /// Busy share of all cores over a short sample, 0–100.
    pub cpu_percent: f64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    pub mem_total_mb: u64,
    pub mem_available_mb: u64,
    /// Of the file system holding the homes.
    pub disk_total_mb: u64,
    pub disk_free_mb: u64,
}

/// What a node says about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeReport {
    pub capabilities: Capabilities,
    pub metrics: Metrics,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Node {
    /// `null` for the panel's local node.
    pub id: Option<NodeId>,
    pub name: AccountName,
    /// Where the agent's RPC listens (`host:port`); `null` for the local node.
    pub address: Option<String>,
    pub roles: Vec<NodeRole>,
    pub state: NodeState,
    pub capabilities: Option<Capabilities>,
    pub metrics: Option<Metrics>,
    pub last_seen_at: Option<Timestamp>,
    /// Why the last heartbeat failed, if it did.
    pub last_error: Option<String>,
    pub cert_serial: Option<String>,
    pub cert_not_after: Option<Timestamp>,
    pub sites: i64,
    pub created_at: Option<Timestamp>,
}

/// Most roles one node may list.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNode {
    /// Lower-case letters, digits and inner hyphens; `local` and
    /// `berth-panel` are reserved.
    pub name: AccountName,
    /// `host:port` of the agent's RPC, as the panel reaches it.
    pub address: String,
    #[serde(default = "default_roles")]
    pub roles: Vec<NodeRole>,
}

fn default_roles() -> Vec<NodeRole> {
    vec![NodeRole::Web]
}

/// A new node and the one-time token that enrols it (shown once).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeCreated {
    pub node: Node,
    pub join_token: String,
    pub join_expires_at: Timestamp,
    /// What to run on the node.
    pub join_command: String,
}

/// `berth agent join` sends this (no other credentials: the token is them).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub token: String,
    /// PEM of a certificate request made on the node (ECDSA P-256).
    pub csr: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JoinResponse {
    pub name: AccountName,
    pub cert_pem: String,
    pub ca_pem: String,
}
