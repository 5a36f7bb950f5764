//! Databases end to end: the API creates databases and users, jobs put them
//! on real MariaDB and PostgreSQL servers (private data dirs, loopback
//! ports), and the real `mariadb` and `psql` clients log in as the created
//! users. Isolation between tenants, rotation, grants, suspension, quotas,
//! deletion (with retention), size measurement and hostile names. Root only.

use crate::common::{TestPanel, code, config, serve_with};
use crate::sites::{free_addr, job_done, node_config};
use berth_agent::dbs::{DbServersConfig, MariadbAdmin, PostgresAdmin};
use berth_testkit::servers::{MariaDbServer, PostgresServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

struct Servers {
    maria: MariaDbServer,
    pg: PostgresServer,
}

impl Servers {
    /// Log in as `user` to `db` on `engine` with the real client and run `sql`.
    fn client(&self, engine: &str, user: &str, password: &str, db: &str, sql: &str) -> (bool, String, String) {
        match engine {
            "mariadb" => self.maria.client(user, password, Some(db), sql),
            _ => self.pg.client(user, password, db, sql),
        }
    }

    fn server_has_db(&self, engine: &str, name: &str) -> bool {
        let (_, out, _) = match engine {
            "mariadb" => self.maria.root("SHOW DATABASES"),
            _ => self.pg.root("postgres", "SELECT datname FROM pg_database"),
        };
        out.lines().any(|l| l.trim() == name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_on_real_mariadb_and_postgres() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let servers = Servers {
        maria: MariaDbServer::start()?,
        pg: PostgresServer::start()?,
    };
    for t in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let web = free_addr()?;
        let mut cfg = config();
        let mut node = node_config(tmp.path(), web)?;
        node.databases = DbServersConfig {
            mariadb: Some(MariadbAdmin {
                client: "/usr/bin/mariadb".into(),
                dump: "/usr/bin/mariadb-dump".into(),
                socket: servers.maria.socket.clone(),
                port: servers.maria.port,
            }),
            postgres: Some(PostgresAdmin {
                psql: "/usr/bin/psql".into(),
                pg_dump: "/usr/bin/pg_dump".into(),
                pg_restore: "/usr/bin/pg_restore".into(),
                socket_dir: servers.pg.socket_dir.clone(),
                port: servers.pg.port,
                os_user: "postgres".into(),
            }),
            dump_dir: Some(tmp.path().join("dumps")),
        };
        cfg.node = Some(node);
        let _nginx = berth_agent::nginx::StopOnDrop {
            prefix: tmp.path().join("nginx"),
        };
        let (url, db, stop, task, node) = serve_with(&t.url, cfg).await?;
        anyhow::ensure!(node.is_some(), "the local node did not start");
        let p = TestPanel::attach(t, url, db, stop, task);
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        scenario(&p, &servers, &suffix).await?;
    }
    Ok(())
}

async fn scenario(p: &TestPanel, srv: &Servers, suffix: &str) -> anyhow::Result<()> {
    let root = p.admin().await?;
    let (st, engines) = p.get("/api/v1/database-engines", &root).await?;
    assert_eq!(st, StatusCode::OK, "{engines}");
    assert!(
        engines
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|e| e["version"].is_string())),
        "{engines}"
    );
    let (_, pkg) = p
        .post(
            "/api/v1/packages",
            &root,
            json!({ "name": format!("Two DBs {suffix}"), "limits": { "databases": 2, "database_users": 3 } }),
        )
        .await?;
    let (ta, tb) = (format!("da{suffix}"), format!("db{suffix}"));
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

    // Each tenant: a MariaDB and a PostgreSQL database, a user on each.
    let mut made = Vec::new();
    for (tenant, token, tname) in [(&tenant_a, &client_a, &ta), (&tenant_b, &client_b, &tb)] {
        for engine in ["mariadb", "postgres"] {
            let (st, v) = p
                .post(
                    "/api/v1/databases",
                    token,
                    json!({ "tenant_id": tenant, "engine": engine, "name": "shop" }),
                )
                .await?;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            let dbname = s(&v["database"]["name"]);
            assert_eq!(dbname, format!("{tname}_shop"));
            job_done(p, token, &s(&v["job_id"])).await?;
            assert!(srv.server_has_db(engine, &dbname), "{engine} {dbname}");
            let (st, u) = p
                .post(
                    "/api/v1/database-users",
                    token,
                    json!({ "tenant_id": tenant, "engine": engine, "name": "app",
                        "grants": [{ "database_id": v["database"]["id"], "access": "all" }] }),
                )
                .await?;
            assert_eq!(st, StatusCode::CREATED, "{u}");
            let password = s(&u["password"]);
            assert_eq!(password.len(), 24, "a generated password is answered once: {u}");
            job_done(p, token, &s(&u["job_id"])).await?;
            // The password is nowhere else: not in the user, the job or its log.
            let (_, again) = p
                .get(&format!("/api/v1/database-users/{}", s(&u["user"]["id"])), token)
                .await?;
            assert!(again.get("password").is_none() && !again.to_string().contains(&password));
            let (_, job) = p.get(&format!("/api/v1/jobs/{}", s(&u["job_id"])), token).await?;
            let (_, logs) = p.get(&format!("/api/v1/jobs/{}/logs", s(&u["job_id"])), token).await?;
            assert!(!job.to_string().contains(&password) && !logs.to_string().contains(&password));
            assert!(
                !job.to_string().contains("SCRAM") && !job.to_string().contains("*2"),
                "{job}"
            );
            let user = s(&u["user"]["name"]);
            assert_eq!(user, format!("{tname}_app"));
            let (ok, _, err) = srv.client(
                engine,
                &user,
                &password,
                &dbname,
                "CREATE TABLE t (v INT); INSERT INTO t VALUES (42)",
            );
            assert!(ok, "{engine}: {err}");
            let (ok, out, err) = srv.client(engine, &user, &password, &dbname, "SELECT v FROM t");
            assert!(ok && out.trim() == "42", "{engine}: {out} {err}");
            made.push((
                engine,
                tenant.clone(),
                token.clone(),
                v["database"].clone(),
                u["user"].clone(),
                password,
            ));
        }
    }
    let (a_maria, a_pg, b_maria) = (&made[0], &made[1], &made[2]);

    // Isolation: A's user cannot use B's database; A cannot see or grant it.
    for (engine, _, _, _, user, pw) in [a_maria, a_pg] {
        let other = format!("{tb}_shop");
        let (ok, _, err) = srv.client(engine, &s(&user["name"]), pw, &other, "SELECT 1");
        assert!(!ok && (err.contains("denied")), "{engine}: {err}");
    }
    let (st, _) = p
        .get(&format!("/api/v1/databases/{}", s(&b_maria.3["id"])), &client_a)
        .await?;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = p
        .patch(
            &format!("/api/v1/database-users/{}", s(&a_maria.4["id"])),
            &client_a,
            json!({ "grants": [{ "database_id": b_maria.3["id"], "access": "all" }] }),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (_, u) = p
        .get(&format!("/api/v1/database-users/{}", s(&a_maria.4["id"])), &client_a)
        .await?;
    assert_eq!(u["grants"].as_array().map(Vec::len), Some(1), "nothing changed: {u}");
    let (_, list) = p.get("/api/v1/databases", &client_a).await?;
    assert_eq!(list["total"], 2, "{list}");

    // Rotation: the old password fails, the new one works.
    for (engine, _, token, dbv, user, pw) in [a_maria, a_pg] {
        let (st, r) = p
            .post(
                &format!("/api/v1/database-users/{}/rotate-password", s(&user["id"])),
                token,
                json!({}),
            )
            .await?;
        assert_eq!(st, StatusCode::OK, "{r}");
        job_done(p, token, &s(&r["job_id"])).await?;
        let new = s(&r["password"]);
        assert_ne!(&new, pw);
        let dbname = s(&dbv["name"]);
        assert!(
            !srv.client(engine, &s(&user["name"]), pw, &dbname, "SELECT 1").0,
            "{engine}: old password"
        );
        assert!(
            srv.client(engine, &s(&user["name"]), &new, &dbname, "SELECT 1").0,
            "{engine}: new password"
        );
        // A chosen password, then read-only access.
        let (st, r) = p
            .post(
                &format!("/api/v1/database-users/{}/rotate-password", s(&user["id"])),
                token,
                json!({ "password": "Chosen-Password-9" }),
            )
            .await?;
        assert!(st == StatusCode::OK && r.get("password").is_none(), "{r}");
        job_done(p, token, &s(&r["job_id"])).await?;
        let (st, r) = p
            .patch(
                &format!("/api/v1/database-users/{}", s(&user["id"])),
                token,
                json!({ "grants": [{ "database_id": dbv["id"], "access": "read_only" }] }),
            )
            .await?;
        assert_eq!(st, StatusCode::OK, "{r}");
        job_done(p, token, &s(&r["job_id"])).await?;
        let name = s(&user["name"]);
        let (ok, out, err) = srv.client(engine, &name, "Chosen-Password-9", &dbname, "SELECT v FROM t");
        assert!(ok && out.trim() == "42", "{engine}: {err}");
        let (ok, _, _) = srv.client(engine, &name, "Chosen-Password-9", &dbname, "INSERT INTO t VALUES (1)");
        assert!(!ok, "{engine}: read-only user wrote");
    }

    // Suspension locks A's users; lifting it unlocks them.
    let (st, v) = p
        .post(&format!("/api/v1/tenants/{tenant_a}/suspend"), &root, json!({}))
        .await?;
    assert_eq!(st, StatusCode::OK, "{v}");
    wait_user_jobs(p, &root).await?;
    for (engine, _, _, dbv, user, _) in [a_maria, a_pg] {
        let (ok, _, _) = srv.client(
            engine,
            &s(&user["name"]),
            "Chosen-Password-9",
            &s(&dbv["name"]),
            "SELECT 1",
        );
        assert!(!ok, "{engine}: a suspended tenant's user logged in");
    }
    p.post(&format!("/api/v1/tenants/{tenant_a}/unsuspend"), &root, json!({}))
        .await?;
    wait_user_jobs(p, &root).await?;
    for (engine, _, _, dbv, user, _) in [a_maria, a_pg] {
        let (ok, _, err) = srv.client(
            engine,
            &s(&user["name"]),
            "Chosen-Password-9",
            &s(&dbv["name"]),
            "SELECT 1",
        );
        assert!(ok, "{engine}: {err}");
    }

    // Suspension ended A's sessions.
    let client_a = p.login(&format!("owner@{ta}.example"), "Good-Password-77").await?;

    // Quota: the package allows two databases.
    let (st, v) = p
        .post(
            "/api/v1/databases",
            &client_a,
            json!({ "tenant_id": tenant_a, "engine": "mariadb", "name": "third" }),
        )
        .await?;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");

    // Hostile names: a clear 422, nothing created.
    for bad in [
        "shop'; DROP DATABASE mysql; --",
        "sh`op",
        "shop\"x",
        "shop--",
        "shop;",
        "Shop",
        "shоp",
        "mysql",
        "pg_authid",
        "../etc",
        "shop\nx",
        "a".repeat(81).as_str(),
    ] {
        let (st, v) = p
            .post(
                "/api/v1/databases",
                &client_b,
                json!({ "tenant_id": tenant_b, "engine": "postgres", "name": bad }),
            )
            .await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {v}");
        assert_eq!(code(&v), "invalid_input");
    }
    // Too long once prefixed (PostgreSQL keeps 57 characters for names).
    let (st, v) = p
        .post(
            "/api/v1/databases",
            &client_b,
            json!({ "tenant_id": tenant_b, "engine": "postgres", "name": "x".repeat(50) }),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = p
        .post(
            "/api/v1/database-users",
            &client_b,
            // Would be a pg_hba.conf line opening the server to everyone.
            json!({ "tenant_id": tenant_b, "engine": "postgres", "name": "remote",
                "hosts": ["10.0.0.0/8 scram-sha-256\nhost all all 0.0.0.0/0 trust"] }),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = p
        .post(
            "/api/v1/database-users",
            &client_b,
            json!({ "tenant_id": tenant_b, "engine": "mariadb", "name": "weak", "password": "short" }),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Another tenant's id in the body.
    let (st, _) = p
        .post(
            "/api/v1/databases",
            &client_a,
            json!({ "tenant_id": tenant_b, "engine": "mariadb", "name": "sneaky" }),
        )
        .await?;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = p.get("/api/v1/databases", &client_b).await?;
    assert_eq!(list["total"], 2, "nothing was created: {list}");

    // A MariaDB user with a remote network, then deleted: gone from the server.
    let (st, u) = p
        .post(
            "/api/v1/database-users",
            &client_b,
            json!({ "tenant_id": tenant_b, "engine": "mariadb", "name": "remote", "hosts": ["10.1.2.0/24"],
                "grants": [{ "database_id": b_maria.3["id"], "access": "read_only" }] }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    job_done(p, &client_b, &s(&u["job_id"])).await?;
    let rname = s(&u["user"]["name"]);
    let (_, hosts, _) = srv.maria.root(&format!(
        "SELECT Host FROM mysql.user WHERE User = '{rname}' ORDER BY Host"
    ));
    assert!(hosts.lines().any(|h| h == "10.1.2.0/255.255.255.0"), "{hosts}");
    let (st, d) = p
        .delete(&format!("/api/v1/database-users/{}", s(&u["user"]["id"])), &client_b)
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{d}");
    job_done(p, &client_b, &s(&d["job_ids"][0])).await?;
    let (_, n, _) = srv
        .maria
        .root(&format!("SELECT COUNT(*) FROM mysql.user WHERE User = '{rname}'"));
    assert_eq!(n.trim(), "0");
    // A PostgreSQL user with a remote network: a pg_hba.conf line the
    // server loaded; gone with the user.
    let (st, u) = p
        .post(
            "/api/v1/database-users",
            &client_b,
            json!({ "tenant_id": tenant_b, "engine": "postgres", "name": "premote", "hosts": ["192.0.2.0/24"] }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    job_done(p, &client_b, &s(&u["job_id"])).await?;
    let pname = s(&u["user"]["name"]);
    let rules =
        format!("SELECT count(*) FROM pg_hba_file_rules WHERE '{pname}' = ANY(user_name) AND address = '192.0.2.0'");
    assert_eq!(srv.pg.root("postgres", &rules).1.trim(), "1");
    let (st, d) = p
        .delete(&format!("/api/v1/database-users/{}", s(&u["user"]["id"])), &client_b)
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{d}");
    job_done(p, &client_b, &s(&d["job_ids"][0])).await?;
    assert_eq!(srv.pg.root("postgres", &rules).1.trim(), "0");

    // Sizes are measured and count against the package.
    let (st, j) = p
        .post(
            "/api/v1/jobs",
            &root,
            json!({ "kind": "databases.measure", "payload": {} }),
        )
        .await?;
    assert_eq!(st, StatusCode::CREATED, "{j}");
    job_done(p, &root, &s(&j["id"])).await?;
    let (_, d) = p
        .get(&format!("/api/v1/databases/{}", s(&a_maria.3["id"])), &client_a)
        .await?;
    assert!(d["size_bytes"].as_i64().is_some_and(|b| b > 0), "{d}");
    let (_, usage) = p.get(&format!("/api/v1/tenants/{tenant_a}/usage"), &client_a).await?;
    assert!(usage.to_string().contains("database_mb"), "{usage}");

    // Deleting A's PostgreSQL database drops it; the user loses its grant.
    let (st, d) = p
        .delete(&format!("/api/v1/databases/{}", s(&a_pg.3["id"])), &client_a)
        .await?;
    assert_eq!(st, StatusCode::ACCEPTED, "{d}");
    for j in d["job_ids"].as_array().cloned().unwrap_or_default() {
        job_done(p, &client_a, &s(&j)).await?;
    }
    assert!(!srv.server_has_db("postgres", &s(&a_pg.3["name"])));
    let (_, u) = p
        .get(&format!("/api/v1/database-users/{}", s(&a_pg.4["id"])), &client_a)
        .await?;
    assert_eq!(u["grants"], json!([]), "{u}");

    // Export B's databases, download them, import each into a new database.
    for (engine, _, token, dbv, _, _) in [&made[2], &made[3]] {
        let (st, e) = p
            .post(&format!("/api/v1/databases/{}/export", s(&dbv["id"])), token, json!({}))
            .await?;
        assert_eq!(st, StatusCode::ACCEPTED, "{e}");
        let job = s(&e["job_ids"][0]);
        job_done(p, token, &job).await?;
        let resp = p
            .http
            .get(format!("{}/api/v1/databases/{}/export/{job}", p.url, s(&dbv["id"])))
            .bearer_auth(token)
            .send()
            .await?;
        assert_eq!(resp.status(), StatusCode::OK);
        let dump = resp.bytes().await?.to_vec();
        assert!(dump.len() > 100, "{engine}: {} bytes", dump.len());
        // Another tenant cannot download it.
        let (st, _) = p
            .get(&format!("/api/v1/databases/{}/export/{job}", s(&dbv["id"])), &client_a)
            .await?;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, copy) = p
            .post(
                "/api/v1/databases",
                token,
                json!({ "tenant_id": tenant_b, "engine": engine, "name": "copy" }),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{copy}");
        job_done(p, token, &s(&copy["job_id"])).await?;
        let cid = s(&copy["database"]["id"]);
        let resp = p
            .http
            .post(format!("{}/api/v1/databases/{cid}/import", p.url))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(dump)
            .send()
            .await?;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let v: Value = resp.json().await?;
        job_done(p, token, &s(&v["job_ids"][0])).await?;
        let cname = s(&copy["database"]["name"]);
        let (_, out, _) = match *engine {
            "mariadb" => srv.maria.root(&format!("SELECT v FROM {cname}.t")),
            _ => srv.pg.root(&cname, "SELECT v FROM t"),
        };
        assert_eq!(out.trim(), "42", "{engine}: the dump round-tripped");
        // A hostile dump: its job fails, nothing ran on the host.
        let pwned = std::env::temp_dir().join(format!("berth-pwned-{suffix}"));
        let hostile = format!("CREATE TABLE planted (v INT);\n\\! touch {}\n", pwned.display());
        let resp = p
            .http
            .post(format!("{}/api/v1/databases/{cid}/import", p.url))
            .bearer_auth(token)
            .body(hostile)
            .send()
            .await?;
        let v: Value = resp.json().await?;
        let (_, j) = p.get(&format!("/api/v1/jobs/{}", s(&v["job_ids"][0])), token).await?;
        let j = {
            let mut j = j;
            for _ in 0..200 {
                if matches!(j["state"].as_str(), Some("dead") | Some("succeeded")) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                j = p.get(&format!("/api/v1/jobs/{}", s(&v["job_ids"][0])), token).await?.1;
            }
            j
        };
        assert_eq!(j["state"], "dead", "{engine}: {j}");
        assert!(!pwned.exists(), "{engine}: a dump ran a shell command");
    }
    // Too large: 413 before anything is queued.
    p.call(
        reqwest::Method::PUT,
        "/api/v1/settings/databases.import_max_mb",
        Some(&root),
        Some(json!({ "value": 1 })),
    )
    .await?;
    let resp = p
        .http
        .post(format!("{}/api/v1/databases/{}/import", p.url, s(&made[2].3["id"])))
        .bearer_auth(&client_b)
        .body(vec![b'-'; 2 * 1024 * 1024])
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The rest of the body was never read: the connection is not reused.
    assert_eq!(
        resp.headers().get("connection").and_then(|v| v.to_str().ok()),
        Some("close")
    );

    // Deleting tenant B with no retention: its users and databases go.
    let (st, v) = p
        .call(
            reqwest::Method::PUT,
            "/api/v1/settings/databases.retention_days",
            Some(&root),
            Some(json!({ "value": 0 })),
        )
        .await?;
    assert!(st.is_success(), "{v}");
    let (st, _) = p.delete(&format!("/api/v1/tenants/{tenant_b}"), &root).await?;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, jobs) = p
        .get(&format!("/api/v1/jobs?tenant_id={tenant_b}&limit=100"), &root)
        .await?;
    for j in jobs["items"].as_array().cloned().unwrap_or_default() {
        if s(&j["kind"]).ends_with(".remove") {
            job_done(p, &root, &s(&j["id"])).await?;
        }
    }
    for (engine, _, _, dbv, user, pw) in [&made[2], &made[3]] {
        assert!(
            !srv.server_has_db(engine, &s(&dbv["name"])),
            "{engine}: B's database is still there"
        );
        let (ok, _, _) = srv.client(engine, &s(&user["name"]), pw, &s(&dbv["name"]), "SELECT 1");
        assert!(!ok);
    }
    Ok(())
}

/// Wait for the last job of every database user the token sees.
async fn wait_user_jobs(p: &TestPanel, token: &str) -> anyhow::Result<()> {
    let (_, users) = p.get("/api/v1/database-users?limit=500", token).await?;
    for u in users["items"].as_array().cloned().unwrap_or_default() {
        job_done(p, token, &s(&u["last_job_id"])).await?;
    }
    Ok(())
}
