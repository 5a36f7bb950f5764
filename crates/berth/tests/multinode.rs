//! Two agents (two `berth agent run` processes with their own state dirs,
//! nginx and ports) enrolled to one panel over mutual TLS: join tokens work
//! once, heartbeats bring capabilities and metrics, sites go to the node
//! chosen and only there, a replayed request is answered "already applied",
//! agents refuse clients that are not the panel, certificates rotate without
//! a restart, and a revoked node is refused. On SQLite and PostgreSQL.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "Quiet-Lighthouse-19";

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn call(&self, m: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await?;
        let s = r.status().as_u16();
        Ok((s, r.json().await.unwrap_or(Value::Null)))
    }

    async fn job_done(&self, id: &str) -> anyhow::Result<Value> {
        for _ in 0..600 {
            let (_, j) = self
                .call(reqwest::Method::GET, &format!("/api/v1/jobs/{id}"), None)
                .await?;
            match j["state"].as_str() {
                Some("succeeded") => return Ok(j),
                Some("dead") | Some("cancelled") => anyhow::bail!("job {id} ended {}: {}", j["state"], j["last_error"]),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        anyhow::bail!("job {id} did not finish")
    }
}

/// An agent process and everything it started, stopped on drop.
struct AgentProc {
    child: Option<Child>,
    dir: PathBuf,
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        drop(berth_agent::php::StopPoolsOnDrop {
            root: self.dir.join("php"),
        });
        drop(berth_agent::nginx::StopOnDrop {
            prefix: self.dir.join("nginx"),
        });
    }
}

/// Removes tenants' users (and groups) when dropped.
struct DeleteUsers(Vec<String>);

impl Drop for DeleteUsers {
    #[allow(clippy::disallowed_methods)] // Drop cannot await the async Cmd
    fn drop(&mut self) {
        for u in &self.0 {
            for prog in ["/usr/sbin/userdel", "/usr/sbin/groupdel"] {
                let _ = Command::new(prog).arg(u).env_clear().stderr(Stdio::null()).status();
            }
        }
    }
}

#[allow(clippy::disallowed_methods)] // tests run the binary under test directly
fn berth(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args).env("RUST_LOG", "warn");
    c
}

async fn get(addr: SocketAddr, host: &str) -> anyhow::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok((
        text.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0),
        text,
    ))
}

struct NodeUnderTest {
    name: String,
    /// The MariaDB socket the agent manages (a private test server).
    mariadb: PathBuf,
    rpc: SocketAddr,
    web: SocketAddr,
    https: SocketAddr,
    dir: PathBuf,
    base: PathBuf,
    proc: Option<AgentProc>,
}

