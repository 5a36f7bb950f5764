//! DNS records as Berth accepts them: every record is parsed into typed data
//! before it can reach PowerDNS or a zone file, so a record's content can
//! never carry a newline, a `$INCLUDE`, an unbalanced quote or a name outside
//! its zone. Names in records are relative to their zone (`@` is the apex);
//! targets (CNAME, MX, NS, SRV, PTR) are absolute host names.

use crate::names::{DomainName, InvalidName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The record types Berth manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Srv,
    Caa,
    Ns,
    Ptr,
}

impl RecordType {
    pub const ALL: [RecordType; 9] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Srv,
        RecordType::Caa,
        RecordType::Ns,
        RecordType::Ptr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Srv => "SRV",
            RecordType::Caa => "CAA",
            RecordType::Ns => "NS",
            RecordType::Ptr => "PTR",
        }
    }

    pub fn parse(s: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn invalid(what: &'static str, why: &'static str) -> InvalidName {
    InvalidName { what, why }
}

fn dns_label_ok(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A record's owner name relative to its zone: `@` (the apex) or labels of
/// lower-case letters, digits, `-` and `_` (`www`, `_dmarc`, `_sip._tcp`),
/// optionally starting with the wildcard label `*`. Upper case is folded.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "www")]
pub struct RecordName(String);

impl RecordName {
    pub fn apex() -> RecordName {
        RecordName("@".into())
    }

    pub fn parse(s: &str) -> Result<RecordName, InvalidName> {
        RecordName::try_from(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_apex(&self) -> bool {
        self.0 == "@"
    }

    /// The absolute name in `zone`, without a trailing dot.
    pub fn fqdn(&self, zone: &DomainName) -> String {
        if self.is_apex() {
            zone.as_str().to_owned()
        } else {
            format!("{}.{}", self.0, zone.as_str())
        }
    }

    /// The relative name of `fqdn` in `zone` (`None`: not inside it).
    pub fn relative(fqdn: &str, zone: &DomainName) -> Option<RecordName> {
        let f = fqdn.trim_end_matches('.').to_ascii_lowercase();
        if f == zone.as_str() {
            return Some(RecordName::apex());
        }
        let head = f.strip_suffix(zone.as_str())?.strip_suffix('.')?;
        RecordName::parse(head).ok()
    }
}

impl TryFrom<String> for RecordName {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        if s.ends_with('.') {
            return Err(invalid(
                "record name",
                "is relative to the zone (`www`, `@`); an absolute name ends in a dot",
            ));
        }
        let s = s.to_ascii_lowercase();
        if s == "@" || s.is_empty() {
            return Ok(RecordName::apex());
        }
        if s.len() > 200 {
            return Err(invalid("record name", "is too long"));
        }
        for (i, label) in s.split('.').enumerate() {
            if label == "*" && i == 0 {
                continue;
            }
            if !dns_label_ok(label) {
                return Err(invalid(
                    "record name",
                    "must be @ or labels of letters, digits, - and _ (1–63 each), a leading * allowed",
                ));
            }
        }
        Ok(RecordName(s))
    }
}

impl From<RecordName> for String {
    fn from(v: RecordName) -> String {
        v.0
    }
}

impl fmt::Display for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An absolute host name a record points to (no trailing dot; `_` allowed
/// in labels, as CNAMEs of DKIM keys need). Never an IP address: MX, NS,
/// SRV and CNAME targets must be names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "_spf.mailer.example")]
pub struct Target(String);

impl TryFrom<String> for Target {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Target, InvalidName> {
        Target::parse(&s)
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.0
    }
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, InvalidName> {
        let s = s.trim_end_matches('.').to_ascii_lowercase();
        if s.parse::<std::net::IpAddr>().is_ok() {
            return Err(invalid("target", "must be a host name, not an IP address"));
        }
        if s.len() > 253 || !s.contains('.') || !s.split('.').all(dns_label_ok) {
            return Err(invalid(
                "target",
                "must be a fully qualified host name (mail.example.com)",
            ));
        }
        if s.rsplit('.')
            .next()
            .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid("target", "must not end in a numeric label"));
        }
        Ok(Target(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.", self.0)
    }
}

/// The longest TXT value accepted (several 255-byte strings on the wire).
pub const MAX_TXT: usize = 4000;

/// A record's data, parsed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Target),
    Ns(Target),
    Ptr(Target),
    Mx {
        preference: u16,
        exchange: Target,
    },
    Txt(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Target,
    },
    Caa {
        flags: u8,
        tag: CaaTag,
        value: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaaTag {
    Issue,
    IssueWild,
    Iodef,
}

impl CaaTag {
    fn as_str(self) -> &'static str {
        match self {
            CaaTag::Issue => "issue",
            CaaTag::IssueWild => "issuewild",
            CaaTag::Iodef => "iodef",
        }
    }
}

fn num<T: std::str::FromStr>(s: Option<&str>, what: &'static str) -> Result<T, InvalidName> {
    s.and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid(what, "must be a number in range"))
}

/// Strip one pair of surrounding double quotes (a CAA value may be given
/// either way).
fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(s)
}

impl RecordData {
    /// Parse `content` as a record of type `t`, in the form the API takes:
    /// `A` `192.0.2.1`; `MX` `10 mail.example.com`; `SRV` `10 5 5060
    /// sip.example.com`; `CAA` `0 issue "letsencrypt.org"`; `TXT` the text
    /// itself, unquoted (Berth splits and quotes it).
    pub fn parse(t: RecordType, content: &str) -> Result<RecordData, InvalidName> {
        if content.chars().any(char::is_control) {
            return Err(invalid("content", "must not contain newlines or control characters"));
        }
        let c = content.trim();
        if c.is_empty() {
            return Err(invalid("content", "must not be empty"));
        }
        let mut parts = c.split_whitespace();
        let d = match t {
            RecordType::A => RecordData::A(c.parse().map_err(|_| invalid("content", "must be an IPv4 address"))?),
            RecordType::Aaaa => RecordData::Aaaa(c.parse().map_err(|_| invalid("content", "must be an IPv6 address"))?),
            RecordType::Cname => RecordData::Cname(Target::parse(c)?),
            RecordType::Ns => RecordData::Ns(Target::parse(c)?),
            RecordType::Ptr => RecordData::Ptr(Target::parse(c)?),
            RecordType::Mx => {
                let preference = num(parts.next(), "MX preference")?;
                let exchange = Target::parse(
                    parts
                        .next()
                        .ok_or_else(|| invalid("content", "MX is `preference host`"))?,
                )?;
                if parts.next().is_some() {
                    return Err(invalid("content", "MX is `preference host`"));
                }
                RecordData::Mx { preference, exchange }
            }
            RecordType::Srv => {
                let priority = num(parts.next(), "SRV priority")?;
                let weight = num(parts.next(), "SRV weight")?;
                let port = num(parts.next(), "SRV port")?;
                let target = Target::parse(
                    parts
                        .next()
                        .ok_or_else(|| invalid("content", "SRV is `priority weight port host`"))?,
                )?;
                if parts.next().is_some() {
                    return Err(invalid("content", "SRV is `priority weight port host`"));
                }
                RecordData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                }
            }
            RecordType::Caa => {
                let flags = num(parts.next(), "CAA flags")?;
                let tag = match parts.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("issue") => CaaTag::Issue,
                    Some("issuewild") => CaaTag::IssueWild,
                    Some("iodef") => CaaTag::Iodef,
                    _ => return Err(invalid("content", "CAA is `flags issue|issuewild|iodef value`")),
                };
                let rest: Vec<&str> = parts.collect();
                let value = unquote(&rest.join(" ")).to_owned();
                if value.is_empty() && tag == CaaTag::Iodef {
                    return Err(invalid("content", "CAA iodef needs a URL"));
                }
                if value.len() > 255 || value.chars().any(|c| c == '"' || c == '\\' || !c.is_ascii()) {
                    return Err(invalid(
                        "content",
                        "CAA value must be printable ASCII without quotes or backslashes",
                    ));
                }
                RecordData::Caa { flags, tag, value }
            }
            RecordType::Txt => {
                if content.len() > MAX_TXT {
                    return Err(invalid("content", "TXT is at most 4000 bytes"));
                }
                RecordData::Txt(content.to_owned())
            }
        };
        Ok(d)
    }

    pub fn record_type(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::Aaaa,
            RecordData::Cname(_) => RecordType::Cname,
            RecordData::Ns(_) => RecordType::Ns,
            RecordData::Ptr(_) => RecordType::Ptr,
            RecordData::Mx { .. } => RecordType::Mx,
            RecordData::Txt(_) => RecordType::Txt,
            RecordData::Srv { .. } => RecordType::Srv,
            RecordData::Caa { .. } => RecordType::Caa,
        }
    }

    /// The form the API shows and stores (the input form, normalised).
    pub fn content(&self) -> String {
        match self {
            RecordData::A(a) => a.to_string(),
            RecordData::Aaaa(a) => a.to_string(),
            RecordData::Cname(t) | RecordData::Ns(t) | RecordData::Ptr(t) => t.as_str().to_owned(),
            RecordData::Mx { preference, exchange } => format!("{preference} {}", exchange.as_str()),
            RecordData::Txt(s) => s.clone(),
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {}", target.as_str()),
            RecordData::Caa { flags, tag, value } => format!("{flags} {} \"{value}\"", tag.as_str()),
        }
    }

    /// Presentation (zone-file) form: absolute names end in a dot, TXT is
    /// split into quoted strings of at most 255 bytes with `"` and `\`
    /// escaped. PowerDNS takes exactly this as record content.
    pub fn presentation(&self) -> String {
        match self {
            RecordData::Cname(t) | RecordData::Ns(t) | RecordData::Ptr(t) => t.to_string(),
            RecordData::Mx { preference, exchange } => format!("{preference} {exchange}"),
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {target}"),
            RecordData::Txt(s) => txt_strings(s),
            other => other.content(),
        }
    }
}

