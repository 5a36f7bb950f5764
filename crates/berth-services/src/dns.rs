//! A zone's desired state rendered for its DNS server: a BIND zone file, or
//! PowerDNS API rrsets. Pure: every name and content comes from parsed
//! types (`berth_proto::dns`), every name is written absolute (no `$ORIGIN`
//! to get wrong), and nothing from a record can start a directive or a new
//! line.

use berth_proto::dns::{Record, ZoneSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One PowerDNS rrset (`/api/v1/servers/localhost/zones/...`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PdnsRrset {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub ttl: u32,
    pub records: Vec<PdnsRecord>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub changetype: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PdnsRecord {
    pub content: String,
    pub disabled: bool,
}

/// (absolute name with dot, type, ttl, presentation content), SOA and NS first.
fn lines(spec: &ZoneSpec) -> Result<Vec<(String, String, u32, String)>, String> {
    let apex = format!("{}.", spec.zone);
    let ns = spec.ns_targets().map_err(|e| e.to_string())?;
    let rname = spec.rname().map_err(|e| e.to_string())?;
    let s = &spec.soa;
    let mut out = vec![(
        apex.clone(),
        "SOA".to_owned(),
        spec.ttl,
        format!(
            "{} {rname} {} {} {} {} {}",
            ns[0], spec.serial, s.refresh, s.retry, s.expire, s.minimum
        ),
    )];
    for n in &ns {
        out.push((apex.clone(), "NS".to_owned(), spec.ttl, n.to_string()));
    }
    let mut records: Vec<&Record> = spec.records.iter().collect();
    records.sort();
    for r in records {
        out.push((
            format!("{}.", r.name.fqdn(&spec.zone)),
            r.data.record_type().to_string(),
            r.ttl,
            r.data.presentation(),
        ));
    }
    Ok(out)
}

/// The zone file BIND loads (checked with `named-checkzone` before use).
pub fn render_bind_zone(spec: &ZoneSpec) -> Result<String, String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "; {} — written by Berth; edits are replaced on the next change",
        spec.zone
    );
    let _ = writeln!(s, "$TTL {}", spec.ttl);
    for (name, t, ttl, content) in lines(spec)? {
        let _ = writeln!(s, "{name} {ttl} IN {t} {content}");
    }
    Ok(s)
}

/// The zone's rrsets for PowerDNS, SOA and apex NS included, one per name
/// and type, sorted.
pub fn pdns_rrsets(spec: &ZoneSpec) -> Result<Vec<PdnsRrset>, String> {
    let mut sets: BTreeMap<(String, String), PdnsRrset> = BTreeMap::new();
    for (name, t, ttl, content) in lines(spec)? {
        let e = sets.entry((name.clone(), t.clone())).or_insert_with(|| PdnsRrset {
            name,
            rtype: t,
            ttl,
            records: Vec::new(),
            changetype: None,
        });
        e.records.push(PdnsRecord {
            content,
            disabled: false,
        });
    }
    Ok(sets
        .into_values()
        .map(|mut r| {
            r.records.sort();
            r
        })
        .collect())
}

/// The PATCH that turns `current` (as PowerDNS reports the zone) into
/// `desired`: REPLACE what differs, DELETE what is gone. Empty: nothing
/// to do. PowerDNS's own content forms are compared as it returns them,
/// so `desired` must be in its canonical form (ours is).
pub fn pdns_patch(current: &[PdnsRrset], desired: &[PdnsRrset]) -> Vec<PdnsRrset> {
    let key = |r: &PdnsRrset| (r.name.to_ascii_lowercase(), r.rtype.clone());
    let cur: BTreeMap<_, _> = current.iter().map(|r| (key(r), r)).collect();
    let want: BTreeMap<_, _> = desired.iter().map(|r| (key(r), r)).collect();
    let mut out = Vec::new();
    for (k, w) in &want {
        let same = cur.get(k).is_some_and(|c| {
            let mut a: Vec<&str> = c.records.iter().map(|r| r.content.as_str()).collect();
            let mut b: Vec<&str> = w.records.iter().map(|r| r.content.as_str()).collect();
            a.sort_unstable();
            b.sort_unstable();
            // The SOA serial is PowerDNS's to move (soa_edit_api); only the
            // rest of the SOA is compared.
            if k.1 == "SOA" {
                let strip = |v: &[&str]| -> Vec<String> {
                    v.iter()
                        .map(|s| {
                            let f: Vec<&str> = s.split_whitespace().collect();
                            f.iter()
                                .enumerate()
                                .filter(|(i, _)| *i != 2)
                                .map(|(_, x)| *x)
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect()
                };
                c.ttl == w.ttl && strip(&a) == strip(&b)
            } else {
                c.ttl == w.ttl && a == b
            }
        });
        if !same {
            let mut r = (*w).clone();
            r.changetype = Some("REPLACE".into());
            out.push(r);
        }
    }
    for (k, c) in &cur {
        if !want.contains_key(k) {
            out.push(PdnsRrset {
                name: c.name.clone(),
                rtype: c.rtype.clone(),
                ttl: c.ttl,
                records: Vec::new(),
                changetype: Some("DELETE".into()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, t: &str, ttl: u32, contents: &[&str]) -> PdnsRrset {
        PdnsRrset {
            name: name.into(),
            rtype: t.into(),
            ttl,
            records: contents
                .iter()
                .map(|c| PdnsRecord {
                    content: (*c).into(),
                    disabled: false,
                })
                .collect(),
            changetype: None,
        }
    }

    #[test]
    fn patch_replaces_what_differs_and_deletes_what_is_gone() {
        let soa = |serial: &str| {
            set(
                "e.com.",
                "SOA",
                3600,
                &[&format!("ns1.e.net. h.e.com. {serial} 10800 3600 604800 300")],
            )
        };
        let cur = vec![
            soa("2026112503"),
            set("a.e.com.", "A", 300, &["192.0.2.2", "192.0.2.1"]),
            set("old.e.com.", "A", 300, &["192.0.2.9"]),
            set("t.e.com.", "A", 300, &["192.0.2.5"]),
        ];
        let want = vec![
            soa("1"),
            set("a.e.com.", "A", 300, &["192.0.2.1", "192.0.2.2"]),
            set("t.e.com.", "A", 600, &["192.0.2.5"]),
            set("new.e.com.", "TXT", 300, &["\"x\""]),
        ];
        let p = pdns_patch(&cur, &want);
        let summary: Vec<(String, String)> = p
            .iter()
            .map(|r| (r.name.clone(), r.changetype.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("new.e.com.".to_owned(), "REPLACE".to_owned()),
                ("t.e.com.".to_owned(), "REPLACE".to_owned()),
                ("old.e.com.".to_owned(), "DELETE".to_owned()),
            ]
        );
        assert!(pdns_patch(&want, &want).is_empty());
    }
}