/// Start `berth agent run` for an enrolled node and wait for its port.
async fn spawn_agent(n: &NodeUnderTest) -> anyhow::Result<Child> {
    let child = berth(&[
        "agent",
        "run",
        "--state-dir",
        &n.dir.display().to_string(),
        "--listen",
        &n.rpc.to_string(),
        "--web-listen",
        &n.web.to_string(),
        "--homes-root",
        &n.base.join("homes").display().to_string(),
        "--php-root",
        &n.base.join("php").display().to_string(),
        "--https-listen",
        &n.https.to_string(),
        "--acme-root",
        &n.base.join("acme").display().to_string(),
        "--mariadb-socket",
        &n.mariadb.display().to_string(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::inherit())
    .spawn()?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(n.rpc).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(child)
}

async fn enrol(api: &Api, base: &Path, name: &str, roles: &[&str], mariadb: &Path) -> anyhow::Result<NodeUnderTest> {
    let (rpc, web) = (free_addr()?, free_addr()?);
    let dir = base.join(name);
    std::fs::create_dir_all(&dir)?;
    let (s, v) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/nodes",
            Some(json!({ "name": name, "address": rpc.to_string(), "roles": roles })),
        )
        .await?;
    anyhow::ensure!(s == 201, "create node: {s} {v}");
    assert_eq!(v["node"]["state"], "pending");
    let token = v["join_token"].as_str().unwrap_or_default().to_owned();
    let state = dir.join("state");
    let state_s = state.display().to_string();
    let out = berth(&["agent", "join", &api.url, "--token", &token, "--state-dir", &state_s]).output()?;
    anyhow::ensure!(out.status.success(), "join: {}", String::from_utf8_lossy(&out.stderr));
    // The key stays on the node, readable by root only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(state.join("key.pem"))?.permissions().mode() & 0o777,
        0o600
    );
    // The token worked once.
    let again = berth(&[
        "agent",
        "join",
        &api.url,
        "--token",
        &token,
        "--state-dir",
        &dir.join("other").display().to_string(),
    ])
    .output()?;
    assert!(!again.status.success(), "a join token works once");
    let mut n = NodeUnderTest {
        name: name.to_owned(),
        mariadb: mariadb.to_path_buf(),
        rpc,
        web,
        https: free_addr()?,
        dir: state.clone(),
        base: dir.clone(),
        proc: None,
    };
    let child = spawn_agent(&n).await?;
    n.proc = Some(AgentProc {
        child: Some(child),
        dir: state,
    });
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_over_mutual_tls() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let maria = berth_testkit::servers::MariaDbServer::start()?;
    for db in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let dbh = berth_db::Db::connect(&db.url).await?;
        berth_panel::bootstrap::ensure_first_admin(&dbh, Some(EMAIL), Some(PASSWORD), (256, 1)).await?;
        let panel = berth_panel::Panel::start(
            dbh.clone(),
            berth_panel::PanelConfig {
                workers: 2,
                argon2_m_kib: 256,
                argon2_t: 1,
                dump_dir: Some(tmp.path().join("panel-dumps")),
                ..Default::default()
            },
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(panel.serve(listener, async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({ "email": EMAIL, "password": PASSWORD }))
            .send()
            .await?
            .json()
            .await?;
        let api = Api {
            http,
            url,
            token: login["token"].as_str().unwrap_or_default().to_owned(),
        };
        let sfx = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
        let tenant_name = format!("mn{sfx}");
        let _users = DeleteUsers(vec![tenant_name.clone()]);
        scenario(&api, &dbh, tmp.path(), &sfx, &tenant_name, &maria).await?;
        let _ = tx.send(());
    }
    Ok(())
}

async fn scenario(
    api: &Api,
    db: &berth_db::Db,
    base: &Path,
    sfx: &str,
    tenant_name: &str,
    maria: &berth_testkit::servers::MariaDbServer,
) -> anyhow::Result<()> {
    use reqwest::Method;
    // Reserved names and bad addresses are refused.
    for (name, addr) in [
        ("local", "127.0.0.1:1"),
        ("berth-panel", "127.0.0.1:1"),
        ("ok-name", "no-port"),
    ] {
        let (s, v) = api
            .call(
                Method::POST,
                "/api/v1/nodes",
                Some(json!({ "name": name, "address": addr })),
            )
            .await?;
        assert_eq!(s, 422, "{name} {addr}: {v}");
    }
    let mut a = enrol(api, base, &format!("web-a-{sfx}"), &["web", "db"], &maria.socket).await?;
    let mut b = enrol(api, base, &format!("web-b-{sfx}"), &["web"], &maria.socket).await?;

    // Heartbeat: capabilities and metrics arrive.
    for n in [&a, &b] {
        let (s, v) = api
            .call(Method::POST, &format!("/api/v1/nodes/{}/heartbeat", n.name), None)
            .await?;
        assert_eq!(s, 202, "{v}");
        api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
        let (_, node) = api
            .call(Method::GET, &format!("/api/v1/nodes/{}", n.name), None)
            .await?;
        assert_eq!(node["state"], "trusted", "{node}");
        assert!(node["capabilities"]["nginx"].is_string(), "{node}");
        assert!(node["metrics"]["mem_total_mb"].as_u64().unwrap_or(0) > 0, "{node}");
        assert!(node["last_seen_at"].is_string(), "{node}");
    }
    let (_, list) = api.call(Method::GET, "/api/v1/nodes", None).await?;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "no local node here: {list}");

    // A site goes to the node chosen, and only there.
    let (s, t) = api
        .call(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({ "name": tenant_name, "display_name": "Multi" })),
        )
        .await?;
    assert_eq!(s, 201, "{t}");
    let tenant = t["id"].as_str().unwrap_or_default().to_owned();
    let mut site_ids = Vec::new();
    for n in [&a, &b] {
        let domain = format!("{}.test", n.name);
        let (s, v) = api
            .call(
                Method::POST,
                "/api/v1/sites",
                Some(json!({ "tenant_id": tenant, "domain": domain, "kind": { "type": "static" }, "node": n.name })),
            )
            .await?;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["site"]["node"], n.name.as_str());
        let job = api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
        assert_eq!(job["steps"][0]["artifact"]["node"], n.name.as_str(), "{job}");
        site_ids.push(v["site"]["id"].as_str().unwrap_or_default().to_owned());
        // The request id (the job) reached the agent's journal.
        let journal = std::fs::read_to_string(n.dir.join("nginx/journal.jsonl"))?;
        assert!(journal.contains(job["id"].as_str().unwrap_or("?")), "{journal}");
    }
    assert_eq!(get(a.web, &format!("{}.test", a.name)).await?.0, 200);
    assert_eq!(get(b.web, &format!("{}.test", a.name)).await?.0, 404, "not on b");
    // The site's log comes from its node.
    let (s, log) = api
        .call(
            Method::GET,
            &format!("/api/v1/sites/{}/logs?lines=5", site_ids[0]),
            None,
        )
        .await?;
    assert_eq!(s, 200, "{log}");
    assert!(log["lines"].to_string().contains("GET / "), "{log}");
    assert_eq!(get(b.web, &format!("{}.test", b.name)).await?.0, 200);

    remote_certificate(api, &a, &b, &site_ids[0]).await?;
    remote_databases(api, &a, &b, &tenant, tenant_name, maria).await?;
    crash_mid_apply(api, &mut a, &tenant).await?;
    remote_history(api, &a).await?;

    // A replay of one generation is answered "already applied".
    let pki = berth_panel::agents::Pki::load_or_init(db)
        .await
        .map_err(anyhow::Error::msg)?;
    let mut c = db.conn().await?;
    let row_a = berth_db::nodes::get(&mut c, &a.name).await?;
    let site: berth_proto::api::sites::Site =
        berth_db::sites::get(&mut c, &berth_core::Scope::system(), site_ids[0].parse()?).await?;
    drop(c);
    let input = berth_agent::node::SiteInput {
        site: site.id,
        tenant: berth_proto::AccountName::parse(tenant_name)?,
        tenant_id: site.tenant_id,
        domain: site.domain.clone(),
        aliases: vec![],
        kind: site.kind.clone(),
        options: site.options.clone(),
        php: Default::default(),
        suspended: false,
        certificate: None,
    };
    let req = berth_agent::rpc::ApplySite {
        generation: 1,
        site: input,
        php_in_use: vec![],
    };
    let path = format!("/v1/sites/{}", site.id);
    let r: berth_agent::rpc::Applied = pki.call(&row_a, Method::PUT, &path, Some(&req), None).await?;
    assert!(r.already_applied, "generation 1 is older than the job's");

    // The agent serves the panel only: another node's certificate, or none, is refused.
    let b_state = b.dir.clone();
    let identity = reqwest::Identity::from_pem(
        &[
            std::fs::read(b_state.join("cert.pem"))?,
            std::fs::read(b_state.join("key.pem"))?,
        ]
        .concat(),
    )?;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(b_state.join("ca.pem"))?)?;
    let as_b = reqwest::Client::builder()
        .tls_certs_only([ca.clone()])
        .identity(identity)
        .resolve(&a.name, a.rpc)
        .build()?;
    let r = as_b
        .get(format!("https://{}:{}/v1/info", a.name, a.rpc.port()))
        .send()
        .await;
    assert!(
        r.is_err() || !r.as_ref().is_ok_and(|x| x.status().is_success()),
        "node b drove node a: {r:?}"
    );
    let anon = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve(&a.name, a.rpc)
        .build()?;
    assert!(
        anon.get(format!("https://{}:{}/v1/info", a.name, a.rpc.port()))
            .send()
            .await
            .is_err()
    );

    // Rotation: a new certificate, served without a restart.
    let (_, before) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}", a.name), None)
        .await?;
    let cert_before = std::fs::read_to_string(a.dir.join("cert.pem"))?;
    let (s, v) = api
        .call(Method::POST, &format!("/api/v1/nodes/{}/rotate-cert", a.name), None)
        .await?;
    assert_eq!(s, 202, "{v}");
    api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    let (_, after) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}", a.name), None)
        .await?;
    assert_ne!(before["cert_serial"], after["cert_serial"], "{after}");
    assert_ne!(cert_before, std::fs::read_to_string(a.dir.join("cert.pem"))?);
    let (s, v) = api
        .call(Method::POST, &format!("/api/v1/nodes/{}/heartbeat", a.name), None)
        .await?;
    assert_eq!(s, 202);
    let hb = api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    assert_eq!(
        hb["steps"][0]["artifact"][a.name.as_str()],
        "ok",
        "the same agent process, new cert: {hb}"
    );
    // The old certificate is no longer accepted by the panel.
    let mut c = db.conn().await?;
    let mut stale = berth_db::nodes::get(&mut c, &a.name).await?;
    drop(c);
    stale.cert_sha256 = berth_pki::cert_info(&cert_before).map(|i| i.sha256_hex);
    // A new connection (the panel keeps a client per node; one made for the
    // old certificate would reuse a session verified back then).
    let fresh = berth_panel::agents::Pki::load_or_init(db)
        .await
        .map_err(anyhow::Error::msg)?;
    let r: Result<berth_proto::api::nodes::NodeReport, _> =
        fresh.call(&stale, Method::GET, "/v1/info", None::<&()>, None).await;
    assert!(r.is_err(), "a certificate other than the enrolled one is refused");

    // Revocation: refused while a site lives there; then the panel stops
    // talking to the node and no site can go there.
    let (s, _) = api
        .call(Method::DELETE, &format!("/api/v1/nodes/{}", b.name), None)
        .await?;
    assert_eq!(s, 409);
    let (s, v) = api
        .call(Method::DELETE, &format!("/api/v1/sites/{}", site_ids[1]), None)
        .await?;
    assert_eq!(s, 202, "{v}");
    api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    assert_eq!(get(b.web, &format!("{}.test", b.name)).await?.0, 404);
    let (s, _) = api
        .call(Method::DELETE, &format!("/api/v1/nodes/{}", b.name), None)
        .await?;
    assert_eq!(s, 204);
    let (_, node) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}", b.name), None)
        .await?;
    assert_eq!(node["state"], "revoked");
    let (s, v) = api
        .call(
            Method::POST,
            "/api/v1/sites",
            Some(json!({ "tenant_id": tenant, "domain": format!("late.{}.test", b.name), "kind": { "type": "static" }, "node": b.name })),
        )
        .await?;
    assert_eq!(s, 422, "{v}");
    let mut c = db.conn().await?;
    let row_b = berth_db::nodes::get(&mut c, &b.name).await?;
    drop(c);
    let r: Result<berth_proto::api::nodes::NodeReport, _> =
        pki.call(&row_b, Method::GET, "/v1/info", None::<&()>, None).await;
    assert!(r.is_err(), "the panel does not talk to a revoked node");
    let (_, audit) = api.call(Method::GET, "/api/v1/audit?action=node.", None).await?;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["action"].as_str())
        .collect();
    for want in ["node.create", "node.join", "node.rotate_cert", "node.revoke"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    drop(a.proc.take());
    drop(b.proc.take());
    Ok(())
}

