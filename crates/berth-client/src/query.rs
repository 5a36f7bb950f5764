//! Query strings from the `*Query` wire structs.
//!
//! Their fields are `Option`s without `skip_serializing_if`, and the panel
//! parses queries with `deny_unknown_fields` into typed values, so `limit=`
//! (an empty value for a `None`) would be a 400. Going through
//! `serde_json::Value` lets us drop nulls and stay independent of how any
//! urlencoder treats `None`.

use crate::ClientError;
use serde::Serialize;
use serde_json::Value;

/// The `key=value` pairs of a query struct, `None` fields omitted.
pub(crate) fn pairs<Q: Serialize>(q: &Q) -> Result<Vec<(String, String)>, ClientError> {
    let value = serde_json::to_value(q).map_err(|e| ClientError::BadUrl(format!("cannot encode the query: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ClientError::BadUrl("a query must be a struct".into()));
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        match v {
            Value::Null => {}
            Value::String(s) => out.push((k, s)),
            Value::Array(items) => {
                for item in items {
                    if let Some(s) = scalar(item) {
                        out.push((k.clone(), s));
                    }
                }
            }
            other => {
                if let Some(s) = scalar(other) {
                    out.push((k, s));
                }
            }
        }
    }
    Ok(out)
}

fn scalar(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_proto::TenantId;
    use berth_proto::api::jobs::{JobQuery, JobState};
    use berth_proto::api::tenants::{TenantQuery, TenantStatus};

    #[test]
    fn none_fields_are_omitted() {
        let empty = pairs(&TenantQuery::default()).expect("pairs");
        assert!(empty.is_empty());
        let q = TenantQuery {
            status: Some(TenantStatus::Suspended),
            q: Some("a b&c".into()),
            limit: Some(10),
            ..Default::default()
        };
        let mut p = pairs(&q).expect("pairs");
        p.sort();
        assert_eq!(
            p,
            vec![
                ("limit".to_owned(), "10".to_owned()),
                ("q".to_owned(), "a b&c".to_owned()),
                ("status".to_owned(), "suspended".to_owned()),
            ]
        );
    }

    #[test]
    fn ids_and_enums_use_their_wire_form() {
        let id: TenantId = "0190a0f0-0000-7000-8000-000000000001".parse().expect("id");
        let q = JobQuery {
            state: Some(JobState::Dead),
            tenant_id: Some(id),
            ..Default::default()
        };
        let mut p = pairs(&q).expect("pairs");
        p.sort();
        assert_eq!(p[0], ("state".to_owned(), "dead".to_owned()));
        assert_eq!(p[1].1, "0190a0f0-0000-7000-8000-000000000001");
    }
}
