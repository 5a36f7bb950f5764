//! The only crate with SQL. One code path serves SQLite (the default,
//! embedded) and PostgreSQL (production, several panels): sqlx's `Any` driver,
//! portable SQL with `$N` placeholders, one migration set (see
//! `migrations/0001_init.sql` for the portability rules).
//!
//! Every tenant-owned read or write takes a `berth_core::Scope`; audit rows are
//! written through `audit::append` on the same transaction as the change.

pub mod audit;
pub mod auth;
pub mod certificates;
pub mod databases;
pub mod dns;
pub mod jobs;
pub mod nodes;
pub mod packages;
pub mod schedules;
pub mod settings;
pub mod sites;
mod sql;
pub mod tenants;
pub mod usage;
pub mod users;

pub use sql::Sql;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

pub type Tx = sqlx::Transaction<'static, Any>;
pub type Conn = AnyConnection;

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    BadUrl(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    /// The database cannot be reached (as opposed to a bad query).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            DbError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
        )
    }

    /// Turn a unique-constraint violation into a `Conflict` with a message.
    pub fn unique_as(self, what: &str) -> DbError {
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation() => DbError::Conflict(what.to_owned()),
            other => other,
        }
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(what.to_string())
}

/// A connection pool plus the knowledge of which backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connect to `sqlite://…` or `postgres://…` and apply pending migrations.
    pub async fn connect(url: &str) -> DbResult<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::BadUrl(url.to_owned()));
        };
        let opts = AnyConnectOptions::from_str(url)?;
        let db = Self::open_pool(backend, opts, if backend == Backend::Sqlite { 8 } else { 16 }).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// A second, small pool on the same database, for reads made while the
    /// caller may hold a connection of the main pool (the settings cache is
    /// read inside transactions). Waiting for the main pool there deadlocks
    /// once every connection does it (on SQLite the waiting ones hold the
    /// write lock, so other writers then fail after busy_timeout).
    pub async fn side_pool(&self, max: u32) -> DbResult<Db> {
        let opts = (*self.pool.connect_options()).clone();
        Self::open_pool(self.backend, opts, max).await
    }

    async fn open_pool(backend: Backend, opts: AnyConnectOptions, max: u32) -> DbResult<Db> {
        let pool = match backend {
            // SQLite has one writer. WAL lets readers run beside it; write
            // transactions start with BEGIN IMMEDIATE (see `begin`) so two
            // writers queue on busy_timeout instead of failing on upgrade.
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?
            }
        };
        Ok(Db { pool, backend })
    }

    async fn migrate(&self) -> DbResult<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            // Two panels starting at once must not both migrate.
            sqlx::query("SELECT pg_advisory_lock(727274)")
                .execute(&mut *conn)
                .await?;
            let r = MIGRATOR.run(&mut *conn).await;
            sqlx::query("SELECT pg_advisory_unlock(727274)")
                .execute(&mut *conn)
                .await?;
            r?;
        } else {
            MIGRATOR.run(&mut *conn).await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A write transaction.
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A pooled connection for reads (or single-statement writes).
    pub async fn conn(&self) -> DbResult<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// `SELECT 1`, for readiness checks.
    pub async fn ping(&self) -> DbResult<()> {
        let mut c = self.pool.acquire().await?;
        c.ping().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    berth_proto::Timestamp::now().millis()
}

pub(crate) fn b(v: bool) -> i64 {
    i64::from(v)
}

/// Row-decoding helpers shared by the repositories.
pub(crate) mod row {
    use super::{DbResult, corrupt};
    use sqlx::Row;
    use sqlx::any::AnyRow;
    use std::str::FromStr;

    pub fn s(r: &AnyRow, c: &str) -> DbResult<String> {
        Ok(r.try_get::<String, _>(c)?)
    }
    pub fn os(r: &AnyRow, c: &str) -> DbResult<Option<String>> {
        Ok(r.try_get::<Option<String>, _>(c)?)
    }
    pub fn i(r: &AnyRow, c: &str) -> DbResult<i64> {
        Ok(r.try_get::<i64, _>(c)?)
    }
    pub fn oi(r: &AnyRow, c: &str) -> DbResult<Option<i64>> {
        Ok(r.try_get::<Option<i64>, _>(c)?)
    }
    pub fn parse<T: FromStr>(r: &AnyRow, c: &str) -> DbResult<T>
    where
        T::Err: std::fmt::Display,
    {
        let v = s(r, c)?;
        v.parse::<T>().map_err(|e| corrupt(format!("{c}={v:?}: {e}")))
    }
    pub fn oparse<T: FromStr>(r: &AnyRow, c: &str) -> DbResult<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match os(r, c)? {
            None => Ok(None),
            Some(v) => v.parse::<T>().map(Some).map_err(|e| corrupt(format!("{c}={v:?}: {e}"))),
        }
    }
    /// A validated name type stored as text.
    pub fn name<T: TryFrom<String>>(r: &AnyRow, c: &str) -> DbResult<T>
    where
        T::Error: std::fmt::Display,
    {
        T::try_from(s(r, c)?).map_err(|e| corrupt(format!("{c}: {e}")))
    }
    pub fn oname<T: TryFrom<String>>(r: &AnyRow, c: &str) -> DbResult<Option<T>>
    where
        T::Error: std::fmt::Display,
    {
        match os(r, c)? {
            None => Ok(None),
            Some(v) => T::try_from(v).map(Some).map_err(|e| corrupt(format!("{c}: {e}"))),
        }
    }
    pub fn json(r: &AnyRow, c: &str) -> DbResult<serde_json::Value> {
        let v = s(r, c)?;
        serde_json::from_str(&v).map_err(|e| corrupt(format!("{c}: {e}")))
    }
    pub fn ojson(r: &AnyRow, c: &str) -> DbResult<Option<serde_json::Value>> {
        match os(r, c)? {
            None => Ok(None),
            Some(v) => serde_json::from_str(&v)
                .map(Some)
                .map_err(|e| corrupt(format!("{c}: {e}"))),
        }
    }
    pub fn ts(r: &AnyRow, c: &str) -> DbResult<berth_proto::Timestamp> {
        Ok(berth_proto::Timestamp(i(r, c)?))
    }
    pub fn ots(r: &AnyRow, c: &str) -> DbResult<Option<berth_proto::Timestamp>> {
        Ok(oi(r, c)?.map(berth_proto::Timestamp))
    }
}