/// `"…" "…"`: chunks of at most 255 bytes (never splitting a UTF-8
/// character), each quoted, with `"` and `\` escaped and non-ASCII bytes
/// as `\DDD`.
pub fn txt_strings(s: &str) -> String {
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for ch in s.chars() {
        let n = ch.len_utf8();
        if cur_len + n > 255 {
            chunks.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        cur_len += n;
        match ch {
            '"' => cur.push_str("\\\""),
            '\\' => cur.push_str("\\\\"),
            c if c.is_ascii() => cur.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    cur.push_str(&format!("\\{b:03}"));
                }
            }
        }
    }
    chunks.push(cur);
    chunks.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" ")
}

/// Time to live bounds (seconds).
pub const MIN_TTL: u32 = 60;
pub const MAX_TTL: u32 = 604_800;
pub const DEFAULT_TTL: u32 = 3600;

/// One record: a name in the zone, its data and TTL. On the wire (API,
/// RPC) it is `{name, type, ttl, content}`, parsed again on every arrival.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RecordWire", into = "RecordWire")]
pub struct Record {
    pub name: RecordName,
    pub ttl: u32,
    pub data: RecordData,
}

/// A record as the API and the RPC carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordWire {
    /// Relative to the zone: `@`, `www`, `_dmarc`, `*.dev`.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    /// Seconds (60–604800); the zone's default when left out.
    #[serde(default)]
    pub ttl: Option<u32>,
    /// `192.0.2.1`, `10 mail.example.com`, `10 5 5060 sip.example.com`,
    /// `0 issue "letsencrypt.org"`, or the TXT text itself (unquoted).
    pub content: String,
}

