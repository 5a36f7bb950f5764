//! What the benchmark binaries that drive a whole panel share: a panel on
//! SQLite with a local node in a temporary directory, served on loopback
//! and logged in, and a small client of its API.

// Each benchmark binary compiles this module and uses part of it.
#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use berth_agent::node::NodeConfig;
use berth_panel::{Panel, PanelConfig};
use berth_proto::desired::NginxMainSpec;
use berth_proto::{AbsPath, AccountName};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const EMAIL: &str = "admin@berth.test";
const PASSWORD: &str = "Quick-Horse-Battery-42";

/// A local node under `dir` serving websites on `web`; no HTTPS, DNS or
/// database servers (a benchmark adds what it measures).
pub fn node_config(dir: &Path, web: SocketAddr) -> Result<NodeConfig> {
    let abs = |p: &Path| AbsPath::parse(&p.display().to_string());
    Ok(NodeConfig {
        homes_root: abs(&dir.join("homes"))?,
        nginx: NginxMainSpec {
            prefix: abs(&dir.join("nginx"))?,
            workers: 1,
            default_listen: vec![web],
            default_tls_listen: vec![],
            user: Some(AccountName::parse("berth-web")?),
        },
        web_listen: vec![web],
        php_root: abs(&dir.join("php"))?,
        php_sbin: "/usr/sbin".into(),
        dns: Default::default(),
        templates_dir: None,
        certs: berth_agent::certs::CertsConfig {
            https_listen: vec![],
            acme_root: abs(&dir.join("acme"))?,
            dir: dir.join("tls"),
        },
        services: berth_agent::systemd::ServiceManager::Agent,
        databases: Default::default(),
    })
}

/// A logged-in client of the panel's API.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// `GET path`, which must answer 200.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let (s, v) = self.call(reqwest::Method::GET, path, None).await?;
        anyhow::ensure!(s == 200, "GET {path}: {s} {v}");
        Ok(v)
    }

    /// Store a setting.
    pub async fn set(&self, key: &str, value: Value) -> Result<()> {
        let path = format!("/api/v1/settings/{key}");
        let (s, v) = self
            .call(reqwest::Method::PUT, &path, Some(json!({ "value": value })))
            .await?;
        anyhow::ensure!((200..300).contains(&s), "setting {key}: {s} {v}");
        Ok(())
    }

    /// Wait for a job to succeed, polling every `every`; the job.
    pub async fn job_done_every(&self, id: &str, every: Duration) -> Result<Value> {
        anyhow::ensure!(!id.is_empty(), "no job id");
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let (_, j) = self
                .call(reqwest::Method::GET, &format!("/api/v1/jobs/{id}"), None)
                .await?;
            match j["state"].as_str() {
                Some("succeeded") => return Ok(j),
                Some("dead") | Some("cancelled") => bail!("job {id} ended {}: {}", j["state"], j["last_error"]),
                _ if Instant::now() > deadline => bail!("job {id} did not finish within 300 s: {j}"),
                _ => tokio::time::sleep(every).await,
            }
        }
    }

    /// Wait for a job to succeed (polled every 5 ms); the job.
    pub async fn job_done(&self, id: &str) -> Result<Value> {
        self.job_done_every(id, Duration::from_millis(5)).await
    }
}

/// A panel served on loopback; stop it with `stop`.
pub struct Running {
    pub api: Api,
    /// The panel's database (for what a benchmark reads directly).
    pub db: berth_db::Db,
    pub workers: usize,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    _nginx: berth_agent::nginx::StopOnDrop,
}

impl Running {
    /// Start a panel on SQLite in `dir` with `node` as its local node and
    /// `workers` job workers (`None`: the default), serve it, log in.
    pub async fn start(dir: &Path, node: NodeConfig, workers: Option<usize>) -> Result<Running> {
        let nginx = berth_agent::nginx::StopOnDrop {
            prefix: Path::new(node.nginx.prefix.as_str()).to_path_buf(),
        };
        let db = berth_db::Db::connect(&format!("sqlite://{}?mode=rwc", dir.join("berth.db").display())).await?;
        berth_panel::bootstrap::ensure_first_admin(&db, Some(EMAIL), Some(PASSWORD), (256, 1)).await?;
        let workers = workers.unwrap_or(PanelConfig::default().workers);
        let panel = Panel::start(
            db.clone(),
            PanelConfig {
                workers,
                argon2_m_kib: 256,
                argon2_t: 1,
                node: Some(node),
                ..PanelConfig::default()
            },
        )
        .await?;
        if let Some(e) = panel.node_error() {
            bail!("the local node did not start: {e}");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = panel
                .serve(listener, async move {
                    let _ = stop_rx.await;
                })
                .await;
        });
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": EMAIL, "password": PASSWORD }))
            .send()
            .await?
            .json()
            .await?;
        let api = Api {
            http,
            base,
            token: login["token"].as_str().context("login")?.to_owned(),
        };
        Ok(Running {
            api,
            db,
            workers,
            stop,
            server,
            _nginx: nginx,
        })
    }

    /// Stop serving and the job workers.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}
