//! The agent's RPC: typed and versioned (`/v1/…`), over mutual TLS. The
//! agent accepts only a client certificate from the panel's CA whose name is
//! `berth-panel`; every other node's certificate is refused after the
//! handshake. There is no "run a command" message: each request is the
//! desired state of one resource with a generation number, and a replay (a
//! generation already applied) is answered `already_applied` without
//! touching anything. Request ids travel in `X-Request-Id`.

use crate::apply::StepReport;
use crate::node::{LocalNode, NodeError, SiteInput};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use berth_proto::api::nodes::NodeReport;
use berth_proto::{AccountName, DomainName, PhpVersion, SiteId};
use berth_sys::fsx;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Mutex;

/// `PUT /v1/sites/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApplySite {
    pub generation: i64,
    pub site: SiteInput,
    /// PHP versions the tenant's sites still use (pools of others stop).
    pub php_in_use: Vec<PhpVersion>,
}

/// `POST /v1/databases/export`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatabaseRef {
    pub engine: berth_proto::api::databases::DbEngine,
    pub name: berth_proto::api::databases::DbIdent,
}

/// `POST /v1/sites/{id}/remove`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemoveSite {
    pub generation: i64,
    pub tenant: Option<AccountName>,
    /// Also delete `domains/<domain>` of `tenant`.
    pub delete_files: Option<DomainName>,
    pub php_in_use: Vec<PhpVersion>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Applied {
    /// The generation was applied before; nothing was done.
    pub already_applied: bool,
    pub revision: Option<u64>,
    pub changes: usize,
    pub steps: Vec<StepReport>,
    pub pool_steps: Vec<StepReport>,
    pub config: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RpcError {
    pub error: String,
    pub retryable: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CsrReply {
    pub csr: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstallCert {
    pub cert_pem: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertReply {
    pub serial_hex: String,
    pub sha256_hex: String,
    pub not_after_ms: i64,
}

/// The files an enrolled agent keeps in its state directory.
pub struct StateFiles {
    pub dir: PathBuf,
}

impl StateFiles {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
    pub fn name(&self) -> PathBuf {
        self.dir.join("node-name")
    }
    fn generations(&self) -> PathBuf {
        self.dir.join("generations.json")
    }

    /// Save what enrolment returned (the key readable by root only).
    pub fn save(&self, name: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> std::io::Result<()> {
        fsx::ensure_dir(&self.dir, 0, 0, 0o700)?;
        fsx::write_atomic(&self.key(), key_pem.as_bytes(), 0o600)?;
        fsx::write_atomic(&self.cert(), cert_pem.as_bytes(), 0o644)?;
        fsx::write_atomic(&self.ca(), ca_pem.as_bytes(), 0o644)?;
        fsx::write_atomic(&self.name(), name.as_bytes(), 0o644)
    }

    /// The TLS config from the saved files.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
        berth_pki::agent_server_config(&read(self.ca())?, &read(self.cert())?, &read(self.key())?)
            .map_err(|e| e.to_string())
    }
}

pub struct Agent {
    pub node: Arc<LocalNode>,
    pub files: StateFiles,
    pub tls: Arc<RwLock<Arc<rustls::ServerConfig>>>,
    generations: Mutex<BTreeMap<String, i64>>,
    pending_key: Mutex<Option<String>>,
}

impl Agent {
    pub fn new(node: Arc<LocalNode>, files: StateFiles, tls: Arc<RwLock<Arc<rustls::ServerConfig>>>) -> Agent {
        let generations = std::fs::read(files.generations())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Agent {
            node,
            files,
            tls,
            generations: Mutex::new(generations),
            pending_key: Mutex::new(None),
        }
    }

    /// Was this generation (or a later one) of `key` applied already?
    async fn seen(&self, key: &str, generation: i64) -> bool {
        self.generations.lock().await.get(key).is_some_and(|g| *g >= generation)
    }

    async fn record(&self, key: String, generation: i64) {
        let mut g = self.generations.lock().await;
        g.insert(key, generation);
        if let Ok(b) = serde_json::to_vec(&*g)
            && let Err(e) = fsx::write_atomic(&self.files.generations(), &b, 0o600)
        {
            tracing::warn!(error = %e, "could not save applied generations");
        }
    }
}

fn reason(h: &HeaderMap, what: &str) -> String {
    let rid = h
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or("-");
    format!("panel {what} (request {rid})")
}

struct Fail(StatusCode, RpcError);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<NodeError> for Fail {
    fn from(e: NodeError) -> Fail {
        let retryable = e.retryable();
        Fail(
            if retryable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            RpcError {
                error: e.to_string(),
                retryable,
            },
        )
    }
}

fn bad(msg: impl Into<String>) -> Fail {
    Fail(
        StatusCode::UNPROCESSABLE_ENTITY,
        RpcError {
            error: msg.into(),
            retryable: false,
        },
    )
}

async fn info(State(a): State<Arc<Agent>>) -> Json<NodeReport> {
    let php = a.node.php_versions().iter().map(|v| v.to_string()).collect();
    Json(crate::report::collect(std::path::Path::new(a.node.config().homes_root.as_str()), php).await)
}

async fn apply_site(
    State(a): State<Arc<Agent>>,
    Path(id): Path<SiteId>,
    headers: HeaderMap,
    Json(req): Json<ApplySite>,
) -> Result<Json<Applied>, Fail> {
    if req.site.site != id {
        return Err(bad("the body names another site"));
    }
    let key = format!("site/{id}");
    if a.seen(&key, req.generation).await {
        return Ok(already());
    }
    let done = a.node.apply_site(&req.site, &reason(&headers, "site apply")).await?;
    let mut notes = Vec::new();
    match a.node.stop_unused_pools(&req.site.tenant, &req.php_in_use).await {
        Ok(s) if !s.is_empty() => notes.push(format!("stopped unused PHP pools: {}", s.join(", "))),
        Ok(_) => {}
        Err(e) => notes.push(format!("could not stop unused PHP pools: {e}")),
    }
    a.record(key, req.generation).await;
    Ok(Json(Applied {
        already_applied: false,
        revision: Some(done.vhost.rev),
        changes: done.vhost.changes,
        steps: done.vhost.steps,
        pool_steps: done.pool.map(|p| p.steps).unwrap_or_default(),
        config: Some(done.config),
        notes,
    }))
}

async fn remove_site(
    State(a): State<Arc<Agent>>,
    Path(id): Path<SiteId>,
    headers: HeaderMap,
    Json(req): Json<RemoveSite>,
) -> Result<Json<Applied>, Fail> {
    let key = format!("site/{id}");
    if a.seen(&key, req.generation).await {
        return Ok(already());
    }
    let mut out = Applied::default();
    if let Some(r) = a.node.remove_site(id, &reason(&headers, "site removal")).await? {
        out.revision = Some(r.rev);
        out.steps = r.steps;
    }
    if let Some(t) = &req.tenant {
        if let Some(d) = &req.delete_files {
            let gone = a.node.delete_site_files(t, d)?;
            out.notes.push(format!("files of {d} deleted: {gone}"));
        }
        if let Ok(s) = a.node.stop_unused_pools(t, &req.php_in_use).await
            && !s.is_empty()
        {
            out.notes.push(format!("stopped unused PHP pools: {}", s.join(", ")));
        }
    }
    a.record(key, req.generation).await;
    Ok(Json(out))
}

/// `POST /v1/logs`: a page of a site's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogRequest {
    pub tenant: AccountName,
    pub domain: DomainName,
    pub error: bool,
    pub before: Option<u64>,
    pub lines: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogReply {
    pub lines: Vec<String>,
    pub next_before: Option<u64>,
    pub size: u64,
}

/// `POST /v1/nginx/rollback` and `POST /v1/nginx/drift`, and the rebuild.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NginxChange {
    pub generation: i64,
    /// For a rollback: the revision to make live again.
    pub rev: Option<u64>,
    /// For drift: `keep` or `overwrite`.
    pub action: Option<String>,
}

/// `POST /v1/sites/rebuild`: every site this node should serve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rebuild {
    pub generation: i64,
    pub sites: Vec<SiteInput>,
}

/// The answer to a replayed generation: nothing was done.
fn already() -> Json<Applied> {
    Json(Applied {
        already_applied: true,
        ..Default::default()
    })
}

fn store_fail(e: crate::store::StoreError) -> Fail {
    Fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        RpcError {
            error: e.to_string(),
            retryable: true,
        },
    )
}

fn apply_fail(e: crate::apply::ApplyError) -> Fail {
    NodeError::from(e).into()
}

fn applied(r: Option<crate::apply::ApplyReport>) -> Applied {
    match r {
        Some(r) => Applied {
            revision: Some(r.rev),
            changes: r.changes,
            steps: r.steps,
            ..Default::default()
        },
        None => Applied::default(),
    }
}

async fn site_log(State(a): State<Arc<Agent>>, Json(req): Json<LogRequest>) -> Result<Json<LogReply>, Fail> {
    if !(1..=1000).contains(&req.lines) {
        return Err(bad("lines must be from 1 to 1000"));
    }
    let node = a.node.clone();
    let page =
        tokio::task::spawn_blocking(move || node.site_log(&req.tenant, &req.domain, req.error, req.before, req.lines))
            .await
            .map_err(|e| bad(e.to_string()))??;
    Ok(Json(LogReply {
        lines: page.lines,
        next_before: page.next_before,
        size: page.size,
    }))
}

async fn nginx_revisions(
    State(a): State<Arc<Agent>>,
) -> Result<Json<Vec<berth_proto::api::nodes::RevisionInfo>>, Fail> {
    crate::history::revisions(a.node.executor().store())
        .map(Json)
        .map_err(store_fail)
}

async fn nginx_journal(State(a): State<Arc<Agent>>) -> Result<Json<Vec<berth_proto::api::nodes::JournalLine>>, Fail> {
    crate::history::journal(a.node.executor().store())
        .map(Json)
        .map_err(store_fail)
}

async fn nginx_drift(State(a): State<Arc<Agent>>) -> Result<Json<Vec<berth_proto::api::nodes::DriftItem>>, Fail> {
    crate::history::drift(a.node.executor().store())
        .map(Json)
        .map_err(store_fail)
}

async fn nginx_rollback(State(a): State<Arc<Agent>>, Json(req): Json<NginxChange>) -> Result<Json<Applied>, Fail> {
    let rev = req.rev.ok_or_else(|| bad("rev is required"))?;
    let key = format!("nginx/rollback/{rev}");
    if a.seen(&key, req.generation).await {
        return Ok(already());
    }
    a.node
        .executor()
        .store()
        .manifest(rev)
        .map_err(|_| bad(format!("no revision {rev}")))?;
    let r = a
        .node
        .executor()
        .rollback_to(rev, Vec::new())
        .await
        .map_err(apply_fail)?;
    a.record(key, req.generation).await;
    Ok(Json(applied(Some(r))))
}

async fn nginx_resolve_drift(State(a): State<Arc<Agent>>, Json(req): Json<NginxChange>) -> Result<Json<Applied>, Fail> {
    let key = "nginx/drift".to_owned();
    if a.seen(&key, req.generation).await {
        return Ok(already());
    }
    let exec = a.node.executor();
    let r = match req.action.as_deref() {
        Some("keep") => exec.adopt_drift().await,
        Some("overwrite") => exec.overwrite_drift().await,
        _ => return Err(bad("action must be keep or overwrite")),
    }
    .map_err(apply_fail)?;
    a.record(key, req.generation).await;
    Ok(Json(applied(r)))
}

async fn rebuild(
    State(a): State<Arc<Agent>>,
    headers: HeaderMap,
    Json(req): Json<Rebuild>,
) -> Result<Json<Applied>, Fail> {
    let key = "sites/rebuild".to_owned();
    if a.seen(&key, req.generation).await {
        return Ok(already());
    }
    let r = a.node.rebuild(&req.sites, &reason(&headers, "rebuild")).await?;
    a.record(key, req.generation).await;
    Ok(Json(applied(Some(r))))
}

async fn activate_templates(
    State(a): State<Arc<Agent>>,
    headers: HeaderMap,
    Json(req): Json<Rebuild>,
) -> Result<Json<Applied>, Fail> {
    let key = "templates/activate".to_owned();
    if a.seen(&key, req.generation).await {
        return Ok(already());
    }
    let (used, r) = a
        .node
        .activate_templates(&req.sites, &reason(&headers, "templates"))
        .await?;
    a.record(key, req.generation).await;
    let mut out = applied(Some(r));
    out.notes.push(if used {
        "the operator's template is in use".into()
    } else {
        "the built-in template is in use".into()
    });
    Ok(Json(out))
}

/// Rotation, step 1: a new key (kept here) and a request for it.
async fn databases(
    State(a): State<Arc<Agent>>,
    Json(req): Json<crate::dbs::DbRequest>,
) -> Result<Json<crate::dbs::DbReply>, Fail> {
    a.node.databases().handle(req).await.map(Json).map_err(db_fail)
}

async fn dns(
    State(a): State<Arc<Agent>>,
    Json(req): Json<crate::dns::DnsRequest>,
) -> Result<Json<crate::dns::ZoneState>, Fail> {
    a.node
        .dns()
        .handle(req)
        .await
        .map(Json)
        .map_err(|e| op_fail(e.retryable(), e.to_string()))
}

/// `POST /v1/certs`: keys, CSRs, challenge files and preflight for sites'
/// certificates (keys never leave this node).
async fn certs(
    State(a): State<Arc<Agent>>,
    Json(req): Json<crate::certs::CertRequest>,
) -> Result<Json<crate::certs::CertReply>, Fail> {
    a.node
        .certs()
        .handle(req)
        .await
        .map(Json)
        .map_err(|e| op_fail(e.retryable(), e.to_string()))
}

fn db_fail(e: crate::dbs::DbOpError) -> Fail {
    op_fail(e.retryable(), e.to_string())
}

/// A module's refusal: 503 when a retry may succeed (its server is down),
/// else 422.
fn op_fail(retryable: bool, error: String) -> Fail {
    Fail(
        if retryable {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        RpcError { error, retryable },
    )
}

/// A scratch file in the node's dump directory (0600, a fresh name).
fn dump_scratch(a: &Agent, prefix: &str) -> Result<(PathBuf, std::fs::File), Fail> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = a
        .node
        .databases()
        .config()
        .dump_dir
        .clone()
        .ok_or_else(|| bad("this node has no dump directory"))?;
    let path = dir.join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    Ok((path, f))
}

/// `POST /v1/databases/export`: dump a database; the answer's body is the
/// dump (the node keeps no copy).
async fn database_export(State(a): State<Arc<Agent>>, Json(req): Json<DatabaseRef>) -> Result<Response, Fail> {
    let (path, f) = dump_scratch(&a, "rpc-export")?;
    drop(f);
    let r = a.node.databases().export(req.engine, &req.name, &path).await;
    let opened = tokio::fs::File::open(&path).await;
    // Unlinked now; the open descriptor keeps the data until it is sent.
    let _ = std::fs::remove_file(&path);
    let bytes = r.map_err(db_fail)?;
    let file = opened.map_err(|e| bad(e.to_string()))?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (axum::http::header::CONTENT_LENGTH, bytes.to_string()),
        ],
        body,
    )
        .into_response())
}

