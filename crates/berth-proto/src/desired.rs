//! Desired state of node resources, as the panel asks the agent for it.
//! Every field is a validated type, so a renderer can write them into a
//! config file without escaping decisions of its own.

use crate::api::sites::PathRedirect;
use crate::{AbsPath, AccountName, DomainName, PhpVersion, RedirectUrl, SiteId, UrlPath};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One nginx server block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VhostSpec {
    /// The site's id; names the file and appears in comments.
    pub site: SiteId,
    pub listen: Vec<SocketAddr>,
    /// Primary name first, then aliases.
    pub server_names: Vec<DomainName>,
    pub access_log: AbsPath,
    pub error_log: AbsPath,
    pub kind: VhostKind,
    /// Exact-path redirects (ignored by `Redirect` and `Suspended`).
    #[serde(default)]
    pub redirects: Vec<PathRedirect>,
    /// Status → page on the site (ignored by `Redirect` and `Suspended`).
    #[serde(default)]
    pub error_pages: BTreeMap<u16, UrlPath>,
    /// A name that only redirects (301, path kept) to another: `www.` handling.
    #[serde(default)]
    pub name_redirect: Option<NameRedirect>,
    /// Where ACME http-01 challenge files are (`<root>/.well-known/acme-challenge/`);
    /// this location wins over everything else the site does.
    #[serde(default)]
    pub acme_root: Option<AbsPath>,
    /// HTTPS, once the site has a certificate.
    #[serde(default)]
    pub tls: Option<VhostTls>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VhostTls {
    pub listen: Vec<SocketAddr>,
    /// The chain (leaf first) and its key: content-addressed files that are
    /// never rewritten, so a revision always names a matching pair.
    pub cert: AbsPath,
    pub key: AbsPath,
    /// Plain HTTP only answers ACME challenges and redirects to HTTPS.
    pub force_https: bool,
    pub hsts: bool,
    /// The leaf names an OCSP responder.
    pub stapling: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRedirect {
    pub from: DomainName,
    pub to: DomainName,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum VhostKind {
    /// Files from a document root.
    Static { root: AbsPath },
    /// Pass requests to a local application.
    Proxy { upstream: SocketAddr },
    /// Send every request elsewhere.
    Redirect { to: RedirectUrl, permanent: bool },
    /// Serve the suspension page.
    Suspended,
    /// Files from a document root, PHP through a PHP-FPM socket (the
    /// tenant's pool, or the site's own when it has ini overrides).
    Php { root: AbsPath, socket: AbsPath },
}

/// A PHP-FPM master with one pool, run as the tenant (one per tenant and
/// PHP version). The master is not root, so the pool cannot switch users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FpmPoolSpec {
    /// The tenant's account: pool name, user, group, socket owner.
    pub tenant: AccountName,
    pub version: PhpVersion,
    pub socket: AbsPath,
    pub pid: AbsPath,
    pub error_log: AbsPath,
    /// `open_basedir`: the tenant's home.
    pub home: AbsPath,
    /// Uploads, sessions, temp files.
    pub tmp: AbsPath,
    pub max_children: u32,
    pub memory_mb: u32,
    pub max_execution_s: u32,
    pub upload_mb: u32,
}

/// The nginx main configuration Berth manages for a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxMainSpec {
    /// Directory holding `run/`, `logs/`, `tmp/` and `current/` (the active revision).
    pub prefix: AbsPath,
    pub workers: u16,
    /// Address of the catch-all server that answers unknown hosts with 404.
    pub default_listen: Vec<SocketAddr>,
    /// Run workers as this user (`None`: nginx's default).
    pub user: Option<AccountName>,
    /// HTTPS addresses: a name no site holds gets its handshake refused
    /// rather than another tenant's certificate.
    #[serde(default)]
    pub default_tls_listen: Vec<SocketAddr>,
}

/// The server's form of a database user's password: MariaDB's native hash
/// (`*` and 40 upper-case hex digits) or a PostgreSQL SCRAM-SHA-256
/// verifier. Only these characters can appear, so it goes into an SQL
/// string literal as is.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DbSecret(String);

impl DbSecret {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(s: &str) -> Result<DbSecret, crate::names::InvalidName> {
        Self::try_from(s.to_owned())
    }

    /// Whether this is the form `engine` stores.
    pub fn fits(&self, engine: crate::api::databases::DbEngine) -> bool {
        use crate::api::databases::DbEngine;
        match engine {
            DbEngine::Mariadb => self.0.starts_with('*'),
            DbEngine::Postgres => self.0.starts_with("SCRAM-SHA-256$"),
        }
    }
}

impl TryFrom<String> for DbSecret {
    type Error = crate::names::InvalidName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let native = s.len() == 41
            && s.starts_with('*')
            && s[1..].bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        let scram = s.len() < 300
            && s.strip_prefix("SCRAM-SHA-256$")
                .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=$:".contains(&b)));
        if native || scram {
            Ok(DbSecret(s))
        } else {
            Err(crate::names::InvalidName {
                what: "password hash",
                why: "must be a MariaDB native hash or a SCRAM-SHA-256 verifier",
            })
        }
    }
}

impl From<DbSecret> for String {
    fn from(s: DbSecret) -> String {
        s.0
    }
}

impl std::fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSecret(<redacted>)")
    }
}

/// A database user as it must be on its server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbUserSpec {
    pub engine: crate::api::databases::DbEngine,
    pub name: crate::api::databases::DbIdent,
    pub secret: DbSecret,
    /// Remote hosts besides the local ones (always allowed).
    pub hosts: Vec<crate::api::databases::DbHost>,
    pub grants: Vec<DbGrantSpec>,
    /// Every database of the user's tenant on this server: those without a
    /// grant have theirs revoked.
    pub tenant_databases: Vec<crate::api::databases::DbIdent>,
    /// Locked users cannot log in (tenant suspended).
    pub locked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbGrantSpec {
    pub database: crate::api::databases::DbIdent,
    pub access: crate::api::databases::DbAccess,
}
