//! Test harness shared by every crate's integration tests.
//!
//! Databases: `databases()` gives a fresh SQLite file always, and a fresh
//! PostgreSQL database when `BERTH_TEST_PG_URL` points at a server (the
//! README's test command, `scripts/test`, starts a private PostgreSQL 15 on
//! loopback and sets it). With `BERTH_TEST_REQUIRE_PG=1` a missing PostgreSQL
//! is an error, so CI can never silently test one backend only.

pub mod dns_servers;
pub mod pebble;
pub mod servers;

use sqlx::Connection;
use std::sync::Once;

/// A database for one test, on one backend.
pub struct TestDb {
    pub backend: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Install the process-wide rustls crypto provider once (reqwest needs it).
pub fn init_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A fresh SQLite database in a temp dir.
pub fn sqlite() -> anyhow::Result<TestDb> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("berth.db").display());
    Ok(TestDb {
        backend: "sqlite",
        url,
        _dir: Some(dir),
    })
}

/// A fresh PostgreSQL database, or `None` when no server is configured.
pub async fn postgres() -> anyhow::Result<Option<TestDb>> {
    let Ok(base) = std::env::var("BERTH_TEST_PG_URL") else {
        if std::env::var("BERTH_TEST_REQUIRE_PG").as_deref() == Ok("1") {
            anyhow::bail!("BERTH_TEST_REQUIRE_PG=1 but BERTH_TEST_PG_URL is not set");
        }
        eprintln!("note: BERTH_TEST_PG_URL not set; PostgreSQL variant skipped (scripts/test sets it)");
        return Ok(None);
    };
    let name = format!("berth_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await?;
    // `name` is generated above from hex digits only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let (prefix, _) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("BERTH_TEST_PG_URL must end in /DBNAME"))?;
    Ok(Some(TestDb {
        backend: "postgres",
        url: format!("{prefix}/{name}"),
        _dir: None,
    }))
}

/// Every backend this run can test: SQLite always, PostgreSQL when configured.
pub async fn databases() -> anyhow::Result<Vec<TestDb>> {
    let mut out = vec![sqlite()?];
    if let Some(pg) = postgres().await? {
        out.push(pg);
    }
    Ok(out)
}
