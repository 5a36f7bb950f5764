//! Database servers on a node: MariaDB through `mariadb` as root over its
//! unix socket (Debian's default `unix_socket` authentication), PostgreSQL
//! through `psql` as the `postgres` OS user over its socket (peer
//! authentication). The scripts come from `berth_services::dbsql` and go
//! in on stdin, so no SQL, hash or verifier is ever on a command line.
//!
//! Every operation is idempotent (ensure/drop to a desired state). Changes
//! to one server are serialised, so two jobs never interleave their grants.

use berth_proto::api::databases::{DbEngine, DbEngineInfo as EngineInfo, DbIdent};
use berth_proto::desired::DbUserSpec;
use berth_services::dbsql::{mariadb, postgres};
use berth_sys::{Cmd, CmdOutput};
use std::path::PathBuf;
use std::time::Duration;

/// How the agent reaches MariaDB as its administrator.
#[derive(Clone, Debug)]
pub struct MariadbAdmin {
    pub client: PathBuf,
    pub dump: PathBuf,
    /// The server's unix socket (`/run/mysqld/mysqld.sock`).
    pub socket: PathBuf,
    /// TCP port clients use (for connection details shown to tenants).
    pub port: u16,
}

/// How the agent reaches PostgreSQL as its superuser.
#[derive(Clone, Debug)]
pub struct PostgresAdmin {
    pub psql: PathBuf,
    pub pg_dump: PathBuf,
    pub pg_restore: PathBuf,
    /// The directory holding the server's socket (`/var/run/postgresql`).
    pub socket_dir: PathBuf,
    pub port: u16,
    /// The OS user that peer authentication maps to the superuser.
    pub os_user: String,
}

#[derive(Clone, Debug, Default)]
pub struct DbServersConfig {
    pub mariadb: Option<MariadbAdmin>,
    pub postgres: Option<PostgresAdmin>,
}

