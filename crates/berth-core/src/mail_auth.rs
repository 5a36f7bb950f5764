//! Mail-authentication records of a zone: SPF and DMARC built from typed
//! policies (never hand-typed strings), and a checker that says what is
//! missing or wrong (SPF, DMARC, DKIM keys published, MX).

use berth_proto::api::dns::{DmarcPolicy, DmarcStance, MailAuthFinding, Severity, SpfAll, SpfPolicy};
use berth_proto::dns::{Record, RecordData, RecordType};

/// The SPF TXT value for `p`.
pub fn spf_text(p: &SpfPolicy) -> String {
    let mut parts = vec!["v=spf1".to_owned()];
    if p.mx {
        parts.push("mx".into());
    }
    if p.a {
        parts.push("a".into());
    }
    for net in &p.ip {
        parts.push(match net.0 {
            ipnet::IpNet::V4(n) if n.prefix_len() == 32 => format!("ip4:{}", n.addr()),
            ipnet::IpNet::V4(n) => format!("ip4:{n}"),
            ipnet::IpNet::V6(n) if n.prefix_len() == 128 => format!("ip6:{}", n.addr()),
            ipnet::IpNet::V6(n) => format!("ip6:{n}"),
        });
    }
    for inc in &p.include {
        parts.push(format!("include:{}", inc.as_str()));
    }
    parts.push(
        match p.all {
            SpfAll::Fail => "-all",
            SpfAll::SoftFail => "~all",
            SpfAll::Neutral => "?all",
        }
        .into(),
    );
    parts.join(" ")
}