impl TryFrom<RecordWire> for Record {
    type Error = InvalidName;
    fn try_from(w: RecordWire) -> Result<Record, InvalidName> {
        Ok(Record {
            name: RecordName::try_from(w.name)?,
            ttl: w.ttl.unwrap_or(DEFAULT_TTL),
            data: RecordData::parse(w.rtype, &w.content)?,
        })
    }
}

impl From<Record> for RecordWire {
    fn from(r: Record) -> RecordWire {
        RecordWire {
            name: r.name.to_string(),
            rtype: r.data.record_type(),
            ttl: Some(r.ttl),
            content: r.data.content(),
        }
    }
}

/// The zone's SOA timers (seconds) and contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SoaTimers {
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    /// Negative-answer TTL.
    pub minimum: u32,
}

impl Default for SoaTimers {
    fn default() -> Self {
        SoaTimers {
            refresh: 10_800,
            retry: 3600,
            expire: 604_800,
            minimum: 300,
        }
    }
}

/// A whole zone as a DNS node should serve it (the desired state the
/// panel sends; the node makes its server answer exactly this).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSpec {
    pub zone: DomainName,
    /// Primary name server (SOA MNAME) and the apex NS set (first = MNAME).
    pub nameservers: Vec<String>,
    /// SOA RNAME as an e-mail address (`hostmaster@example.com`).
    pub hostmaster: String,
    pub serial: u32,
    pub soa: SoaTimers,
    pub ttl: u32,
    pub records: Vec<Record>,
    /// Sign the zone (PowerDNS: one ECDSA P-256 combined signing key).
    #[serde(default)]
    pub dnssec: bool,
}

impl ZoneSpec {
    /// The NS targets, parsed (a spec with a bad one is refused whole).
    pub fn ns_targets(&self) -> Result<Vec<Target>, InvalidName> {
        if self.nameservers.is_empty() {
            return Err(invalid("nameservers", "a zone needs at least one name server"));
        }
        self.nameservers.iter().map(|n| Target::parse(n)).collect()
    }