/// A database and a user on an enrolled node with the db role, through the
/// RPC; a node without the role is refused.
async fn remote_databases(
    api: &Api,
    a: &NodeUnderTest,
    b: &NodeUnderTest,
    tenant: &str,
    tenant_name: &str,
    maria: &berth_testkit::servers::MariaDbServer,
) -> anyhow::Result<()> {
    use reqwest::Method;
    let (s, v) = api
        .call(
            Method::POST,
            "/api/v1/databases",
            Some(json!({ "tenant_id": tenant, "engine": "mariadb", "name": "remote", "node": b.name })),
        )
        .await?;
    assert_eq!(s, 422, "a node without the db role: {v}");
    let (s, engines) = api
        .call(Method::GET, &format!("/api/v1/database-engines?node={}", a.name), None)
        .await?;
    assert_eq!(s, 200, "{engines}");
    assert!(engines.to_string().contains("MariaDB"), "{engines}");
    let (s, d) = api
        .call(
            Method::POST,
            "/api/v1/databases",
            Some(json!({ "tenant_id": tenant, "engine": "mariadb", "name": "remote", "node": a.name })),
        )
        .await?;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["database"]["node"], a.name.as_str());
    api.job_done(d["job_id"].as_str().unwrap_or_default()).await?;
    let (s, u) = api
        .call(
            Method::POST,
            "/api/v1/database-users",
            Some(
                json!({ "tenant_id": tenant, "engine": "mariadb", "name": "remote", "node": a.name,
                "grants": [{ "database_id": d["database"]["id"], "access": "all" }] }),
            ),
        )
        .await?;
    assert_eq!(s, 201, "{u}");
    api.job_done(u["job_id"].as_str().unwrap_or_default()).await?;
    let name = format!("{tenant_name}_remote");
    let pw = u["password"].as_str().unwrap_or_default();
    let (ok, out, err) = maria.client(
        &name,
        pw,
        Some(&name),
        "CREATE TABLE t (v INT); INSERT INTO t VALUES (5); SELECT v FROM t",
    );
    assert!(ok && out.trim() == "5", "{out} {err}");
    // Export from the node (the dump travels over the RPC to the panel),
    // download it, import it into a second database on the same node.
    let did = d["database"]["id"].as_str().unwrap_or_default();
    let (s, ex) = api
        .call(Method::POST, &format!("/api/v1/databases/{did}/export"), None)
        .await?;
    assert_eq!(s, 202, "{ex}");
    let job = ex["job_ids"][0].as_str().unwrap_or_default();
    api.job_done(job).await?;
    let dump = api
        .http
        .get(format!("{}/api/v1/databases/{did}/export/{job}", api.url))
        .bearer_auth(&api.token)
        .send()
        .await?;
    assert_eq!(dump.status().as_u16(), 200);
    let dump = dump.bytes().await?;
    assert_eq!(dump.get(..2), Some(&[0x1f, 0x8b][..]), "a gzip dump");
    let (s, copy) = api
        .call(
            Method::POST,
            "/api/v1/databases",
            Some(json!({ "tenant_id": tenant, "engine": "mariadb", "name": "copy", "node": a.name })),
        )
        .await?;
    assert_eq!(s, 201, "{copy}");
    api.job_done(copy["job_id"].as_str().unwrap_or_default()).await?;
    let cid = copy["database"]["id"].as_str().unwrap_or_default();
    let up = api
        .http
        .post(format!("{}/api/v1/databases/{cid}/import", api.url))
        .bearer_auth(&api.token)
        .header("content-type", "application/octet-stream")
        .body(dump.to_vec())
        .send()
        .await?;
    assert_eq!(up.status().as_u16(), 202);
    let up: Value = up.json().await?;
    api.job_done(up["job_ids"][0].as_str().unwrap_or_default()).await?;
    let (_, out, err) = maria.root(&format!("SELECT v FROM {tenant_name}_copy.t"));
    assert_eq!(out.trim(), "5", "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(a.dir.join("db-dumps"))?.flatten().collect();
    assert!(leftovers.is_empty(), "the node keeps no dump: {leftovers:?}");
    let (s, del) = api
        .call(Method::DELETE, &format!("/api/v1/databases/{cid}"), None)
        .await?;
    assert_eq!(s, 202, "{del}");
    api.job_done(del["job_ids"][0].as_str().unwrap_or_default()).await?;
    // Deleted through the node too.
    let (s, del) = api
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/database-users/{}",
                u["user"]["id"].as_str().unwrap_or_default()
            ),
            None,
        )
        .await?;
    assert_eq!(s, 202, "{del}");
    api.job_done(del["job_ids"][0].as_str().unwrap_or_default()).await?;
    let (s, del) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/databases/{}", d["database"]["id"].as_str().unwrap_or_default()),
            None,
        )
        .await?;
    assert_eq!(s, 202, "{del}");
    api.job_done(del["job_ids"][0].as_str().unwrap_or_default()).await?;
    assert!(!maria.client(&name, pw, None, "SELECT 1").0, "the user is gone");
    let (_, dbs_left, _) = maria.root("SHOW DATABASES");
    assert!(!dbs_left.lines().any(|l| l == name), "{dbs_left}");
    Ok(())
}

