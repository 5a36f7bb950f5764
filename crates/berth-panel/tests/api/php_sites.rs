//! PHP sites end to end with real nginx and real PHP-FPM: one master per
//! tenant running as the tenant, package limits in the pool, per-site ini
//! overrides, isolation between tenants (also through a planted symlink),
//! www handling, path redirects, error pages, the supervisor bringing a
//! killed master back, and pools stopped when their last site goes.

use crate::common::{TestPanel, config, serve_with};
use crate::sites::{DeleteUsers, free_addr, get_path, job_done, node_config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PROBE: &str = r#"<?php
$f = $_GET['f'] ?? null;
echo json_encode([
    'uid' => posix_geteuid(),
    'user' => posix_getpwuid(posix_geteuid())['name'],
    'memory_limit' => ini_get('memory_limit'),
    'max_input_vars' => ini_get('max_input_vars'),
    'upload' => ini_get('upload_max_filesize'),
    'tz' => ini_get('date.timezone'),
    'read' => $f === null ? null : (@file_get_contents($f) === false ? 'denied' : 'read'),
    'shell' => $f === null ? null : (@shell_exec('cat ' . escapeshellarg($f) . ' 2>&1') ?? ''),
]);
"#;

/// The JSON body of a PHP probe answer.
async fn probe(web: SocketAddr, host: &str, query: &str) -> anyhow::Result<Value> {
    let (status, text) = get_path(web, host, &format!("/probe.php{query}")).await?;
    anyhow::ensure!(status == 200, "probe on {host}: {status}\n{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    // nginx may answer chunked: take the JSON object out of the body.
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |i| i + 1);
    Ok(serde_json::from_str(&body[start..end])?)
}

fn put_file(path: &Path, text: &str, uid: u32, gid: u32, mode: u32) -> anyhow::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
        std::os::unix::fs::chown(d, Some(uid), Some(gid))?;
    }
    std::fs::write(path, text)?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_sites_run_as_their_tenant() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    if berth_agent::php::installed_versions(Path::new("/usr/sbin")).is_empty() {
        // scripts/test installs php-fpm; a bare `cargo test` may not have it.
        anyhow::ensure!(
            std::env::var("BERTH_TEST_REQUIRE_PG").is_err(),
            "php-fpm is not installed (scripts/test installs it)"
        );
        return Ok(());
    }
    for t in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let web = free_addr()?;
        let mut cfg = config();
        cfg.node = Some(node_config(tmp.path(), web)?);
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let (ta, tb) = (format!("pa{suffix}"), format!("pb{suffix}"));
        // Dropped in reverse order: masters stop before their users go.
        let _users = DeleteUsers(vec![ta.clone(), tb.clone()]);
        let _nginx = berth_agent::nginx::StopOnDrop {
            prefix: tmp.path().join("nginx"),
        };
        let _pools = berth_agent::php::StopPoolsOnDrop {
            root: tmp.path().join("php"),
        };
        let (url, db, stop, task, node) = serve_with(&t.url, cfg).await?;
        let _node = node.ok_or_else(|| anyhow::anyhow!("the local node did not start"))?;
        let p = TestPanel::attach(t, url, db, stop, task);
        scenario(&p, web, tmp.path(), &ta, &tb, &suffix).await?;
    }
    Ok(())
}

async fn create(p: &TestPanel, token: &str, body: Value) -> anyhow::Result<(String, Value)> {
    let (s, v) = p.post("/api/v1/sites", token, body).await?;
    anyhow::ensure!(s == StatusCode::CREATED, "[{}] create: {s} {v}", p.backend);
    let job = job_done(p, token, v["job_id"].as_str().unwrap_or_default()).await?;
    Ok((v["site"]["id"].as_str().unwrap_or_default().to_owned(), job))
}

