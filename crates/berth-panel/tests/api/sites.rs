//! Websites end to end: the API creates a site, a job applies it through the
//! local node's executor, and real nginx serves it by Host header. Static,
//! proxy and redirect sites; quotas; domain conflicts across tenants;
//! suspension; deletion; hostile names. Tenant Linux users are created for
//! real (the test runs as root, like the agent) and removed at the end.

use crate::common::{ADMIN_EMAIL, TestPanel, code, config, serve_with};
use berth_agent::node::NodeConfig;
use berth_proto::desired::NginxMainSpec;
use berth_proto::{AbsPath, AccountName};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// GET / by Host header; (status, headers+body text).
pub(crate) async fn get(addr: SocketAddr, host: &str) -> anyhow::Result<(u16, String)> {
    get_path(addr, host, "/").await
}

/// GET a path by Host header; (status, headers+body text).
pub(crate) async fn get_path(addr: SocketAddr, host: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok((
        text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0),
        text,
    ))
}

pub(crate) async fn job_done(p: &TestPanel, token: &str, id: &str) -> anyhow::Result<Value> {
    for _ in 0..400 {
        let (_, j) = p.get(&format!("/api/v1/jobs/{id}"), token).await?;
        match j["state"].as_str() {
            Some("succeeded") => return Ok(j),
            Some("dead") | Some("cancelled") => anyhow::bail!("job {id} ended {}: {}", j["state"], j["last_error"]),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    anyhow::bail!("job {id} did not finish")
}

/// A tiny HTTP app on loopback for the proxy site.
async fn app() -> anyhow::Result<SocketAddr> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nhello-from-app")
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The node's history through the API: revisions, drift found and
/// overwritten by a job, and a rollback that brings a deleted site back.
async fn history(p: &TestPanel, web: SocketAddr, prefix: &std::path::Path, a_dom: &str) -> anyhow::Result<()> {
    let root = p.admin().await?;
    let (s, revs) = p.get("/api/v1/nodes/local/revisions", &root).await?;
    assert_eq!(s, StatusCode::OK, "{revs}");
    let revs = revs.as_array().cloned().unwrap_or_default();
    assert!(revs.len() >= 5, "{revs:?}");
    assert_eq!(revs[0]["live"], true, "newest first, and live");
    let (s, _) = p.get("/api/v1/nodes/elsewhere/revisions", &root).await?;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A hand edit of a live file is reported, then overwritten by a job.
    let sites_dir = prefix.join("current/sites");
    let edited = std::fs::read_dir(&sites_dir)?
        .flatten()
        .map(|e| e.path())
        .next()
        .ok_or_else(|| anyhow::anyhow!("no live site files"))?;
    let mut text = std::fs::read_to_string(&edited)?;
    text.push_str("# edited by hand\n");
    std::fs::write(&edited, text)?;
    let (_, drift) = p.get("/api/v1/nodes/local/drift", &root).await?;
    assert_eq!(drift.as_array().map(Vec::len), Some(1), "{drift}");
    let (s, v) = p
        .post("/api/v1/nodes/local/drift", &root, json!({ "action": "overwrite" }))
        .await?;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    let (_, drift) = p.get("/api/v1/nodes/local/drift", &root).await?;
    assert_eq!(drift.as_array().map(Vec::len), Some(0), "{drift}");
    assert!(!std::fs::read_to_string(&edited)?.contains("edited by hand"));

    // Revision 1 had only site A: rolling back to it serves A again.
    assert_eq!(get(web, a_dom).await?.0, 404);
    let (s, v) = p
        .post("/api/v1/nodes/local/rollback", &root, json!({ "rev": 1 }))
        .await?;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    assert_eq!(get(web, a_dom).await?.0, 200);
    let (s, _) = p
        .post("/api/v1/nodes/local/rollback", &root, json!({ "rev": 9999 }))
        .await?;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, journal) = p.get("/api/v1/nodes/local/journal", &root).await?;
    let events: Vec<&str> = journal
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(events.contains(&"applied"), "{events:?}");
    // A full rebuild renders what the database says: the rolled-back site A
    // (deleted in the database) goes again, the redirect site stays.
    let (s, v) = p.post("/api/v1/nodes/local/rebuild", &root, json!({})).await?;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let job = job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    assert!(job["steps"][0]["artifact"]["sites"].as_u64().is_some(), "{job}");
    assert_eq!(get(web, a_dom).await?.0, 404);
    let (_, audit) = p.get("/api/v1/audit?action=node.", &root).await?;
    assert_eq!(audit["total"], 3, "{audit}");
    templates(p, &root, web, prefix.parent().unwrap_or(prefix)).await?;
    Ok(())
}

/// Wait for a job to end either way; its final state.
async fn job_end(p: &TestPanel, token: &str, id: &str) -> anyhow::Result<Value> {
    for _ in 0..400 {
        let (_, j) = p.get(&format!("/api/v1/jobs/{id}"), token).await?;
        if matches!(
            j["state"].as_str(),
            Some("succeeded") | Some("dead") | Some("cancelled")
        ) {
            return Ok(j);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("job {id} did not finish")
}

/// The operator's server-block template: one that does not parse or that
/// nginx refuses changes nothing (and a site keeps answering throughout);
/// a good one is used for every site and later changes; removing it brings
/// the built-in back.
async fn templates(p: &TestPanel, root: &str, web: SocketAddr, dir: &std::path::Path) -> anyhow::Result<()> {
    let (_, list) = p.get("/api/v1/sites", root).await?;
    let host = list["items"][0]["domain"].as_str().unwrap_or_default().to_owned();
    let tdir = dir.join("templates");
    std::fs::create_dir_all(&tdir)?;
    let file = tdir.join("nginx-vhost.conf.j2");
    let activate = || async {
        let (s, v) = p
            .post("/api/v1/nodes/local/templates/activate", root, json!({}))
            .await?;
        anyhow::ensure!(s == StatusCode::ACCEPTED, "{v}");
        job_end(p, root, v["job_id"].as_str().unwrap_or_default()).await
    };
    let answers = |text: &str| text.contains("X-Berth-Site");
    // Keep asking one site while bad templates are tried.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hammer = {
        let (stop, failures, host) = (stop.clone(), failures.clone(), host.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match get(web, &host).await {
                    Ok((_, t)) if t.contains("X-Berth-Site") => {}
                    _ => {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            n
        })
    };
    for (bad, why) in [
        ("{{ builtin ", "not a template"),
        ("{{ sitee.server_names }}", "did not render"),
        ("{{ builtin }}bogus_directive on;\n", "bogus_directive"),
    ] {
        std::fs::write(&file, bad)?;
        let j = activate().await?;
        assert_eq!(j["state"], "dead", "{bad}: {j}");
        assert!(j["last_error"].as_str().unwrap_or_default().contains(why), "{bad}: {j}");
        assert!(!tdir.join("active/nginx-vhost.conf.j2").exists());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let made = hammer.await?;
    assert!(made > 10, "only {made} requests");
    assert_eq!(
        failures.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "a request failed during the attempts"
    );
    let (_, before) = get(web, &host).await?;
    assert!(answers(&before) && !before.contains("X-Operator"), "{before}");
    // A good one: every site gets the extra header.
    std::fs::write(
        &file,
        "{{ builtin | replace(\"    add_header X-Berth-Site\", \"    add_header X-Operator yes always;\\n    add_header X-Berth-Site\") }}",
    )?;
    let j = activate().await?;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert_eq!(j["steps"][0]["artifact"]["override"], true);
    assert!(get(web, &host).await?.1.contains("X-Operator: yes"));
    assert!(tdir.join("active/nginx-vhost.conf.j2").exists());
    // Gone again: the built-in template.
    std::fs::remove_file(&file)?;
    let j = activate().await?;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert!(!get(web, &host).await?.1.contains("X-Operator"));
    Ok(())
}

/// Removes the tenants' Linux users when dropped, also on a panic.
pub(crate) struct DeleteUsers(pub Vec<String>);

impl Drop for DeleteUsers {
    #[allow(clippy::disallowed_methods)] // Drop cannot await the async Cmd
    fn drop(&mut self) {
        for u in &self.0 {
            let _ = std::process::Command::new("/usr/sbin/userdel")
                .arg(u)
                .env_clear()
                .status();
            // userdel keeps a group with other members (the web user).
            let _ = std::process::Command::new("/usr/sbin/groupdel")
                .arg(u)
                .env_clear()
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// A local node under `dir` (which must be 0755): homes, nginx, PHP.
pub(crate) fn node_config(dir: &std::path::Path, web: SocketAddr) -> anyhow::Result<NodeConfig> {
    let abs = |p: std::path::PathBuf| AbsPath::parse(&p.display().to_string());
    Ok(NodeConfig {
        homes_root: abs(dir.join("homes"))?,
        nginx: NginxMainSpec {
            prefix: abs(dir.join("nginx"))?,
            workers: 1,
            default_listen: vec![web],
            default_tls_listen: vec![],
            user: Some(AccountName::parse("berth-web")?),
        },
        web_listen: vec![web],
        php_root: abs(dir.join("php"))?,
        php_sbin: "/usr/sbin".into(),
        dns: Default::default(),
        templates_dir: Some(dir.join("templates")),
        certs: berth_agent::certs::CertsConfig {
            https_listen: vec![],
            acme_root: abs(dir.join("acme"))?,
            dir: dir.join("tls"),
        },
        services: berth_agent::systemd::ServiceManager::Agent,
        databases: Default::default(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_are_served_by_real_nginx() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    for t in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let web = free_addr()?;
        let homes = tmp.path().join("homes");
        let mut cfg = config();
        cfg.node = Some(node_config(tmp.path(), web)?);
        let _nginx = berth_agent::nginx::StopOnDrop {
            prefix: tmp.path().join("nginx"),
        };
        let (url, db, stop, task, node) = serve_with(&t.url, cfg).await?;
        let _node = node.ok_or_else(|| anyhow::anyhow!("the local node did not start"))?;
        let p = TestPanel::attach(t, url, db, stop, task);
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let (ta, tb) = (format!("ta{suffix}"), format!("tb{suffix}"));
        let _users = DeleteUsers(vec![ta.clone(), tb.clone()]);
        scenario(&p, web, &homes, &ta, &tb, &suffix).await?;
        history(&p, web, &tmp.path().join("nginx"), &format!("a-{suffix}.test")).await?;
    }
    Ok(())
}

async fn scenario(
    p: &TestPanel,
    web: SocketAddr,
    homes: &std::path::Path,
    ta: &str,
    tb: &str,
    suffix: &str,
) -> anyhow::Result<()> {
    let root = p.admin().await?;
    let _ = ADMIN_EMAIL;
    let (_, pkg) = p
        .post(
            "/api/v1/packages",
            &root,
            json!({ "name": "Two sites", "limits": { "sites": 2, "domains": 3 } }),
        )
        .await?;
    let tenant_a = p.tenant(&root, ta, None).await?;
    p.patch(
        &format!("/api/v1/tenants/{tenant_a}"),
        &root,
        json!({ "package_id": pkg["id"] }),
    )
    .await?;
    let tenant_b = p.tenant(&root, tb, None).await?;
    let (_, client_a) = p
        .user(&root, &format!("owner@{ta}.example"), "client", Some(&tenant_a))
        .await?;
    let a_dom = format!("a-{suffix}.test");

    // A static site, created by the tenant's own client account.
    let (s, v) = p
        .post(
            "/api/v1/sites",
            &client_a,
            json!({ "tenant_id": tenant_a, "domain": a_dom, "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "[{}] {v}", p.backend);
    let site_a = v["site"]["id"].as_str().unwrap_or_default().to_owned();
    let job = job_done(p, &client_a, v["job_id"].as_str().unwrap_or_default()).await?;
    assert!(
        job["steps"][0]["artifact"]["config"]
            .as_str()
            .unwrap_or_default()
            .contains(&a_dom)
    );
    let (status, body) = get(web, &a_dom).await?;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ready for its content"), "{body}");
    // The layout the isolation research proved: root-owned parents, a
    // tenant-owned web root, and the tenant's own Linux user.
    let home = homes.join(ta);
    let meta = std::fs::metadata(&home)?;
    assert_eq!(meta.permissions().mode() & 0o777, 0o750);
    let user = berth_sys::users::lookup(ta)?.ok_or_else(|| anyhow::anyhow!("no user {ta}"))?;
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (0, user.gid));
    let docroot = home.join("domains").join(&a_dom).join("public_html");
    assert_eq!(std::fs::metadata(&docroot)?.uid(), user.uid);
    std::fs::write(docroot.join("index.html"), "hello from A")?;
    assert!(get(web, &a_dom).await?.1.ends_with("hello from A"));

    // A proxy site to a local app.
    let upstream = app().await?;
    let b_dom = format!("app-{suffix}.test");
    let (s, v) = p
        .post("/api/v1/sites", &client_a, json!({ "tenant_id": tenant_a, "domain": b_dom, "kind": { "type": "proxy", "upstream": upstream.to_string() } }))
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    job_done(p, &client_a, v["job_id"].as_str().unwrap_or_default()).await?;
    assert!(get(web, &b_dom).await?.1.ends_with("hello-from-app"));

    // The package allows two sites.
    let (s, v) = p
        .post(
            "/api/v1/sites",
            &client_a,
            json!({ "tenant_id": tenant_a, "domain": format!("c-{suffix}.test"), "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "limit_exceeded"), "{v}");

    // Another tenant cannot take a domain in use, nor proxy off loopback.
    let (s, v) = p
        .post(
            "/api/v1/sites",
            &root,
            json!({ "tenant_id": tenant_b, "domain": a_dom, "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = p
        .post("/api/v1/sites", &root, json!({ "tenant_id": tenant_b, "domain": format!("x-{suffix}.test"), "kind": { "type": "proxy", "upstream": "10.0.0.1:80" } }))
        .await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = p
        .post(
            "/api/v1/sites",
            &root,
            json!({ "tenant_id": tenant_b, "domain": format!("y-{suffix}.test"), "kind": { "type": "proxy", "upstream": "127.0.0.1:0" } }),
        )
        .await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "port 0");
    for bad in [
        "test..com",
        "a;b.test",
        "a{b}.test",
        "\"q\".test",
        "a b.test",
        "x.test\nserver_name evil",
    ] {
        let (s, v) = p
            .post(
                "/api/v1/sites",
                &root,
                json!({ "tenant_id": tenant_b, "domain": bad, "kind": { "type": "static" } }),
            )
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {v}");
    }
    // A redirect site for tenant B.
    let r_dom = format!("old-{suffix}.test");
    let (s, v) = p
        .post("/api/v1/sites", &root, json!({ "tenant_id": tenant_b, "domain": r_dom, "kind": { "type": "redirect", "to": "https://new.example.com/", "permanent": true } }))
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    let (status, text) = get(web, &r_dom).await?;
    assert_eq!(status, 301);
    assert!(text.contains("Location: https://new.example.com/"), "{text}");
    // Tenant A's client sees only A's sites.
    let (_, list) = p.get("/api/v1/sites", &client_a).await?;
    assert_eq!(list["total"], 2);
    let (s, _) = p
        .get(
            &format!("/api/v1/sites/{}", v["site"]["id"].as_str().unwrap_or_default()),
            &client_a,
        )
        .await?;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The site's logs through the API, a page at a time; not another tenant's.
    let _ = get_path(web, &a_dom, "/no-such-page").await?;
    let (s, log) = p
        .get(&format!("/api/v1/sites/{site_a}/logs?lines=2"), &client_a)
        .await?;
    assert_eq!(s, StatusCode::OK, "{log}");
    let lines = log["lines"].as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[1].as_str().unwrap_or_default().contains("GET /no-such-page"),
        "{log}"
    );
    let before = log["next_before"].as_u64().unwrap_or_default();
    assert!(before > 0, "{log}");
    let (_, older) = p
        .get(
            &format!("/api/v1/sites/{site_a}/logs?lines=1000&before={before}"),
            &client_a,
        )
        .await?;
    assert!(older["lines"].as_array().is_some_and(|l| !l.is_empty()), "{older}");
    // A directory without an index: nginx refuses it and says so in the log.
    let listing = docroot.join("listing");
    std::fs::create_dir(&listing)?;
    std::os::unix::fs::chown(&listing, Some(user.uid), Some(user.gid))?;
    assert_eq!(get_path(web, &a_dom, "/listing/").await?.0, 403);
    let (_, err) = p
        .get(&format!("/api/v1/sites/{site_a}/logs?log=error"), &client_a)
        .await?;
    assert!(err["lines"].to_string().contains("listing"), "{err}");
    let (s, _) = p
        .get(&format!("/api/v1/sites/{site_a}/logs?lines=5000"), &client_a)
        .await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = p
        .get(&format!("/api/v1/sites/{site_a}/logs?log=../../etc/passwd"), &client_a)
        .await?;
    assert!(s.is_client_error());
    let b_site = list["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let (s, _) = p
        .get(
            &format!("/api/v1/sites/{}/logs", v["site"]["id"].as_str().unwrap_or_default()),
            &client_a,
        )
        .await?;
    assert_eq!(s, StatusCode::NOT_FOUND, "tenant B's site");
    let _ = b_site;

    // A client cannot lift a suspension; suspending the tenant serves the
    // suspension page on all its sites, unsuspending brings them back.
    let (s, _) = p
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/sites/{site_a}/unsuspend"),
            Some(&client_a),
            None,
        )
        .await?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, t) = p
        .post(&format!("/api/v1/tenants/{tenant_a}/suspend"), &root, json!({}))
        .await?;
    assert_eq!(t["status"], "suspended");
    let (_, jobs) = p
        .get(
            &format!("/api/v1/jobs?kind=site.apply&tenant_id={tenant_a}&limit=2"),
            &root,
        )
        .await?;
    for j in jobs["items"].as_array().into_iter().flatten() {
        job_done(p, &root, j["id"].as_str().unwrap_or_default()).await?;
    }
    let (status, body) = get(web, &a_dom).await?;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("suspended"));
    p.call(
        reqwest::Method::POST,
        &format!("/api/v1/tenants/{tenant_a}/unsuspend"),
        Some(&root),
        None,
    )
    .await?;
    let (_, jobs) = p
        .get(
            &format!("/api/v1/jobs?kind=site.apply&tenant_id={tenant_a}&limit=2"),
            &root,
        )
        .await?;
    for j in jobs["items"].as_array().into_iter().flatten() {
        job_done(p, &root, j["id"].as_str().unwrap_or_default()).await?;
    }
    assert!(get(web, &a_dom).await?.1.ends_with("hello from A"));

    // Deleting with files removes the site's directory.
    let (_, sites_now) = p.get(&format!("/api/v1/sites?q=app-{suffix}"), &root).await?;
    let app_site = sites_now["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let app_dir = home.join("domains").join(&b_dom);
    assert!(app_dir.exists());
    let (s, v) = p
        .delete(&format!("/api/v1/sites/{app_site}?delete_files=true"), &root)
        .await?;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    assert!(!app_dir.exists(), "the files went with the site");

    // Deleting a site takes it off nginx; its files stay.
    let (s, v) = p.delete(&format!("/api/v1/sites/{site_a}"), &root).await?;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    assert_eq!(get(web, &a_dom).await?.0, 404, "the default server answers");
    assert!(docroot.join("index.html").exists());
    Ok(())
}