/// Kill the agent (SIGKILL) while site changes are being applied, start it
/// again: the node is on a complete revision (no half-written tree, no drift)
/// and every job finishes on retry.
async fn crash_mid_apply(api: &Api, a: &mut NodeUnderTest, tenant: &str) -> anyhow::Result<()> {
    use reqwest::Method;
    let mut jobs = Vec::new();
    for i in 0..30 {
        let (s, v) = api
            .call(
                Method::POST,
                "/api/v1/sites",
                Some(
                    json!({ "tenant_id": tenant, "domain": format!("crash{i}.{}.test", a.name),
                    "kind": { "type": "static" }, "node": a.name }),
                ),
            )
            .await?;
        anyhow::ensure!(s == 201, "{v}");
        jobs.push(v["job_id"].as_str().unwrap_or_default().to_owned());
    }
    // Let the first applies start, then kill the agent hard.
    let journal = a.dir.join("nginx/journal.jsonl");
    let before = std::fs::read_to_string(&journal).unwrap_or_default().lines().count();
    for _ in 0..200 {
        if std::fs::read_to_string(&journal).unwrap_or_default().lines().count() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(p) = a.proc.as_mut()
        && let Some(c) = p.child.as_mut()
    {
        c.kill()?;
        c.wait()?;
    }
    // Whatever was in flight, `current` names a complete revision.
    let store = berth_agent::store::Store::open(&a.dir.join("nginx"))?;
    let live = store.current()?.ok_or_else(|| anyhow::anyhow!("no live revision"))?;
    assert!(store.manifest(live).is_ok(), "the live revision has its manifest");
    assert!(store.drift()?.is_empty(), "the live tree is exactly its revision");
    // Start it again; the jobs finish on retry.
    let child = spawn_agent(a).await?;
    if let Some(p) = a.proc.as_mut() {
        p.child = Some(child);
    }
    for j in &jobs {
        api.job_done(j).await?;
    }
    for i in 0..30 {
        assert_eq!(get(a.web, &format!("crash{i}.{}.test", a.name)).await?.0, 200);
    }
    Ok(())
}

/// A remote node's history, drift and rebuild through the panel's API.
async fn remote_history(api: &Api, a: &NodeUnderTest) -> anyhow::Result<()> {
    use reqwest::Method;
    let (s, revs) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}/revisions", a.name), None)
        .await?;
    assert_eq!(s, 200, "{revs}");
    assert!(revs.as_array().map_or(0, Vec::len) >= 2, "{revs}");
    assert_eq!(revs[0]["live"], true);
    let (s, journal) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}/journal", a.name), None)
        .await?;
    assert_eq!(s, 200, "{journal}");
    // A hand edit on the node shows as drift, and is overwritten by a job.
    let sites_dir = a.dir.join("nginx/current/sites");
    let edited = std::fs::read_dir(&sites_dir)?
        .flatten()
        .map(|e| e.path())
        .next()
        .ok_or_else(|| anyhow::anyhow!("no site files on the node"))?;
    let mut text = std::fs::read_to_string(&edited)?;
    text.push_str("# edited by hand\n");
    std::fs::write(&edited, text)?;
    let (_, drift) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}/drift", a.name), None)
        .await?;
    assert_eq!(drift.as_array().map(Vec::len), Some(1), "{drift}");
    let (s, v) = api
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{}/drift", a.name),
            Some(json!({ "action": "overwrite" })),
        )
        .await?;
    assert_eq!(s, 202, "{v}");
    api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    let (_, drift) = api
        .call(Method::GET, &format!("/api/v1/nodes/{}/drift", a.name), None)
        .await?;
    assert_eq!(drift.as_array().map(Vec::len), Some(0), "{drift}");
    // A full rebuild of that node from the database.
    let (s, v) = api
        .call(Method::POST, &format!("/api/v1/nodes/{}/rebuild", a.name), None)
        .await?;
    assert_eq!(s, 202, "{v}");
    let job = api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    assert!(
        job["steps"][0]["artifact"]["sites"].as_u64().unwrap_or(0) >= 31,
        "{job}"
    );
    assert_eq!(get(a.web, &format!("{}.test", a.name)).await?.0, 200);
    // An unknown revision is refused before any job.
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{}/rollback", a.name),
            Some(json!({ "rev": 99999 })),
        )
        .await?;
    assert_eq!(s, 404);
    Ok(())
}

