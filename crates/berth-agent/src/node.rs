//! A node's web stack, driven in-process by the panel on a single server
//! (the "local agent"): tenant users and directories, site vhosts applied
//! through the one executor, nginx supervised without systemd.
//!
//! Layout (from research/isolation-probe.md, tested there):
//! `<homes>/<tenant>` root:<t> 0750 · `domains/` root:<t> 0750 ·
//! `domains/<d>/` root:<t> 0750 · `public_html/` <t>:<t> 0750 ·
//! `logs/` root:<t> 0750 (nginx's root master writes there, so the tenant must
//! not) · `tmp/` <t>:<t> 0700. The web user is in every tenant group.

use crate::apply::{ApplyError, ApplyReport, Executor, Plan};
use crate::health::HttpCheck;
use crate::nginx::Nginx;
use crate::store::{Store, StoreError};
use berth_proto::api::sites::SiteKind;
use berth_proto::desired::{NginxMainSpec, VhostKind, VhostSpec};
use berth_proto::{AbsPath, AccountName, DomainName, SiteId, TenantId};
use berth_sys::fsx;
use berth_sys::users::{self, Passwd, UserError};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("nginx is not installed on this node (/usr/sbin/nginx)")]
    NoNginx,
    #[error("nginx did not start: {0}")]
    NginxStart(String),
    #[error(transparent)]
    User(#[from] UserError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

impl NodeError {
    pub fn retryable(&self) -> bool {
        match self {
            NodeError::Apply(e) => e.retryable(),
            NodeError::User(UserError::Foreign(_)) | NodeError::Invalid(_) | NodeError::NoNginx => false,
            _ => true,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How this node serves websites.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub homes_root: AbsPath,
    pub nginx: NginxMainSpec,
    /// Where site server blocks listen.
    pub web_listen: Vec<SocketAddr>,
}

/// What the panel wants for one site.
#[derive(Clone, Debug)]
pub struct SiteInput {
    pub site: SiteId,
    pub tenant: AccountName,
    pub tenant_id: TenantId,
    pub domain: DomainName,
    pub aliases: Vec<DomainName>,
    pub kind: SiteKind,
    pub suspended: bool,
}

pub struct LocalNode {
    cfg: NodeConfig,
    exec: Executor<Nginx>,
}

const PLACEHOLDER: &str = "<!doctype html><title>Coming soon</title><h1>This site is ready for its content.</h1>\n";

/// A loopback address to reach a listen address from this host.
fn reachable(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V4(v) if v.is_unspecified() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), a.port()),
        IpAddr::V6(v) if v.is_unspecified() => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), a.port()),
        _ => a,
    }
}

impl LocalNode {
    /// Prepare nginx's prefix and the web user, and start nginx unless it runs.
    pub async fn start(cfg: NodeConfig) -> Result<LocalNode, NodeError> {
        if !Path::new(crate::nginx::NGINX).exists() {
            return Err(NodeError::NoNginx);
        }
        if let Some(web) = &cfg.nginx.user {
            users::ensure_user(web.as_str(), Path::new("/nonexistent"), "berth web server", true).await?;
        }
        let nginx = Nginx::new(cfg.nginx.clone());
        let prefix = PathBuf::from(cfg.nginx.prefix.as_str());
        nginx.prepare().map_err(io(&prefix))?;
        let store = Store::open(&prefix)?;
        let running = nginx.pid().is_some_and(berth_sys::procfs::alive);
        if running {
            // Pick up a changed main config and group memberships.
            let _ = crate::apply::ServiceAdapter::reload(&nginx).await;
        } else {
            let out = nginx.start().await.map_err(|e| NodeError::NginxStart(e.to_string()))?;
            if !out.success() {
                return Err(NodeError::NginxStart(out.stderr));
            }
        }
        let homes = PathBuf::from(cfg.homes_root.as_str());
        std::fs::create_dir_all(&homes).map_err(io(&homes))?;
        Ok(LocalNode {
            cfg,
            exec: Executor::new(store, nginx),
        })
    }

    pub fn executor(&self) -> &Executor<Nginx> {
        &self.exec
    }

    pub fn config(&self) -> &NodeConfig {
        &self.cfg
    }

    pub async fn stop_nginx(&self) {
        let _ = self.exec.adapter().stop().await;
    }

    pub fn tenant_home(&self, tenant: &AccountName) -> PathBuf {
        Path::new(self.cfg.homes_root.as_str()).join(tenant.as_str())
    }

