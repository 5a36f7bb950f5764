//! Shared state of a panel process, and the short-lived settings cache.

use berth_db::Db;
use berth_jobs::Engine;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// Options of one panel process.
#[derive(Clone, Debug)]
pub struct PanelConfig {
    /// Job workers in this process (0 runs no engine, for API-only panels).
    pub workers: usize,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Argon2 cost (memory KiB, iterations); tests lower it.
    pub argon2_m_kib: u32,
    pub argon2_t: u32,
    /// The local node (single-server install): where sites are put.
    pub node: Option<berth_agent::node::NodeConfig>,
    /// Where database exports (until downloaded, a day) and uploaded
    /// imports are kept; the local node's dump directory when unset.
    pub dump_dir: Option<std::path::PathBuf>,
}

/// The panel's dump directory (see [`PanelConfig::dump_dir`]).
pub fn dump_dir(config: &PanelConfig, node: Option<&berth_agent::node::LocalNode>) -> Option<std::path::PathBuf> {
    config
        .dump_dir
        .clone()
        .or_else(|| node.and_then(|n| n.databases().config().dump_dir.clone()))
}

impl Default for PanelConfig {
    fn default() -> Self {
        PanelConfig {
            workers: 4,
            body_limit: 64 * 1024,
            argon2_m_kib: 19_456,
            argon2_t: 2,
            node: None,
            dump_dir: None,
        }
    }
}

pub struct AppState {
    pub db: Db,
    pub engine: Engine,
    pub config: PanelConfig,
    pub settings: SettingsCache,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// A hash to verify against when the email is unknown, so a login takes
    /// as long for an unknown account as for a wrong password.
    pub dummy_hash: String,
    /// The in-process agent of the local node, when one is configured and
    /// started.
    pub node: Option<Arc<berth_agent::node::LocalNode>>,
    /// The install's CA and the panel's client identity for agents.
    pub pki: Arc<crate::agents::Pki>,
    /// Argon2 runs at most this many at a time (each takes ~19 MiB and a
    /// core); the rest wait briefly or get 429, so a login flood cannot
    /// exhaust memory.
    pub hash_slots: tokio::sync::Semaphore,
}

impl AppState {
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, crate::error::ApiError> {
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.hash_slots.acquire()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(crate::error::ApiError::new(
                berth_proto::ErrorCode::RateLimited,
                "the server is busy checking passwords; try again in a moment",
            )),
        }
    }

    /// Hash a password (bounded concurrency).
    pub async fn hash_password(&self, password: &str) -> Result<String, crate::error::ApiError> {
        let _p = self.slot().await?;
        crate::auth::secrets::hash_password_async(password.to_owned(), self.config.argon2_m_kib, self.config.argon2_t)
            .await
            .map_err(crate::error::ApiError::internal)
    }

    /// Check a password (bounded concurrency).
    pub async fn verify_password(&self, password: &str, phc: &str) -> Result<bool, crate::error::ApiError> {
        let _p = self.slot().await?;
        Ok(crate::auth::secrets::verify_password_async(password.to_owned(), phc.to_owned()).await)
    }
}

pub type SharedState = Arc<AppState>;

/// Settings read on every request (trusted proxies, session lifetimes…) are
/// cached for a second or two: a change made through one panel reaches the
/// others within that time.
pub struct SettingsCache {
    db: Db,
    inner: RwLock<(Instant, HashMap<String, Value>)>,
}

const TTL: Duration = Duration::from_secs(2);

impl SettingsCache {
    pub fn new(db: Db) -> SettingsCache {
        SettingsCache {
            db,
            inner: RwLock::new((Instant::now() - TTL * 2, HashMap::new())),
        }
    }

    /// Forget the cache (after a settings change through this panel).
    pub async fn invalidate(&self) {
        self.inner.write().await.0 = Instant::now() - TTL * 2;
    }

    /// The effective value of a registered key.
    pub async fn get(&self, key: &str) -> Value {
        {
            let g = self.inner.read().await;
            if g.0.elapsed() < TTL {
                return resolve(key, g.1.get(key));
            }
        }
        let mut g = self.inner.write().await;
        if g.0.elapsed() >= TTL {
            match self.load().await {
                Ok(map) => *g = (Instant::now(), map),
                Err(e) => tracing::warn!(error = %e, "could not refresh settings; using the previous values"),
            }
        }
        resolve(key, g.1.get(key))
    }

    async fn load(&self) -> Result<HashMap<String, Value>, berth_db::DbError> {
        let mut c = self.db.conn().await?;
        let all = berth_db::settings::all(&mut c).await?;
        Ok(all.into_iter().map(|(k, v)| (k, v.value)).collect())
    }

    /// A setting that is a list of networks (CIDR or bare addresses).
    pub async fn nets(&self, key: &str) -> Vec<ipnet::IpNet> {
        self.get(key)
            .await
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().and_then(berth_core::settings::parse_net))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn i64(&self, key: &str) -> i64 {
        self.get(key).await.as_i64().unwrap_or_default()
    }

    pub async fn string(&self, key: &str) -> String {
        self.get(key).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn boolean(&self, key: &str) -> bool {
        self.get(key).await.as_bool().unwrap_or_default()
    }
}

fn resolve(key: &str, stored: Option<&Value>) -> Value {
    berth_core::settings::effective(key, stored).unwrap_or_else(|| {
        tracing::error!(key, "read of an unregistered setting");
        Value::Null
    })
}
