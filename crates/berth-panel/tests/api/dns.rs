//! DNS end to end: zones and records through the API, put on a real
//! PowerDNS (SQLite backend, HTTP API, loopback ports) by jobs, answered to
//! the real `dig`. Tenant isolation, domains held by another tenant,
//! what the DNS would reject, hostile contents, the template, quotas and
//! deletion (also with the tenant). Root only (pdns_server drops to `pdns`).

use crate::common::{TestPanel, config, serve_with};
use crate::sites::{free_addr, job_done, node_config};
use berth_agent::dns::{BindAdmin, DnsServersConfig, PowerDnsAdmin};
use berth_testkit::dns_servers::{BindServer, PowerDnsServer, dig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_zones_on_real_powerdns_and_bind() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let pdns = PowerDnsServer::start()?;
    let bind = BindServer::start()?;
    for backend in ["powerdns", "bind"] {
        for t in berth_testkit::databases().await? {
            let tmp = tempfile::tempdir()?;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
            let mut cfg = config();
            let mut node = node_config(tmp.path(), free_addr()?)?;
            let port = if backend == "bind" {
                node.dns = DnsServersConfig {
                    powerdns: None,
                    bind: Some(BindAdmin {
                        zones_dir: bind.zones_dir.clone(),
                        rndc_conf: bind.rndc_conf.clone(),
                    }),
                };
                bind.dns_port
            } else {
                node.dns = DnsServersConfig {
                    powerdns: Some(PowerDnsAdmin {
                        api_url: pdns.api_url.clone(),
                        api_key: pdns.api_key.clone(),
                        server_id: "localhost".into(),
                    }),
                    bind: None,
                };
                pdns.dns_port
            };
            cfg.node = Some(node);
            let _nginx = berth_agent::nginx::StopOnDrop {
                prefix: tmp.path().join("nginx"),
            };
            let (url, db, stop, task, node) = serve_with(&t.url, cfg).await?;
            anyhow::ensure!(node.is_some(), "the local node did not start");
            let p = TestPanel::attach(t, url, db, stop, task);
            let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
            scenario(&p, port, backend, &suffix).await.map_err(|e| {
                anyhow::anyhow!(
                    "{backend}: {e}\n{}",
                    if backend == "bind" { bind.log() } else { pdns.log() }
                )
            })?;
        }
    }
    Ok(())
}

