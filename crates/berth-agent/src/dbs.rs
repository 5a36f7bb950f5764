//! Database servers on a node: MariaDB through `mariadb` as root over its
//! unix socket (Debian's default `unix_socket` authentication), PostgreSQL
//! through `psql` as the `postgres` OS user over its socket (peer
//! authentication). The scripts come from `berth_services::dbsql` and go
//! in on stdin, so no SQL, hash or verifier is ever on a command line.
//!
//! Every operation is idempotent (ensure/drop to a desired state). Changes
//! to one server are serialised, so two jobs never interleave their grants.

use berth_proto::api::databases::{DbEngine, DbEngineInfo as EngineInfo, DbHost, DbIdent};
use berth_proto::desired::DbUserSpec;
use berth_services::dbsql::{mariadb, postgres};
use berth_sys::{Cmd, CmdOutput, fsx};
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
    /// Where exports are written and uploaded imports wait (0700, root).
    pub dump_dir: Option<PathBuf>,
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
            dump_dir: None,
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

/// What an export file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// `mariadb-dump` output, gzip-compressed (`.sql.gz`).
    SqlGz,
    /// `pg_dump -Fc` (compressed by PostgreSQL; `.dump`).
    PgCustom,
}

impl DumpFormat {
    pub fn of(engine: DbEngine) -> DumpFormat {
        match engine {
            DbEngine::Mariadb => DumpFormat::SqlGz,
            DbEngine::Postgres => DumpFormat::PgCustom,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            DumpFormat::SqlGz => "sql.gz",
            DumpFormat::PgCustom => "dump",
        }
    }
}

/// The unprivileged identity import clients run as (`nobody`): a dump's
/// client-side tricks (`LOAD DATA LOCAL`, shell escapes) reach nothing.
const NOBODY: u32 = 65534;

/// A throwaway login for one import: random name and password.
fn import_login() -> (String, String) {
    let n: [u8; 6] = rand::random();
    let name = format!("berth_imp_{}", n.iter().map(|b| format!("{b:02x}")).collect::<String>());
    (
        name,
        berth_core::db_secrets::generate_password(&rand::random::<[u8; 24]>()),
    )
}

