//! PHP-FPM as a managed service: one master per tenant and PHP version, run
//! as the tenant (isolation-probe.md §1.3), each with its own revision store
//! so a pool change goes through the same executor as nginx (check with
//! `php-fpm -t`, swap, reload, verify, roll back).
//!
//! Layout under the node's PHP root (ancestors must be traversable, since
//! the master reads its config as the tenant and nginx's workers reach the
//! socket): `<root>/<tenant>` root:<t> 0750 · `<root>/<tenant>/<version>`
//! root:<t> 0750 holding the store (`current/php-fpm.conf`) · `run/` <t>:<t>
//! 0750 with the socket (0660 <t>:<t>), pid file and master log. nginx's
//! worker user is in the tenant's group; other tenants are not.

use crate::apply::ServiceAdapter;
use crate::systemd::ServiceManager;
use berth_proto::{AccountName, PhpVersion};
use berth_sys::users::Passwd;
use berth_sys::{Cmd, CmdError, CmdOutput, procfs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The installed PHP-FPM versions (`/usr/sbin/php-fpm8.2` → `8.2`), newest last.
pub fn installed_versions(sbin: &Path) -> Vec<PhpVersion> {
    let mut v: Vec<PhpVersion> = std::fs::read_dir(sbin)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            PhpVersion::parse(name.strip_prefix("php-fpm")?).ok()
        })
        .collect();
    v.sort_by_key(|x| {
        let (a, b) = x.as_str().split_once('.').unwrap_or(("0", "0"));
        (a.parse::<u32>().unwrap_or(0), b.parse::<u32>().unwrap_or(0))
    });
    v
}

pub fn binary(sbin: &Path, v: &PhpVersion) -> PathBuf {
    sbin.join(format!("php-fpm{v}"))
}

/// One tenant's master for one version.
pub struct PhpFpm {
    pub tenant: AccountName,
    pub version: PhpVersion,
    pub user: Passwd,
    /// `<root>/<tenant>/<version>`.
    pub dir: PathBuf,
    pub binary: PathBuf,
    pub manager: ServiceManager,
    /// With systemd: the master's unit as last rendered (installed by
    /// `start`; the package's limits are in it).
    pub unit: std::sync::Mutex<Option<String>>,
}

