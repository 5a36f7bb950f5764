//! A node's configuration history: revisions, the journal, drift, and the
//! two changes an admin makes to it (roll back, resolve drift). Only the
//! local node (named `local`) exists until node enrollment lands.

use crate::{JobId, Timestamp};
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
