//! Rules a zone's records must keep together, checked before anything is
//! stored or sent to a DNS server: what the DNS itself would reject or
//! serve wrongly is refused here with a message naming the record.

use berth_proto::dns::{Record, RecordData, RecordName, RecordType};
use berth_proto::names::DomainName;
use std::collections::{BTreeMap, BTreeSet};

/// One broken rule, for the API's field errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} {rtype}: {why}")]
pub struct ZoneProblem {
    pub name: String,
    pub rtype: RecordType,
    pub why: String,
}

/// Longest absolute name (RFC 1035: 255 octets on the wire).
const MAX_FQDN: usize = 253;

/// Check a zone's whole record set. The apex's SOA and NS are Berth's (from
/// the DNS settings), so records may not set them.
pub fn check_zone(zone: &DomainName, records: &[Record]) -> Result<(), Vec<ZoneProblem>> {
    let mut problems = Vec::new();
    let mut by_name: BTreeMap<&RecordName, BTreeSet<RecordType>> = BTreeMap::new();
    let mut ttls: BTreeMap<(&RecordName, RecordType), u32> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut problem = |r: &Record, why: &str| {
        problems.push(ZoneProblem {
            name: r.name.to_string(),
            rtype: r.data.record_type(),
            why: why.to_owned(),
        })
    };
    for r in records {
        let t = r.data.record_type();
        by_name.entry(&r.name).or_default().insert(t);
        if r.name.fqdn(zone).len() > MAX_FQDN {
            problem(r, "the full name is longer than 253 characters");
        }
        if !(berth_proto::dns::MIN_TTL..=berth_proto::dns::MAX_TTL).contains(&r.ttl) {
            problem(r, "TTL must be between 60 and 604800 seconds");
        }
        if !seen.insert((&r.name, &r.data)) {
            problem(r, "the same record twice");
        }
        match ttls.get(&(&r.name, t)) {
            Some(&ttl) if ttl != r.ttl => problem(r, "records of one name and type share one TTL"),
            Some(_) => {}
            None => {
                ttls.insert((&r.name, t), r.ttl);
            }
        }
        if r.name.is_apex() {
            match &r.data {
                RecordData::Cname(_) => problem(r, "a CNAME cannot be at the zone's apex (it has SOA and NS)"),
                RecordData::Ns(_) => problem(r, "the apex's NS records come from the DNS settings"),
                _ => {}
            }
        }
        // A CNAME pointing at its own name would loop.
        if let RecordData::Cname(t) = &r.data
            && t.as_str() == r.name.fqdn(zone)
        {
            problem(r, "a CNAME cannot point at itself");
        }
    }
    for r in records {
        let types = &by_name[&r.name];
        if r.data.record_type() == RecordType::Cname && types.len() > 1 {
            problem(r, "a CNAME cannot share its name with other records");
        }
    }
    let cnames: BTreeMap<&RecordName, usize> = records
        .iter()
        .filter(|r| r.data.record_type() == RecordType::Cname)
        .fold(BTreeMap::new(), |mut m, r| {
            *m.entry(&r.name).or_default() += 1;
            m
        });
    for r in records {
        if r.data.record_type() == RecordType::Cname && cnames.get(&r.name).copied().unwrap_or(0) > 1 {
            problem(r, "a name has at most one CNAME");
        }
    }
    problems.sort_by(|a, b| (&a.name, a.rtype, &a.why).cmp(&(&b.name, b.rtype, &b.why)));
    problems.dedup();
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, t: RecordType, content: &str) -> Record {
        Record {
            name: RecordName::parse(name).unwrap(),
            ttl: 3600,
            data: RecordData::parse(t, content).unwrap(),
        }
    }

    fn zone() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    #[test]
    fn a_sound_zone_passes() {
        let rs = vec![
            rec("@", RecordType::A, "192.0.2.1"),
            rec("@", RecordType::Mx, "10 mail.example.com"),
            rec("@", RecordType::Txt, "v=spf1 mx -all"),
            rec("www", RecordType::Cname, "example.com"),
            rec("mail", RecordType::A, "192.0.2.2"),
            rec("mail", RecordType::A, "192.0.2.3"),
            rec("dev", RecordType::Ns, "ns1.other.net"),
            rec("_sip._tcp", RecordType::Srv, "10 5 5060 sip.example.com"),
        ];
        assert_eq!(check_zone(&zone(), &rs), Ok(()));
    }

    #[test]
    fn what_the_dns_would_reject_is_refused() {
        let why = |rs: Vec<Record>| -> Vec<String> {
            check_zone(&zone(), &rs)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.why)
                .collect()
        };
        assert!(why(vec![rec("@", RecordType::Cname, "other.net")])[0].contains("apex"));
        let w = why(vec![
            rec("www", RecordType::Cname, "other.net"),
            rec("www", RecordType::A, "192.0.2.1"),
        ]);
        assert!(w.iter().any(|x| x.contains("share its name")), "{w:?}");
        let w = why(vec![
            rec("www", RecordType::Cname, "a.net"),
            rec("www", RecordType::Cname, "b.net"),
        ]);
        assert!(w.iter().any(|x| x.contains("at most one CNAME")), "{w:?}");
        let w = why(vec![
            rec("x", RecordType::A, "192.0.2.1"),
            rec("x", RecordType::A, "192.0.2.1"),
        ]);
        assert!(w.iter().any(|x| x.contains("twice")), "{w:?}");
        let mut b = rec("x", RecordType::A, "192.0.2.2");
        b.ttl = 60;
        let w = why(vec![rec("x", RecordType::A, "192.0.2.1"), b]);
        assert!(w.iter().any(|x| x.contains("share one TTL")), "{w:?}");
        let mut t = rec("x", RecordType::A, "192.0.2.1");
        t.ttl = 1;
        assert!(why(vec![t])[0].contains("TTL"));
        assert!(why(vec![rec("@", RecordType::Ns, "ns9.example.net")])[0].contains("settings"));
        assert!(why(vec![rec("loop", RecordType::Cname, "loop.example.com")])[0].contains("itself"));
        let long = format!("{}.{}.{}", "a".repeat(60), "b".repeat(60), "c".repeat(60));
        let long_zone = DomainName::parse(&format!("{}.example.com", "z".repeat(63))).unwrap();
        let p = check_zone(&long_zone, &[rec(&long, RecordType::A, "192.0.2.1")]).unwrap_err();
        assert!(p[0].why.contains("253"), "{p:?}");
    }
}
