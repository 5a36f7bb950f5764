//! A node's web stack, driven in-process by the panel on a single server
//! (the "local agent"): tenant users and directories, site vhosts applied
//! through the one executor, nginx and the tenants' PHP-FPM masters kept
//! running by the agent or by systemd (`systemd.rs`).
//!
//! Layout (from research/isolation-probe.md, tested there):
//! `<homes>/<tenant>` root:<t> 0750 · `domains/` root:<t> 0750 ·
//! `domains/<d>/` root:<t> 0750 · `public_html/` <t>:<t> 0750 ·
//! `logs/` root:<t> 0750 (nginx's root master writes there, so the tenant must
//! not) · `tmp/` <t>:<t> 0700. The web user is in every tenant group.

use crate::apply::{ApplyError, ApplyReport, Executor, Plan};
use crate::health::HttpCheck;
use crate::nginx::Nginx;
use crate::php::{self, PhpFpm};
use crate::store::{Store, StoreError};
use crate::systemd::ServiceManager;
use berth_proto::PhpVersion;
use berth_proto::api::sites::SiteKind;
use berth_proto::api::sites::{SiteOptions, WwwMode};
use berth_proto::desired::{FpmPoolSpec, NameRedirect};
use berth_proto::desired::{NginxMainSpec, VhostKind, VhostSpec, VhostTls};
use berth_proto::php::PhpIni;
use berth_proto::{AbsPath, AccountName, DomainName, SiteId, TenantId};
use berth_services::templates::{NGINX_VHOST, Override, PHP_POOL};
use berth_sys::fsx;
use berth_sys::users::{self, Passwd, UserError};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// PHP-FPM masters' configs, sockets and logs (see `php.rs`); every
    /// ancestor must be traversable by others (o+x).
    pub php_root: AbsPath,
    /// Where `php-fpm<version>` binaries are looked for (`/usr/sbin`).
    pub php_sbin: PathBuf,
    /// Operator overrides (`nginx-vhost.conf.j2`); the one in use is kept
    /// in `active/` once it has passed rendering and the checker.
    pub templates_dir: Option<PathBuf>,
    /// Who starts the services and restarts them when they die.
    pub services: ServiceManager,
    /// The database servers on this node the agent manages.
    pub databases: crate::dbs::DbServersConfig,
    /// The DNS server on this node the agent manages.
    pub dns: crate::dns::DnsServersConfig,
    /// HTTPS: where it listens, the challenge directory, the key store.
    pub certs: crate::certs::CertsConfig,
}

/// PHP settings from the tenant's package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhpLimits {
    pub max_children: u32,
    pub memory_mb: u32,
    pub max_execution_s: u32,
    pub upload_mb: u32,
}

impl Default for PhpLimits {
    fn default() -> Self {
        PhpLimits {
            max_children: 10,
            memory_mb: 256,
            max_execution_s: 60,
            upload_mb: 64,
        }
    }
}

/// What applying a site did: the pool's apply (PHP sites whose pool
/// changed or was not running) and the vhost's.
#[derive(Clone, Debug)]
pub struct SiteApplied {
    pub pool: Option<ApplyReport>,
    pub vhost: ApplyReport,
    pub config: String,
}

/// What the panel wants for one site.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SiteInput {
    pub site: SiteId,
    pub tenant: AccountName,
    pub tenant_id: TenantId,
    pub domain: DomainName,
    pub aliases: Vec<DomainName>,
    pub kind: SiteKind,
    pub options: SiteOptions,
    pub php: PhpLimits,
    pub suspended: bool,
    /// The site's certificate chain (PEM, leaf first), once it has one; its
    /// key is on this node.
    #[serde(default)]
    pub certificate: Option<String>,
}

type PoolKey = (String, String);