impl PhpFpm {
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
    pub fn socket(&self) -> PathBuf {
        self.run_dir().join("php.sock")
    }
    /// The socket of a site's own pool: short, since a socket path has at
    /// most 107 bytes (the last 12 hex digits of a v7 id are random).
    pub fn site_socket(&self, site: berth_proto::SiteId) -> PathBuf {
        let simple = site.to_string().replace('-', "");
        self.run_dir()
            .join(format!("s{}.sock", &simple[simple.len().saturating_sub(12)..]))
    }
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("php-fpm.pid")
    }
    pub fn log_file(&self) -> PathBuf {
        self.run_dir().join("php-fpm.log")
    }
    pub fn live_conf(&self) -> PathBuf {
        self.dir.join("current").join(berth_services::php_fpm::CONF)
    }

    pub fn unit_name(&self) -> String {
        berth_services::systemd::php_unit_name(&self.tenant, &self.version)
    }

    /// Remember the unit for the next `start` (systemd only).
    pub fn set_unit(&self, spec: &berth_proto::desired::FpmPoolSpec) {
        if self.manager == ServiceManager::Agent {
            return;
        }
        let (Ok(binary), Ok(conf)) = (
            berth_proto::AbsPath::parse(&self.binary.display().to_string()),
            berth_proto::AbsPath::parse(&self.live_conf().display().to_string()),
        ) else {
            return;
        };
        let text = berth_services::systemd::render_php_unit(spec, &binary, &conf);
        if let Ok(mut u) = self.unit.lock() {
            *u = Some(text);
        }
    }

    fn pid_mtime(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.pid_file()).and_then(|m| m.modified()).ok()
    }

    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pid_file()).ok()?.trim().parse().ok()
    }

    pub fn running(&self) -> bool {
        self.pid().is_some_and(procfs::alive)
    }

    /// `setpriv` to the tenant's uid and gid, without supplementary groups.
    fn as_tenant(&self) -> Cmd {
        Cmd::new("/usr/bin/setpriv")
            .arg(format!("--reuid={}", self.user.uid))
            .arg(format!("--regid={}", self.user.gid))
            .arg("--clear-groups")
    }

    /// Start the master as the tenant; returns once it is ready (php-fpm's
    /// daemonizing parent waits for the master) and the socket answers.
    pub async fn start(&self) -> Result<CmdOutput, CmdError> {
        if let Some(sd) = self.manager.systemd() {
            let unit = self.unit.lock().ok().and_then(|u| u.clone());
            if let Some(text) = unit {
                sd.install(&self.unit_name(), &text).await?;
            }
            let out = sd.start(&self.unit_name()).await?;
            if out.success() {
                self.wait_ready(None).await;
            }
            return Ok(out);
        }
        // Workers of a master that was killed keep running under init,
        // holding memory and the tenant's old socket: end them first.
        for pid in procfs::orphans(self.user.uid, "php-fpm: pool ") {
            let _ = signal(pid, "-KILL").await;
        }
        let out = self
            .as_tenant()
            .arg(&self.binary)
            .arg("-y")
            .arg(self.live_conf())
            .timeout(Duration::from_secs(30))
            .run()
            .await?;
        if out.success() {
            self.wait_ready(None).await;
        }
        Ok(out)
    }

    /// Ask the master to finish its requests and exit (with systemd: and
    /// remove its unit; a master is only stopped when no site needs it).
    pub async fn stop(&self) -> Result<(), CmdError> {
        if let Some(sd) = self.manager.systemd() {
            sd.remove(&self.unit_name()).await?;
            return Ok(());
        }
        if let Some(pid) = self.pid().filter(|p| procfs::alive(*p)) {
            signal(pid, "-QUIT").await?;
            let deadline = Instant::now() + Duration::from_secs(15);
            while procfs::alive(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// Wait until a master other than `old` holds the pid file and the
    /// socket accepts connections (10 s at most).
    async fn wait_ready(&self, old: Option<u32>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(p) = self.pid()
                && Some(p) != old
                && procfs::alive(p)
                && tokio::net::UnixStream::connect(self.socket()).await.is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    fn failed(&self, what: &str) -> CmdOutput {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        CmdOutput {
            code: Some(1),
            stdout: String::new(),
            stderr: format!(
                "php-fpm{} for {}: {what}\n{}",
                self.version,
                self.tenant,
                tail.join("\n")
            ),
            elapsed: Duration::ZERO,
        }
    }
}

async fn signal(pid: u32, sig: &str) -> Result<CmdOutput, CmdError> {
    Cmd::new("/usr/bin/kill").arg(sig).arg(pid.to_string()).run().await
}

impl ServiceAdapter for PhpFpm {
    fn name(&self) -> &str {
        "php-fpm"
    }

    /// As the tenant, like the master: the check opens the error log,
    /// which must not end up owned by root. The staged main config is
    /// copied to `scratch` with its include pointing at the staged sites.
    fn check(&self, tree: &Path, scratch: &Path) -> Cmd {
        let live_include = format!("include = {}/site-*.conf", self.dir.join("current").display());
        let staged_include = format!("include = {}/site-*.conf", tree.display());
        let conf = std::fs::read_to_string(tree.join(berth_services::php_fpm::CONF))
            .unwrap_or_default()
            .replace(&live_include, &staged_include);
        let check_conf = scratch.join(berth_services::php_fpm::CONF);
        if let Err(e) = berth_sys::fsx::write_atomic(&check_conf, conf.as_bytes(), 0o644) {
            tracing::error!(error = %e, "could not write the php-fpm check config");
        }
        self.as_tenant()
            .arg(&self.binary)
            .arg("-t")
            .arg("-y")
            .arg(check_conf)
            .timeout(Duration::from_secs(30))
    }

    /// USR2 (graceful re-exec with the new config; the master's pid
    /// changes), or a start when no master runs. Returns once the new
    /// master answers on the socket.
    async fn reload(&self) -> Result<CmdOutput, CmdError> {
        let Some(pid) = self.pid().filter(|p| procfs::alive(*p)) else {
            let out = self.start().await?;
            if out.success() && !self.running() {
                return Ok(self.failed("started but is not running"));
            }
            return Ok(out);
        };
        if let Some(sd) = self.manager.systemd() {
            // `--nodaemonize`: the master re-executes in place (same pid)
            // and writes its pid file again once the new config is loaded.
            let before = self.pid_mtime();
            if let Some(text) = self.unit.lock().ok().and_then(|u| u.clone()) {
                sd.install(&self.unit_name(), &text).await?;
            }
            let out = sd.reload(&self.unit_name()).await?;
            if !out.success() {
                return Ok(out);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if self.pid_mtime() != before
                    && self.running()
                    && tokio::net::UnixStream::connect(self.socket()).await.is_ok()
                {
                    return Ok(out);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return Ok(self.failed("did not come back after reload"));
        }
        let out = signal(pid, "-USR2").await?;
        if !out.success() {
            return Ok(out);
        }
        if self.wait_ready(Some(pid)).await {
            Ok(out)
        } else {
            Ok(self.failed("did not come back after reload"))
        }
    }
}

/// Stops every PHP-FPM master under a PHP root when dropped, also when a
/// test panics (a master left running holds its tenant's user, which then
/// cannot be deleted).
pub struct StopPoolsOnDrop {
    pub root: PathBuf,
}

impl Drop for StopPoolsOnDrop {
    #[allow(clippy::disallowed_methods)] // Drop cannot await the async Cmd
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let runs: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|t| std::fs::read_dir(t.path()).into_iter().flatten().flatten())
            .map(|v| v.path().join("run"))
            .collect();
        let mut pids: Vec<u32> = runs
            .iter()
            .filter_map(|r| std::fs::read_to_string(r.join("php-fpm.pid")).ok())
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        // Workers of a master that died (the run dir belongs to the tenant).
        for r in &runs {
            if let Ok(m) = std::fs::metadata(r) {
                pids.extend(procfs::orphans(m.uid(), "php-fpm: pool "));
            }
        }
        for pid in &pids {
            let _ = std::process::Command::new("/usr/bin/kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .env_clear()
                .stderr(std::process::Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|p| procfs::alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
