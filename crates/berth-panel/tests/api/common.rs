//! Harness: a real panel on 127.0.0.1:0 per backend, raw HTTP helpers (so
//! tests can also send what a typed client never would), and fixtures.

use berth_db::Db;
use berth_panel::{Panel, PanelConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;

pub const ADMIN_EMAIL: &str = "root@example.com";
pub const ADMIN_PASSWORD: &str = "Sturdy-Harbour-42";

pub struct TestPanel {
    pub backend: String,
    pub url: String,
    pub db: Db,
    pub db_url: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _guard: berth_testkit::TestDb,
}

pub fn config() -> PanelConfig {
    PanelConfig {
        workers: 2,
        // Cheap hashes keep the suite fast; production uses the defaults.
        argon2_m_kib: 256,
        argon2_t: 1,
        ..PanelConfig::default()
    }
}

pub type Served = (
    String,
    Db,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    Option<std::sync::Arc<berth_agent::node::LocalNode>>,
);

/// Start a panel on `db_url` (migrating it) and serve it on a free port.
pub async fn serve(
    db_url: &str,
) -> anyhow::Result<(
    String,
    Db,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)> {
    let (url, db, stop, task, _) = serve_with(db_url, config()).await?;
    Ok((url, db, stop, task))
}

/// The same with a chosen configuration (for example with a local node).
pub async fn serve_with(db_url: &str, cfg: PanelConfig) -> anyhow::Result<Served> {
    let db = Db::connect(db_url).await?;
    berth_panel::bootstrap::ensure_first_admin(
        &db,
        Some(ADMIN_EMAIL),
        Some(ADMIN_PASSWORD),
        (cfg.argon2_m_kib, cfg.argon2_t),
    )
    .await?;
    let wants_node = cfg.node.is_some();
    let panel = Panel::start(db.clone(), cfg).await?;
    let node = panel.node();
    if wants_node && node.is_none() {
        anyhow::bail!("the local node did not start: {}", panel.node_error().unwrap_or("?"));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = panel
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok((format!("http://{addr}"), db, tx, task, node))
}

impl TestPanel {
    pub async fn start(t: berth_testkit::TestDb) -> anyhow::Result<TestPanel> {
        berth_testkit::init_crypto();
        let (url, db, stop, task) = serve(&t.url).await?;
        Ok(TestPanel {
            backend: t.backend.to_owned(),
            url,
            db,
            db_url: t.url.clone(),
            http: reqwest::Client::builder().build()?,
            stop: Some(stop),
            task: Some(task),
            _guard: t,
        })
    }

    /// Wrap a panel started with `serve_with`.
    pub fn attach(
        t: berth_testkit::TestDb,
        url: String,
        db: Db,
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    ) -> TestPanel {
        TestPanel {
            backend: t.backend.to_owned(),
            url,
            db,
            db_url: t.url.clone(),
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            _guard: t,
        }
    }

    /// One panel per configured backend.
    pub async fn all() -> anyhow::Result<Vec<TestPanel>> {
        let mut out = Vec::new();
        for t in berth_testkit::databases().await? {
            out.push(TestPanel::start(t).await?);
        }
        Ok(out)
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Send a request; answer the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut rb = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, v))
    }

    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<(StatusCode, Value)> {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> anyhow::Result<(StatusCode, Value)> {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let (s, v) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": email, "password": password })),
            )
            .await?;
        anyhow::ensure!(s == StatusCode::OK, "login {email}: {s} {v}");
        Ok(v["token"].as_str().unwrap_or_default().to_owned())
    }

    pub async fn admin(&self) -> anyhow::Result<String> {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Create a user with a known password and log them in.
    pub async fn user(
        &self,
        by: &str,
        email: &str,
        role: &str,
        tenant: Option<&str>,
    ) -> anyhow::Result<(String, String)> {
        let mut body = json!({ "email": email, "name": "Someone", "role": role, "password": "Good-Password-77" });
        if let Some(t) = tenant {
            body["tenant_id"] = json!(t);
        }
        let (s, v) = self.post("/api/v1/users", by, body).await?;
        anyhow::ensure!(s == StatusCode::CREATED, "create {email}: {s} {v}");
        let id = v["user"]["id"].as_str().unwrap_or_default().to_owned();
        Ok((id, self.login(email, "Good-Password-77").await?))
    }

    pub async fn tenant(&self, by: &str, name: &str, owner: Option<&str>) -> anyhow::Result<String> {
        let mut body = json!({ "name": name, "display_name": format!("Tenant {name}") });
        if let Some(o) = owner {
            body["owner_id"] = json!(o);
        }
        let (s, v) = self.post("/api/v1/tenants", by, body).await?;
        anyhow::ensure!(s == StatusCode::CREATED, "create tenant {name}: {s} {v}");
        Ok(v["id"].as_str().unwrap_or_default().to_owned())
    }
}

pub fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("")
}
