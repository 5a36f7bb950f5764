//! PostgreSQL administration for the bench: a fresh database per system on
//! the server behind the superuser URL, and the server's version.

use anyhow::{Context, Result, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// Drop (forcing out any session) and create database `name`; return its URL.
/// `name` is one of the bench's fixed identifiers, never user input.
pub async fn recreate_db(admin_url: &str, name: &'static str) -> Result<String> {
    if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        bail!("bad database name {name:?}");
    }
    let mut c = PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to {}", redact(admin_url)))?;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut c)
        .await
        .with_context(|| format!("dropping database {name}"))?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .with_context(|| format!("creating database {name}"))?;
    c.close().await?;
    with_database(admin_url, name)
}

/// Drop database `name` (at the end of a run).
pub async fn drop_db(admin_url: &str, name: &'static str) -> Result<()> {
    let mut c = PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut c)
        .await?;
    c.close().await?;
    Ok(())
}

/// `SELECT version()`.
pub async fn version(admin_url: &str) -> Result<String> {
    let mut c = PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to {}", redact(admin_url)))?;
    let (v,): (String,) = sqlx::query_as("SELECT version()").fetch_one(&mut c).await?;
    c.close().await?;
    Ok(v)
}

/// The same URL with its database (path) replaced by `name`; query kept.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .context("a PostgreSQL URL needs a scheme (postgres://…)")?
        + 3;
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..].find(['/', '?']).map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &authority[..colon],
                &url[scheme_end + at..]
            )
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database() {
        let u = "postgres://postgres:pw@127.0.0.1:5432/postgres";
        assert_eq!(
            with_database(u, "b").unwrap(),
            "postgres://postgres:pw@127.0.0.1:5432/b"
        );
        let u = "postgres://postgres:pw@127.0.0.1:5432";
        assert_eq!(
            with_database(u, "b").unwrap(),
            "postgres://postgres:pw@127.0.0.1:5432/b"
        );
        let u = "postgresql://u@h/x?sslmode=disable";
        assert_eq!(with_database(u, "b").unwrap(), "postgresql://u@h/b?sslmode=disable");
        assert!(with_database("nonsense", "b").is_err());
    }

    #[test]
    fn hides_the_password() {
        assert_eq!(
            redact("postgres://postgres:pw@127.0.0.1:5/db"),
            "postgres://postgres:***@127.0.0.1:5/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///tmp/x.db?mode=rwc"), "sqlite:///tmp/x.db?mode=rwc");
    }
}
