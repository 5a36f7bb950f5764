//! The agent's DNS backend against a real PowerDNS (SQLite backend, HTTP
//! API) on loopback, checked with the real `dig`.

use berth_agent::dns::{BindAdmin, DnsOpError, DnsServers, DnsServersConfig, PowerDnsAdmin};
use berth_proto::dns::{Record, RecordWire, SoaTimers, ZoneSpec};
use berth_proto::names::DomainName;
use berth_testkit::dns_servers::{BindServer, PowerDnsServer, dig};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.to_owned()))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
}

fn rec(name: &str, t: &str, content: &str) -> Record {
    let w: RecordWire =
        serde_json::from_value(serde_json::json!({ "name": name, "type": t, "content": content, "ttl": 300 }))
            .expect("record json");
    Record::try_from(w).expect("a valid record")
}

fn spec(records: Vec<Record>) -> ZoneSpec {
    ZoneSpec {
        zone: DomainName::parse("example.test").expect("zone"),
        nameservers: vec!["ns1.berth.test".into(), "ns2.berth.test".into()],
        hostmaster: "hostmaster@example.test".into(),
        serial: 2026112601,
        soa: SoaTimers::default(),
        ttl: 3600,
        records,
        dnssec: false,
    }
}

#[tokio::test]
async fn powerdns_zones_apply_replay_reject_and_remove() -> anyhow::Result<()> {
    anyhow::ensure!(is_root(), "this test runs as root (pdns_server drops to the pdns user)");
    let srv = PowerDnsServer::start()?;
    let dns = DnsServers::new(DnsServersConfig {
        powerdns: Some(PowerDnsAdmin {
            api_url: srv.api_url.clone(),
            api_key: srv.api_key.clone(),
            server_id: "localhost".into(),
        }),
        bind: None,
    });
    exercise(&dns, srv.dns_port)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", srv.log()))?;
    dnssec(&dns, srv.dns_port)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", srv.log()))?;
    drift(&dns, &srv)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", srv.log()))
}

/// A change made behind Berth's back (straight through PowerDNS's API) is
/// seen (the serial moved) and the next apply puts the zone back.
async fn drift(dns: &DnsServers, srv: &PowerDnsServer) -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let mut z = spec(vec![rec("@", "A", "192.0.2.10"), rec("www", "A", "192.0.2.11")]);
    z.zone = DomainName::parse("drift.test")?;
    dns.apply_zone(&z).await?;
    let r = reqwest::Client::new()
        .patch(format!("{}/api/v1/servers/localhost/zones/drift.test.", srv.api_url))
        .header("X-API-Key", &srv.api_key)
        .json(
            &serde_json::json!({ "rrsets": [{ "name": "www.drift.test.", "type": "A", "ttl": 300,
            "changetype": "REPLACE", "records": [{ "content": "203.0.113.66", "disabled": false }] }] }),
        )
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "{}", r.text().await?);
    assert_eq!(srv.dig("www.drift.test", "A"), ["203.0.113.66"]);
    let st = dns.apply_zone(&z).await?;
    assert_eq!(st.changed, 1, "the drifted rrset is put back");
    assert_eq!(srv.dig("www.drift.test", "A"), ["192.0.2.11"]);
    dns.remove_zone(&z.zone).await?;
    Ok(())
}

/// Signed on PowerDNS: answers carry RRSIGs, and the DS the agent reports
/// is the one BIND's `dnssec-dsfromkey` computes from the served DNSKEY.
async fn dnssec(dns: &DnsServers, port: u16) -> anyhow::Result<()> {
    let mut signed = spec(vec![rec("@", "A", "192.0.2.10")]);
    signed.zone = DomainName::parse("signed.test")?;
    signed.hostmaster = "hostmaster@signed.test".into();
    let unsigned = dns.apply_zone(&signed).await?;
    assert!(unsigned.ds.is_empty());
    signed.dnssec = true;
    let st = dns.apply_zone(&signed).await?;
    assert!(!st.ds.is_empty(), "{st:?}");
    let again = dns.apply_zone(&signed).await?;
    assert_eq!(again.ds, st.ds, "the same key, not a new one");
    let answer = dig(port, "signed.test", "A", &["+dnssec", "+norec"]);
    assert!(answer.iter().any(|l| l.contains("RRSIG")), "{answer:?}");
    let dnskey = dig(port, "signed.test", "DNSKEY", &["+noall", "+answer"]);
    let keyfile = tempfile::NamedTempFile::new()?;
    std::fs::write(keyfile.path(), dnskey.join("\n") + "\n")?;
    #[allow(clippy::disallowed_methods)] // the test runs BIND's tool directly
    let out = std::process::Command::new("/usr/bin/dnssec-dsfromkey")
        .args(["-2", "-f"])
        .arg(keyfile.path())
        .arg("signed.test")
        .output()?;
    let expected = String::from_utf8_lossy(&out.stdout);
    // "signed.test. IN DS <tag> 13 2 <digest>" against PowerDNS's "<tag> 13 2 <digest>".
    let want: Vec<String> = expected
        .lines()
        .filter_map(|l| l.split_once(" DS ").map(|(_, r)| r.to_ascii_lowercase()))
        .collect();
    assert!(!want.is_empty(), "{expected} {}", String::from_utf8_lossy(&out.stderr));
    for w in &want {
        assert!(st.ds.iter().any(|d| d.to_ascii_lowercase() == *w), "{w} in {:?}", st.ds);
    }
    signed.dnssec = false;
    let off = dns.apply_zone(&signed).await?;
    assert!(off.ds.is_empty());
    let answer = dig(port, "signed.test", "A", &["+dnssec", "+norec"]);
    assert!(!answer.iter().any(|l| l.contains("RRSIG")), "{answer:?}");
    dns.remove_zone(&signed.zone).await?;
    Ok(())
}

