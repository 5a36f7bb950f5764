//! Tenants' databases and database users on MariaDB and PostgreSQL.
//!
//! DDL takes no bind parameters, so every name that reaches a server is a
//! `DbIdent` (`^[a-z][a-z0-9_]*$`, checked again per engine for length) and
//! is quoted as an identifier as well. Passwords reach the node only as the
//! server's own hash (MariaDB) or SCRAM verifier (PostgreSQL).

use crate::names::InvalidName;
use crate::{DatabaseId, DatabaseUserId, JobId, TenantId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A database server kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DbEngine {
    Mariadb,
    Postgres,
}

impl DbEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            DbEngine::Mariadb => "mariadb",
            DbEngine::Postgres => "postgres",
        }
    }

    pub fn parse(s: &str) -> Option<DbEngine> {
        match s {
            "mariadb" => Some(DbEngine::Mariadb),
            "postgres" => Some(DbEngine::Postgres),
            _ => None,
        }
    }

    /// Longest database name. PostgreSQL allows 63 bytes; Berth keeps 6 for
    /// the database's owner role (`<name>_owner`).
    pub fn max_database_len(self) -> usize {
        match self {
            DbEngine::Mariadb => 64,
            DbEngine::Postgres => 57,
        }
    }

    /// Longest user name (MariaDB 10.x: 80; PostgreSQL: 63 bytes).
    pub fn max_user_len(self) -> usize {
        match self {
            DbEngine::Mariadb => 80,
            DbEngine::Postgres => 63,
        }
    }
}

impl fmt::Display for DbEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names every engine or Berth keeps for itself.
const SYSTEM: &[&str] = &[
    "mysql",
    "information_schema",
    "performance_schema",
    "sys",
    "root",
    "mariadb_sys",
    "postgres",
    "template0",
    "template1",
    "public",
    "pg_database_owner",
];

crate::names::validated!(
    /// A database or user name as the server sees it: a lower-case ASCII
    /// letter, then lower-case letters, digits and `_`, at most 80
    /// characters (each engine's own limit is checked where the engine is
    /// known). No quotes, backticks, spaces, `-`, `;` or look-alike letters.
    /// Names of the servers' own databases and roles, and names starting
    /// with `pg_` (reserved by PostgreSQL), are refused.
    DbIdent,
    "database name",
    |s| {
        if s.is_empty() || s.len() > 80 {
            return Err("must be 1 to 80 characters");
        }
        let mut chars = s.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
            return Err("must start with a lower-case letter (a-z)");
        }
        if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err("may contain only lower-case letters, digits and '_'");
        }
        if SYSTEM.contains(&s.as_str()) || s.starts_with("pg_") {
            return Err("is a name the database server keeps for itself");
        }
        Ok(s)
    }
);

/// A password for a database user: 12 to 128 printable ASCII characters
/// (no spaces), so every client and connection string takes it and
/// PostgreSQL's SASLprep leaves it as is. Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = Password)]
pub struct DbPassword(String);

impl DbPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DbPassword {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        if s.len() < 12 || s.len() > 128 || !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(InvalidName {
                what: "password",
                why: "must be 12 to 128 printable ASCII characters without spaces",
            });
        }
        Ok(DbPassword(s))
    }
}

impl From<DbPassword> for String {
    fn from(p: DbPassword) -> String {
        p.0
    }
}

impl fmt::Debug for DbPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbPassword(<redacted>)")
    }
}

/// Where a user may connect from besides the server itself: an address or
/// a network (`203.0.113.7`, `10.1.0.0/16`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "10.1.0.0/16")]
pub struct DbHost(pub ipnet::IpNet);

impl TryFrom<String> for DbHost {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        let net = s
            .parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| InvalidName {
                what: "host",
                why: "must be an IP address or a network in CIDR form",
            })?;
        Ok(DbHost(net.trunc()))
    }
}

impl From<DbHost> for String {
    fn from(h: DbHost) -> String {
        h.to_string()
    }
}

