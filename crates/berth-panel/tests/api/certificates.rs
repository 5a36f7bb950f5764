//! Certificates end to end: a real `pebble` ACME server validates http-01
//! through the test nginx and dns-01 through a real PowerDNS (which also
//! answers pebble's lookups); the issued certificate is fetched back over
//! HTTPS by curl and by a rustls client trusting pebble's root. Renewal
//! (by request and by the recurring scan), a failing renewal that leaves
//! the old certificate serving and alerts a webhook, uploads (good and
//! hostile), another tenant's site, deletion. SQLite and PostgreSQL.

use crate::common::{TestPanel, config, serve_with};
use crate::sites::{free_addr, get_path, job_done};
use berth_agent::dns::{DnsServersConfig, PowerDnsAdmin};
use berth_testkit::dns_servers::PowerDnsServer;
use berth_testkit::pebble::Pebble;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

struct Env {
    web: SocketAddr,
    https: SocketAddr,
    root_pem: String,
    root_path: std::path::PathBuf,
    hooks: Arc<Mutex<Vec<String>>>,
}

/// A webhook receiver: every request body, in order.
async fn webhook() -> anyhow::Result<(String, Arc<Mutex<Vec<String>>>)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", l.local_addr()?);
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Headers, then Content-Length bytes of body.
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            if let Ok(mut g) = keep.lock() {
                                g.push(body.to_owned());
                            }
                            break;
                        }
                    }
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    Ok((url, got))
}

/// The leaf the HTTPS listener shows for `host`: (serial, names, issuer),
/// through a rustls client that trusts only `root_pem`.
async fn served(env: &Env, host: &str, root_pem: &str) -> anyhow::Result<(String, Vec<String>, String, String)> {
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(root_pem.as_bytes())?])
        .resolve(host, env.https)
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let resp = client
        .get(format!("https://{host}:{}/", env.https.port()))
        .send()
        .await?;
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate().map(<[u8]>::to_vec))
        .ok_or_else(|| anyhow::anyhow!("no peer certificate"))?;
    let hsts = resp
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let info = berth_pki::inspect::inspect(&der)?;
    Ok((info.serial_hex, info.names, info.issuer, hsts))
}