#[tokio::test]
async fn bind_zones_apply_replay_reject_and_remove() -> anyhow::Result<()> {
    anyhow::ensure!(is_root(), "this test runs as root (named)");
    let srv = BindServer::start()?;
    let dns = DnsServers::new(DnsServersConfig {
        powerdns: None,
        bind: Some(BindAdmin {
            zones_dir: srv.zones_dir.clone(),
            rndc_conf: srv.rndc_conf.clone(),
        }),
    });
    exercise(&dns, srv.dns_port)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", srv.log()))?;
    assert!(
        !srv.zones_dir.join("example.test.zone").exists(),
        "the zone file went with the zone"
    );
    Ok(())
}

/// The same life of a zone on either server, checked with `dig`.
async fn exercise(dns: &DnsServers, port: u16) -> anyhow::Result<()> {
    let d = |name: &str, t: &str| dig(port, name, t, &["+short"]);
    let long_txt = "k=".to_owned() + &"x".repeat(400);
    let first = spec(vec![
        rec("@", "A", "192.0.2.10"),
        rec("@", "MX", "10 mail.example.test"),
        rec("@", "TXT", "v=spf1 mx -all"),
        rec("www", "CNAME", "example.test"),
        rec("mail", "A", "192.0.2.11"),
        rec("mail", "AAAA", "2001:db8::11"),
        rec("_sip._tcp", "SRV", "10 5 5060 sip.example.test"),
        rec("@", "CAA", "0 issue \"letsencrypt.org\""),
        rec("big._domainkey", "TXT", &long_txt),
        rec("*.apps", "A", "192.0.2.20"),
    ]);
    let st = dns.apply_zone(&first).await?;
    assert!(st.changed > 0 && st.serial > 0, "{st:?}");
    assert_eq!(d("example.test", "A"), ["192.0.2.10"]);
    assert_eq!(d("www.example.test", "A"), ["example.test.", "192.0.2.10"]);
    assert_eq!(d("example.test", "MX"), ["10 mail.example.test."]);
    assert_eq!(d("mail.example.test", "AAAA"), ["2001:db8::11"]);
    assert_eq!(d("_sip._tcp.example.test", "SRV"), ["10 5 5060 sip.example.test."]);
    assert_eq!(d("example.test", "CAA"), ["0 issue \"letsencrypt.org\""]);
    assert_eq!(d("anything.apps.example.test", "A"), ["192.0.2.20"]);
    let mut ns = d("example.test", "NS");
    ns.sort();
    assert_eq!(ns, ["ns1.berth.test.", "ns2.berth.test."]);
    // A TXT over 255 bytes comes back as several strings that join to it.
    let txt = d("big._domainkey.example.test", "TXT").join("");
    let joined: String = txt
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(joined, long_txt);
    let soa = d("example.test", "SOA");
    assert!(
        soa[0].starts_with("ns1.berth.test. hostmaster.example.test. "),
        "{soa:?}"
    );

    // A replay changes nothing, not even the serial.
    let again = dns.apply_zone(&first).await?;
    assert_eq!(again.changed, 0);
    assert_eq!(again.serial, st.serial);

    // One record changed: answered at once, the serial moves, the rest stays.
    let mut second = first.clone();
    second
        .records
        .retain(|r| r.name.as_str() != "mail" || r.data.record_type().as_str() != "A");
    second.records.push(rec("mail", "A", "192.0.2.99"));
    second.records.retain(|r| r.name.as_str() != "*.apps");
    let t = std::time::Instant::now();
    let st2 = dns.apply_zone(&second).await?;
    assert_eq!(d("mail.example.test", "A"), ["192.0.2.99"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(1),
        "visible within a second"
    );
    assert!(st2.changed >= 1, "{st2:?}");
    assert!(st2.serial > st.serial);
    assert!(d("x.apps.example.test", "A").is_empty());
    assert_eq!(d("example.test", "A"), ["192.0.2.10"]);

    // A zone breaking the rules is refused before the server sees it; the
    // previous zone keeps answering.
    let mut bad = second.clone();
    bad.records.push(rec("mail", "CNAME", "other.test"));
    let e = dns.apply_zone(&bad).await.expect_err("refused");
    assert!(matches!(e, DnsOpError::Invalid(_)), "{e}");
    assert_eq!(d("mail.example.test", "A"), ["192.0.2.99"]);
    assert_eq!(dns.serial(&second.zone).await?, Some(st2.serial));

    // Removed: the server no longer answers for it (REFUSED, no answer).
    dns.remove_zone(&second.zone).await?;
    dns.remove_zone(&second.zone).await?;
    assert!(d("example.test", "A").is_empty());
    let full = dig(port, "example.test", "A", &[]);
    assert!(full.iter().any(|l| l.contains("status: REFUSED")), "{full:?}");
    assert_eq!(dns.serial(&second.zone).await?, None);
    Ok(())
}