impl fmt::Display for DbHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A database engine as fingerprinted on a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DbEngineInfo {
    pub engine: DbEngine,
    /// `null` when the server did not answer.
    pub version: Option<String>,
    /// The TCP port clients connect to.
    pub port: u16,
    /// Capacity, as the server reports it (`null` when it did not answer).
    pub max_connections: Option<u32>,
    /// Sessions open now (Berth's own query included).
    pub connections: Option<u32>,
    /// Databases on the server (system databases not counted).
    pub databases: Option<u32>,
    /// The server's data directory and the file system holding it.
    pub data_dir: Option<String>,
    pub disk_total_mb: Option<u64>,
    pub disk_free_mb: Option<u64>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Database {
    pub id: DatabaseId,
    pub tenant_id: TenantId,
    pub engine: DbEngine,
    /// The full name on the server (with the tenant's prefix).
    pub name: DbIdent,
    /// The node serving it (`local`: the panel's own).
    pub node: String,
    /// Size on the server, as last measured (`null` before the first).
    pub size_bytes: Option<i64>,
    pub size_at: Option<Timestamp>,
    pub last_job_id: Option<JobId>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDatabase {
    pub tenant_id: TenantId,
    pub engine: DbEngine,
    /// The name after the tenant's prefix: `shop` becomes `acme_shop` for
    /// tenant `acme` (setting `databases.tenant_prefix`).
    pub name: DbIdent,
    /// An enrolled node with the `db` role; the panel's local node when
    /// left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub node: Option<crate::AccountName>,
}

/// What a user may do in a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DbAccess {
    /// Everything in that database (no grant option, nothing outside it).
    All,
    /// Read: `SELECT` (and `SHOW VIEW` on MariaDB).
    ReadOnly,
}

impl DbAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            DbAccess::All => "all",
            DbAccess::ReadOnly => "read_only",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DbGrant {
    pub database_id: DatabaseId,
    pub access: DbAccess,
}

/// A grant as listed: with the database's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DbGrantView {
    pub database_id: DatabaseId,
    pub database: DbIdent,
    pub access: DbAccess,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseUser {
    pub id: DatabaseUserId,
    pub tenant_id: TenantId,
    pub engine: DbEngine,
    pub name: DbIdent,
    pub node: String,
    /// Remote addresses allowed besides the server itself (local access is
    /// always allowed).
    pub hosts: Vec<DbHost>,
    pub grants: Vec<DbGrantView>,
    /// Locked while its tenant is suspended.
    pub locked: bool,
    pub password_changed_at: Timestamp,
    pub last_job_id: Option<JobId>,
    pub created_at: Timestamp,
}

/// Most grants and remote hosts one user may have.
pub const MAX_GRANTS: usize = 100;
pub const MAX_HOSTS: usize = 20;

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDatabaseUser {
    pub tenant_id: TenantId,
    pub engine: DbEngine,
    /// The name after the tenant's prefix (as for databases).
    pub name: DbIdent,
    /// Left out: Berth generates one and answers it once.
    #[serde(default)]
    pub password: Option<DbPassword>,
    #[serde(default)]
    pub grants: Vec<DbGrant>,
    #[serde(default)]
    pub hosts: Vec<DbHost>,
    /// As for databases; a user's grants must be on its own node.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub node: Option<crate::AccountName>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDatabaseUser {
    /// Replaces every grant when present.
    #[serde(default)]
    pub grants: Option<Vec<DbGrant>>,
    /// Replaces the remote hosts when present.
    #[serde(default)]
    pub hosts: Option<Vec<DbHost>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateDbPassword {
    /// Left out: Berth generates one.
    #[serde(default)]
    pub password: Option<DbPassword>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseChange {
    pub database: Database,
    pub job_id: JobId,
}

/// A user change; `password` only when Berth generated it (shown once).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseUserChange {
    pub user: DatabaseUser,
    pub job_id: JobId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The jobs a deletion started.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobsStarted {
    pub job_ids: Vec<JobId>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DatabaseQuery {
    pub tenant_id: Option<TenantId>,
    #[param(value_type = Option<String>)]
    pub engine: Option<DbEngine>,
    /// Substring of the name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["shop", "acme_shop2", "a", "select"] {
            assert!(DbIdent::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Shop",
            "2shop",
            "_shop",
            "shop-db",
            "sh'op",
            "sh`op",
            "sh\"op",
            "shop;drop",
            "shop--",
            "shop db",
            "shоp", // Cyrillic o
            "ｓhop",
            "mysql",
            "postgres",
            "pg_shadow",
            "template1",
            &"a".repeat(81),
        ] {
            assert!(DbIdent::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_and_hosts() {
        assert!(DbPassword::try_from("short".to_owned()).is_err());
        assert!(DbPassword::try_from("has a space in it".to_owned()).is_err());
        assert!(DbPassword::try_from("no\nnewlines-allowed".to_owned()).is_err());
        assert!(DbPassword::try_from("Correct-Horse-9".to_owned()).is_ok());
        assert_eq!(
            DbHost::try_from("10.1.2.3/16".to_owned()).unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            DbHost::try_from("203.0.113.7".to_owned()).unwrap().to_string(),
            "203.0.113.7"
        );
        assert!(DbHost::try_from("example.com".to_owned()).is_err());
        assert!(DbHost::try_from("10.0.0.1'; --".to_owned()).is_err());
    }
}
