//! The panel's side of the agent RPC: the install's CA (made on first start,
//! kept in the database), the panel's client certificate (issued in memory,
//! renewed before it runs out), enrolment of nodes, and calls to agents over
//! mutual TLS. A call verifies the agent's chain, its name, and that its
//! certificate is one the panel issued to that node and has not revoked.

use berth_db::Db;
use berth_db::nodes::{self, NodeRow};
use berth_pki::{Ca, Issued};
use berth_proto::api::nodes::NodeState;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::RwLock;
use std::time::Duration;

/// Validity of node certificates; rotated when a third is left.
pub const NODE_CERT_DAYS: i64 = 30;
/// Validity of the panel's client certificate (re-issued at a third left).
const PANEL_CERT_DAYS: i64 = 30;
/// How long a join token works.
pub const JOIN_TOKEN_MINUTES: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("node {0} is not enrolled (state {1})")]
    NotTrusted(String, &'static str),
    #[error("node {node} could not be reached: {detail}")]
    Unreachable { node: String, detail: String },
    #[error("node {node} refused: {detail}")]
    Refused {
        node: String,
        detail: String,
        retryable: bool,
    },
    #[error("certificates: {0}")]
    Pki(String),
}

impl AgentError {
    pub fn retryable(&self) -> bool {
        match self {
            AgentError::Unreachable { .. } => true,
            AgentError::Refused { retryable, .. } => *retryable,
            AgentError::NotTrusted(..) | AgentError::Pki(_) => false,
        }
    }
}

pub struct Pki {
    ca: Ca,
    ca_fingerprint: String,
    /// (certificate, key PEM) of the panel's client identity.
    client: RwLock<(Issued, String)>,
    /// One HTTP client (and its pooled TLS connections) per node, rebuilt
    /// when the node's address, its accepted certificates or the panel's
    /// identity change: a handshake per call would be wasted work.
    clients: std::sync::Mutex<std::collections::HashMap<String, (String, reqwest::Client)>>,
}

impl Pki {
    /// Load the install's CA, making it on the very first start.
    pub async fn load_or_init(db: &Db) -> Result<Pki, String> {
        let mut c = db.conn().await.map_err(|e| e.to_string())?;
        let (cert, key) = match nodes::ca(&mut c).await.map_err(|e| e.to_string())? {
            Some(p) => p,
            None => {
                let (cert, key) = Ca::generate().map_err(|e| e.to_string())?;
                nodes::ca_init(&mut c, &cert, &key).await.map_err(|e| e.to_string())?
            }
        };
        let ca = Ca::load(&cert, &key).map_err(|e| e.to_string())?;
        let ca_fingerprint = ca.fingerprint().map_err(|e| e.to_string())?;
        let client = ca.issue_panel_client(PANEL_CERT_DAYS).map_err(|e| e.to_string())?;
        Ok(Pki {
            ca,
            ca_fingerprint,
            client: RwLock::new(client),
            clients: Default::default(),
        })
    }

    pub fn ca_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// What a join token pins: the first 16 hex digits of the CA's SHA-256.
    pub fn ca_pin(&self) -> &str {
        &self.ca_fingerprint[..16]
    }

    pub fn issue_node(&self, csr: &str, name: &str) -> Result<Issued, AgentError> {
        self.ca
            .issue_node(csr, name, NODE_CERT_DAYS)
            .map_err(|e| AgentError::Pki(e.to_string()))
    }

    /// The panel's client certificate and key, re-issued when a third of its
    /// life is left (no restart needed: clients are built per call).
    fn identity(&self) -> Result<(Issued, String), AgentError> {
        let now = berth_db::now_ms();
        let fresh = |i: &Issued| i.not_after_ms - now > PANEL_CERT_DAYS * 86_400_000 / 3;
        if let Ok(g) = self.client.read()
            && fresh(&g.0)
        {
            return Ok(g.clone());
        }
        let (issued, key) = self
            .ca
            .issue_panel_client(PANEL_CERT_DAYS)
            .map_err(|e| AgentError::Pki(e.to_string()))?;
        let out = (issued.clone(), key.clone());
        if let Ok(mut g) = self.client.write() {
            *g = (issued, key);
        }
        Ok(out)
    }