pub struct LocalNode {
    cfg: NodeConfig,
    exec: Executor<Nginx>,
    pools: tokio::sync::Mutex<HashMap<PoolKey, Arc<Executor<PhpFpm>>>>,
    /// useradd/usermod lock /etc/passwd and /etc/group: one at a time.
    accounts: tokio::sync::Mutex<()>,
    /// The operator's templates in use (`None`: the built-in ones).
    vhost_override: std::sync::RwLock<Option<Arc<Override>>>,
    pool_override: std::sync::RwLock<Option<Arc<Override>>>,
    dbs: crate::dbs::DbServers,
    dns: crate::dns::DnsServers,
    certs: crate::certs::Certs,
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
    pub async fn start(mut cfg: NodeConfig) -> Result<LocalNode, NodeError> {
        // Unknown names over HTTPS get their handshake refused.
        if cfg.nginx.default_tls_listen.is_empty() {
            cfg.nginx.default_tls_listen = cfg.certs.https_listen.clone();
        }
        if !Path::new(crate::nginx::NGINX).exists() {
            return Err(NodeError::NoNginx);
        }
        // Two log files per site stay open in nginx (inherited from us).
        match berth_sys::limits::raise_nofile(1 << 20) {
            Ok(n) => tracing::debug!(nofile = n, "open-file limit"),
            Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
        }
        if let Some(web) = &cfg.nginx.user {
            users::ensure_user(web.as_str(), Path::new("/nonexistent"), "berth web server", true).await?;
        }
        let nginx = Nginx::managed(cfg.nginx.clone(), cfg.services.clone());
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
        if let Some(d) = &cfg.databases.dump_dir {
            fsx::ensure_dir(d, 0, 0, 0o700).map_err(io(d))?;
        }
        let homes = PathBuf::from(cfg.homes_root.as_str());
        std::fs::create_dir_all(&homes).map_err(io(&homes))?;
        let php_root = PathBuf::from(cfg.php_root.as_str());
        fsx::ensure_dir(&php_root, 0, 0, 0o711).map_err(io(&php_root))?;
        if let Some(dir) = php_root.ancestors().find(|d| !traversable(d)) {
            return Err(NodeError::Invalid(format!(
                "{} must be traversable by other users (o+x) for PHP-FPM masters running as tenants",
                dir.display()
            )));
        }
        let web = cfg.web_listen.first().map(|a| reachable(*a));
        let certs = crate::certs::Certs::open(cfg.certs.clone(), web, store.root().join("revs"))
            .map_err(|e| NodeError::Invalid(e.to_string()))?;
        let node = LocalNode {
            certs,
            dbs: crate::dbs::DbServers::new(cfg.databases.clone()),
            dns: crate::dns::DnsServers::new(cfg.dns.clone()),
            cfg,
            exec: Executor::new(store, nginx),
            pools: Default::default(),
            accounts: Default::default(),
            vhost_override: Default::default(),
            pool_override: Default::default(),
        };
        for (file, slot) in [(NGINX_VHOST, &node.vhost_override), (PHP_POOL, &node.pool_override)] {
            let Some(active) = node.cfg.templates_dir.as_ref().map(|d| d.join("active").join(file)) else {
                continue;
            };
            match std::fs::read_to_string(&active) {
                Ok(src) => match Override::parse(src) {
                    Ok(o) => set(slot, Some(Arc::new(o))),
                    Err(e) => {
                        tracing::error!(error = %e, path = %active.display(), "the active template no longer parses; using the built-in")
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&active)(e)),
            }
        }
        node.discover_pools().await?;
        Ok(node)
    }

    /// PHP versions installed on this node, oldest first.
    pub fn php_versions(&self) -> Vec<PhpVersion> {
        php::installed_versions(&self.cfg.php_sbin)
    }

    fn php_dir(&self, tenant: &str, version: &PhpVersion) -> PathBuf {
        Path::new(self.cfg.php_root.as_str())
            .join(tenant)
            .join(version.as_str())
    }