async fn scenario(p: &TestPanel, web: SocketAddr, dir: &Path, ta: &str, tb: &str, suffix: &str) -> anyhow::Result<()> {
    let root = p.admin().await?;
    let (s, pkg) = p
        .post(
            "/api/v1/packages",
            &root,
            json!({ "name": format!("PHP {suffix}"), "limits": { "php_workers": 3, "php_memory_mb": 96, "php_upload_mb": 20 } }),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{pkg}");
    let tenant_a = p.tenant(&root, ta, None).await?;
    p.patch(
        &format!("/api/v1/tenants/{tenant_a}"),
        &root,
        json!({ "package_id": pkg["id"] }),
    )
    .await?;
    let tenant_b = p.tenant(&root, tb, None).await?;

    let (s, versions) = p.get("/api/v1/php/versions", &root).await?;
    assert_eq!(s, StatusCode::OK, "{versions}");
    let newest = versions["default"].as_str().unwrap_or_default().to_owned();
    assert!(!newest.is_empty(), "{versions}");

    // Tenant A: a PHP site with ini overrides, www → bare, path redirects
    // and an error page.
    let a1 = format!("php-a-{suffix}.test");
    let (site_a1, job) = create(
        p,
        &root,
        json!({ "tenant_id": tenant_a, "domain": a1,
            "kind": { "type": "php", "ini": { "max_input_vars": "3000", "date.timezone": "Europe/Berlin" } },
            "options": { "www": "redirect_to_bare",
                "redirects": [ { "from": "/old", "to": "/new", "code": 301 },
                               { "from": "/away", "to": "https://example.net/x?y=1", "code": 302 } ],
                "error_pages": { "404": "/errors/404.html" } } }),
    )
    .await?;
    let art = &job["steps"][0]["artifact"];
    assert!(
        art["php_pool"]["revision"].as_u64().is_some(),
        "the pool was applied: {art}"
    );
    let (_, site) = p.get(&format!("/api/v1/sites/{site_a1}"), &root).await?;
    assert_eq!(
        site["kind"]["version"],
        newest.as_str(),
        "the version is pinned: {site}"
    );
    // A second PHP site of A without overrides (same pool).
    let a2 = format!("php-a2-{suffix}.test");
    create(
        p,
        &root,
        json!({ "tenant_id": tenant_a, "domain": a2, "kind": { "type": "php" } }),
    )
    .await?;
    // Tenant B: a PHP site with a secret.
    let b1 = format!("php-b-{suffix}.test");
    let (site_b1, _) = create(
        p,
        &root,
        json!({ "tenant_id": tenant_b, "domain": b1, "kind": { "type": "php", "version": newest } }),
    )
    .await?;

    let homes = dir.join("homes");
    let ua = berth_sys::users::lookup(ta)?.ok_or_else(|| anyhow::anyhow!("no user {ta}"))?;
    let ub = berth_sys::users::lookup(tb)?.ok_or_else(|| anyhow::anyhow!("no user {tb}"))?;
    let docroot = |t: &str, d: &str| -> PathBuf { homes.join(t).join("domains").join(d).join("public_html") };
    for (t, d, u) in [(ta, &a1, &ua), (ta, &a2, &ua), (tb, &b1, &ub)] {
        put_file(&docroot(t, d).join("probe.php"), PROBE, u.uid, u.gid, 0o640)?;
    }
    let secret = docroot(tb, &b1).join("secret.txt");
    put_file(&secret, "secret-of-b", ub.uid, ub.gid, 0o640)?;
    put_file(
        &docroot(ta, &a1).join("errors/404.html"),
        "custom-not-found",
        ua.uid,
        ua.gid,
        0o644,
    )?;

    // PHP runs as the tenant, with the package's limits and the site's ini.
    let v = probe(web, &a1, "").await?;
    assert_eq!(v["uid"], ua.uid, "{v}");
    assert_eq!(v["user"], ta);
    assert_eq!(v["memory_limit"], "96M");
    assert_eq!(v["upload"], "20M");
    assert_eq!(v["max_input_vars"], "3000");
    assert_eq!(v["tz"], "Europe/Berlin");
    let v = probe(web, &b1, "").await?;
    assert_eq!(v["uid"], ub.uid, "{v}");
    assert_eq!(v["memory_limit"], "256M", "Berth's default without a package");
    // One site's overrides do not leak into another site of the same pool
    // (the pool has 3 workers; enough requests reach all of them).
    for _ in 0..6 {
        probe(web, &a1, "").await?;
    }
    for _ in 0..6 {
        let v = probe(web, &a2, "").await?;
        assert_eq!(v["max_input_vars"], "1000", "{v}");
    }

    // Raising the package's memory limit reaches the running pool.
    let (s, v) = p
        .patch(
            &format!("/api/v1/packages/{}", pkg["id"].as_str().unwrap_or_default()),
            &root,
            json!({ "limits": { "php_workers": 3, "php_memory_mb": 128, "php_upload_mb": 20 } }),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, jobs) = p
        .get(
            &format!("/api/v1/jobs?kind=site.apply&tenant_id={tenant_a}&limit=2"),
            &root,
        )
        .await?;
    for j in jobs["items"].as_array().into_iter().flatten() {
        job_done(p, &root, j["id"].as_str().unwrap_or_default()).await?;
    }
    assert_eq!(probe(web, &a1, "").await?["memory_limit"], "128M");

    // The operator's PHP-FPM template: refused when php-fpm refuses it (the
    // pools keep their config), used for every pool when it is good.
    let tdir = dir.join("templates");
    std::fs::create_dir_all(&tdir)?;
    let tpl = tdir.join("php-fpm-pool.conf.j2");
    let activate = || async {
        let (s, v) = p
            .post("/api/v1/nodes/local/templates/activate", &root, json!({}))
            .await?;
        anyhow::ensure!(s == StatusCode::ACCEPTED, "{v}");
        let id = v["job_id"].as_str().unwrap_or_default().to_owned();
        for _ in 0..400 {
            let (_, j) = p.get(&format!("/api/v1/jobs/{id}"), &root).await?;
            if matches!(j["state"].as_str(), Some("succeeded") | Some("dead")) {
                return Ok(j);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("job {id} did not finish")
    };
    std::fs::write(&tpl, "{{ builtin }}\nbogus_directive = 1\n")?;
    let j = activate().await?;
    assert_eq!(j["state"], "dead", "{j}");
    assert_eq!(probe(web, &a2, "").await?["max_input_vars"], "1000");
    std::fs::write(
        &tpl,
        "{{ builtin | replace(\"php_admin_flag[log_errors] = on\", \"php_admin_flag[log_errors] = on\\nphp_admin_value[max_input_vars] = 1234\") }}",
    )?;
    let j = activate().await?;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert_eq!(probe(web, &a2, "").await?["max_input_vars"], "1234");
    std::fs::remove_file(&tpl)?;
    let j = activate().await?;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert_eq!(probe(web, &a2, "").await?["max_input_vars"], "1000");

    // Isolation: A's PHP cannot read B's files (open_basedir, and Unix
    // permissions for a shell), and a symlink A plants to B's file is
    // refused by nginx and by PHP.
    let q = format!("?f={}", secret.display());
    let v = probe(web, &a1, &q).await?;
    assert_eq!(v["read"], "denied", "{v}");
    assert!(!v["shell"].as_str().unwrap_or_default().contains("secret-of-b"), "{v}");
    let v = probe(web, &b1, &q).await?;
    assert_eq!(v["read"], "read", "B reads its own file: {v}");
    let link = docroot(ta, &a1).join("steal.txt");
    std::os::unix::fs::symlink(&secret, &link)?;
    std::os::unix::fs::lchown(&link, Some(ua.uid), Some(ua.gid))?;
    let (status, text) = get_path(web, &a1, "/steal.txt").await?;
    // try_files does not see the refused link, so it is a 404 here (a
    // static site answers 403); either way the content stays B's.
    assert_eq!(status, 404, "{text}");
    assert!(!text.contains("secret-of-b"), "{text}");
    let v = probe(web, &a1, &format!("?f={}", link.display())).await?;
    assert_eq!(v["read"], "denied", "{v}");
    // nginx workers reach A's socket through A's group; B's user cannot.
    let sock = dir.join("php").join(ta).join(&newest).join("run/php.sock");
    let mode = std::fs::metadata(&sock)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let ta_dir = std::fs::metadata(dir.join("php").join(ta))?.permissions().mode() & 0o777;
    assert_eq!(ta_dir, 0o750);
    // Dot-files are not served.
    put_file(&docroot(ta, &a1).join(".env"), "DB_PASSWORD=x", ua.uid, ua.gid, 0o640)?;
    assert_eq!(get_path(web, &a1, "/.env").await?.0, 403);

    // www, redirects and the error page.
    let (status, text) = get_path(web, &format!("www.{a1}"), "/some/page?q=1").await?;
    assert_eq!(status, 301, "{text}");
    assert!(text.contains(&format!("Location: http://{a1}/some/page?q=1")), "{text}");
    let (status, text) = get_path(web, &a1, "/old").await?;
    assert_eq!(status, 301);
    // nginx makes the path absolute (with the test's port).
    assert!(
        text.contains(&format!("Location: http://{a1}")) && text.contains("/new\r\n"),
        "{text}"
    );
    let (status, text) = get_path(web, &a1, "/away").await?;
    assert_eq!(status, 302);
    assert!(text.contains("Location: https://example.net/x?y=1"), "{text}");
    let (status, text) = get_path(web, &a1, "/missing.html").await?;
    assert_eq!(status, 404);
    assert!(text.contains("custom-not-found"), "{text}");
    // Front-controller routing: a missing path without a page goes to index.php.
    put_file(
        &docroot(ta, &a2).join("index.php"),
        "<?php echo 'routed:' . $_SERVER['REQUEST_URI'];",
        ua.uid,
        ua.gid,
        0o640,
    )?;
    let (status, text) = get_path(web, &a2, "/blog/hello").await?;
    assert_eq!(status, 200);
    assert!(text.contains("routed:/blog/hello"), "{text}");

    hostile(p, &root, &tenant_a, &tenant_b, &a1, &site_a1).await?;

    // The supervisor brings a killed master back (it checks every 5 s).
    let pid_file = dir.join("php").join(tb).join(&newest).join("run/php-fpm.pid");
    let pid: u32 = std::fs::read_to_string(&pid_file)?.trim().parse()?;
    berth_sys::Cmd::new("/usr/bin/kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .run()
        .await?;
    let mut new_pid = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        new_pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .filter(|p| *p != pid && berth_sys::procfs::alive(*p));
        if new_pid.is_some() {
            break;
        }
    }
    assert!(new_pid.is_some(), "the supervisor started a new master");
    assert_eq!(probe(web, &b1, "").await?["uid"], ub.uid);
    // The killed master's workers were ended, not left running under init.
    assert!(berth_sys::procfs::orphans(ub.uid, "php-fpm: pool ").is_empty());

    // nginx killed hard comes back too, and its orphaned workers go.
    let nginx_pid: u32 = std::fs::read_to_string(dir.join("nginx/run/nginx.pid"))?
        .trim()
        .parse()?;
    berth_sys::Cmd::new("/usr/bin/kill")
        .arg("-KILL")
        .arg(nginx_pid.to_string())
        .run()
        .await?;
    let mut back = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = std::fs::read_to_string(dir.join("nginx/run/nginx.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if now.is_some_and(|p| p != nginx_pid && berth_sys::procfs::alive(p)) {
            back = true;
            break;
        }
    }
    assert!(back, "the supervisor started nginx again");
    assert_eq!(probe(web, &b1, "").await?["uid"], ub.uid);

    // Taking the overrides away takes effect with the next apply.
    let (s, v) = p
        .patch(
            &format!("/api/v1/sites/{site_a1}"),
            &root,
            json!({ "kind": { "type": "php", "version": newest, "ini": {} } }),
        )
        .await?;
    assert_eq!(s, StatusCode::OK, "{v}");
    job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    assert_eq!(probe(web, &a1, "").await?["max_input_vars"], "1000");

    // When A's last PHP site goes, A's pool stops and its directory goes.
    let a_pool = dir.join("php").join(ta).join(&newest);
    let a_pid: u32 = std::fs::read_to_string(a_pool.join("run/php-fpm.pid"))?
        .trim()
        .parse()?;
    let (_, list) = p.get(&format!("/api/v1/sites?tenant_id={tenant_a}"), &root).await?;
    for s in list["items"].as_array().into_iter().flatten() {
        let (st, v) = p
            .delete(
                &format!("/api/v1/sites/{}", s["id"].as_str().unwrap_or_default()),
                &root,
            )
            .await?;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        job_done(p, &root, v["job_id"].as_str().unwrap_or_default()).await?;
    }
    assert!(!a_pool.exists(), "A's pool directory is gone");
    assert!(!berth_sys::procfs::alive(a_pid), "A's master stopped");
    // B's pool is untouched.
    assert_eq!(probe(web, &b1, "").await?["uid"], ub.uid);
    let _ = site_b1;
    Ok(())
}

/// Each refused with a 4xx naming the field; nothing changes.
async fn hostile(
    p: &TestPanel,
    root: &str,
    tenant_a: &str,
    tenant_b: &str,
    a1: &str,
    site_a1: &str,
) -> anyhow::Result<()> {
    let (_, before) = p.get(&format!("/api/v1/sites/{site_a1}"), root).await?;
    let (_, jobs_before) = p.get("/api/v1/jobs?kind=site.apply", root).await?;
    let bad_kinds = [
        json!({ "type": "php", "version": "5.6" }),
        json!({ "type": "php", "version": "8.2; rm -rf /" }),
        json!({ "type": "php", "ini": { "memory_limit": "4G" } }),
        json!({ "type": "php", "ini": { "open_basedir": "/" } }),
        json!({ "type": "php", "ini": { "display_errors": "On\nauto_prepend_file=/etc/passwd" } }),
        json!({ "type": "php", "ini": { "date.timezone": "x\"; fastcgi_pass evil" } }),
    ];
    for k in bad_kinds {
        let (s, v) = p
            .patch(&format!("/api/v1/sites/{site_a1}"), root, json!({ "kind": k }))
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{k}: {v}");
    }
    let bad_options = [
        json!({ "redirects": [ { "from": "/a/../b", "to": "/c", "code": 301 } ] }),
        json!({ "redirects": [ { "from": "/a", "to": "/c", "code": 200 } ] }),
        json!({ "redirects": [ { "from": "/a;return 200 x", "to": "/c", "code": 301 } ] }),
        json!({ "redirects": [ { "from": "/a", "to": "javascript:alert(1)", "code": 301 } ] }),
        json!({ "redirects": [ { "from": "/a", "to": "/a", "code": 301 } ] }),
        json!({ "error_pages": { "404": "/../../etc/passwd" } }),
        json!({ "error_pages": { "200": "/ok.html" } }),
        json!({ "error_pages": { "404": "errors/404.html" } }),
        json!({ "www": "sideways" }),
    ];
    for o in bad_options {
        let (s, v) = p
            .patch(&format!("/api/v1/sites/{site_a1}"), root, json!({ "options": o }))
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{o}: {v}");
    }
    // Error pages need the site's files.
    let (s, v) = p
        .post(
            "/api/v1/sites",
            root,
            json!({ "tenant_id": tenant_b, "domain": format!("px.{a1}"),
                "kind": { "type": "proxy", "upstream": "127.0.0.1:9" },
                "options": { "error_pages": { "502": "/502.html" } } }),
        )
        .await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The www partner of A's site is taken: B cannot claim it.
    let (s, v) = p
        .post(
            "/api/v1/sites",
            root,
            json!({ "tenant_id": tenant_b, "domain": format!("www.{a1}"), "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let _ = tenant_a;
    let (_, after) = p.get(&format!("/api/v1/sites/{site_a1}"), root).await?;
    assert_eq!(before, after, "nothing changed");
    let (_, jobs_after) = p.get("/api/v1/jobs?kind=site.apply", root).await?;
    assert_eq!(jobs_before["total"], jobs_after["total"], "no job was queued");
    Ok(())
}