/// `PUT /v1/databases/import/{engine}/{name}`: the body is the dump (the
/// panel enforced the size limit); loaded as a login limited to the
/// database, then deleted.
async fn database_import(
    State(a): State<Arc<Agent>>,
    Path((engine, name)): Path<(
        berth_proto::api::databases::DbEngine,
        berth_proto::api::databases::DbIdent,
    )>,
    body: axum::body::Body,
) -> Result<Json<serde_json::Value>, Fail> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let (path, f) = dump_scratch(&a, "rpc-import")?;
    let received = async {
        let mut file = tokio::fs::File::from_std(f);
        let mut stream = body.into_data_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| bad(format!("reading the dump: {e}")))?;
            total += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(|e| bad(e.to_string()))?;
        }
        file.flush().await.map_err(|e| bad(e.to_string()))?;
        Ok::<u64, Fail>(total)
    }
    .await;
    let r = match received {
        Ok(_) => a.node.databases().import(engine, &name, &path).await.map_err(db_fail),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&path);
    r.map(|out| Json(serde_json::json!({ "output": out })))
}

async fn tls_csr(State(a): State<Arc<Agent>>) -> Result<Json<CsrReply>, Fail> {
    let name = std::fs::read_to_string(a.files.name()).map_err(|e| bad(e.to_string()))?;
    let (csr, key) = berth_pki::make_csr(name.trim()).map_err(|e| bad(e.to_string()))?;
    *a.pending_key.lock().await = Some(key);
    Ok(Json(CsrReply { csr }))
}

