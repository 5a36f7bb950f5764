//! A store's history in the API's terms: revisions (newest first), the
//! journal, and drift. Shared by the panel's local node and the agent RPC.

use crate::store::{Store, StoreError};
use berth_proto::Timestamp;
use berth_proto::api::nodes::{DriftItem, JournalLine, RevisionInfo};

pub fn revisions(store: &Store) -> Result<Vec<RevisionInfo>, StoreError> {
    let live = store.current()?;
    let mut out: Vec<RevisionInfo> = store
        .history()?
        .into_iter()
        .map(|m| RevisionInfo {
            live: Some(m.rev) == live,
            rev: m.rev,
            at: Timestamp(m.at_ms),
            reason: m.reason,
            parent: m.parent,
            files: m.files.len(),
        })
        .collect();
    out.reverse();
    Ok(out)
}

pub fn journal(store: &Store) -> Result<Vec<JournalLine>, StoreError> {
    Ok(store
        .journal()?
        .into_iter()
        .map(|e| JournalLine {
            at: Timestamp(e.at_ms),
            event: e.event,
            rev: e.rev,
            reason: e.reason,
            detail: e.detail,
        })
        .collect())
}

pub fn drift(store: &Store) -> Result<Vec<DriftItem>, StoreError> {
    Ok(store
        .drift()?
        .into_iter()
        .map(|d| DriftItem {
            path: d.path,
            expected_sha256: d.expected,
            actual_sha256: d.actual,
        })
        .collect())
}