    /// A client for one node: only its enrolled certificate(s) are accepted
    /// (a revoked node never gets one: the state is checked on every call).
    fn client(&self, node: &NodeRow) -> Result<(reqwest::Client, String), AgentError> {
        let state = node.node.state;
        if state != NodeState::Trusted {
            return Err(AgentError::NotTrusted(node.node.name.to_string(), state.as_str()));
        }
        let allowed: Vec<String> = node
            .cert_sha256
            .iter()
            .chain(node.next_cert_sha256.iter())
            .cloned()
            .collect();
        let (cert, key) = self.identity()?;
        let name = node.node.name.as_str();
        let addr = resolve(&node.address).map_err(|detail| AgentError::Unreachable {
            node: name.to_owned(),
            detail,
        })?;
        let base = format!("https://{name}:{}", addr.port());
        let cache_key = format!("{addr}|{}|{}", allowed.join(","), cert.serial_hex);
        if let Ok(g) = self.clients.lock()
            && let Some((k, c)) = g.get(name)
            && *k == cache_key
        {
            return Ok((c.clone(), base));
        }
        let tls = berth_pki::panel_client_config(self.ca.cert_pem(), &cert.cert_pem, &key, allowed)
            .map_err(|e| AgentError::Pki(e.to_string()))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .resolve(name, addr)
            .https_only(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| AgentError::Pki(e.to_string()))?;
        if let Ok(mut g) = self.clients.lock() {
            g.insert(name.to_owned(), (cache_key, client.clone()));
        }
        Ok((client, base))
    }

    /// One RPC call. The agent answers JSON, or `{error, retryable}`.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        node: &NodeRow,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        request_id: Option<&str>,
    ) -> Result<T, AgentError> {
        let (client, base) = self.client(node)?;
        let name = node.node.name.to_string();
        let mut rb = client.request(method, format!("{base}{path}"));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        if let Some(r) = request_id {
            rb = rb.header("x-request-id", r);
        }
        let resp = rb.send().await.map_err(|e| AgentError::Unreachable {
            node: name.clone(),
            detail: error_chain(&e),
        })?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(|e| AgentError::Refused {
                node: name,
                detail: format!("unreadable answer: {e}"),
                retryable: true,
            });
        }
        Err(refused(name, resp).await)
    }

    /// A call whose answer is a file: its body is streamed into `out`
    /// (created 0600); returns the bytes written.
    pub async fn call_download<B: Serialize>(
        &self,
        node: &NodeRow,
        path: &str,
        body: &B,
        request_id: Option<&str>,
        out: &std::path::Path,
    ) -> Result<u64, AgentError> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let (client, base) = self.client(node)?;
        let name = node.node.name.to_string();
        let mut rb = client.post(format!("{base}{path}")).json(body);
        if let Some(r) = request_id {
            rb = rb.header("x-request-id", r);
        }
        let unreachable = |e: &dyn std::error::Error| AgentError::Unreachable {
            node: name.clone(),
            detail: error_chain(e),
        };
        let resp = rb.send().await.map_err(|e| unreachable(&e))?;
        if !resp.status().is_success() {
            return Err(refused(name, resp).await);
        }
        let local = |e: std::io::Error| AgentError::Pki(format!("{}: {e}", out.display()));
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(out)
                .map_err(local)?;
            tokio::fs::File::from_std(f)
        };
        let mut stream = resp.bytes_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| unreachable(&e))?;
            total += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.flush().await.map_err(local)?;
        Ok(total)
    }

    /// A `PUT` whose body is the file at `file`, streamed.
    pub async fn call_upload<T: DeserializeOwned>(
        &self,
        node: &NodeRow,
        path: &str,
        file: &std::path::Path,
        request_id: Option<&str>,
    ) -> Result<T, AgentError> {
        let (client, base) = self.client(node)?;
        let name = node.node.name.to_string();
        let f = tokio::fs::File::open(file)
            .await
            .map_err(|e| AgentError::Pki(format!("{}: {e}", file.display())))?;
        let len = f.metadata().await.map(|m| m.len()).unwrap_or_default();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(f));
        let mut rb = client
            .put(format!("{base}{path}"))
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        if let Some(r) = request_id {
            rb = rb.header("x-request-id", r);
        }
        let resp = rb.send().await.map_err(|e| AgentError::Unreachable {
            node: name.clone(),
            detail: error_chain(&e),
        })?;
        if !resp.status().is_success() {
            return Err(refused(name, resp).await);
        }
        resp.json().await.map_err(|e| AgentError::Refused {
            node: name,
            detail: format!("unreadable answer: {e}"),
            retryable: true,
        })
    }
}

