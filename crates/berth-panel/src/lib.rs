//! The Berth panel as a library: `Panel::start` connects the database,
//! starts the job engine, and `serve` answers HTTP on a listener the caller
//! opened (port 0 in tests). `berth serve` is a thin wrapper around this.

pub mod acme;
pub mod agents;
pub mod auth;
pub mod bootstrap;
pub mod cert_jobs;
pub mod db_jobs;
pub mod dns01;
pub mod dns_jobs;
pub mod error;
pub mod extract;
mod mail;
pub mod middleware;
pub mod node_jobs;
pub mod openapi;
pub mod routes;
pub mod site_jobs;
pub mod state;
pub mod ui;

pub use state::PanelConfig;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use berth_db::Db;
use berth_jobs::{Engine, EngineConfig, Registry};
use state::{AppState, SettingsCache, SharedState};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Why the panel could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] berth_db::DbError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// A running panel: state plus its job workers.
pub struct Panel {
    state: SharedState,
    node_error: Option<String>,
    stop: watch::Sender<bool>,
    workers: JoinSet<()>,
}

/// One Prometheus recorder per process (several panels in one test process
/// share it).
fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static H: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
    .clone()
}

impl Panel {
    /// Connect (migrating the schema) and start the job engine.
    pub async fn start(db: Db, config: PanelConfig) -> Result<Panel, StartError> {
        let (node, node_error) = match &config.node {
            None => (None, None),
            Some(nc) => match berth_agent::node::LocalNode::start(nc.clone()).await {
                Ok(n) => (Some(Arc::new(n)), None),
                // The panel still runs; site jobs say why they cannot.
                Err(e) => {
                    tracing::error!(error = %e, "the local node could not start; sites cannot be applied");
                    (None, Some(e.to_string()))
                }
            },
        };
        let pki = Arc::new(agents::Pki::load_or_init(&db).await.map_err(StartError::Config)?);
        let mut registry = Registry::with_builtins();
        registry.register(site_jobs::SiteApply {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(site_jobs::SiteRemove {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(db_jobs::DatabaseApply {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(db_jobs::DatabaseRemove {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(db_jobs::DatabaseUserApply {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(db_jobs::DatabaseUserRemove {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(dns_jobs::ZoneApply {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(cert_jobs::CertificateIssue {
            node: node.clone(),
            pki: pki.clone(),
            dns01: Arc::new(dns01::BerthDns {
                node: node.clone(),
                pki: pki.clone(),
            }),
        });
        registry.register(cert_jobs::CertificatesRenew);
        registry.register(cert_jobs::CertificatesPrune {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(dns_jobs::ZoneRemove {
            node: node.clone(),
            pki: pki.clone(),
        });
        let dumps = state::dump_dir(&config, node.as_deref());
        if let Some(d) = &dumps {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            let made = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(d);
            made.and_then(|()| std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)))
                .map_err(|e| StartError::Config(format!("{}: {e}", d.display())))?;
        }
        registry.register(db_jobs::DatabaseExport {
            node: node.clone(),
            pki: pki.clone(),
            dumps: dumps.clone(),
        });
        registry.register(db_jobs::DatabaseImport {
            node: node.clone(),
            pki: pki.clone(),
            dumps: dumps.clone(),
        });
        registry.register(db_jobs::DatabasesMeasure {
            node: node.clone(),
            pki: pki.clone(),
            dumps,
        });
        registry.register(node_jobs::NodeHeartbeat { pki: pki.clone() });
        registry.register(node_jobs::NodeRotateCert { pki: pki.clone() });
        registry.register(node_jobs::NodeRollback {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(node_jobs::NodeDrift {
            node: node.clone(),
            pki: pki.clone(),
        });
        registry.register(node_jobs::NodeRebuild {
            node: node.clone(),
            pki: pki.clone(),
            templates: false,
        });
        registry.register(node_jobs::NodeRebuild {
            node: node.clone(),
            pki: pki.clone(),
            templates: true,
        });
        let engine = Engine::new(
            db.clone(),
            registry,
            EngineConfig {
                workers: config.workers,
                ..EngineConfig::default()
            },
        );
        engine.use_aux_pool(db.side_pool(2).await.map_err(StartError::Db)?);
        let dummy_hash =
            auth::secrets::hash_password_async("not a real password".into(), config.argon2_m_kib, config.argon2_t)
                .await
                .map_err(StartError::Config)?;
        let state = Arc::new(AppState {
            settings: SettingsCache::new(db.side_pool(2).await.map_err(StartError::Db)?),
            db,
            engine: engine.clone(),
            config,
            metrics: metrics_handle(),
            dummy_hash,
            node,
            pki,
            hash_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
                    .clamp(2, 16),
            ),
        });
        bootstrap::ensure_maintenance_schedules(&state.db).await?;
        let (stop, rx) = watch::channel(false);
        let mut workers = if state.config.workers > 0 {
            engine.start(rx.clone())
        } else {
            JoinSet::new()
        };
        if let Some(node) = state.node.clone() {
            // The node's supervisor: PHP-FPM masters that died come back
            // within seconds (no systemd here to do it).
            let mut rx = rx;
            workers.spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => { node.supervise().await; }
                        _ = rx.changed() => break,
                    }
                }
            });
        }
        Ok(Panel {
            state,
            node_error,
            stop,
            workers,
        })
    }

    /// Why the configured local node did not start, if it did not.
    pub fn node_error(&self) -> Option<&str> {
        self.node_error.as_deref()
    }

    /// The local node's agent, if it started.
    pub fn node(&self) -> Option<Arc<berth_agent::node::LocalNode>> {
        self.state.node.clone()
    }

    pub fn state(&self) -> &SharedState {
        &self.state
    }

    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Serve until `shutdown` resolves, then stop the job workers (running
    /// jobs keep their lease and are taken over if they do not finish).
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
        let _ = self.stop.send(true);
        while self.workers.join_next().await.is_some() {}
        Ok(())
    }
}

/// The whole HTTP surface: the API, its OpenAPI document and viewer.
pub fn router(state: SharedState) -> Router {
    let (api, doc) = routes::api().split_for_parts();
    let doc = openapi::finish(doc);
    let body_limit = state.config.body_limit;
    // The UI's files go out compressed (gzip or brotli, as the browser
    // asks); the API's JSON and event streams are left as they are.
    let ui = Router::new()
        .fallback(ui::fallback)
        .layer(tower_http::compression::CompressionLayer::new());
    api.merge(openapi::docs_router(doc))
        .fallback_service(ui)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::per_request,
        ))
        .layer(axum::middleware::map_response(close_after_refused_body))
        .with_state(state)
}

/// A request refused for its size was not read to the end; the rest of
/// its body is still in the connection, so the connection cannot carry
/// another request. Saying so (`Connection: close`) stops a client from
/// reusing it and failing its next request with a broken pipe.
async fn close_after_refused_body(mut resp: axum::response::Response) -> axum::response::Response {
    if resp.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        resp.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    resp
}

/// The OpenAPI document (also served at `/api/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, doc) = routes::api().split_for_parts();
    openapi::finish(doc)
}