    /// The tenant's Linux user and home (created on first use).
    pub async fn ensure_tenant(&self, tenant: &AccountName, id: TenantId) -> Result<Passwd, NodeError> {
        let home = self.tenant_home(tenant);
        let user = users::ensure_user(tenant.as_str(), &home, &format!("berth tenant {id}"), false).await?;
        fsx::ensure_dir(&home, 0, user.gid, 0o750).map_err(io(&home))?;
        let domains = home.join("domains");
        fsx::ensure_dir(&domains, 0, user.gid, 0o750).map_err(io(&domains))?;
        if let Some(web) = &self.cfg.nginx.user {
            users::add_to_group(web.as_str(), tenant.as_str()).await?;
        }
        Ok(user)
    }

    fn site_dirs(&self, s: &SiteInput, user: &Passwd) -> Result<(PathBuf, PathBuf), NodeError> {
        let site = self.tenant_home(&s.tenant).join("domains").join(s.domain.as_str());
        fsx::ensure_dir(&site, 0, user.gid, 0o750).map_err(io(&site))?;
        let logs = site.join("logs");
        fsx::ensure_dir(&logs, 0, user.gid, 0o750).map_err(io(&logs))?;
        let tmp = site.join("tmp");
        fsx::ensure_dir(&tmp, user.uid, user.gid, 0o700).map_err(io(&tmp))?;
        let web = site.join("public_html");
        if fsx::ensure_dir(&web, user.uid, user.gid, 0o750).map_err(io(&web))? {
            // Only in a directory made just now: nothing of the tenant's can
            // be in the way yet.
            let idx = web.join("index.html");
            fsx::create_file(&idx, PLACEHOLDER.as_bytes(), user.uid, user.gid, 0o644).map_err(io(&idx))?;
        }
        Ok((web, logs))
    }

    fn abs(p: &Path) -> Result<AbsPath, NodeError> {
        AbsPath::parse(&p.display().to_string()).map_err(|e| NodeError::Invalid(e.to_string()))
    }

    /// The server block for a site (pure once the directories exist).
    pub fn vhost(&self, s: &SiteInput, web: &Path, logs: &Path) -> Result<VhostSpec, NodeError> {
        let kind = if s.suspended {
            VhostKind::Suspended
        } else {
            match &s.kind {
                SiteKind::Static => VhostKind::Static { root: Self::abs(web)? },
                SiteKind::Proxy { upstream } => VhostKind::Proxy { upstream: *upstream },
                SiteKind::Redirect { to, permanent } => VhostKind::Redirect {
                    to: to.clone(),
                    permanent: *permanent,
                },
            }
        };
        let mut names = vec![s.domain.clone()];
        names.extend(s.aliases.iter().cloned());
        Ok(VhostSpec {
            site: s.site,
            listen: self.cfg.web_listen.clone(),
            server_names: names,
            access_log: Self::abs(&logs.join("access.log"))?,
            error_log: Self::abs(&logs.join("error.log"))?,
            kind,
        })
    }

    fn conf_path(site: SiteId) -> String {
        format!("sites/{site}.conf")
    }

    /// Create or change a site on this node: user, directories, server
    /// block; health-checked, rolled back on failure.
    pub async fn apply_site(&self, s: &SiteInput, reason: &str) -> Result<(ApplyReport, String), NodeError> {
        let user = self.ensure_tenant(&s.tenant, s.tenant_id).await?;
        let (web, logs) = self.site_dirs(s, &user)?;
        let spec = self.vhost(s, &web, &logs)?;
        let conf = berth_services::nginx::render_vhost(&spec);
        let health = self
            .cfg
            .web_listen
            .first()
            .map(|a| HttpCheck {
                addr: reachable(*a),
                host: s.domain.clone(),
                path: "/".into(),
                // Any status: the check proves the new block answers. Whether
                // an app behind a proxy is up is the app's business.
                min_status: 100,
                max_status: 599,
                expect_header: Some(("x-berth-site".into(), s.site.to_string())),
            })
            .into_iter()
            .collect();
        let report = self
            .exec
            .apply(&Plan {
                reason: reason.to_owned(),
                puts: BTreeMap::from([(Self::conf_path(s.site), conf.clone().into_bytes())]),
                removes: vec![],
                health,
            })
            .await?;
        Ok((report, conf))
    }

    /// Take a site's server block away (its files stay).
    pub async fn remove_site(&self, site: SiteId, reason: &str) -> Result<Option<ApplyReport>, NodeError> {
        let path = Self::conf_path(site);
        let present = match self.exec.store().current()? {
            Some(r) => self.exec.store().manifest(r)?.files.contains_key(&path),
            None => false,
        };
        if !present {
            return Ok(None);
        }
        Ok(Some(
            self.exec
                .apply(&Plan {
                    reason: reason.to_owned(),
                    removes: vec![path],
                    ..Default::default()
                })
                .await?,
        ))
    }
}