/// An agent's refusal: `{error, retryable}`, or the status alone.
async fn refused(node: String, resp: reqwest::Response) -> AgentError {
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    AgentError::Refused {
        node,
        detail: body["error"].as_str().unwrap_or(status.as_str()).to_owned(),
        retryable: body["retryable"].as_bool().unwrap_or(status.is_server_error()),
    }
}

/// The whole cause chain (reqwest's top-level message hides the TLS reason).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `host:port` to one address.
fn resolve(address: &str) -> Result<SocketAddr, String> {
    address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address} does not resolve"))
}

/// A join token: a random secret, then the CA pin, so `berth agent join`
/// can check that it talks to the panel that made the token.
pub fn new_join_token(pin: &str) -> (String, String) {
    let secret = hex::encode(rand::random::<[u8; 24]>());
    let token = format!("bj_{secret}_{pin}");
    (token.clone(), token_hash(&token))
}

pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Rotate a node's certificate: the agent makes a new key and request, the
/// panel issues, the agent installs and serves it for new connections.
pub async fn rotate(pki: &Pki, db: &Db, node: &NodeRow, request_id: Option<&str>) -> Result<Issued, AgentError> {
    #[derive(serde::Deserialize)]
    struct Csr {
        csr: String,
    }
    #[derive(serde::Deserialize)]
    struct Installed {
        sha256_hex: String,
    }
    let csr: Csr = pki
        .call(node, reqwest::Method::POST, "/v1/tls/csr", None::<&()>, request_id)
        .await?;
    let issued = pki.issue_node(&csr.csr, node.node.name.as_str())?;
    let db_err = |e: berth_db::DbError| AgentError::Pki(format!("database: {e}"));
    let mut c = db.conn().await.map_err(db_err)?;
    // Accept the new certificate before the agent switches to it.
    nodes::set_next_cert(&mut c, node.id, Some(&issued.sha256_hex))
        .await
        .map_err(db_err)?;
    drop(c);
    let mut pinned = node.clone();
    pinned.next_cert_sha256 = Some(issued.sha256_hex.clone());
    let done: Installed = pki
        .call(
            &pinned,
            reqwest::Method::PUT,
            "/v1/tls/cert",
            Some(&serde_json::json!({ "cert_pem": issued.cert_pem })),
            request_id,
        )
        .await?;
    if done.sha256_hex != issued.sha256_hex {
        return Err(AgentError::Pki("the agent installed another certificate".into()));
    }
    let mut c = db.conn().await.map_err(db_err)?;
    nodes::rotate_done(
        &mut c,
        node.id,
        &issued.sha256_hex,
        &issued.serial_hex,
        issued.not_after_ms,
    )
    .await
    .map_err(db_err)?;
    Ok(issued)
}
