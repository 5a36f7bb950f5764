//! Desired state of node resources, as the panel asks the agent for it.
//! Every field is a validated type, so a renderer can write them into a
//! config file without escaping decisions of its own.

use crate::{AbsPath, DomainName, RedirectUrl, SiteId};
use serde::{Deserialize, Serialize};
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
    pub user: Option<crate::AccountName>,
}
