//! Reading an existing zone file (RFC 1035 master format, as BIND and most
//! providers export it) into Berth's records, for an import. Understood:
//! `$ORIGIN`, `$TTL`, `@`, relative and absolute names, a blank owner
//! (the previous one), TTL units (`1h`), optional class `IN`, parentheses
//! across lines, `;` comments, quoted strings with `\"`, `\\` and `\DDD`.
//! Refused with the line number: `$INCLUDE` and `$GENERATE` (an import
//! reads only what it was given), other classes, names outside the zone,
//! record types Berth does not manage. The apex SOA and NS are reported as
//! ignored: Berth sets them from its settings.

use berth_proto::dns::{Record, RecordData, RecordName, RecordType};
use berth_proto::names::DomainName;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ZoneFileError {
    pub line: usize,
    pub why: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedZone {
    pub records: Vec<Record>,
    /// What was read but is not imported (the apex SOA and NS).
    pub ignored: Vec<String>,
}

/// Largest zone file read (bytes).
pub const MAX_ZONE_FILE: usize = 8 * 1024 * 1024;

struct Line {
    number: usize,
    blank_owner: bool,
    tokens: Vec<String>,
}

/// Split into logical lines: comments dropped, parenthesised parts joined,
/// tokens split on whitespace outside quotes (quoted tokens keep quotes).
fn logical_lines(text: &str) -> Result<Vec<Line>, ZoneFileError> {
    let mut out = Vec::new();
    let mut cur: Option<Line> = None;
    let mut depth = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        if raw.chars().any(|c| c.is_control() && c != '\t' && c != '\r') {
            return Err(ZoneFileError {
                line: number,
                why: "control characters".into(),
            });
        }
        let line = cur.get_or_insert_with(|| Line {
            number,
            blank_owner: raw.starts_with([' ', '\t']),
            tokens: Vec::new(),
        });
        let mut tok = String::new();
        let mut in_quote = false;
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if in_quote {
                tok.push(c);
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        tok.push(n);
                    }
                } else if c == '"' {
                    in_quote = false;
                }
                continue;
            }
            match c {
                ';' => break,
                '"' => {
                    tok.push(c);
                    in_quote = true;
                }
                '(' | ')' => {
                    if !tok.is_empty() {
                        line.tokens.push(std::mem::take(&mut tok));
                    }
                    if c == '(' {
                        depth += 1;
                    } else {
                        depth = depth.checked_sub(1).ok_or(ZoneFileError {
                            line: number,
                            why: "a ')' without '('".into(),
                        })?;
                    }
                }
                c if c.is_whitespace() => {
                    if !tok.is_empty() {
                        line.tokens.push(std::mem::take(&mut tok));
                    }
                }
                c => tok.push(c),
            }
        }
        if in_quote {
            return Err(ZoneFileError {
                line: number,
                why: "an unterminated quoted string".into(),
            });
        }
        if !tok.is_empty() {
            line.tokens.push(tok);
        }
        if depth == 0
            && let Some(l) = cur.take()
            && !l.tokens.is_empty()
        {
            out.push(l);
        }
    }
    if depth > 0 {
        return Err(ZoneFileError {
            line: cur.map_or(0, |l| l.number),
            why: "a '(' is never closed".into(),
        });
    }
    Ok(out)
}

fn ttl_value(s: &str) -> Option<u32> {
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    // 1h30m, 1d, 2w …
    let mut total: u64 = 0;
    let mut n: u64 = 0;
    let mut any = false;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            n = n.checked_mul(10)?.checked_add(u64::from(d))?;
            any = true;
        } else {
            let unit = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return None,
            };
            if !any {
                return None;
            }
            total = total.checked_add(n.checked_mul(unit)?)?;
            n = 0;
            any = false;
        }
    }
    if any {
        return None;
    }
    u32::try_from(total).ok()
}

/// An absolute name (no trailing dot) from a name in the file.
fn absolute(name: &str, origin: &str) -> String {
    if name == "@" {
        origin.to_owned()
    } else if let Some(abs) = name.strip_suffix('.') {
        abs.to_ascii_lowercase()
    } else {
        format!("{}.{origin}", name.to_ascii_lowercase())
    }
}