/// The DMARC TXT value (at `_dmarc`) for `p`.
pub fn dmarc_text(p: &DmarcPolicy) -> String {
    let stance = |s: DmarcStance| match s {
        DmarcStance::None => "none",
        DmarcStance::Quarantine => "quarantine",
        DmarcStance::Reject => "reject",
    };
    let mut parts = vec!["v=DMARC1".to_owned(), format!("p={}", stance(p.policy))];
    if let Some(sp) = p.subdomain_policy {
        parts.push(format!("sp={}", stance(sp)));
    }
    if let Some(pct) = p.pct.filter(|&n| n < 100) {
        parts.push(format!("pct={pct}"));
    }
    if !p.rua.is_empty() {
        parts.push(format!(
            "rua={}",
            p.rua
                .iter()
                .map(|e| format!("mailto:{}", e.as_str()))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    parts.join("; ")
}

fn txt_at<'a>(records: &'a [Record], name: &str) -> Vec<&'a str> {
    records
        .iter()
        .filter(|r| r.name.as_str() == name)
        .filter_map(|r| match &r.data {
            RecordData::Txt(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn finding(severity: Severity, topic: &str, message: impl Into<String>) -> MailAuthFinding {
    MailAuthFinding {
        severity,
        topic: topic.to_owned(),
        message: message.into(),
    }
}

/// What a zone's records say about its mail authentication.
pub fn check(records: &[Record]) -> Vec<MailAuthFinding> {
    let mut out = Vec::new();
    let has_mx = records
        .iter()
        .any(|r| r.name.is_apex() && r.data.record_type() == RecordType::Mx);
    if !has_mx {
        out.push(finding(
            Severity::Info,
            "mx",
            "no MX record at the apex: the domain receives no mail (fine if it sends none)",
        ));
    }
    let spf: Vec<&str> = txt_at(records, "@")
        .into_iter()
        .filter(|t| t.to_ascii_lowercase().starts_with("v=spf1"))
        .collect();
    match spf.as_slice() {
        [] => out.push(finding(
            Severity::Error,
            "spf",
            "no SPF record: anyone can send as this domain (publish one, e.g. `v=spf1 mx -all`)",
        )),
        [one] => {
            let terms: Vec<&str> = one.split_whitespace().collect();
            let lookups = terms
                .iter()
                .filter(|t| {
                    let t = t.trim_start_matches(['+', '-', '~', '?']).to_ascii_lowercase();
                    t == "a"
                        || t == "mx"
                        || t.starts_with("a:")
                        || t.starts_with("mx:")
                        || t.starts_with("include:")
                        || t.starts_with("exists:")
                        || t.starts_with("redirect=")
                        || t == "ptr"
                })
                .count();
            if lookups > 10 {
                out.push(finding(
                    Severity::Error,
                    "spf",
                    format!("{lookups} DNS lookups: SPF allows at most 10, receivers will fail it"),
                ));
            }
            match terms.last().map(|t| t.to_ascii_lowercase()) {
                Some(t) if t == "-all" => out.push(finding(Severity::Ok, "spf", "SPF ends in -all")),
                Some(t) if t == "~all" => out.push(finding(
                    Severity::Warning,
                    "spf",
                    "SPF ends in ~all (soft fail): move to -all once every sender is listed",
                )),
                Some(t) if t.starts_with("redirect=") => out.push(finding(Severity::Ok, "spf", "SPF redirects")),
                _ => out.push(finding(
                    Severity::Error,
                    "spf",
                    "SPF does not end in -all or ~all: it does not say what to do with other senders",
                )),
            }
            if terms.iter().any(|t| t.eq_ignore_ascii_case("+all")) {
                out.push(finding(
                    Severity::Error,
                    "spf",
                    "+all lets every server send as this domain",
                ));
            }
        }
        _ => out.push(finding(
            Severity::Error,
            "spf",
            "more than one SPF record: receivers treat that as an error (keep one)",
        )),
    }
    let dmarc: Vec<&str> = txt_at(records, "_dmarc")
        .into_iter()
        .filter(|t| t.starts_with("v=DMARC1"))
        .collect();
    match dmarc.as_slice() {
        [] => out.push(finding(
            Severity::Error,
            "dmarc",
            "no DMARC record at _dmarc: receivers get no policy and you get no reports",
        )),
        [one] => {
            let tags: Vec<(String, String)> = one
                .split(';')
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            match tags.iter().find(|(k, _)| k == "p").map(|(_, v)| v.as_str()) {
                Some("reject") | Some("quarantine") => {
                    out.push(finding(Severity::Ok, "dmarc", "DMARC enforces its policy"))
                }
                Some("none") => out.push(finding(
                    Severity::Warning,
                    "dmarc",
                    "DMARC p=none only monitors: move to quarantine or reject once reports are clean",
                )),
                _ => out.push(finding(Severity::Error, "dmarc", "DMARC has no valid p= tag")),
            }
            if !tags.iter().any(|(k, _)| k == "rua") {
                out.push(finding(
                    Severity::Info,
                    "dmarc",
                    "no rua= address: no aggregate reports",
                ));
            }
        }
        _ => out.push(finding(
            Severity::Error,
            "dmarc",
            "more than one DMARC record (keep one)",
        )),
    }
    let dkim: Vec<&Record> = records
        .iter()
        .filter(|r| r.name.as_str().ends_with("._domainkey"))
        .collect();
    if dkim.is_empty() {
        out.push(finding(
            Severity::Warning,
            "dkim",
            "no DKIM key published (<selector>._domainkey): mail cannot be signed for this domain",
        ));
    } else {
        for r in dkim {
            match &r.data {
                RecordData::Txt(t) if t.contains("p=") && !t.contains("p=;") && !t.trim_end().ends_with("p=") => {
                    out.push(finding(Severity::Ok, "dkim", format!("DKIM key at {}", r.name)));
                }
                RecordData::Txt(_) => out.push(finding(
                    Severity::Warning,
                    "dkim",
                    format!("{} has an empty key (a revoked selector)", r.name),
                )),
                RecordData::Cname(_) => out.push(finding(
                    Severity::Ok,
                    "dkim",
                    format!("DKIM key delegated at {}", r.name),
                )),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_proto::dns::RecordName;

    fn txt(name: &str, t: &str) -> Record {
        Record {
            name: RecordName::parse(name).unwrap(),
            ttl: 3600,
            data: RecordData::parse(RecordType::Txt, t).unwrap(),
        }
    }

    #[test]
    fn builders() {
        let spf = SpfPolicy {
            mx: true,
            a: false,
            ip: vec![
                berth_proto::api::databases::DbHost::try_from("192.0.2.10".to_owned()).unwrap(),
                berth_proto::api::databases::DbHost::try_from("2001:db8::/48".to_owned()).unwrap(),
            ],
            include: vec![berth_proto::dns::Target::parse("_spf.mailer.example").unwrap()],
            all: SpfAll::Fail,
        };
        assert_eq!(
            spf_text(&spf),
            "v=spf1 mx ip4:192.0.2.10 ip6:2001:db8::/48 include:_spf.mailer.example -all"
        );
        let d = DmarcPolicy {
            policy: DmarcStance::Quarantine,
            subdomain_policy: Some(DmarcStance::Reject),
            pct: Some(50),
            rua: vec![berth_proto::Email::parse("dmarc@example.com").unwrap()],
        };
        assert_eq!(
            dmarc_text(&d),
            "v=DMARC1; p=quarantine; sp=reject; pct=50; rua=mailto:dmarc@example.com"
        );
    }

    #[test]
    fn the_checker_says_what_is_missing_or_wrong() {
        let topics = |rs: &[Record], sev: Severity| -> Vec<String> {
            check(rs)
                .into_iter()
                .filter(|f| f.severity == sev)
                .map(|f| format!("{}: {}", f.topic, f.message))
                .collect()
        };
        let errors = topics(&[], Severity::Error);
        assert!(errors.iter().any(|e| e.starts_with("spf: no SPF")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("dmarc: no DMARC")), "{errors:?}");
        let two = [txt("@", "v=spf1 mx -all"), txt("@", "v=spf1 a -all")];
        assert!(
            topics(&two, Severity::Error)
                .iter()
                .any(|e| e.contains("more than one SPF"))
        );
        let open = [txt("@", "v=spf1 +all")];
        assert!(topics(&open, Severity::Error).iter().any(|e| e.contains("+all")));
        let many: String = (0..11).map(|i| format!(" include:s{i}.example")).collect();
        let lots = [txt("@", &format!("v=spf1{many} -all"))];
        assert!(
            topics(&lots, Severity::Error)
                .iter()
                .any(|e| e.contains("11 DNS lookups"))
        );
        let good = [
            txt("@", "v=spf1 mx -all"),
            txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:d@example.com"),
            txt("s1._domainkey", "v=DKIM1; k=rsa; p=MIIBIjANBg"),
        ];
        assert!(topics(&good, Severity::Error).is_empty(), "{:?}", check(&good));
        assert_eq!(topics(&good, Severity::Ok).len(), 3, "{:?}", check(&good));
        let monitor = [txt("_dmarc", "v=DMARC1; p=none")];
        assert!(topics(&monitor, Severity::Warning).iter().any(|e| e.contains("p=none")));
    }
}
