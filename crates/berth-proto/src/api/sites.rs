//! Websites: a primary domain, aliases, and what the site does.

use crate::php::PhpIni;
use crate::{DomainName, JobId, PhpVersion, RedirectTarget, RedirectUrl, SiteId, TenantId, Timestamp, UrlPath};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// Files from `public_html`, `.php` through the tenant's PHP-FPM pool
    /// for this version (requests for missing files go to `/index.php`).
    Php {
        /// An installed version (see `GET /api/v1/nodes/local`); the node's
        /// newest when left out at creation.
        #[serde(default)]
        #[schema(value_type = Option<String>, example = "8.2")]
        version: Option<PhpVersion>,
        /// Overrides from an allowlist of keys (docs/operations.md).
        #[serde(default)]
        ini: PhpIni,
    },
}

/// How a site treats the `www.` form of its primary domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WwwMode {
    /// Only the names listed answer.
    #[default]
    None,
    /// The partner name (`www.` added, or taken off) answers too.
    Alias,
    /// The bare name redirects (301) to the `www.` name.
    RedirectToWww,
    /// The `www.` name redirects (301) to the bare name.
    RedirectToBare,
}

/// A redirect of one path (exact match) to a path on the site or a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PathRedirect {
    pub from: UrlPath,
    pub to: RedirectTarget,
    /// 301, 302, 307 or 308.
    pub code: u16,
}

/// Most path redirects and error pages one site may have.
pub const MAX_REDIRECTS: usize = 200;

/// Status codes a site may give its own error page.
pub const ERROR_PAGE_CODES: [u16; 9] = [400, 401, 403, 404, 410, 429, 500, 502, 503];

/// Site settings beside what it serves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteOptions {
    #[serde(default)]
    pub www: WwwMode,
    #[serde(default)]
    pub redirects: Vec<PathRedirect>,
    /// Status code → a page on the site (`{"404": "/errors/404.html"}`).
    #[serde(default)]
    pub error_pages: BTreeMap<u16, UrlPath>,
    /// Redirect HTTP to HTTPS. Stored now; takes effect once the site has a
    /// certificate (until then the site keeps answering on HTTP).
    #[serde(default)]
    pub force_https: bool,
    /// Send `Strict-Transport-Security`; like `force_https`, only over HTTPS.
    #[serde(default)]
    pub hsts: bool,
}

impl SiteOptions {
    /// Check the rules serde cannot express; the message names the field.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.redirects.len() > MAX_REDIRECTS || self.error_pages.len() > ERROR_PAGE_CODES.len() {
            return Err(("options.redirects", format!("at most {MAX_REDIRECTS} redirects")));
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.redirects {
            if ![301, 302, 307, 308].contains(&r.code) {
                return Err(("options.redirects.code", "must be 301, 302, 307 or 308".into()));
            }
            if !seen.insert(r.from.as_str()) {
                return Err(("options.redirects.from", format!("{} is redirected twice", r.from)));
            }
            if r.to.as_str() == r.from.as_str() {
                return Err(("options.redirects.to", format!("{} redirects to itself", r.from)));
            }
        }
        for code in self.error_pages.keys() {
            if !ERROR_PAGE_CODES.contains(code) {
                return Err((
                    "options.error_pages",
                    format!("{code} is not one of {ERROR_PAGE_CODES:?}"),
                ));
            }
        }
        Ok(())
    }
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
    pub options: SiteOptions,
    /// The node serving the site (`local`: the panel's own).
    pub node: String,
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
    #[serde(default)]
    pub options: SiteOptions,
    /// An enrolled node with the `web` role; the panel's local node when
    /// left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub node: Option<crate::AccountName>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    /// Replaces the aliases when present.
    #[serde(default)]
    pub aliases: Option<Vec<DomainName>>,
    #[serde(default)]
    pub kind: Option<SiteKind>,
    /// Replaces all options when present.
    #[serde(default)]
    pub options: Option<SiteOptions>,
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

/// PHP versions sites can use (installed on the node), oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhpVersions {
    #[schema(value_type = Vec<String>)]
    pub versions: Vec<PhpVersion>,
    /// What a new PHP site gets when it names no version: the newest.
    #[schema(value_type = Option<String>)]
    pub default: Option<PhpVersion>,
    /// Keys a site may override, with typed values (see docs/operations.md).
    pub ini_keys: Vec<String>,
}

/// Which log of a site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SiteLogKind {
    #[default]
    Access,
    Error,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SiteLogQuery {
    /// `access` (default) or `error`.
    #[serde(default)]
    #[param(inline)]
    pub log: SiteLogKind,
    /// Lines per page, 1–1000 (default 100).
    pub lines: Option<u32>,
    /// A `next_before` from the previous page, to read further back.
    pub before: Option<u64>,
}

/// A page of a log, oldest line first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteLog {
    pub lines: Vec<String>,
    /// Pass as `before` for the lines before these; absent at the start.
    pub next_before: Option<u64>,
    /// Size of the log file in bytes.
    pub size: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteSiteQuery {
    /// Also delete the site's directory (`domains/<domain>`: files, logs).
    #[serde(default)]
    pub delete_files: bool,
}