    /// The executor of a tenant's pool for one version (made on first use).
    async fn pool(&self, tenant: &AccountName, version: &PhpVersion) -> Result<Arc<Executor<PhpFpm>>, NodeError> {
        let key = (tenant.as_str().to_owned(), version.as_str().to_owned());
        let mut pools = self.pools.lock().await;
        if let Some(p) = pools.get(&key) {
            return Ok(p.clone());
        }
        let user = users::lookup(tenant.as_str())?
            .ok_or_else(|| NodeError::Invalid(format!("the tenant user {tenant} does not exist on this node")))?;
        let tdir = Path::new(self.cfg.php_root.as_str()).join(tenant.as_str());
        fsx::ensure_dir(&tdir, 0, user.gid, 0o750).map_err(io(&tdir))?;
        let dir = self.php_dir(tenant.as_str(), version);
        fsx::ensure_dir(&dir, 0, user.gid, 0o750).map_err(io(&dir))?;
        let run = dir.join("run");
        fsx::ensure_dir(&run, user.uid, user.gid, 0o750).map_err(io(&run))?;
        let store = Store::open(&dir)?;
        let fpm = PhpFpm {
            tenant: tenant.clone(),
            version: version.clone(),
            user,
            binary: php::binary(&self.cfg.php_sbin, version),
            dir,
            manager: self.cfg.services.clone(),
            unit: Default::default(),
        };
        let exec = Arc::new(Executor::new(store, fpm));
        pools.insert(key, exec.clone());
        Ok(exec)
    }

