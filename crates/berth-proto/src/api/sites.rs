//! Websites: a primary domain, aliases, and what the site does.

use crate::{DomainName, JobId, RedirectUrl, SiteId, TenantId, Timestamp};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// What a site serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum SiteKind {
    /// Files from the site's `public_html`.
    Static,
    /// A local application; the upstream must be on loopback.
    Proxy {
        #[schema(value_type = String, example = "127.0.0.1:3000")]
        upstream: SocketAddr,
    },
    /// Send every request to another URL.
    Redirect { to: RedirectUrl, permanent: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SiteStatus {
    Active,
    Suspended,
}

impl SiteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteStatus::Active => "active",
            SiteStatus::Suspended => "suspended",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Site {
    pub id: SiteId,
    pub tenant_id: TenantId,
    pub domain: DomainName,
    pub aliases: Vec<DomainName>,
    pub kind: SiteKind,
    pub status: SiteStatus,
    /// Where the site's files are, relative to the tenant's home on its node.
    pub document_root: String,
    /// The job that last changed the site on its node.
    pub last_job_id: Option<JobId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Most aliases one site may have.
pub const MAX_ALIASES: usize = 50;

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    pub tenant_id: TenantId,
    pub domain: DomainName,
    #[serde(default)]
    pub aliases: Vec<DomainName>,
    pub kind: SiteKind,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    /// Replaces the aliases when present.
    #[serde(default)]
    pub aliases: Option<Vec<DomainName>>,
    #[serde(default)]
    pub kind: Option<SiteKind>,
}

/// A site change answers the site and the job that applies it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteChange {
    pub site: Site,
    pub job_id: JobId,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    pub tenant_id: Option<TenantId>,
    /// Substring of the primary domain.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