async fn scenario(p: &TestPanel, port: u16, backend: &str, suffix: &str) -> anyhow::Result<()> {
    let dg = |n: &str, t: &str| dig(port, n, t, &["+short"]);
    let root = p.admin().await?;
    let (_, pkg) = p
        .post(
            "/api/v1/packages",
            &root,
            json!({ "name": format!("One zone {suffix}"), "limits": { "dns_zones": 1 } }),
        )
        .await?;
    let (ta, tb) = (format!("za{suffix}"), format!("zb{suffix}"));
    // Their sites give them Linux users on the node.
    let _users = crate::sites::DeleteUsers(vec![ta.clone(), tb.clone()]);
    let tenant_a = p.tenant(&root, &ta, None).await?;
    p.patch(
        &format!("/api/v1/tenants/{tenant_a}"),
        &root,
        json!({ "package_id": pkg["id"] }),
    )
    .await?;
    let tenant_b = p.tenant(&root, &tb, None).await?;
    let (_, client_a) = p
        .user(&root, &format!("owner@{ta}.example"), "client", Some(&tenant_a))
        .await?;
    let (_, client_b) = p
        .user(&root, &format!("owner@{tb}.example"), "client", Some(&tenant_b))
        .await?;
    let zone_a = format!("{ta}.test");

    // A zone from the template (www CNAME to the apex) plus given records.
    let (st, z) = p
        .post(
            "/api/v1/dns/zones",
            &client_a,
            json!({ "tenant_id": tenant_a, "name": zone_a }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{z}");
    assert_eq!(z["records"][0]["name"], "www");
    let zid = s(&z["zone"]["id"]);
    job_done(p, &client_a, &s(&z["job_id"])).await?;
    assert_eq!(dg(&format!("www.{zone_a}"), "CNAME"), [format!("{zone_a}.")]);
    let mut ns = dg(&zone_a, "NS");
    ns.sort();
    assert_eq!(ns, ["ns1.berth.localhost.", "ns2.berth.localhost."]);
    let recs = format!("/api/v1/dns/zones/{zid}/records");
    let mut last_job = String::new();
    for (name, t, content) in [
        ("@", "A", "192.0.2.10"),
        ("@", "MX", "10 mail.example.net"),
        ("@", "TXT", "v=spf1 mx -all"),
        ("mail", "AAAA", "2001:db8::25"),
        ("_sip._tcp", "SRV", "10 5 5060 sip.example.net"),
        ("@", "CAA", "0 issue \"letsencrypt.org\""),
        (&format!("ftp.{zone_a}."), "CNAME", "www.example.net"),
    ] {
        let (st, r) = p
            .post(
                &recs,
                &client_a,
                json!({ "name": name, "type": t, "content": content, "ttl": 300 }),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{t}: {r}");
        last_job = s(&r["job_id"]);
    }
    job_done(p, &client_a, &last_job).await?;
    assert_eq!(dg(&zone_a, "A"), ["192.0.2.10"]);
    assert_eq!(dg(&zone_a, "MX"), ["10 mail.example.net."]);
    assert_eq!(dg(&zone_a, "TXT"), ["\"v=spf1 mx -all\""]);
    assert_eq!(dg(&format!("mail.{zone_a}"), "AAAA"), ["2001:db8::25"]);
    assert_eq!(
        dg(&format!("_sip._tcp.{zone_a}"), "SRV"),
        ["10 5 5060 sip.example.net."]
    );
    let (_, zone) = p.get(&format!("/api/v1/dns/zones/{zid}"), &client_a).await?;
    assert!(zone["serial"].as_i64().is_some_and(|n| n > 0), "{zone}");
    assert_eq!(zone["records"], 8);
    assert_eq!(dg(&format!("ftp.{zone_a}"), "CNAME"), ["www.example.net."]);

    // Change a record: answered within a second of the call.
    let (_, list) = p.get(&recs, &client_a).await?;
    let a = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "A")
        .cloned()
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let (st, r) = p
        .call(
            Method::PUT,
            &format!("{recs}/{}", s(&a["id"])),
            Some(&client_a),
            Some(json!({ "name": "@", "type": "A", "content": "192.0.2.99", "ttl": 300 })),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{r}");
    job_done(p, &client_a, &s(&r["job_id"])).await?;
    assert_eq!(dg(&zone_a, "A"), ["192.0.2.99"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // What the DNS would reject, and hostile contents: 422, nothing stored.
    for bad in [
        json!({ "name": "www", "type": "A", "content": "192.0.2.1" }),
        json!({ "name": "@", "type": "CNAME", "content": "other.example" }),
        json!({ "name": "@", "type": "MX", "content": "10 192.0.2.1" }),
        json!({ "name": "@", "type": "A", "content": "192.0.2.99", "ttl": 300 }),
        json!({ "name": "@", "type": "A", "content": "192.0.2.7", "ttl": 60 }),
        json!({ "name": "@", "type": "NS", "content": "ns.evil.example" }),
        json!({ "name": "x", "type": "TXT", "content": "a\n$INCLUDE /etc/passwd" }),
        json!({ "name": "x\ny", "type": "A", "content": "192.0.2.1" }),
        json!({ "name": "$ORIGIN", "type": "A", "content": "192.0.2.1" }),
        json!({ "name": "x", "type": "A", "content": "192.0.2.1; rm -rf /" }),
        json!({ "name": "x", "type": "CNAME", "content": "a\"b.example" }),
        json!({ "name": "x.other.example.", "type": "A", "content": "192.0.2.1" }),
        json!({ "name": format!("x.bad{zone_a}."), "type": "A", "content": "192.0.2.1" }),
        json!({ "name": &"a".repeat(64), "type": "A", "content": "192.0.2.1" }),
        json!({ "name": "x", "type": "TXT", "content": "x".repeat(5000) }),
        json!({ "name": "x", "type": "SPF", "content": "v=spf1" }),
    ] {
        let (st, v) = p.post(&recs, &client_a, bad.clone()).await?;
        assert!(
            st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST,
            "{bad}: {st} {v}"
        );
    }
    let (_, after) = p.get(&recs, &client_a).await?;
    assert_eq!(after.as_array().map(Vec::len), Some(8), "nothing was stored");

    // Another tenant: cannot see or change A's zone, cannot take its domain
    // or a name under it; A's package allows one zone.
    let (st, _) = p.get(&format!("/api/v1/dns/zones/{zid}"), &client_b).await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = p
        .post(
            &recs,
            &client_b,
            json!({ "name": "evil", "type": "A", "content": "192.0.2.66" }),
        )
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = p
        .post(
            "/api/v1/dns/zones",
            &client_b,
            json!({ "tenant_id": tenant_b, "name": zone_a }),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (st, _) = p
        .post(
            "/api/v1/dns/zones",
            &client_b,
            json!({ "tenant_id": tenant_a, "name": format!("x.{zone_a}") }),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "another tenant's id");
    // Nor a zone inside A's: on the same server it would take over answers
    // for A's names.
    for name in [format!("shop.{zone_a}"), format!("deep.shop.{zone_a}")] {
        let (st, v) = p
            .post(
                "/api/v1/dns/zones",
                &client_b,
                json!({ "tenant_id": tenant_b, "name": name }),
            )
            .await?;
        assert_eq!(st, StatusCode::CONFLICT, "{name}: {v}");
    }
    let (st, v) = p
        .post(
            "/api/v1/dns/zones",
            &client_a,
            json!({ "tenant_id": tenant_a, "name": format!("second-{zone_a}") }),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "the package allows one zone: {v}");
    let (st, v) = p
        .post(
            "/api/v1/dns/zones",
            &client_b,
            json!({ "tenant_id": tenant_b, "name": "b..test" }),
        )
        .await?;
    assert!(st.is_client_error(), "{v}");
    // A zone whose own records break the rules is refused whole.
    let (st, v) = p
        .post(
            "/api/v1/dns/zones",
            &client_b,
            json!({ "tenant_id": tenant_b, "name": format!("{tb}.test"),
                "records": [{ "name": "@", "type": "CNAME", "content": "elsewhere.example" }] }),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, zl) = p.get("/api/v1/dns/zones", &client_b).await?;
    assert_eq!(zl["total"], 0, "{zl}");
    // B's own zone, empty, then deleted: no longer answered.
    let (st, zb) = p
        .post(
            "/api/v1/dns/zones",
            &client_b,
            json!({ "tenant_id": tenant_b, "name": format!("{tb}.test"), "records": [] }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{zb}");
    job_done(p, &client_b, &s(&zb["job_id"])).await?;
    let soa = dg(&format!("{tb}.test"), "SOA");
    assert!(
        soa[0].starts_with("ns1.berth.localhost. hostmaster.berth.localhost."),
        "{soa:?}"
    );
    let (st, d) = p
        .delete(&format!("/api/v1/dns/zones/{}", s(&zb["zone"]["id"])), &client_b)
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{d}");
    job_done(p, &client_b, &s(&d["job_ids"][0])).await?;
    let full = dig(port, &format!("{tb}.test"), "SOA", &[]);
    assert!(full.iter().any(|l| l.contains("status: REFUSED")), "{full:?}");

    // Audit rows name the changes.
    let (_, audit) = p.get("/api/v1/audit?action=dns.", &root).await?;
    let actions: Vec<String> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| s(&i["action"]))
        .collect();
    for want in [
        "dns.zone.create",
        "dns.record.create",
        "dns.record.update",
        "dns.zone.delete",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }

    // Mail authentication: the checker names what is missing; SPF and
    // DMARC written from policies replace the ones there and are served.
    let ma = format!("/api/v1/dns/zones/{zid}/mail-auth");
    let (st, rep) = p.get(&ma, &client_a).await?;
    assert_eq!(st, StatusCode::OK, "{rep}");
    let has = |rep: &Value, sev: &str, topic: &str| {
        rep["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["severity"] == sev && f["topic"] == topic)
    };
    assert!(has(&rep, "error", "dmarc") && has(&rep, "warning", "dkim"), "{rep}");
    assert!(has(&rep, "ok", "spf"), "the zone's `v=spf1 mx -all`: {rep}");
    let (st, rep) = p
        .call(
            Method::PUT,
            &ma,
            Some(&client_a),
            Some(json!({
                "spf": { "mx": true, "ip": ["192.0.2.10", "2001:db8::/48"], "include": ["_spf.mailer.example"], "all": "soft_fail" },
                "dmarc": { "policy": "quarantine", "pct": 50, "rua": ["dmarc@example.net"] }
            })),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{rep}");
    assert!(has(&rep, "warning", "spf") && has(&rep, "ok", "dmarc"), "{rep}");
    job_done(p, &client_a, &s(&rep["job_id"])).await?;
    assert_eq!(
        dg(&zone_a, "TXT"),
        ["\"v=spf1 mx ip4:192.0.2.10 ip6:2001:db8::/48 include:_spf.mailer.example ~all\""],
        "one SPF record, the old one replaced"
    );
    assert_eq!(
        dg(&format!("_dmarc.{zone_a}"), "TXT"),
        ["\"v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@example.net\""]
    );
    for bad in [
        json!({ "dmarc": { "policy": "quarantine", "pct": 0 } }),
        json!({ "dmarc": { "policy": "maybe" } }),
        json!({ "spf": { "all": "fail", "include": ["evil.example; rm"] } }),
        json!({ "spf": { "all": "fail", "ip": ["not-an-ip"] } }),
        json!({ "spf": { "all": "fail", "extra": true } }),
    ] {
        let (st, v) = p.call(Method::PUT, &ma, Some(&client_a), Some(bad.clone())).await?;
        assert!(st.is_client_error(), "{bad}: {st} {v}");
    }
    let (st, _) = p.get(&ma, &client_b).await?;
    assert_eq!(st, StatusCode::NOT_FOUND, "another tenant's zone");

    // DNSSEC: signed on PowerDNS (answers carry RRSIGs, the zone shows its
    // DS); refused by a BIND node, and the zone keeps being served.
    let (st, ch) = p
        .call(
            Method::PATCH,
            &format!("/api/v1/dns/zones/{zid}"),
            Some(&client_a),
            Some(json!({ "dnssec": true })),
        )
        .await?;
    if backend == "powerdns" {
        assert_eq!(st, StatusCode::OK, "{ch}");
        job_done(p, &client_a, &s(&ch["job_id"])).await?;
        let (_, zone) = p.get(&format!("/api/v1/dns/zones/{zid}"), &client_a).await?;
        assert_eq!(zone["dnssec"], true);
        assert!(zone["ds"].as_array().is_some_and(|d| !d.is_empty()), "{zone}");
        let answer = dig(port, &zone_a, "A", &["+dnssec", "+norec"]);
        assert!(answer.iter().any(|l| l.contains("RRSIG")), "{answer:?}");
    } else {
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "BIND nodes do not sign: {ch}");
        assert_eq!(dg(&zone_a, "A"), ["192.0.2.99"]);
    }
    let (st, ch) = p
        .call(
            Method::PATCH,
            &format!("/api/v1/dns/zones/{zid}"),
            Some(&client_a),
            Some(json!({ "dnssec": false })),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{ch}");
    job_done(p, &client_a, &s(&ch["job_id"])).await?;
    let (_, zone) = p.get(&format!("/api/v1/dns/zones/{zid}"), &client_a).await?;
    assert_eq!(zone["ds"], json!([]), "{zone}");

    // Export: the zone file as served, checked by BIND's own checker.
    let resp = p
        .http
        .get(format!("{}/api/v1/dns/zones/{zid}/export", p.url))
        .bearer_auth(&client_a)
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await?;
    assert!(text.contains(&format!("{zone_a}. 300 IN A 192.0.2.99")), "{text}");
    let zf = tempfile::NamedTempFile::new()?;
    std::fs::write(zf.path(), &text)?;
    #[allow(clippy::disallowed_methods)] // the test runs the checker directly
    let out = std::process::Command::new("/usr/bin/named-checkzone")
        .args(["-q", &zone_a])
        .arg(zf.path())
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Import: the export reads back as no change; an edited copy shows its
    // diff, changes nothing until applied, then is served.
    let import = |body: String, apply: bool| {
        let url = format!(
            "{}/api/v1/dns/zones/{zid}/import{}",
            p.url,
            if apply { "?apply=true" } else { "" }
        );
        let (http, token) = (p.http.clone(), client_a.clone());
        async move {
            let r = http.post(url).bearer_auth(token).body(body).send().await?;
            let st = r.status();
            anyhow::Ok((st, r.json::<Value>().await.unwrap_or(Value::Null)))
        }
    };
    let (st, d) = import(text.clone(), false).await?;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(
        (d["add"].as_array().map(Vec::len), d["remove"].as_array().map(Vec::len)),
        (Some(0), Some(0)),
        "{d}"
    );
    assert_eq!(d["ignored"].as_array().map(Vec::len), Some(3), "SOA and two NS: {d}");
    let edited = text.replace("192.0.2.99", "192.0.2.77") + "imported 300 IN A 192.0.2.78\n";
    let (_, d) = import(edited.clone(), false).await?;
    assert_eq!(
        (d["add"].as_array().map(Vec::len), d["remove"].as_array().map(Vec::len)),
        (Some(2), Some(1)),
        "{d}"
    );
    assert_eq!(dg(&zone_a, "A"), ["192.0.2.99"], "a preview changes nothing");
    let (st, d) = import(edited, true).await?;
    assert_eq!(st, StatusCode::OK, "{d}");
    job_done(p, &client_a, &s(&d["job_id"])).await?;
    assert_eq!(dg(&zone_a, "A"), ["192.0.2.77"]);
    assert_eq!(dg(&format!("imported.{zone_a}"), "A"), ["192.0.2.78"]);
    for hostile in [
        "$INCLUDE /etc/passwd\n".to_owned(),
        "evil.other.example. 300 IN A 192.0.2.1\n".to_owned(),
        "x 300 IN TXT \"a\nb\"\n".to_owned(),
        "@ 300 IN CNAME elsewhere.example.\n".to_owned(),
    ] {
        let (st, d) = import(hostile.clone(), true).await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{hostile:?}: {d}");
    }
    assert_eq!(dg(&zone_a, "A"), ["192.0.2.77"], "nothing changed");

    // Replace every record at once, in a body far above the default limit
    // (5,000 records); then many single changes at once coalesce into
    // fewer applies than calls.
    let many: Vec<Value> = (0..5000)
        .map(
            |i| json!({ "name": format!("h{i}"), "type": "A", "content": format!("10.0.{}.{}", i / 250, i % 250 + 1) }),
        )
        .collect();
    let (st, r) = p
        .call(Method::PUT, &recs, Some(&client_a), Some(Value::Array(many)))
        .await?;
    assert_eq!(st, StatusCode::OK, "{r}");
    job_done(p, &client_a, &s(&r["job_id"])).await?;
    assert_eq!(dg(&format!("h4999.{zone_a}"), "A"), ["10.0.19.250"]);
    assert!(dg(&zone_a, "MX").is_empty(), "replaced, not added");
    let mut jobs = std::collections::BTreeSet::new();
    let calls = (0..20).map(|i| {
        p.post(
            &recs,
            &client_a,
            json!({ "name": format!("burst{i}"), "type": "A", "content": "192.0.2.50" }),
        )
    });
    for (st, r) in futures::future::try_join_all(calls).await? {
        assert_eq!(st, StatusCode::CREATED, "{r}");
        jobs.insert(s(&r["job_id"]));
    }
    for j in &jobs {
        job_done(p, &client_a, j).await?;
    }
    assert!(jobs.len() < 20, "20 changes, {} applies", jobs.len());
    assert_eq!(dg(&format!("burst19.{zone_a}"), "A"), ["192.0.2.50"]);

    // A site in the zone gets A/AAAA records with its node's addresses;
    // deleting the site takes them away. A name with records of its own
    // (the apex) is left alone.
    let (st, v) = p
        .call(
            Method::PUT,
            "/api/v1/settings/dns.node_addresses",
            Some(&root),
            Some(json!({ "value": { "local": ["192.0.2.200", "2001:db8::200"] } })),
        )
        .await?;
    assert!(st.is_success(), "{v}");

    let (st, site) = p
        .post(
            "/api/v1/sites",
            &client_a,
            json!({ "tenant_id": tenant_a, "domain": format!("shop.{zone_a}"), "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{site}");
    zone_job(p, &client_a, &zid).await?;
    assert_eq!(dg(&format!("shop.{zone_a}"), "A"), ["192.0.2.200"]);
    assert_eq!(dg(&format!("shop.{zone_a}"), "AAAA"), ["2001:db8::200"]);
    let (st, own) = p
        .post(
            &recs,
            &client_a,
            json!({ "name": "@", "type": "A", "content": "192.0.2.77" }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{own}");
    let (st, apex) = p
        .post(
            "/api/v1/sites",
            &client_a,
            json!({ "tenant_id": tenant_a, "domain": zone_a, "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{apex}");
    zone_job(p, &client_a, &zid).await?;
    assert_eq!(dg(&zone_a, "A"), ["192.0.2.77"], "the tenant's own apex record stays");
    let (st, d) = p
        .delete(&format!("/api/v1/sites/{}", s(&site["site"]["id"])), &client_a)
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{d}");
    zone_job(p, &client_a, &zid).await?;
    assert!(dg(&format!("shop.{zone_a}"), "A").is_empty(), "gone with the site");

    // Deleting tenant A takes its zone off the server.
    let (st, _) = p.delete(&format!("/api/v1/tenants/{tenant_a}"), &root).await?;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, jobs) = p
        .get(
            &format!("/api/v1/jobs?tenant_id={tenant_a}&kind=dns.zone.remove"),
            &root,
        )
        .await?;
    for j in jobs["items"].as_array().cloned().unwrap_or_default() {
        job_done(p, &root, &s(&j["id"])).await?;
    }
    assert!(dg(&zone_a, "A").is_empty(), "no longer served");
    Ok(())
}

/// Wait for the zone's last apply job.
async fn zone_job(p: &TestPanel, token: &str, zid: &str) -> anyhow::Result<Value> {
    let (_, z) = p.get(&format!("/api/v1/dns/zones/{zid}"), token).await?;
    job_done(p, token, &s(&z["last_job_id"])).await
}