    /// The SOA RNAME in presentation form (`hostmaster.example.com.`; a dot
    /// in the local part escaped).
    pub fn rname(&self) -> Result<String, InvalidName> {
        let (local, domain) = self
            .hostmaster
            .split_once('@')
            .ok_or_else(|| invalid("hostmaster", "must be an e-mail address"))?;
        if local.is_empty() || !local.chars().all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c)) {
            return Err(invalid(
                "hostmaster",
                "the local part must be letters, digits and . _ - +",
            ));
        }
        let domain = Target::parse(domain)?;
        Ok(format!("{}.{domain}", local.replace('.', "\\.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(RecordName::parse("www.example.com.").is_err(), "absolute");
        for ok in ["@", "www", "_dmarc", "_sip._tcp", "*.dev", "*", "a-b.c", "WWW"] {
            assert!(RecordName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(RecordName::parse("").map(|n| n.is_apex()), Ok(true));
        for bad in [
            "a;b",
            "a b",
            "a\nb",
            "a..b",
            "-a",
            "a-",
            "a.*",
            "w{w}",
            "\"x\"",
            "$ORIGIN",
            "a/b",
            &"x".repeat(64),
        ] {
            assert!(RecordName::parse(bad).is_err(), "{bad:?}");
        }
        let z = DomainName::parse("example.com").unwrap();
        assert_eq!(RecordName::parse("www").unwrap().fqdn(&z), "www.example.com");
        assert_eq!(
            RecordName::relative("www.example.com.", &z),
            RecordName::parse("www").ok()
        );
        assert_eq!(RecordName::relative("example.com", &z), Some(RecordName::apex()));
        assert_eq!(RecordName::relative("www.example.org", &z), None);
        assert_eq!(RecordName::relative("badexample.com", &z), None);
    }

    #[test]
    fn contents() {
        let ok = [
            (RecordType::A, "192.0.2.1", "192.0.2.1"),
            (RecordType::Aaaa, "2001:DB8::1", "2001:db8::1"),
            (RecordType::Cname, "Target.Example.net.", "target.example.net."),
            (RecordType::Mx, "10 mail.example.com", "10 mail.example.com."),
            (
                RecordType::Srv,
                "10 5 5060 sip.example.com",
                "10 5 5060 sip.example.com.",
            ),
            (
                RecordType::Caa,
                "0 issue letsencrypt.org",
                "0 issue \"letsencrypt.org\"",
            ),
            (
                RecordType::Caa,
                "0 issue \"letsencrypt.org\"",
                "0 issue \"letsencrypt.org\"",
            ),
            (RecordType::Txt, "v=spf1 -all", "\"v=spf1 -all\""),
            (RecordType::Txt, "say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\""),
            (RecordType::Ns, "ns1.example.net", "ns1.example.net."),
            (
                RecordType::Cname,
                "selector._domainkey.example.net",
                "selector._domainkey.example.net.",
            ),
        ];
        for (t, input, want) in ok {
            let d = RecordData::parse(t, input).unwrap_or_else(|e| panic!("{t} {input}: {e}"));
            assert_eq!(d.presentation(), want, "{t} {input}");
            assert_eq!(d.record_type(), t);
            // The stored form parses back to the same data.
            assert_eq!(RecordData::parse(t, &d.content()).ok(), Some(d));
        }
        let bad = [
            (RecordType::A, "300.1.1.1"),
            (RecordType::A, "192.0.2.1\n$INCLUDE /etc/passwd"),
            (RecordType::Aaaa, "192.0.2.1"),
            (RecordType::Mx, "10 192.0.2.1"),
            (RecordType::Mx, "mail.example.com"),
            (RecordType::Mx, "70000 mail.example.com"),
            (RecordType::Mx, "10 mail.example.com extra"),
            (RecordType::Srv, "10 5 sip.example.com"),
            (RecordType::Srv, "1 2 3 192.0.2.1"),
            (RecordType::Cname, "192.0.2.1"),
            (RecordType::Cname, "localhost"),
            (RecordType::Cname, "a;b.example.com"),
            (RecordType::Ns, "ns1.example.com; rm"),
            (RecordType::Caa, "0 evil letsencrypt.org"),
            (RecordType::Caa, "0 issue \"a\"b\""),
            (RecordType::Txt, "line\nbreak"),
            (RecordType::Txt, ""),
        ];
        for (t, input) in bad {
            assert!(RecordData::parse(t, input).is_err(), "{t} {input:?} accepted");
        }
        assert!(RecordData::parse(RecordType::Txt, &"x".repeat(MAX_TXT + 1)).is_err());
    }

    #[test]
    fn long_txt_is_split_at_255_bytes_without_breaking_characters() {
        let s = format!("{}é{}", "a".repeat(254), "b".repeat(300));
        let p = txt_strings(&s);
        let parts: Vec<&str> = p.split("\" \"").collect();
        assert_eq!(parts.len(), 3, "{p}");
        assert!(
            parts[0].ends_with(&"a".repeat(10)),
            "é (2 bytes) moved to the next string"
        );
        assert!(parts[1].starts_with("\\195\\169"), "{}", parts[1]);
    }
}