/// A certificate for a site on an enrolled node: the preflight and the
/// challenge files go through the agent's RPC (`POST /v1/certs`), the key
/// is made there and stays there, pebble validates through that node's
/// nginx, and the node serves the issued certificate over HTTPS.
async fn remote_certificate(api: &Api, a: &NodeUnderTest, b: &NodeUnderTest, site: &str) -> anyhow::Result<()> {
    use reqwest::Method;
    let pdns = berth_testkit::dns_servers::PowerDnsServer::start()?;
    let host = format!("{}.test", a.name);
    let zone = format!("{host}.");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/servers/localhost/zones", pdns.api_url))
        .header("X-API-Key", &pdns.api_key)
        .json(&json!({ "name": zone, "kind": "Native", "nameservers": [], "rrsets": [
            { "name": zone, "type": "SOA", "ttl": 3600, "records": [
                { "content": "ns1.test. hostmaster.test. 1 10800 3600 604800 60", "disabled": false }] },
            { "name": zone, "type": "A", "ttl": 60, "records": [{ "content": "127.0.0.1", "disabled": false }] }
        ] }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "zone: {}", r.text().await?);
    let pebble = berth_testkit::pebble::Pebble::start(a.web.port(), SocketAddr::from(([127, 0, 0, 1], pdns.dns_port)))?;
    for (k, v) in [
        ("acme.directory_url", json!(pebble.directory_url())),
        (
            "acme.ca_root_file",
            json!(pebble.listener_ca_path().display().to_string()),
        ),
        ("acme.resolver", json!(format!("127.0.0.1:{}", pdns.dns_port))),
    ] {
        let (s, v) = api
            .call(
                Method::PUT,
                &format!("/api/v1/settings/{k}"),
                Some(json!({ "value": v })),
            )
            .await?;
        anyhow::ensure!(s == 200, "{k}: {v}");
    }
    let (s, o) = api
        .call(Method::POST, "/api/v1/certificates", Some(json!({ "site_id": site })))
        .await?;
    assert_eq!(s, 202, "{o}");
    api.job_done(o["job_id"].as_str().unwrap_or_default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", pebble.log()))?;
    let (_, c) = api
        .call(
            Method::GET,
            &format!("/api/v1/certificates/{}", o["certificate"]["id"].as_str().unwrap_or("")),
            None,
        )
        .await?;
    assert_eq!(c["status"], "valid", "{c}");
    assert_eq!(c["node"], a.name.as_str());
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pebble.root_pem()?.as_bytes())?])
        .resolve(&host, a.https)
        .tls_info(true)
        .build()?;
    let resp = client.get(format!("https://{host}:{}/", a.https.port())).send().await?;
    assert_eq!(resp.status(), 200);
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate().map(<[u8]>::to_vec))
        .ok_or_else(|| anyhow::anyhow!("no peer certificate"))?;
    assert_eq!(
        berth_pki::inspect::inspect(&der)?.serial_hex,
        c["serial"].as_str().unwrap_or_default(),
        "node a serves the issued certificate"
    );
    // The key is on node a (0600), and nowhere else.
    use std::os::unix::fs::PermissionsExt;
    let keys: Vec<_> = std::fs::read_dir(a.dir.join("tls/keys"))?.flatten().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].metadata()?.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_dir(b.dir.join("tls/keys"))?.count(), 0);
    Ok(())
}