/// The bytes of one quoted (or bare) character-string, escapes decoded.
fn char_string(tok: &str) -> Result<String, String> {
    let inner = tok.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tok);
    let mut bytes = Vec::new();
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match it.next() {
            Some(d) if d.is_ascii_digit() => {
                let mut v = d.to_digit(10).unwrap_or(0);
                for _ in 0..2 {
                    let n = it
                        .next()
                        .and_then(|x| x.to_digit(10))
                        .ok_or("a \\DDD escape needs three digits")?;
                    v = v * 10 + n;
                }
                bytes.push(u8::try_from(v).map_err(|_| "a \\DDD escape above 255")?);
            }
            Some(other) => {
                let mut b = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut b).as_bytes());
            }
            None => return Err("a trailing backslash".into()),
        }
    }
    String::from_utf8(bytes).map_err(|_| "text that is not UTF-8".into())
}

/// Read `text` as the zone `zone`.
pub fn parse_zone_file(zone: &DomainName, text: &str, default_ttl: u32) -> Result<ParsedZone, ZoneFileError> {
    if text.len() > MAX_ZONE_FILE {
        return Err(ZoneFileError {
            line: 0,
            why: "the zone file is larger than 8 MiB".into(),
        });
    }
    let mut origin = zone.as_str().to_owned();
    let mut ttl_default = default_ttl;
    let mut last_owner: Option<String> = None;
    let mut out = ParsedZone::default();
    for l in logical_lines(text)? {
        let err = |why: String| ZoneFileError { line: l.number, why };
        let mut t = l.tokens.iter().map(String::as_str).peekable();
        let first = *t.peek().ok_or_else(|| err("empty".into()))?;
        if first.starts_with('$') {
            t.next();
            match first.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    let o = t.next().ok_or_else(|| err("$ORIGIN needs a name".into()))?;
                    origin = absolute(o, &origin);
                }
                "$TTL" => {
                    ttl_default = t
                        .next()
                        .and_then(ttl_value)
                        .ok_or_else(|| err("$TTL needs a number of seconds".into()))?;
                }
                other => return Err(err(format!("{other} is not read by an import"))),
            }
            continue;
        }
        let owner = if l.blank_owner {
            last_owner
                .clone()
                .ok_or_else(|| err("the first record has no name".into()))?
        } else {
            let o = t.next().ok_or_else(|| err("no name".into()))?;
            absolute(o, &origin)
        };
        last_owner = Some(owner.clone());
        let mut ttl = None;
        let mut rtype = None;
        for tok in t.by_ref() {
            if ttl.is_none()
                && let Some(v) = ttl_value(tok)
            {
                ttl = Some(v);
                continue;
            }
            match tok.to_ascii_uppercase().as_str() {
                "IN" => continue,
                "CH" | "HS" | "CS" => return Err(err(format!("class {tok} is not served"))),
                _ => {
                    rtype = Some(tok.to_ascii_uppercase());
                    break;
                }
            }
        }
        let rtype = rtype.ok_or_else(|| err("no record type".into()))?;
        let rdata: Vec<&str> = t.collect();
        let name =
            RecordName::relative(&owner, zone).ok_or_else(|| err(format!("{owner} is outside the zone {zone}")))?;
        if rtype == "SOA" || (rtype == "NS" && name.is_apex()) {
            out.ignored.push(format!(
                "line {}: {rtype} at the apex (Berth sets it from its settings)",
                l.number
            ));
            continue;
        }
        let t = RecordType::parse(&rtype).ok_or_else(|| err(format!("{rtype} records are not managed by Berth")))?;
        // A bare IP address where a name belongs would become a relative
        // name (`192.0.2.1.example.com.`): certainly a mistake.
        let target = |s: &str| -> Result<String, ZoneFileError> {
            if s.trim_end_matches('.').parse::<std::net::IpAddr>().is_ok() {
                return Err(err(format!("{s}: a target must be a host name, not an IP address")));
            }
            Ok(absolute(s, &origin))
        };
        let content = match t {
            RecordType::A | RecordType::Aaaa => rdata.join(" "),
            RecordType::Cname | RecordType::Ns | RecordType::Ptr => {
                target(rdata.first().ok_or_else(|| err("no target".into()))?)?
            }
            RecordType::Mx => match rdata.as_slice() {
                [p, host] => format!("{p} {}", target(host)?),
                _ => return Err(err("MX is `preference host`".into())),
            },
            RecordType::Srv => match rdata.as_slice() {
                [p, w, port, host] => format!("{p} {w} {port} {}", target(host)?),
                _ => return Err(err("SRV is `priority weight port host`".into())),
            },
            RecordType::Caa => match rdata.as_slice() {
                [f, tag, value] => format!("{f} {tag} \"{}\"", char_string(value).map_err(err)?),
                _ => return Err(err("CAA is `flags tag value`".into())),
            },
            RecordType::Txt => rdata
                .iter()
                .map(|s| char_string(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?
                .concat(),
        };
        let data = RecordData::parse(t, &content).map_err(|e| err(e.to_string()))?;
        out.records.push(Record {
            name,
            ttl: ttl.unwrap_or(ttl_default),
            data,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    #[test]
    fn a_typical_export_is_read() {
        let text = r#"
$ORIGIN example.com.
$TTL 1h
@   IN SOA ns1.example.net. hostmaster.example.com. (
        2024010101 ; serial
        3600 600 604800 300 )
    IN NS ns1.example.net.
    IN NS ns2.example.net.
@       300 IN A     192.0.2.10
        300    AAAA  2001:db8::10
www         CNAME @
mail    IN  A 192.0.2.25
@       IN  MX 10 mail
@       IN  TXT "v=spf1 mx" " -all"
_dmarc  IN  TXT "v=DMARC1; p=none; rua=mailto:\"d\"@example.com"
_sip._tcp   SRV 10 5 5060 sip.example.net.
@           CAA 0 issue "letsencrypt.org"
dev     1d  NS  ns.dev.example.net.
big         TXT "caf\195\169"
$ORIGIN sub.example.com.
host        A   192.0.2.99
"#;
        let z = parse_zone_file(&zone(), text, 3600).unwrap();
        assert_eq!(z.ignored.len(), 3, "{:?}", z.ignored);
        let got: Vec<String> = z
            .records
            .iter()
            .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.data.record_type(), r.data.content()))
            .collect();
        assert_eq!(
            got,
            [
                "@ 300 A 192.0.2.10",
                "@ 300 AAAA 2001:db8::10",
                "www 3600 CNAME example.com",
                "mail 3600 A 192.0.2.25",
                "@ 3600 MX 10 mail.example.com",
                "@ 3600 TXT v=spf1 mx -all",
                "_dmarc 3600 TXT v=DMARC1; p=none; rua=mailto:\"d\"@example.com",
                "_sip._tcp 3600 SRV 10 5 5060 sip.example.net",
                "@ 3600 CAA 0 issue \"letsencrypt.org\"",
                "dev 86400 NS ns.dev.example.net",
                "big 3600 TXT café",
                "host.sub 3600 A 192.0.2.99",
            ]
        );
    }

    #[test]
    fn what_an_import_must_not_do_is_refused_with_its_line() {
        for (text, line, why) in [
            ("$INCLUDE /etc/passwd\n", 1, "$INCLUDE"),
            ("$GENERATE 1-10 h$ A 10.0.0.$\n", 1, "$GENERATE"),
            (
                "x IN A 192.0.2.1\nevil.other.net. IN A 192.0.2.2\n",
                2,
                "outside the zone",
            ),
            ("x IN HINFO a b\n", 1, "not managed"),
            ("x CH TXT \"a\"\n", 1, "class"),
            ("x IN TXT \"unterminated\n", 1, "unterminated"),
            ("x IN A (192.0.2.1\n", 1, "never closed"),
            ("x IN MX 10 192.0.2.1\n", 1, "IP address"),
            ("   IN A 192.0.2.1\n", 1, "no name"),
            ("x IN A 192.0.2.1\0\n", 1, "control"),
        ] {
            let e = parse_zone_file(&zone(), text, 3600).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.why.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn ttl_units() {
        assert_eq!(ttl_value("3600"), Some(3600));
        assert_eq!(ttl_value("1h30m"), Some(5400));
        assert_eq!(ttl_value("2w"), Some(1_209_600));
        assert_eq!(ttl_value("h"), None);
        assert_eq!(ttl_value("10x"), None);
        assert_eq!(ttl_value("A"), None);
    }
}
