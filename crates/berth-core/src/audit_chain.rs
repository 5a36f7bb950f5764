//! The audit log's hash chain. Each entry's hash covers the previous hash and
//! a canonical rendering of the entry, so editing or deleting any row breaks
//! every hash after it (`berth audit verify` finds the first broken one).

use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry that the hash covers, in a fixed order.
#[derive(Clone, Debug)]
pub struct ChainFields<'a> {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<&'a str>,
    pub actor_role: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// The summary exactly as stored (a JSON text).
    pub summary: &'a str,
}

/// `sha256(prev || canonical(fields))`, lower-case hex.
pub fn entry_hash(prev: &str, f: &ChainFields<'_>) -> String {
    // serde_json renders a Vec of values deterministically; nulls keep
    // positions so ("a", None) and (None, "a") hash differently.
    let canonical = serde_json::json!([
        f.seq,
        f.at_ms,
        f.actor_id,
        f.actor_role,
        f.tenant_id,
        f.action,
        f.target_type,
        f.target_id,
        f.request_id,
        f.ip,
        f.summary
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical.to_string().as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(summary: &str) -> ChainFields<'_> {
        ChainFields {
            seq: 1,
            at_ms: 1000,
            actor_id: Some("u"),
            actor_role: Some("admin"),
            tenant_id: None,
            action: "tenant.create",
            target_type: "tenant",
            target_id: Some("t"),
            request_id: None,
            ip: Some("127.0.0.1"),
            summary,
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let a = entry_hash(GENESIS, &fields("{}"));
        assert_eq!(a.len(), 64);
        assert_eq!(a, entry_hash(GENESIS, &fields("{}")));
        assert_ne!(a, entry_hash(GENESIS, &fields("{\"x\":1}")));
        assert_ne!(a, entry_hash(&a, &fields("{}")));
        let mut moved = fields("{}");
        moved.tenant_id = Some("u");
        moved.actor_id = None;
        assert_ne!(a, entry_hash(GENESIS, &moved));
    }
}