impl DbServersConfig {
    /// Debian's defaults, for the engines whose socket exists now.
    pub fn debian_defaults() -> DbServersConfig {
        DbServersConfig {
            mariadb: Some(MariadbAdmin {
                client: "/usr/bin/mariadb".into(),
                dump: "/usr/bin/mariadb-dump".into(),
                socket: "/run/mysqld/mysqld.sock".into(),
                port: 3306,
            }),
            postgres: Some(PostgresAdmin {
                psql: "/usr/bin/psql".into(),
                pg_dump: "/usr/bin/pg_dump".into(),
                pg_restore: "/usr/bin/pg_restore".into(),
                socket_dir: "/var/run/postgresql".into(),
                port: 5432,
                os_user: "postgres".into(),
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbOpError {
    #[error("{0} is not set up on this node")]
    NotConfigured(DbEngine),
    #[error("{engine} is not reachable on this node: {detail}")]
    Unreachable { engine: DbEngine, detail: String },
    #[error("{engine} refused the change: {detail}")]
    Refused { engine: DbEngine, detail: String },
    #[error("{0}")]
    Invalid(String),
}

impl DbOpError {
    /// Worth retrying (the server may come back); a refusal is not.
    pub fn retryable(&self) -> bool {
        matches!(self, DbOpError::Unreachable { .. })
    }
}

pub struct DbServers {
    cfg: DbServersConfig,
    mariadb_lock: tokio::sync::Mutex<()>,
    postgres_lock: tokio::sync::Mutex<()>,
}

/// Lines of tab-separated fields.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

impl DbServers {
    pub fn new(cfg: DbServersConfig) -> DbServers {
        DbServers {
            cfg,
            mariadb_lock: Default::default(),
            postgres_lock: Default::default(),
        }
    }

    pub fn config(&self) -> &DbServersConfig {
        &self.cfg
    }

    fn mariadb(&self) -> Result<&MariadbAdmin, DbOpError> {
        self.cfg
            .mariadb
            .as_ref()
            .ok_or(DbOpError::NotConfigured(DbEngine::Mariadb))
    }

    fn postgres(&self) -> Result<&PostgresAdmin, DbOpError> {
        self.cfg
            .postgres
            .as_ref()
            .ok_or(DbOpError::NotConfigured(DbEngine::Postgres))
    }

    /// Run a script on an engine's admin connection; stdout on success.
    async fn run(&self, engine: DbEngine, sql: String) -> Result<String, DbOpError> {
        let cmd = match engine {
            DbEngine::Mariadb => {
                let m = self.mariadb()?;
                if !m.socket.exists() {
                    return Err(DbOpError::Unreachable {
                        engine,
                        detail: format!("no socket at {}", m.socket.display()),
                    });
                }
                // --no-defaults must come first: no option file is read.
                Cmd::new(&m.client)
                    .arg("--no-defaults")
                    .arg(format!("--socket={}", m.socket.display()))
                    .args(["--user=root", "--batch", "--skip-column-names"])
            }
            DbEngine::Postgres => {
                let p = self.postgres()?;
                if !p.socket_dir.join(format!(".s.PGSQL.{}", p.port)).exists() {
                    return Err(DbOpError::Unreachable {
                        engine,
                        detail: format!("no socket for port {} in {}", p.port, p.socket_dir.display()),
                    });
                }
                Cmd::new("/usr/sbin/runuser")
                    .args(["-u", &p.os_user, "--"])
                    .arg(&p.psql)
                    .args(["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h"])
                    .arg(&p.socket_dir)
                    .arg("-p")
                    .arg(p.port.to_string())
                    .args(["-d", "postgres", "-f", "-"])
                    .cwd("/")
            }
        };
        let out: CmdOutput = cmd
            .stdin_bytes(sql.into_bytes())
            .timeout(Duration::from_secs(300))
            .run()
            .await
            .map_err(|e| DbOpError::Unreachable {
                engine,
                detail: e.to_string(),
            })?;
        if out.success() {
            Ok(out.stdout)
        } else {
            let detail = out.stderr.trim().to_owned();
            let down = detail.contains("Can't connect")
                || detail.contains("connection to server")
                || detail.contains("No such file or directory");
            Err(if down {
                DbOpError::Unreachable { engine, detail }
            } else {
                DbOpError::Refused { engine, detail }
            })
        }
    }

    async fn lock(&self, engine: DbEngine) -> tokio::sync::MutexGuard<'_, ()> {
        match engine {
            DbEngine::Mariadb => self.mariadb_lock.lock().await,
            DbEngine::Postgres => self.postgres_lock.lock().await,
        }
    }

    /// The engines set up on this node, with their versions.
    pub async fn info(&self) -> Vec<EngineInfo> {
        let mut out = Vec::new();
        for (engine, port) in [
            (DbEngine::Mariadb, self.cfg.mariadb.as_ref().map(|m| m.port)),
            (DbEngine::Postgres, self.cfg.postgres.as_ref().map(|p| p.port)),
        ] {
            let Some(port) = port else { continue };
            let q = match engine {
                DbEngine::Mariadb => mariadb::VERSION,
                DbEngine::Postgres => postgres::VERSION,
            };
            let (version, error) = match self.run(engine, q.to_owned()).await {
                Ok(v) => (Some(v.trim().to_owned()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            out.push(EngineInfo {
                engine,
                version,
                port,
                error,
            });
        }
        out
    }

    pub async fn ensure_database(&self, engine: DbEngine, name: &DbIdent) -> Result<(), DbOpError> {
        let _g = self.lock(engine).await;
        let sql = match engine {
            DbEngine::Mariadb => mariadb::create_database(name),
            DbEngine::Postgres => postgres::create_database(name),
        };
        self.run(engine, sql).await.map(drop)
    }

    pub async fn drop_database(&self, engine: DbEngine, name: &DbIdent) -> Result<(), DbOpError> {
        let _g = self.lock(engine).await;
        let sql = match engine {
            DbEngine::Mariadb => mariadb::drop_database(name),
            DbEngine::Postgres => postgres::drop_database(name),
        };
        self.run(engine, sql).await.map(drop)
    }

    async fn mariadb_hosts(&self, name: &DbIdent) -> Result<Vec<String>, DbOpError> {
        let out = self.run(DbEngine::Mariadb, mariadb::user_hosts_query(name)).await?;
        Ok(out.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect())
    }

    async fn postgres_databases(&self) -> Result<Vec<String>, DbOpError> {
        let out = self.run(DbEngine::Postgres, postgres::DATABASES.to_owned()).await?;
        Ok(out.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect())
    }

    /// Make a user exactly `spec`: password, lock, hosts, grants.
    pub async fn apply_user(&self, spec: &DbUserSpec) -> Result<(), DbOpError> {
        let engine = spec.engine;
        if !spec.secret.fits(engine) {
            return Err(DbOpError::Invalid(format!("the password hash is not {engine}'s form")));
        }
        let _g = self.lock(engine).await;
        let sql = match engine {
            DbEngine::Mariadb => {
                let existing = self.mariadb_hosts(&spec.name).await?;
                mariadb::apply_user(spec, &existing).map_err(DbOpError::Invalid)?
            }
            DbEngine::Postgres => {
                // A grant waits for its database (a job that creates it may
                // still be queued); revocations skip databases already gone.
                let present = self.postgres_databases().await?;
                if let Some(g) = spec
                    .grants
                    .iter()
                    .find(|g| !present.iter().any(|p| p == g.database.as_str()))
                {
                    return Err(DbOpError::Unreachable {
                        engine,
                        detail: format!("database {} does not exist yet", g.database),
                    });
                }
                let mut spec = spec.clone();
                spec.tenant_databases
                    .retain(|d| present.iter().any(|p| p == d.as_str()));
                postgres::apply_user(&spec)
            }
        };
        self.run(engine, sql).await.map(drop)
    }

    pub async fn drop_user(&self, engine: DbEngine, name: &DbIdent, tenant_dbs: &[DbIdent]) -> Result<(), DbOpError> {
        let _g = self.lock(engine).await;
        let sql = match engine {
            DbEngine::Mariadb => {
                let existing = self.mariadb_hosts(name).await?;
                mariadb::drop_user(name, &existing).map_err(DbOpError::Invalid)?
            }
            DbEngine::Postgres => {
                let present = self.postgres_databases().await?;
                let dbs: Vec<DbIdent> = tenant_dbs
                    .iter()
                    .filter(|d| present.iter().any(|p| p == d.as_str()))
                    .cloned()
                    .collect();
                postgres::drop_user(name, &dbs)
            }
        };
        self.run(engine, sql).await.map(drop)
    }

    /// Size in bytes of every database on an engine.
    pub async fn sizes(&self, engine: DbEngine) -> Result<Vec<(String, i64)>, DbOpError> {
        let q = match engine {
            DbEngine::Mariadb => mariadb::SIZES,
            DbEngine::Postgres => postgres::SIZES,
        };
        let out = self.run(engine, q.to_owned()).await?;
        Ok(rows(&out)
            .into_iter()
            .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.parse().ok()?)))
            .collect())
    }
}

/// One database request from the panel (in-process for the local node,
/// `POST /v1/databases` for an enrolled one). Each is idempotent.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum DbRequest {
    Info,
    EnsureDatabase {
        engine: DbEngine,
        name: DbIdent,
    },
    DropDatabase {
        engine: DbEngine,
        name: DbIdent,
    },
    ApplyUser {
        spec: DbUserSpec,
    },
    DropUser {
        engine: DbEngine,
        name: DbIdent,
        tenant_databases: Vec<DbIdent>,
    },
    Sizes {
        engine: DbEngine,
    },
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DbReply {
    pub engines: Vec<EngineInfo>,
    pub sizes: Vec<(String, i64)>,
}

impl DbServers {
    pub async fn handle(&self, req: DbRequest) -> Result<DbReply, DbOpError> {
        let mut reply = DbReply::default();
        match req {
            DbRequest::Info => reply.engines = self.info().await,
            DbRequest::EnsureDatabase { engine, name } => self.ensure_database(engine, &name).await?,
            DbRequest::DropDatabase { engine, name } => self.drop_database(engine, &name).await?,
            DbRequest::ApplyUser { spec } => self.apply_user(&spec).await?,
            DbRequest::DropUser {
                engine,
                name,
                tenant_databases,
            } => self.drop_user(engine, &name, &tenant_databases).await?,
            DbRequest::Sizes { engine } => reply.sizes = self.sizes(engine).await?,
        }
        Ok(reply)
    }
}