fn file_err(engine: DbEngine, path: &std::path::Path, e: std::io::Error) -> DbOpError {
    DbOpError::Unreachable {
        engine,
        detail: format!("{}: {e}", path.display()),
    }
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
            let mut info = EngineInfo {
                engine,
                version: None,
                port,
                max_connections: None,
                connections: None,
                databases: None,
                data_dir: None,
                disk_total_mb: None,
                disk_free_mb: None,
                error: None,
            };
            match self.run(engine, q.to_owned()).await {
                Ok(v) => {
                    let f: Vec<&str> = v.trim_end_matches('\n').split('\t').collect();
                    info.version = f.first().map(|x| x.trim().to_owned());
                    info.max_connections = f.get(1).and_then(|x| x.trim().parse().ok());
                    info.connections = f.get(2).and_then(|x| x.trim().parse().ok());
                    info.databases = f.get(3).and_then(|x| x.trim().parse().ok());
                    if let Some(dir) = f.get(4).map(|x| x.trim()).filter(|x| x.starts_with('/')) {
                        let (total, free) = crate::report::disk_mb(std::path::Path::new(dir)).await;
                        if total > 0 {
                            info.disk_total_mb = Some(total);
                            info.disk_free_mb = Some(free);
                        }
                        info.data_dir = Some(dir.to_owned());
                    }
                }
                Err(e) => info.error = Some(e.to_string()),
            }
            out.push(info);
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

    async fn postgres_footprint(&self, name: &DbIdent) -> Result<Vec<String>, DbOpError> {
        let out = self.run(DbEngine::Postgres, postgres::footprint_query(name)).await?;
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
                // Revocations only where the role has something to lose.
                let touched = self.postgres_footprint(&spec.name).await?;
                let mut spec = spec.clone();
                let granted: Vec<DbIdent> = spec.grants.iter().map(|g| g.database.clone()).collect();
                spec.tenant_databases
                    .retain(|d| granted.contains(d) || touched.iter().any(|p| p == d.as_str()));
                let sql = postgres::apply_user(&spec);
                self.run(engine, sql).await?;
                return self.postgres_hba(&spec.name, &spec.hosts).await;
            }
        };
        self.run(engine, sql).await.map(drop)
    }

    /// Put `user`'s remote-access lines into the server's pg_hba.conf (in
    /// Berth's marked block), transactionally: the server checks the new
    /// file (`pg_hba_file_rules`) before it is loaded; a file it finds
    /// errors in is replaced by the previous one and nothing is reloaded.
    async fn postgres_hba(&self, user: &DbIdent, hosts: &[DbHost]) -> Result<(), DbOpError> {
        use std::os::unix::fs::MetadataExt;
        let engine = DbEngine::Postgres;
        let path = std::path::PathBuf::from(self.run(engine, postgres::HBA_FILE.to_owned()).await?.trim());
        if !path.is_absolute() {
            return Err(DbOpError::Invalid(format!("the server names no pg_hba.conf: {path:?}")));
        }
        let meta = std::fs::metadata(&path).map_err(|e| file_err(engine, &path, e))?;
        let old = std::fs::read_to_string(&path).map_err(|e| file_err(engine, &path, e))?;
        let new = postgres::hba_with(&old, user, hosts);
        if new == old {
            return Ok(());
        }
        let write = |content: &str| {
            fsx::write_atomic_owned(&path, content.as_bytes(), meta.uid(), meta.gid(), meta.mode() & 0o7777)
                .map_err(|e| file_err(engine, &path, e))
        };
        write(&new)?;
        let errors = match self.run(engine, postgres::HBA_ERRORS.to_owned()).await {
            Ok(e) => e,
            Err(e) => {
                write(&old)?;
                return Err(e);
            }
        };
        if !errors.trim().is_empty() {
            write(&old)?;
            return Err(DbOpError::Invalid(format!(
                "PostgreSQL refused the new pg_hba.conf (the previous one is back): {}",
                errors.trim()
            )));
        }
        self.run(engine, postgres::RELOAD.to_owned()).await.map(drop)
    }

    pub async fn drop_user(&self, engine: DbEngine, name: &DbIdent, tenant_dbs: &[DbIdent]) -> Result<(), DbOpError> {
        let _g = self.lock(engine).await;
        let sql = match engine {
            DbEngine::Mariadb => {
                let existing = self.mariadb_hosts(name).await?;
                mariadb::drop_user(name, &existing).map_err(DbOpError::Invalid)?
            }
            DbEngine::Postgres => {
                let touched = self.postgres_footprint(name).await?;
                let dbs: Vec<DbIdent> = tenant_dbs
                    .iter()
                    .filter(|d| touched.iter().any(|p| p == d.as_str()))
                    .cloned()
                    .collect();
                let sql = postgres::drop_user(name, &dbs);
                self.run(engine, sql).await?;
                return self.postgres_hba(name, &[]).await;
            }
        };
        self.run(engine, sql).await.map(drop)
    }

    /// Dump a database into `out` (created 0600); returns its size.
    pub async fn export(&self, engine: DbEngine, name: &DbIdent, out: &std::path::Path) -> Result<u64, DbOpError> {
        let cmd = match engine {
            DbEngine::Mariadb => {
                let m = self.mariadb()?;
                Cmd::new(&m.dump)
                    .arg("--no-defaults")
                    .arg(format!("--socket={}", m.socket.display()))
                    .args(["--user=root", "--single-transaction", "--routines", "--hex-blob", "--"])
                    .arg(name.as_str())
            }
            DbEngine::Postgres => {
                let p = self.postgres()?;
                Cmd::new("/usr/sbin/runuser")
                    .args(["-u", &p.os_user, "--"])
                    .arg(&p.pg_dump)
                    .args(["-Fc", "--no-owner", "--no-acl", "-h"])
                    .arg(&p.socket_dir)
                    .arg("-p")
                    .arg(p.port.to_string())
                    .arg("-d")
                    .arg(name.as_str())
                    .cwd("/")
            }
        };
        let raw = match engine {
            DbEngine::Mariadb => out.with_extension("raw"),
            DbEngine::Postgres => out.to_path_buf(),
        };
        let res = cmd
            .stdout_file(&raw)
            .timeout(Duration::from_secs(6 * 3600))
            .run()
            .await
            .map_err(|e| DbOpError::Unreachable {
                engine,
                detail: e.to_string(),
            })?;
        if !res.success() {
            let _ = std::fs::remove_file(&raw);
            return Err(DbOpError::Refused {
                engine,
                detail: res.stderr.trim().to_owned(),
            });
        }
        if engine == DbEngine::Mariadb {
            let (src, dst) = (raw.clone(), out.to_path_buf());
            let gz = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::os::unix::fs::OpenOptionsExt;
                let mut input = std::fs::File::open(&src)?;
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&dst)?;
                let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
                std::io::copy(&mut input, &mut enc)?;
                enc.finish()?.sync_all()
            })
            .await
            .map_err(|e| DbOpError::Invalid(e.to_string()))?;
            let _ = std::fs::remove_file(&raw);
            gz.map_err(|e| file_err(engine, out, e))?;
        }
        std::fs::metadata(out)
            .map(|m| m.len())
            .map_err(|e| file_err(engine, out, e))
    }

    /// Load a dump into a database as a throwaway login that can do no
    /// more than the database's own users (MariaDB: all privileges on that
    /// database only; PostgreSQL: member of its owner role), with the
    /// client running as `nobody`: MariaDB's `--sandbox` refuses `\!` and
    /// file commands and `--local-infile=0` client-side file reads;
    /// PostgreSQL takes only `pg_dump -Fc` archives (restored by
    /// `pg_restore`, which has no shell escapes: plain SQL would need
    /// `psql`, whose `\!` runs commands).
    pub async fn import(&self, engine: DbEngine, name: &DbIdent, file: &std::path::Path) -> Result<String, DbOpError> {
        let mut head = [0u8; 5];
        {
            use std::io::Read;
            let mut f = std::fs::File::open(file).map_err(|e| file_err(engine, file, e))?;
            let n = f.read(&mut head).map_err(|e| file_err(engine, file, e))?;
            if n < 2 {
                return Err(DbOpError::Invalid("the dump is empty".into()));
            }
        }
        let gzip = head[..2] == [0x1f, 0x8b];
        let (login, password) = import_login();
        match engine {
            DbEngine::Mariadb => {
                // Gzip or plain SQL; decompressed beside it first.
                let sql = if gzip {
                    let (src, dst) = (file.to_path_buf(), file.with_extension("sql"));
                    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                        let mut dec = flate2::read::MultiGzDecoder::new(std::fs::File::open(&src)?);
                        let mut out = std::fs::File::create(&dst)?;
                        std::io::copy(&mut dec, &mut out).map(drop)
                    })
                    .await
                    .map_err(|e| DbOpError::Invalid(e.to_string()))?
                    .map_err(|e| DbOpError::Invalid(format!("the dump is not valid gzip: {e}")))?;
                    Some(file.with_extension("sql"))
                } else {
                    None
                };
                let input = sql.clone().unwrap_or_else(|| file.to_path_buf());
                let m = self.mariadb()?.clone();
                let hash = berth_core::db_secrets::mariadb_native_hash(&password);
                let setup = format!(
                    "CREATE USER '{login}'@'localhost' IDENTIFIED BY PASSWORD '{hash}';\n\
                     GRANT ALL PRIVILEGES ON `{}`.* TO '{login}'@'localhost';\n",
                    name.as_str().replace('_', "\\_")
                );
                self.run(engine, setup).await?;
                let out = Cmd::new("/usr/bin/setpriv")
                    .arg(format!("--reuid={NOBODY}"))
                    .arg(format!("--regid={NOBODY}"))
                    .args(["--clear-groups", "--"])
                    .arg(&m.client)
                    .arg("--no-defaults")
                    .arg(format!("--socket={}", m.socket.display()))
                    .arg(format!("--user={login}"))
                    .args(["--sandbox", "--local-infile=0", "--batch", "--"])
                    .arg(name.as_str())
                    .env("MYSQL_PWD", &password)
                    .cwd("/")
                    .stdin_file(&input)
                    .timeout(Duration::from_secs(6 * 3600))
                    .run()
                    .await;
                let _ = self
                    .run(engine, format!("DROP USER IF EXISTS '{login}'@'localhost';\n"))
                    .await;
                if let Some(s) = sql {
                    let _ = std::fs::remove_file(s);
                }
                let out = out.map_err(|e| DbOpError::Unreachable {
                    engine,
                    detail: e.to_string(),
                })?;
                if out.success() {
                    Ok(out.stdout)
                } else {
                    Err(DbOpError::Refused {
                        engine,
                        detail: out.stderr.trim().to_owned(),
                    })
                }
            }
            DbEngine::Postgres => {
                if &head != b"PGDMP" {
                    return Err(DbOpError::Invalid(
                        "PostgreSQL imports take pg_dump's custom format (pg_dump -Fc, what Berth's export makes); \
                         plain SQL would need psql, whose \\! runs shell commands"
                            .into(),
                    ));
                }
                let p = self.postgres()?.clone();
                let owner = postgres::owner_role(name);
                let salt: [u8; 16] = rand::random();
                let verifier = berth_core::db_secrets::scram_sha256_verifier(
                    &password,
                    &salt,
                    berth_core::db_secrets::SCRAM_ITERATIONS,
                );
                self.run(
                    engine,
                    format!("CREATE ROLE \"{login}\" LOGIN PASSWORD '{verifier}' IN ROLE \"{owner}\";\n"),
                )
                .await?;
                let out = Cmd::new("/usr/bin/setpriv")
                    .arg(format!("--reuid={NOBODY}"))
                    .arg(format!("--regid={NOBODY}"))
                    .args(["--clear-groups", "--"])
                    .arg(&p.pg_restore)
                    .args(["-h", "127.0.0.1", "-p"])
                    .arg(p.port.to_string())
                    .arg(format!("--username={login}"))
                    .arg(format!("--role={owner}"))
                    .args([
                        "--no-owner",
                        "--no-acl",
                        "--exit-on-error",
                        "--single-transaction",
                        "--no-password",
                    ])
                    .arg(format!("--dbname={name}"))
                    .env("PGPASSWORD", &password)
                    .cwd("/")
                    .stdin_file(file)
                    .timeout(Duration::from_secs(6 * 3600))
                    .run()
                    .await;
                let _ = self
                    .run(
                        engine,
                        format!(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{login}';\n\
                             DROP ROLE IF EXISTS \"{login}\";\n"
                        ),
                    )
                    .await;
                let out = out.map_err(|e| DbOpError::Unreachable {
                    engine,
                    detail: e.to_string(),
                })?;
                if out.success() {
                    Ok(out.stdout)
                } else {
                    Err(DbOpError::Refused {
                        engine,
                        detail: out.stderr.trim().to_owned(),
                    })
                }
            }
        }
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
