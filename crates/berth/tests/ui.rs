//! The web UI in a real browser: `berth serve` (with its local node) serves
//! the built UI (`web/dist`), and `web/e2e/run.mjs` drives Debian's
//! chromium through it with playwright-core: admin and client logins, the
//! dashboard, sites, a job's steps, certificates, a client refused an admin
//! screen, a wrong password's message; then the scenario: the admin
//! makes a package, a tenant and its client user, the client creates a site,
//! watches its job finish, finds it and opens its logs. Screenshots go to
//! `target/ui-artifacts/<backend>/`. On SQLite and PostgreSQL.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADMIN: &str = "ops@example.com";
const ADMIN_PASSWORD: &str = "Quiet-Lighthouse-19";
const CLIENT: &str = "owner@uitest.example";
const CLIENT_PASSWORD: &str = "Amber-Kettle-Window-42";

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The panel process and its nginx, stopped on drop.
struct Served {
    child: Child,
    data: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(berth_agent::nginx::StopOnDrop {
            prefix: self.data.join("nginx"),
        });
    }
}

/// Removes the test tenant's Linux user when dropped.
struct DeleteUser(String);

impl Drop for DeleteUser {
    #[allow(clippy::disallowed_methods)] // Drop cannot await the async Cmd
    fn drop(&mut self) {
        for prog in ["/usr/sbin/userdel", "/usr/sbin/groupdel"] {
            let _ = Command::new(prog).arg(&self.0).stderr(Stdio::null()).status();
        }
    }
}

async fn call(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    m: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut rb = http.request(m, format!("{url}{path}")).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await?;
    let s = r.status().as_u16();
    Ok((s, r.json().await.unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::disallowed_methods)] // the test runs the binary under test, and node
async fn the_ui_in_chromium() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    let web = repo().join("web");
    anyhow::ensure!(
        web.join("dist/index.html").exists(),
        "the UI is not built: (cd web && npm ci && npm run build) — ./scripts/test does it"
    );
    let chromium = std::env::var("BERTH_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    anyhow::ensure!(
        Path::new(&chromium).exists(),
        "{chromium} is missing (apt-get install chromium)"
    );
    for db in berth_testkit::databases().await? {
        let tmp = tempfile::tempdir()?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        let (listen, site_web) = (free_addr()?, free_addr()?);
        let data = tmp.path().join("data");
        let child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--data-dir"])
            .arg(&data)
            .arg("--database-url")
            .arg(&db.url)
            .args(["--listen", &listen.to_string(), "--web-listen", &site_web.to_string()])
            .args(["--https-listen", "none", "--service-manager", "agent"])
            .arg("--acme-root")
            .arg(tmp.path().join("acme"))
            .arg("--homes-root")
            .arg(tmp.path().join("homes"))
            .arg("--php-root")
            .arg(tmp.path().join("php"))
            .env("BERTH_ADMIN_EMAIL", ADMIN)
            .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        std::fs::create_dir_all(&data)?;
        let _served = Served {
            child,
            data: data.clone(),
        };
        let url = format!("http://{listen}");
        let http = reqwest::Client::new();
        let mut up = false;
        for _ in 0..300 {
            if http.get(format!("{url}/api/openapi.json")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(up, "berth serve did not answer");
        // The UI is served at / and for the app's own routes.
        let index = http.get(format!("{url}/sites")).send().await?;
        assert_eq!(index.status(), 200);
        assert!(index.headers().contains_key("content-security-policy"));
        assert!(index.text().await?.contains("<div id=\"root\">"));
        let nope = http.get(format!("{url}/api/v1/nope")).send().await?;
        assert_eq!(nope.status(), 404, "the API keeps its own answers under /api");
        assert_eq!(nope.json::<Value>().await?["code"], "not_found");

        let login: Value = http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({ "email": ADMIN, "password": ADMIN_PASSWORD }))
            .send()
            .await?
            .json()
            .await?;
        let root = login["token"].as_str().unwrap_or_default().to_owned();
        let sfx = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
        let tenant_name = format!("ui{sfx}");
        let _user = DeleteUser(tenant_name.clone());
        let (s, t) = call(
            &http,
            &url,
            &root,
            reqwest::Method::POST,
            "/api/v1/tenants",
            Some(json!({ "name": tenant_name, "display_name": "UI test" })),
        )
        .await?;
        assert_eq!(s, 201, "{t}");
        let client_email = format!("{sfx}.{CLIENT}");
        let (s, u) = call(
            &http,
            &url,
            &root,
            reqwest::Method::POST,
            "/api/v1/users",
            Some(
                json!({ "email": client_email, "name": "Owner", "role": "client", "tenant_id": t["id"],
                "password": CLIENT_PASSWORD }),
            ),
        )
        .await?;
        assert_eq!(s, 201, "{u}");
        let domain = format!("shop.{tenant_name}.test");
        let (s, site) = call(
            &http,
            &url,
            &root,
            reqwest::Method::POST,
            "/api/v1/sites",
            Some(json!({ "tenant_id": t["id"], "domain": domain, "kind": { "type": "static" } })),
        )
        .await?;
        assert_eq!(s, 201, "{site}");
        let job = site["job_id"].as_str().unwrap_or_default().to_owned();
        for _ in 0..200 {
            let (_, j) = call(
                &http,
                &url,
                &root,
                reqwest::Method::GET,
                &format!("/api/v1/jobs/{job}"),
                None,
            )
            .await?;
            if j["state"] == "succeeded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let artifacts = repo().join("target/ui-artifacts").join(db.backend);
        std::fs::create_dir_all(&artifacts)?;
        let out = Command::new("node")
            .arg("e2e/run.mjs")
            .current_dir(&web)
            .env("BERTH_URL", &url)
            .env("BERTH_ADMIN_EMAIL", ADMIN)
            .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("BERTH_CLIENT_EMAIL", &client_email)
            .env("BERTH_CLIENT_PASSWORD", CLIENT_PASSWORD)
            .env("BERTH_SITE_DOMAIN", &domain)
            .env("BERTH_ARTIFACTS", &artifacts)
            .env("BERTH_CHROMIUM", &chromium)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        // The tenant the browser made has a Linux user now (its site).
        let _e2e_user = stdout
            .lines()
            .find_map(|l| l.strip_prefix("e2e tenant: "))
            .map(|t| DeleteUser(t.trim().to_owned()));
        anyhow::ensure!(
            out.status.success(),
            "[{}] the browser test failed:\n{stdout}\n{}",
            db.backend,
            String::from_utf8_lossy(&out.stderr)
        );
        println!("[{}] {stdout}", db.backend);
        assert!(artifacts.join("dashboard.png").exists(), "screenshots are kept");
    }
    Ok(())
}