/// The HTTP status `curl` gets over HTTPS trusting pebble's root.
#[allow(clippy::disallowed_methods)] // the test drives the real curl
fn curl_status(env: &Env, host: &str, root: &std::path::Path) -> anyhow::Result<(String, String)> {
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "--cacert",
        ])
        .arg(root)
        .arg("--resolve")
        .arg(format!("{host}:{}:127.0.0.1", env.https.port()))
        .arg(format!("https://{host}:{}/", env.https.port()))
        .output()?;
    Ok((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

async fn set(p: &TestPanel, root: &str, key: &str, value: Value) -> anyhow::Result<()> {
    let (st, v) = p
        .call(
            Method::PUT,
            &format!("/api/v1/settings/{key}"),
            Some(root),
            Some(json!({ "value": value })),
        )
        .await?;
    anyhow::ensure!(st.is_success(), "{key}: {v}");
    Ok(())
}

async fn cert(p: &TestPanel, token: &str, id: &str) -> anyhow::Result<Value> {
    let (st, c) = p.get(&format!("/api/v1/certificates/{id}"), token).await?;
    anyhow::ensure!(st == StatusCode::OK, "{c}");
    Ok(c)
}

/// A job that must fail: its last error.
async fn job_failed(p: &TestPanel, token: &str, id: &str) -> anyhow::Result<String> {
    for _ in 0..600 {
        let (_, j) = p.get(&format!("/api/v1/jobs/{id}"), token).await?;
        match j["state"].as_str() {
            Some("succeeded") => anyhow::bail!("job {id} succeeded"),
            Some("dead") => return Ok(s(&j["last_error"])),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    anyhow::bail!("job {id} did not finish")
}

/// A panel whose local node serves HTTP on `web` and HTTPS on `https`,
/// with PowerDNS as its DNS server and `pebble` as its ACME server (the
/// preflight asks PowerDNS; the node's address is 127.0.0.1); its nginx,
/// stopped on drop, and the admin's token.
async fn acme_panel(
    t: berth_testkit::TestDb,
    dir: &std::path::Path,
    (web, https): (SocketAddr, SocketAddr),
    pdns: &PowerDnsServer,
    pebble: &Pebble,
    workers: usize,
) -> anyhow::Result<(TestPanel, String, berth_agent::nginx::StopOnDrop)> {
    let mut cfg = config();
    let mut node = crate::sites::node_config(dir, web)?;
    node.certs.https_listen = vec![https];
    node.dns = DnsServersConfig {
        powerdns: Some(PowerDnsAdmin {
            api_url: pdns.api_url.clone(),
            api_key: pdns.api_key.clone(),
            server_id: "localhost".into(),
        }),
        bind: None,
    };
    cfg.node = Some(node);
    cfg.workers = workers;
    let nginx = berth_agent::nginx::StopOnDrop {
        prefix: dir.join("nginx"),
    };
    let (url, db, stop, task, n) = serve_with(&t.url, cfg).await?;
    anyhow::ensure!(n.is_some(), "the local node did not start");
    let p = TestPanel::attach(t, url, db, stop, task);
    let root = p.admin().await?;
    set(&p, &root, "acme.directory_url", json!(pebble.directory_url())).await?;
    let ca = pebble.listener_ca_path().display().to_string();
    set(&p, &root, "acme.ca_root_file", json!(ca)).await?;
    set(
        &p,
        &root,
        "acme.resolver",
        json!(format!("127.0.0.1:{}", pdns.dns_port)),
    )
    .await?;
    set(&p, &root, "dns.node_addresses", json!({ "local": ["127.0.0.1"] })).await?;
    Ok((p, root, nginx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_from_pebble_served_by_nginx() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let pdns = PowerDnsServer::start()?;
    for t in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let web = free_addr()?;
        let https = free_addr()?;
        let pebble = Pebble::start(web.port(), SocketAddr::from(([127, 0, 0, 1], pdns.dns_port)))?;
        let (p, root, _nginx) = acme_panel(t, tmp.path(), (web, https), &pdns, &pebble, 4).await?;
        let (hook_url, hooks) = webhook().await?;
        let env = Env {
            web,
            https,
            root_pem: pebble.root_pem()?,
            root_path: pebble.root_path()?,
            hooks,
        };
        set(&p, &root, "acme.contact_email", json!("admin@berth.test")).await?;
        set(&p, &root, "alerts.webhook_url", json!(hook_url)).await?;
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        scenario(&p, &env, &suffix)
            .await
            .map_err(|e| anyhow::anyhow!("{e}\n--- pebble ---\n{}", pebble.log()))?;
    }
    Ok(())
}

async fn scenario(p: &TestPanel, env: &Env, suffix: &str) -> anyhow::Result<()> {
    let root = p.admin().await?;
    let (ta, tb) = (format!("ca{suffix}"), format!("cb{suffix}"));
    // Their sites give them Linux users on the node.
    let _users = crate::sites::DeleteUsers(vec![ta.clone(), tb.clone()]);
    let tenant_a = p.tenant(&root, &ta, None).await?;
    let tenant_b = p.tenant(&root, &tb, None).await?;
    let (_, client_a) = p
        .user(&root, &format!("owner@{ta}.example"), "client", Some(&tenant_a))
        .await?;
    let (_, client_b) = p
        .user(&root, &format!("owner@{tb}.example"), "client", Some(&tenant_b))
        .await?;
    let zone = format!("{ta}.test");
    let (st, z) = p
        .post(
            "/api/v1/dns/zones",
            &client_a,
            json!({ "tenant_id": tenant_a, "name": zone, "records": [] }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{z}");
    let zid = s(&z["zone"]["id"]);
    job_done(p, &client_a, &s(&z["job_id"])).await?;

    // A site with force-HTTPS and HSTS: both wait for a certificate. Its
    // A record (127.0.0.1, the node's address) appears in the zone.
    let host = format!("shop.{zone}");
    let (st, site) = p
        .post(
            "/api/v1/sites",
            &client_a,
            json!({ "tenant_id": tenant_a, "domain": host, "kind": { "type": "static" },
                    "options": { "force_https": true, "hsts": true } }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{site}");
    let site_id = s(&site["site"]["id"]);
    job_done(p, &client_a, &s(&site["job_id"])).await?;
    let zone_jobs = p.get(&format!("/api/v1/dns/zones/{zid}"), &client_a).await?.1;
    if let Some(j) = zone_jobs["last_job_id"].as_str() {
        job_done(p, &client_a, j).await?;
    }
    let (code, _) = get_path(env.web, &host, "/").await?;
    assert_eq!(code, 200, "no certificate yet: plain HTTP serves the site");

    // Hostile orders: another tenant's site, names that are not the
    // site's, a wildcard over http-01, an unorderable key type.
    let order = |b: Value| {
        let token = client_a.clone();
        async move { p.post("/api/v1/certificates", &token, b).await }
    };
    let (st, _) = p
        .post("/api/v1/certificates", &client_b, json!({ "site_id": site_id }))
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND, "tenant B cannot order for tenant A's site");
    let (st, v) = order(json!({ "site_id": site_id, "names": ["evil.example"] })).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = order(json!({ "site_id": site_id, "names": [format!("*.{host}")] })).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "wildcard needs dns-01: {v}");
    let (st, v) = order(json!({ "site_id": site_id, "key_type": "other" })).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = order(json!({ "site_id": site_id, "names": ["bad name;"] })).await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, list) = p.get("/api/v1/certificates", &client_a).await?;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["total"], 0, "refused orders left nothing: {list}");

    // http-01: pebble fetches the challenge from the test nginx.
    let (st, ordered) = order(json!({ "site_id": site_id })).await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{ordered}");
    let cid = s(&ordered["certificate"]["id"]);
    assert_eq!(ordered["certificate"]["status"], "pending");
    job_done(p, &client_a, &s(&ordered["job_id"])).await?;
    let c1 = cert(p, &client_a, &cid).await?;
    assert_eq!(c1["status"], "valid", "{c1}");
    assert_eq!(c1["names"], json!([host]));
    assert!(s(&c1["issuer"]).contains("Pebble"), "{c1}");
    assert!(c1["days_left"].as_i64().unwrap_or(0) > 30, "{c1}");
    let (serial, names, _, hsts) = served(env, &host, &env.root_pem).await?;
    assert_eq!(serial, s(&c1["serial"]), "nginx serves the issued certificate");
    assert_eq!(names, vec![host.clone()]);
    assert_eq!(hsts, "max-age=31536000");
    let (code, err) = curl_status(env, &host, &env.root_path)?;
    assert_eq!(code, "200", "curl trusts pebble's root: {err}");
    // Plain HTTP redirects now, except the challenge path.
    let (code, text) = get_path(env.web, &host, "/page?x=1").await?;
    assert_eq!(code, 301, "{text}");
    assert!(
        text.contains(&format!("Location: https://{host}:{}/page?x=1", env.https.port())),
        "{text}"
    );
    let (code, _) = get_path(env.web, &host, "/.well-known/acme-challenge/nothing-here").await?;
    assert_eq!(code, 404, "the challenge location wins over force-HTTPS");
    // A name nobody holds gets no tenant's certificate.
    assert!(served(env, "unknown.example", &env.root_pem).await.is_err());
    // Tenant B sees none of it.
    let (st, _) = p.get(&format!("/api/v1/certificates/{cid}"), &client_b).await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, lb) = p.get("/api/v1/certificates", &client_b).await?;
    assert_eq!(lb["total"], 0);

    // Renew on request: a new serial is served.
    let (st, r) = p
        .post(&format!("/api/v1/certificates/{cid}/renew"), &client_a, json!({}))
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    job_done(p, &client_a, &s(&r["job_id"])).await?;
    let c2 = cert(p, &client_a, &cid).await?;
    assert_ne!(c2["serial"], c1["serial"]);
    assert_eq!(served(env, &host, &env.root_pem).await?.0, s(&c2["serial"]));

    // The recurring scan renews what is inside the window. Pebble's
    // certificates live five years: move this one's end into the window.
    {
        let mut c = p.db.conn().await?;
        sqlx::query("UPDATE certificates SET not_before = $1, not_after = $2 WHERE id = $3")
            .bind(berth_db::now_ms() - 80 * 86_400_000)
            .bind(berth_db::now_ms() + 10 * 86_400_000)
            .bind(cid.clone())
            .execute(&mut *c)
            .await?;
    }
    let (_, soon) = p.get("/api/v1/certificates?expiring_within_days=14", &client_a).await?;
    assert_eq!(soon["total"], 1, "{soon}");
    let (st, scan) = p
        .post(
            "/api/v1/jobs",
            &root,
            json!({ "kind": "certificates.renew", "payload": {} }),
        )
        .await?;
    assert!(st.is_success(), "{scan}");
    let done = job_done(p, &root, &s(&scan["id"])).await?;
    let started = done["steps"][0]["artifact"]["renewals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(started.len(), 1, "{done}");
    job_done(p, &root, started[0].as_str().unwrap_or_default()).await?;
    let c3 = cert(p, &client_a, &cid).await?;
    assert_ne!(c3["serial"], c2["serial"]);
    assert_eq!(served(env, &host, &env.root_pem).await?.0, s(&c3["serial"]));
    assert!(
        c3["days_left"].as_i64().unwrap_or(0) > 30,
        "the renewed one lives long again: {c3}"
    );
    let (_, again) = p
        .post(
            "/api/v1/jobs",
            &root,
            json!({ "kind": "certificates.renew", "payload": {} }),
        )
        .await?;
    let again = job_done(p, &root, &s(&again["id"])).await?;
    assert_eq!(
        again["steps"][0]["artifact"]["renewals"],
        json!([]),
        "nothing more is due: {again}"
    );

    // A renewal that cannot work: the name points elsewhere now. The
    // preflight refuses (nothing ordered), the old certificate keeps
    // serving, the status says so, the webhook hears of it.
    let recs = p.get(&format!("/api/v1/dns/zones/{zid}/records"), &client_a).await?.1;
    let a = recs
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "shop" && r["type"] == "A"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no A record for the site: {recs}"))?;
    let (st, ch) = p
        .call(
            Method::PUT,
            &format!("/api/v1/dns/zones/{zid}/records/{}", s(&a["id"])),
            Some(&client_a),
            Some(json!({ "name": "shop", "type": "A", "content": "192.0.2.99" })),
        )
        .await?;
    assert!(st.is_success(), "{ch}");
    job_done(p, &client_a, &s(&ch["job_id"])).await?;
    let (_, r) = p
        .post(&format!("/api/v1/certificates/{cid}/renew"), &client_a, json!({}))
        .await?;
    let err = job_failed(p, &client_a, &s(&r["job_id"])).await?;
    assert!(err.contains("preflight") && err.contains("192.0.2.99"), "{err}");
    let c4 = cert(p, &client_a, &cid).await?;
    assert_eq!(c4["status"], "failing", "{c4}");
    assert!(s(&c4["last_error"]).contains("preflight"), "{c4}");
    assert!(c4["next_attempt_at"].is_string(), "backoff set: {c4}");
    assert_eq!(c4["failures"], 1);
    assert_eq!(
        served(env, &host, &env.root_pem).await?.0,
        s(&c3["serial"]),
        "the old one still serves"
    );
    let hooks = env.hooks.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        hooks
            .iter()
            .any(|h| h.contains("certificate.failed") && h.contains(&cid)),
        "webhook: {hooks:?}"
    );
    let (_, sum) = p.get("/api/v1/certificates/summary", &client_a).await?;
    assert_eq!(sum["failing"], 1, "{sum}");
    let (_, failing) = p.get("/api/v1/certificates?status=failing", &root).await?;
    assert!(
        failing["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|c| c["id"] == cid.as_str()))
    );
    // A week from expiry with renewals still failing: the scan warns (once
    // a day), on the webhook and in its log.
    {
        let mut c = p.db.conn().await?;
        sqlx::query("UPDATE certificates SET not_before = $1, not_after = $2 WHERE id = $3")
            .bind(berth_db::now_ms() - 80 * 86_400_000)
            .bind(berth_db::now_ms() + 3 * 86_400_000)
            .bind(cid.clone())
            .execute(&mut *c)
            .await?;
    }
    for round in 0..2 {
        let (_, scan) = p
            .post(
                "/api/v1/jobs",
                &root,
                json!({ "kind": "certificates.renew", "payload": {} }),
            )
            .await?;
        let done = job_done(p, &root, &s(&scan["id"])).await?;
        let art = &done["steps"][0]["artifact"];
        assert_eq!(art["renewals"], json!([]), "the backoff holds: {done}");
        let warned = art["expiry_warnings"].as_array().cloned().unwrap_or_default();
        assert_eq!(warned.len(), usize::from(round == 0), "warned once a day: {done}");
    }
    let hooks = env.hooks.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        hooks
            .iter()
            .any(|h| h.contains("certificate.expiring") && h.contains(&cid)),
        "webhook: {hooks:?}"
    );
    // Put the record back.
    let (_, ch) = p
        .call(
            Method::PUT,
            &format!("/api/v1/dns/zones/{zid}/records/{}", s(&a["id"])),
            Some(&client_a),
            Some(json!({ "name": "shop", "type": "A", "content": "127.0.0.1" })),
        )
        .await?;
    job_done(p, &client_a, &s(&ch["job_id"])).await?;

    // dns-01: a wildcard and the name, RSA key, TXT records in the
    // tenant's zone on PowerDNS (taken away afterwards).
    let (st, ordered) = order(json!({ "site_id": site_id, "names": [host, format!("*.{host}")],
        "challenge": "dns-01", "key_type": "rsa-2048" }))
    .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{ordered}");
    job_done(p, &client_a, &s(&ordered["job_id"])).await?;
    let c5 = cert(p, &client_a, &cid).await?;
    assert_eq!(c5["status"], "valid", "{c5}");
    assert_eq!(c5["key_type"], "rsa-2048");
    assert_eq!(c5["failures"], 0);
    let (serial, mut names, _, _) = served(env, &host, &env.root_pem).await?;
    names.sort();
    assert_eq!(serial, s(&c5["serial"]));
    assert_eq!(names, vec![format!("*.{host}"), host.clone()]);
    let recs = p.get(&format!("/api/v1/dns/zones/{zid}/records"), &client_a).await?.1;
    assert!(
        !recs.to_string().contains("_acme-challenge"),
        "challenge records are removed: {recs}"
    );

    // A suspended site still answers challenges: its renewal works, and
    // HTTPS shows the suspension page.
    let (st, v) = p
        .post(&format!("/api/v1/sites/{site_id}/suspend"), &root, json!({}))
        .await?;
    assert!(st.is_success(), "{v}");
    job_done(p, &root, &s(&v["job_id"])).await?;
    let (_, r) = p
        .post(&format!("/api/v1/certificates/{cid}/renew"), &root, json!({}))
        .await?;
    job_done(p, &root, &s(&r["job_id"])).await?;
    let renewed = cert(p, &client_a, &cid).await?;
    assert_ne!(renewed["serial"], c5["serial"]);
    assert_eq!(served(env, &host, &env.root_pem).await?.0, s(&renewed["serial"]));
    let (code, _) = curl_status(env, &host, &env.root_path)?;
    assert_eq!(code, "503", "the suspension page over HTTPS");
    let (st, v) = p
        .post(&format!("/api/v1/sites/{site_id}/unsuspend"), &root, json!({}))
        .await?;
    assert!(st.is_success(), "{v}");
    job_done(p, &root, &s(&v["job_id"])).await?;

    // Names chosen by hand are left alone when the site's names change; a
    // certificate that covered the site's names follows them.
    let alias = format!("alt.{zone}");
    let (st, r) = p
        .post(
            &format!("/api/v1/dns/zones/{zid}/records"),
            &client_a,
            json!({ "name": "alt", "type": "A", "content": "127.0.0.1" }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    job_done(p, &client_a, &s(&r["job_id"])).await?;
    let latest_issue = || async {
        let l = p.get("/api/v1/jobs?kind=certificate.issue&limit=1", &client_a).await?.1;
        anyhow::Ok(s(&l["items"][0]["id"]))
    };
    let before_alias = latest_issue().await?;
    let (st, up) = p
        .patch(
            &format!("/api/v1/sites/{site_id}"),
            &client_a,
            json!({ "aliases": [alias] }),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{up}");
    job_done(p, &client_a, &s(&up["job_id"])).await?;
    assert_eq!(latest_issue().await?, before_alias, "no re-order for hand-picked names");
    assert_eq!(
        cert(p, &client_a, &cid).await?["names"],
        json!([host, format!("*.{host}")])
    );
    let (st, up) = p
        .patch(&format!("/api/v1/sites/{site_id}"), &client_a, json!({ "aliases": [] }))
        .await?;
    assert_eq!(st, StatusCode::OK, "{up}");
    job_done(p, &client_a, &s(&up["job_id"])).await?;
    let (st, o) = order(json!({ "site_id": site_id })).await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{o}");
    job_done(p, &client_a, &s(&o["job_id"])).await?;
    assert_eq!(cert(p, &client_a, &cid).await?["names"], json!([host]));
    let (st, up) = p
        .patch(
            &format!("/api/v1/sites/{site_id}"),
            &client_a,
            json!({ "aliases": [alias] }),
        )
        .await?;
    assert_eq!(st, StatusCode::OK, "{up}");
    job_done(p, &client_a, &s(&up["job_id"])).await?;
    let follow = latest_issue().await?;
    assert_ne!(follow, s(&o["job_id"]), "the alias started a re-order");
    job_done(p, &client_a, &follow).await?;
    let c6 = cert(p, &client_a, &cid).await?;
    assert_eq!(c6["names"], json!([host, alias]), "{c6}");
    let mut names = served(env, &alias, &env.root_pem).await?.1;
    names.sort();
    assert_eq!(names, vec![alias.clone(), host.clone()]);

    uploads(p, env, &client_a, &client_b, &site_id, &[&host, &alias], &cid).await?;

    // Pruning: files no kept revision names go (every renewal above left
    // one key and one chain behind); the live certificate keeps serving.
    let (_, pr) = p
        .post(
            "/api/v1/jobs",
            &root,
            json!({ "kind": "certificates.prune", "payload": { "min_age_s": 0 } }),
        )
        .await?;
    let done = job_done(p, &root, &s(&pr["id"])).await?;
    let gone = done["steps"][0]["artifact"]["local"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(gone.len() >= 2, "{done}");
    let mine = p
        .get(&format!("/api/v1/certificates?site_id={site_id}"), &client_a)
        .await?
        .1;
    let now_serial = s(&mine["items"][0]["serial"]);
    assert_eq!(served(env, &host, &env.root_pem).await?.0, now_serial);
    let (_, again) = p
        .post(
            "/api/v1/jobs",
            &root,
            json!({ "kind": "certificates.prune", "payload": { "min_age_s": 0 } }),
        )
        .await?;
    let again = job_done(p, &root, &s(&again["id"])).await?;
    assert_eq!(again["steps"][0]["artifact"]["local"], json!([]), "{again}");

    // Deleting the site deletes its certificate (and stops its renewals).
    let (st, del) = p.delete(&format!("/api/v1/sites/{site_id}"), &client_a).await?;
    assert!(st.is_success(), "{del}");
    let (st, _) = p.get(&format!("/api/v1/certificates/{cid}"), &client_a).await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    Ok(())
}

/// Self-signed test certificates (rcgen): (chain PEM, key PEM).
fn self_signed(
    names: &[&str],
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> anyhow::Result<(String, String)> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
    params.not_before = not_before;
    params.not_after = not_after;
    let c = params.self_signed(&key)?;
    Ok((c.pem(), key.serialize_pem()))
}

async fn uploads(
    p: &TestPanel,
    env: &Env,
    client_a: &str,
    client_b: &str,
    site_id: &str,
    names: &[&str],
    cid: &str,
) -> anyhow::Result<()> {
    let host = names[0];
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let up = |token: &str, b: Value| {
        let token = token.to_owned();
        async move { p.post("/api/v1/certificates/upload", &token, b).await }
    };
    let (good, good_key) = self_signed(names, now - day, now + day * 60)?;
    let (_, other_key) = self_signed(names, now - day, now + day * 60)?;
    // Covers the domain but not the alias.
    let (partial, partial_key) = self_signed(&[host], now - day, now + day * 60)?;
    let (foreign, foreign_key) = self_signed(&["someone-else.example"], now - day, now + day * 60)?;
    let (expired, expired_key) = self_signed(names, now - day * 90, now - day)?;
    let before = cert(p, client_a, cid).await?;
    for (body, field) in [
        (
            json!({ "site_id": site_id, "certificate": "garbage", "private_key": good_key }),
            "certificate",
        ),
        (
            json!({ "site_id": site_id, "certificate": good_key, "private_key": good_key }),
            "certificate",
        ),
        (
            json!({ "site_id": site_id, "certificate": good, "private_key": other_key }),
            "private_key",
        ),
        (
            json!({ "site_id": site_id, "certificate": good, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }),
            "private_key",
        ),
        (
            json!({ "site_id": site_id, "certificate": foreign, "private_key": foreign_key }),
            "certificate",
        ),
        (
            json!({ "site_id": site_id, "certificate": partial, "private_key": partial_key }),
            "certificate",
        ),
        (
            json!({ "site_id": site_id, "certificate": expired, "private_key": expired_key }),
            "certificate",
        ),
    ] {
        let (st, v) = up(client_a, body).await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["details"]["field"], field, "{v}");
        let key_line = good_key.lines().nth(1).unwrap_or("none");
        assert!(!v.to_string().contains(key_line), "no key material echoed back: {v}");
    }
    let (st, v) = up(
        client_a,
        json!({ "site_id": site_id, "certificate": "x".repeat(300_000), "private_key": good_key }),
    )
    .await?;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let (st, _) = up(
        client_b,
        json!({ "site_id": site_id, "certificate": good, "private_key": good_key }),
    )
    .await?;
    assert_eq!(st, StatusCode::NOT_FOUND, "another tenant's site");
    assert_eq!(
        cert(p, client_a, cid).await?["serial"],
        before["serial"],
        "refused uploads changed nothing"
    );

    let (st, v) = up(
        client_a,
        json!({ "site_id": site_id, "certificate": good, "private_key": good_key }),
    )
    .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    job_done(p, client_a, &s(&v["job_id"])).await?;
    let c = cert(p, client_a, cid).await?;
    assert_eq!(c["source"], "custom");
    assert_eq!(c["key_type"], "ecdsa-p256");
    assert_eq!(c["challenge"], Value::Null);
    let (serial, _, _, _) = served(env, host, &good).await?;
    assert_eq!(serial, s(&c["serial"]), "the uploaded certificate is served");
    let (st, v) = p
        .post(&format!("/api/v1/certificates/{cid}/renew"), client_a, json!({}))
        .await?;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "uploads are not renewed by Berth: {v}"
    );
    let (_, audit) = p.get("/api/v1/audit?action=certificate.upload", client_a).await?;
    assert!(!audit.to_string().contains("PRIVATE KEY"), "no key in the audit log");

    // Deleting the certificate: plain HTTP serves again, HTTPS is refused.
    let (st, v) = p.delete(&format!("/api/v1/certificates/{cid}"), client_a).await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    job_done(p, client_a, v["job_ids"][0].as_str().unwrap_or_default()).await?;
    let (code, _) = get_path(env.web, host, "/").await?;
    assert_eq!(code, 200);
    assert!(
        served(env, host, &good).await.is_err(),
        "no HTTPS without a certificate"
    );
    // Order again for the deletion test that follows.
    let (st, o) = p
        .post("/api/v1/certificates", client_a, json!({ "site_id": site_id }))
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{o}");
    job_done(p, client_a, &s(&o["job_id"])).await?;
    Ok(())
}

/// A CA that requires External Account Binding: without the binding the
/// account cannot be made (the certificate says why); with the key id and
/// HMAC key in the settings it is, and the certificate is issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_account_binding() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let pdns = PowerDnsServer::start()?;
    for t in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let (web, https) = (free_addr()?, free_addr()?);
        let hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
        let pebble = Pebble::start_with_eab(
            web.port(),
            SocketAddr::from(([127, 0, 0, 1], pdns.dns_port)),
            "kid-1",
            hmac,
        )?;
        let (p, root, _nginx) = acme_panel(t, tmp.path(), (web, https), &pdns, &pebble, 4).await?;
        let sfx = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let tenant = p.tenant(&root, &format!("eab{sfx}"), None).await?;
        let _users = crate::sites::DeleteUsers(vec![format!("eab{sfx}")]);
        let zone = format!("eab{sfx}.test");
        let (st, z) = p
            .post(
                "/api/v1/dns/zones",
                &root,
                json!({ "tenant_id": tenant, "name": zone, "records": [] }),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{z}");
        job_done(&p, &root, &s(&z["job_id"])).await?;
        let (_, site) = p
            .post(
                "/api/v1/sites",
                &root,
                json!({ "tenant_id": tenant, "domain": format!("www.{zone}"), "kind": { "type": "static" } }),
            )
            .await?;
        job_done(&p, &root, &s(&site["job_id"])).await?;
        let zid = s(&z["zone"]["id"]);
        if let Some(j) = p.get(&format!("/api/v1/dns/zones/{zid}"), &root).await?.1["last_job_id"].as_str() {
            job_done(&p, &root, j).await?;
        }
        let (_, o) = p
            .post("/api/v1/certificates", &root, json!({ "site_id": site["site"]["id"] }))
            .await?;
        let err = job_failed(&p, &root, &s(&o["job_id"])).await?;
        assert!(err.contains("could not make an ACME account"), "{err}");
        let cid = s(&o["certificate"]["id"]);
        assert_eq!(cert(&p, &root, &cid).await?["status"], "failed");
        set(&p, &root, "acme.eab_key_id", json!("kid-1")).await?;
        set(&p, &root, "acme.eab_hmac_key", json!(hmac)).await?;
        let (st, r) = p
            .post(&format!("/api/v1/certificates/{cid}/renew"), &root, json!({}))
            .await?;
        assert_eq!(st, StatusCode::ACCEPTED, "{r}");
        job_done(&p, &root, &s(&r["job_id"]))
            .await
            .map_err(|e| anyhow::anyhow!("{e}\n{}", pebble.log()))?;
        let c = cert(&p, &root, &cid).await?;
        assert_eq!(c["status"], "valid", "{c}");
        assert_eq!(c["failures"], 0);
    }
    Ok(())
}