    /// Register the pools left by an earlier run, so they are supervised.
    async fn discover_pools(&self) -> Result<(), NodeError> {
        let root = PathBuf::from(self.cfg.php_root.as_str());
        for t in std::fs::read_dir(&root).map_err(io(&root))?.flatten() {
            let Some(tenant) = t.file_name().to_str().and_then(|n| AccountName::parse(n).ok()) else {
                continue;
            };
            for v in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
                let Some(version) = v.file_name().to_str().and_then(|n| PhpVersion::parse(n).ok()) else {
                    continue;
                };
                if v.path().join("current").exists() && users::lookup(tenant.as_str())?.is_some() {
                    self.pool(&tenant, &version).await?;
                }
            }
        }
        Ok(())
    }

    /// Start nginx and every pool master that should run and does not
    /// (crashed, killed, node rebooted). Returns what was started.
    pub async fn supervise(&self) -> Vec<String> {
        if self.cfg.services != ServiceManager::Agent {
            return Vec::new(); // the units restart what dies
        }
        let pools: Vec<_> = self.pools.lock().await.values().cloned().collect();
        let mut started = Vec::new();
        let nginx = self.exec.adapter();
        if !nginx.pid().is_some_and(berth_sys::procfs::alive) {
            // Workers of a master that was killed keep the ports: end them.
            for pid in berth_sys::procfs::orphans(0, "nginx: worker process") {
                let _ = berth_sys::Cmd::new("/usr/bin/kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .run()
                    .await;
            }
            if let Some(web) = &self.cfg.nginx.user
                && let Ok(Some(u)) = users::lookup(web.as_str())
            {
                for pid in berth_sys::procfs::orphans(u.uid, "nginx: worker process") {
                    let _ = berth_sys::Cmd::new("/usr/bin/kill")
                        .arg("-KILL")
                        .arg(pid.to_string())
                        .run()
                        .await;
                }
            }
            match nginx.start().await {
                Ok(o) if o.success() => {
                    tracing::warn!("nginx was not running; started it");
                    started.push("nginx".to_owned());
                }
                Ok(o) => tracing::error!(stderr = %o.stderr, "nginx did not start"),
                Err(e) => tracing::error!(error = %e, "nginx did not start"),
            }
        }
        for p in pools {
            let fpm = p.adapter();
            if matches!(p.store().current(), Ok(Some(_))) && !fpm.running() {
                let name = format!("{}/php{}", fpm.tenant, fpm.version);
                match fpm.start().await {
                    Ok(o) if o.success() => {
                        tracing::warn!(pool = %name, "php-fpm master was not running; started it");
                        started.push(name);
                    }
                    Ok(o) => tracing::error!(pool = %name, stderr = %o.stderr, "php-fpm master did not start"),
                    Err(e) => tracing::error!(pool = %name, error = %e, "php-fpm master did not start"),
                }
            }
        }
        started
    }

    /// Stop and forget a tenant's pools whose version no site uses any more.
    pub async fn stop_unused_pools(&self, tenant: &AccountName, used: &[PhpVersion]) -> Result<Vec<String>, NodeError> {
        let gone: Vec<_> = {
            let mut pools = self.pools.lock().await;
            let keys: Vec<PoolKey> = pools
                .keys()
                .filter(|(t, v)| t == tenant.as_str() && !used.iter().any(|u| u.as_str() == v))
                .cloned()
                .collect();
            keys.iter().filter_map(|k| pools.remove(k)).collect()
        };
        let mut stopped = Vec::new();
        for p in gone {
            let fpm = p.adapter();
            fpm.stop().await.map_err(|e| NodeError::Invalid(e.to_string()))?;
            let dir = fpm.dir.clone();
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            stopped.push(format!("{}/php{}", fpm.tenant, fpm.version));
        }
        Ok(stopped)
    }

    /// Put the tenant's pool for `version` in the wanted state for site `s`
    /// (its own pool when it has ini overrides, none otherwise): rendered,
    /// checked, live and running. Returns the socket the site's PHP goes
    /// to, and the apply report when something changed.
    async fn ensure_pool(
        &self,
        s: &SiteInput,
        version: &PhpVersion,
        ini: &PhpIni,
        home: &Path,
        reason: &str,
        tpl: Option<&Override>,
    ) -> Result<(PathBuf, Option<ApplyReport>), NodeError> {
        if !php::binary(&self.cfg.php_sbin, version).exists() {
            let have: Vec<String> = self.php_versions().iter().map(|v| v.to_string()).collect();
            return Err(NodeError::Invalid(format!(
                "PHP {version} is not installed on this node (installed: {})",
                if have.is_empty() {
                    "none".into()
                } else {
                    have.join(", ")
                }
            )));
        }
        let exec = self.pool(&s.tenant, version).await?;
        let fpm = exec.adapter();
        let spec = FpmPoolSpec {
            tenant: s.tenant.clone(),
            version: version.clone(),
            socket: Self::abs(&fpm.socket())?,
            pid: Self::abs(&fpm.pid_file())?,
            error_log: Self::abs(&fpm.log_file())?,
            home: Self::abs(home)?,
            tmp: Self::abs(&home.join("tmp"))?,
            max_children: s.php.max_children,
            memory_mb: s.php.memory_mb,
            max_execution_s: s.php.max_execution_s,
            upload_mb: s.php.upload_mb,
        };
        let live = Self::abs(&fpm.dir.join("current"))?;
        fpm.set_unit(&spec);
        let main = match tpl {
            Some(t) => t
                .render_pool(&spec, &live)
                .map_err(|e| NodeError::Invalid(format!("the operator's PHP-FPM template did not render: {e}")))?,
            None => berth_services::php_fpm::render_pool(&spec, &live),
        }
        .into_bytes();
        let site_file = berth_services::php_fpm::site_pool_file(s.site);
        let site_sock = fpm.site_socket(s.site);
        let site_conf = (!ini.is_empty())
            .then(|| Self::abs(&site_sock))
            .transpose()?
            .map(|sock| berth_services::php_fpm::render_site_pool(&spec, s.site, &sock, ini).into_bytes());
        let current = match exec.store().current()? {
            Some(r) => exec.store().contents(r)?,
            None => BTreeMap::new(),
        };
        let mut puts = BTreeMap::new();
        let mut removes = Vec::new();
        if current.get(berth_services::php_fpm::CONF) != Some(&main) {
            puts.insert(berth_services::php_fpm::CONF.to_owned(), main);
        }
        match site_conf {
            Some(c) if current.get(&site_file) != Some(&c) => {
                puts.insert(site_file, c);
            }
            Some(_) => {}
            None if current.contains_key(&site_file) => removes.push(site_file),
            None => {}
        }
        let socket = if ini.is_empty() { fpm.socket() } else { site_sock };
        if puts.is_empty() && removes.is_empty() {
            if !fpm.running() {
                let out = fpm.start().await.map_err(|e| NodeError::Invalid(e.to_string()))?;
                if !out.success() {
                    return Err(NodeError::Invalid(format!("php-fpm did not start: {}", out.stderr)));
                }
            }
            return Ok((socket, None));
        }
        let report = exec
            .apply(&Plan {
                reason: reason.to_owned(),
                puts,
                removes,
                health: vec![],
            })
            .await?;
        Ok((socket, Some(report)))
    }

    /// Take a site's own pool out of every pool tree but `keep`'s (the site
    /// was deleted, left PHP, changed version or dropped its overrides).
    async fn drop_site_pools(&self, site: SiteId, keep: Option<&PhpVersion>, reason: &str) -> Result<(), NodeError> {
        let file = berth_services::php_fpm::site_pool_file(site);
        let pools: Vec<_> = self.pools.lock().await.values().cloned().collect();
        for p in pools {
            if keep.is_some_and(|k| *k == p.adapter().version) {
                continue;
            }
            let has = match p.store().current()? {
                Some(r) => p.store().manifest(r)?.files.contains_key(&file),
                None => false,
            };
            if has {
                p.apply(&Plan {
                    reason: reason.to_owned(),
                    removes: vec![file.clone()],
                    ..Default::default()
                })
                .await?;
            }
        }
        Ok(())
    }

    pub fn executor(&self) -> &Executor<Nginx> {
        &self.exec
    }

    pub fn databases(&self) -> &crate::dbs::DbServers {
        &self.dbs
    }

    pub fn dns(&self) -> &crate::dns::DnsServers {
        &self.dns
    }

    pub fn certs(&self) -> &crate::certs::Certs {
        &self.certs
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
        let _accounts = self.accounts.lock().await;
        let user = users::ensure_user(tenant.as_str(), &home, &format!("berth tenant {id}"), false).await?;
        fsx::ensure_dir(&home, 0, user.gid, 0o750).map_err(io(&home))?;
        let domains = home.join("domains");
        fsx::ensure_dir(&domains, 0, user.gid, 0o750).map_err(io(&domains))?;
        // PHP's uploads, sessions and temp files.
        let tmp = home.join("tmp");
        fsx::ensure_dir(&tmp, user.uid, user.gid, 0o700).map_err(io(&tmp))?;
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
    pub fn vhost(
        &self,
        s: &SiteInput,
        web: &Path,
        logs: &Path,
        php_socket: Option<&Path>,
    ) -> Result<VhostSpec, NodeError> {
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
                SiteKind::Php { .. } => VhostKind::Php {
                    root: Self::abs(web)?,
                    socket: Self::abs(
                        php_socket.ok_or_else(|| NodeError::Invalid("a PHP site needs its pool's socket".into()))?,
                    )?,
                },
            }
        };
        let mut names = vec![s.domain.clone()];
        names.extend(s.aliases.iter().cloned());
        // The partner (`www.` added or taken off) answers too; in the
        // redirect modes its block only redirects.
        let name_redirect = match s.domain.www_partner() {
            Some(partner) if s.options.www != WwwMode::None => {
                names.push(partner.clone());
                let (bare, www) = if s.domain.as_str().starts_with("www.") {
                    (partner, s.domain.clone())
                } else {
                    (s.domain.clone(), partner)
                };
                match s.options.www {
                    WwwMode::RedirectToWww => Some(NameRedirect { from: bare, to: www }),
                    WwwMode::RedirectToBare => Some(NameRedirect { from: www, to: bare }),
                    WwwMode::None | WwwMode::Alias => None,
                }
            }
            _ => None,
        };
        Ok(VhostSpec {
            site: s.site,
            listen: self.cfg.web_listen.clone(),
            server_names: names,
            access_log: Self::abs(&logs.join("access.log"))?,
            error_log: Self::abs(&logs.join("error.log"))?,
            kind,
            redirects: s.options.redirects.clone(),
            error_pages: s.options.error_pages.clone(),
            name_redirect,
            acme_root: Some(self.cfg.certs.acme_root.clone()),
            tls: self.site_tls(s)?,
        })
    }

    /// HTTPS for a site with a certificate, on a node that serves HTTPS.
    fn site_tls(&self, s: &SiteInput) -> Result<Option<VhostTls>, NodeError> {
        let Some(chain) = &s.certificate else {
            return Ok(None);
        };
        if self.cfg.certs.https_listen.is_empty() {
            return Ok(None);
        }
        let (cert, key, stapling) = self
            .certs
            .files_for(chain)
            .map_err(|e| NodeError::Invalid(e.to_string()))?;
        Ok(Some(VhostTls {
            listen: self.cfg.certs.https_listen.clone(),
            cert,
            key,
            force_https: s.options.force_https,
            hsts: s.options.hsts,
            stapling,
        }))
    }

    fn conf_path(site: SiteId) -> String {
        format!("sites/{site}.conf")
    }

    /// The templates in use: (server block, PHP-FPM master).
    fn overrides(&self) -> Templates {
        Templates {
            vhost: get(&self.vhost_override),
            pool: get(&self.pool_override),
        }
    }

    /// A server block through the operator's template, or the built-in.
    fn render(spec: &VhostSpec, ov: Option<&Override>) -> Result<String, NodeError> {
        match ov {
            Some(o) => o
                .render_vhost(spec)
                .map_err(|e| NodeError::Invalid(format!("the operator template did not render: {e}"))),
            None => Ok(berth_services::nginx::render_vhost(spec)),
        }
    }

    /// Everything a site needs besides its server block (user, directories,
    /// PHP pool), and the server block's desired state.
    async fn prepare_site(
        &self,
        s: &SiteInput,
        reason: &str,
        pool_tpl: Option<&Override>,
    ) -> Result<(VhostSpec, Option<ApplyReport>), NodeError> {
        let user = self.ensure_tenant(&s.tenant, s.tenant_id).await?;
        let (web, logs) = self.site_dirs(s, &user)?;
        let (socket, pool) = match &s.kind {
            SiteKind::Php { version, ini } if !s.suspended => {
                let version = match version {
                    Some(v) => v.clone(),
                    None => self
                        .php_versions()
                        .pop()
                        .ok_or_else(|| NodeError::Invalid("no PHP-FPM is installed on this node".into()))?,
                };
                let home = self.tenant_home(&s.tenant);
                let (sock, report) = self.ensure_pool(s, &version, ini, &home, reason, pool_tpl).await?;
                self.drop_site_pools(s.site, Some(&version), reason).await?;
                (Some(sock), report)
            }
            _ => {
                self.drop_site_pools(s.site, None, reason).await?;
                (None, None)
            }
        };
        Ok((self.vhost(s, &web, &logs, socket.as_deref())?, pool))
    }

    fn health_check(&self, s: &SiteInput) -> Vec<HttpCheck> {
        self.cfg
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
            .collect()
    }

    /// Create or change a site on this node: user, directories, PHP pool,
    /// server block; health-checked, rolled back on failure.
    pub async fn apply_site(&self, s: &SiteInput, reason: &str) -> Result<SiteApplied, NodeError> {
        let t = self.overrides();
        let (spec, pool) = self.prepare_site(s, reason, t.pool.as_deref()).await?;
        let conf = Self::render(&spec, t.vhost.as_deref())?;
        let report = self
            .exec
            .apply(&Plan {
                reason: reason.to_owned(),
                puts: BTreeMap::from([(Self::conf_path(s.site), conf.clone().into_bytes())]),
                removes: vec![],
                health: self.health_check(s),
            })
            .await?;
        Ok(SiteApplied {
            pool,
            vhost: report,
            config: conf,
        })
    }

    /// Re-render every site and apply them as one revision (after an
    /// upgrade or a template change); server blocks of sites not in `all`
    /// are removed. The first site is health-checked.
    pub async fn rebuild(&self, all: &[SiteInput], reason: &str) -> Result<ApplyReport, NodeError> {
        self.rebuild_with(all, reason, &self.overrides()).await
    }

    async fn rebuild_with(&self, all: &[SiteInput], reason: &str, t: &Templates) -> Result<ApplyReport, NodeError> {
        let mut puts = BTreeMap::new();
        for s in all {
            let (spec, _) = self.prepare_site(s, reason, t.pool.as_deref()).await?;
            puts.insert(
                Self::conf_path(s.site),
                Self::render(&spec, t.vhost.as_deref())?.into_bytes(),
            );
        }
        let removes = match self.exec.store().current()? {
            Some(r) => self
                .exec
                .store()
                .manifest(r)?
                .files
                .into_keys()
                .filter(|k| k.starts_with("sites/") && !puts.contains_key(k))
                .collect(),
            None => vec![],
        };
        Ok(self
            .exec
            .apply(&Plan {
                reason: reason.to_owned(),
                puts,
                removes,
                health: all.first().map(|s| self.health_check(s)).unwrap_or_default(),
            })
            .await?)
    }

    /// Put the operator's templates (`<templates>/nginx-vhost.conf.j2`,
    /// `<templates>/php-fpm-pool.conf.j2`) in use, or go back to the built-in
    /// ones for files that are gone: every site and pool is rendered with
    /// them and applied through the checkers; only then are they copied to
    /// `active/` and used for later changes. A template that does not render
    /// or that a checker refuses changes nothing (pools changed on the way
    /// are put back). Answers whether any override is now in use.
    pub async fn activate_templates(&self, all: &[SiteInput], reason: &str) -> Result<(bool, ApplyReport), NodeError> {
        let dir = self
            .cfg
            .templates_dir
            .clone()
            .ok_or_else(|| NodeError::Invalid("this node has no templates directory".into()))?;
        let read = |file: &str| -> Result<Option<Arc<Override>>, NodeError> {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(src) => Override::parse(src)
                    .map(|o| Some(Arc::new(o)))
                    .map_err(|e| NodeError::Invalid(format!("{}: not a template: {e}", path.display()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(&path)(e)),
            }
        };
        let candidate = Templates {
            vhost: read(NGINX_VHOST)?,
            pool: read(PHP_POOL)?,
        };
        let before = self.overrides();
        let report = match self.rebuild_with(all, reason, &candidate).await {
            Ok(r) => r,
            Err(e) => {
                // Pools are applied one by one: put back those that took the candidate.
                if let Err(back) = self.rebuild_with(all, &format!("{reason} (undo)"), &before).await {
                    tracing::error!(error = %back, "could not put the previous templates' configs back");
                }
                return Err(e);
            }
        };
        let active = dir.join("active");
        for (file, tpl) in [(NGINX_VHOST, &candidate.vhost), (PHP_POOL, &candidate.pool)] {
            let path = active.join(file);
            match tpl {
                Some(o) => {
                    fsx::ensure_dir(&active, 0, 0, 0o755).map_err(io(&active))?;
                    fsx::write_atomic(&path, o.source().as_bytes(), 0o644).map_err(io(&path))?;
                }
                None => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path)(e)),
                },
            }
        }
        let used = candidate.vhost.is_some() || candidate.pool.is_some();
        set(&self.vhost_override, candidate.vhost);
        set(&self.pool_override, candidate.pool);
        Ok((used, report))
    }

    /// A page of a site's access or error log (newest last).
    pub fn site_log(
        &self,
        tenant: &AccountName,
        domain: &DomainName,
        error_log: bool,
        before: Option<u64>,
        lines: usize,
    ) -> Result<crate::logs::LogPage, NodeError> {
        // Every directory on this path is root-owned (see the layout above),
        // so a tenant cannot swap one for a symlink; the file itself is
        // opened without following links.
        let path = self
            .tenant_home(tenant)
            .join("domains")
            .join(domain.as_str())
            .join("logs")
            .join(if error_log { "error.log" } else { "access.log" });
        crate::logs::tail(&path, before, lines).map_err(io(&path))
    }

    /// Delete a site's directory (`domains/<domain>`: files, logs, tmp).
    /// `false` when it was not there.
    pub fn delete_site_files(&self, tenant: &AccountName, domain: &DomainName) -> Result<bool, NodeError> {
        let dir = self.tenant_home(tenant).join("domains").join(domain.as_str());
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&dir)(e)),
            // Root-owned parents: this is the directory Berth made, and
            // remove_dir_all does not follow symlinks inside it.
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&dir).map(|_| true).map_err(io(&dir)),
            Ok(_) => Err(NodeError::Invalid(format!("{} is not a directory", dir.display()))),
        }
    }

    /// Take a site's server block away (its files stay).
    pub async fn remove_site(&self, site: SiteId, reason: &str) -> Result<Option<ApplyReport>, NodeError> {
        self.drop_site_pools(site, None, reason).await?;
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

/// May users other than the owner and group enter `dir`?
fn traversable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
}

/// Operator templates for one render (`None`: the built-in one).
#[derive(Clone, Default)]
struct Templates {
    vhost: Option<Arc<Override>>,
    pool: Option<Arc<Override>>,
}

type Slot = std::sync::RwLock<Option<Arc<Override>>>;

fn get(slot: &Slot) -> Option<Arc<Override>> {
    match slot.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn set(slot: &Slot, v: Option<Arc<Override>>) {
    match slot.write() {
        Ok(mut g) => *g = v,
        Err(p) => *p.into_inner() = v,
    }
}