/// Rotation, step 2: the certificate for the pending key; saved, then
/// served to every new connection (no restart).
async fn tls_cert(State(a): State<Arc<Agent>>, Json(req): Json<InstallCert>) -> Result<Json<CertReply>, Fail> {
    let mut pending = a.pending_key.lock().await;
    let key = pending
        .clone()
        .ok_or_else(|| bad("no certificate request is pending"))?;
    let ca = std::fs::read_to_string(a.files.ca()).map_err(|e| bad(e.to_string()))?;
    let cfg = berth_pki::agent_server_config(&ca, &req.cert_pem, &key).map_err(|e| bad(e.to_string()))?;
    let info = berth_pki::cert_info(&req.cert_pem).ok_or_else(|| bad("not a certificate"))?;
    fsx::write_atomic(&a.files.key(), key.as_bytes(), 0o600).map_err(|e| bad(e.to_string()))?;
    fsx::write_atomic(&a.files.cert(), req.cert_pem.as_bytes(), 0o644).map_err(|e| bad(e.to_string()))?;
    match a.tls.write() {
        Ok(mut g) => *g = cfg,
        Err(p) => *p.into_inner() = cfg,
    }
    *pending = None;
    tracing::info!(serial = %info.serial_hex, "serving a new certificate");
    Ok(Json(CertReply {
        serial_hex: info.serial_hex,
        sha256_hex: info.sha256_hex,
        not_after_ms: info.not_after_ms,
    }))
}

pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/sites/{id}", put(apply_site))
        .route("/v1/sites/{id}/remove", post(remove_site))
        .route("/v1/sites/rebuild", post(rebuild))
        .route("/v1/logs", post(site_log))
        .route("/v1/templates/activate", post(activate_templates))
        .route("/v1/nginx/revisions", get(nginx_revisions))
        .route("/v1/nginx/journal", get(nginx_journal))
        .route("/v1/nginx/drift", get(nginx_drift).post(nginx_resolve_drift))
        .route("/v1/nginx/rollback", post(nginx_rollback))
        .route("/v1/databases", post(databases))
        .route("/v1/databases/export", post(database_export))
        .route("/v1/dns", post(dns))
        .route("/v1/certs", post(certs))
        .route("/v1/databases/import/{engine}/{name}", put(database_import))
        .route("/v1/tls/csr", post(tls_csr))
        .route("/v1/tls/cert", put(tls_cert))
        // Only the panel gets here (mutual TLS); a rebuild carries every
        // site of the node, far beyond axum's 2 MB default at 10,000 sites.
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(agent)
}

/// Serve `app` over TLS with the config current at each new connection
/// (so a rotated certificate is used without a restart), to the panel only.
pub async fn serve_mtls(
    listener: tokio::net::TcpListener,
    tls: Arc<RwLock<Arc<rustls::ServerConfig>>>,
    app: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    loop {
        let (tcp, remote): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let cfg = match tls.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        let app = app.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(%remote, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => return,
            };
            // The verifier proved the chain to our CA; only the panel's
            // certificate may drive this agent, not another node's.
            let peer = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| berth_pki::cert_info_der(c.as_ref()));
            if peer.as_ref().map(|p| p.cn.as_str()) != Some(berth_pki::PANEL_CN) {
                tracing::warn!(%remote, peer = ?peer.map(|p| p.cn), "refused a client that is not the panel");
                return;
            }
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
