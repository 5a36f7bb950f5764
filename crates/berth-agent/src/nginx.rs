//! nginx as a managed service: its adapter for the executor (check a staged
//! tree with `nginx -t`, reload with `nginx -s reload`) and starting and
//! stopping the private master: through its systemd unit on a node with
//! systemd, directly otherwise (tests, containers, the demo).

use crate::apply::ServiceAdapter;
use crate::systemd::ServiceManager;
use berth_proto::desired::NginxMainSpec;
use berth_sys::{Cmd, CmdError, fsx, procfs};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const NGINX: &str = "/usr/sbin/nginx";

/// nginx with a private prefix: `<prefix>/conf/nginx.conf` (rendered from
/// the spec), logs, pid, temp dirs, and `<prefix>/current` -> the store's
/// live revision, whose `sites/` holds one file per site.
pub struct Nginx {
    spec: NginxMainSpec,
    binary: PathBuf,
    manager: ServiceManager,
}

impl Nginx {
    pub fn new(spec: NginxMainSpec) -> Nginx {
        Self::managed(spec, ServiceManager::Agent)
    }

    pub fn managed(spec: NginxMainSpec, manager: ServiceManager) -> Nginx {
        Nginx {
            spec,
            binary: PathBuf::from(NGINX),
            manager,
        }
    }

    /// Whether something other than the agent restarts the master.
    pub fn supervised_elsewhere(&self) -> bool {
        self.manager != ServiceManager::Agent
    }

    /// The systemd unit for this prefix.
    pub fn unit(&self) -> Option<String> {
        let binary = berth_proto::AbsPath::parse(&self.binary.display().to_string()).ok()?;
        Some(berth_services::systemd::render_nginx_unit(&self.spec, &binary))
    }

    fn prefix(&self) -> PathBuf {
        PathBuf::from(self.spec.prefix.as_str())
    }

    fn conf(&self) -> PathBuf {
        self.prefix().join("conf/nginx.conf")
    }

    fn base(&self, conf: &Path) -> Cmd {
        let p = self.prefix();
        Cmd::new(&self.binary)
            .arg("-e")
            .arg(p.join("logs/error.log"))
            .arg("-p")
            .arg(format!("{}/", p.display()))
            .arg("-c")
            .arg(conf)
            .timeout(Duration::from_secs(120))
    }

    /// Create the prefix layout and write the main config.
    pub fn prepare(&self) -> std::io::Result<()> {
        let p = self.prefix();
        for d in ["conf", "logs", "run", "tmp"] {
            std::fs::create_dir_all(p.join(d))?;
        }
        fsx::write_atomic(
            &self.conf(),
            berth_services::nginx::render_main(&self.spec).as_bytes(),
            0o644,
        )
    }

    /// Start the master (it daemonizes), or install and start its unit.
    pub async fn start(&self) -> Result<berth_sys::CmdOutput, CmdError> {
        if let Some(sd) = self.manager.systemd() {
            let unit = self.unit().ok_or_else(|| CmdError::NotAbsolute(self.binary.clone()))?;
            sd.install(berth_services::systemd::NGINX_UNIT, &unit).await?;
            return sd.start(berth_services::systemd::NGINX_UNIT).await;
        }
        self.base(&self.conf()).run().await
    }

    pub async fn stop(&self) -> Result<berth_sys::CmdOutput, CmdError> {
        if let Some(sd) = self.manager.systemd() {
            return sd.stop(berth_services::systemd::NGINX_UNIT).await;
        }
        self.base(&self.conf()).arg("-s").arg("quit").run().await
    }

    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.prefix().join("run/nginx.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl ServiceAdapter for Nginx {
    fn name(&self) -> &str {
        "nginx"
    }

    /// `nginx -t` on a copy of the main config that includes the staged
    /// tree's sites instead of the live ones.
    fn check(&self, tree: &Path, scratch: &Path) -> Cmd {
        let live_include = format!("include {}/current/sites/*.conf;", self.spec.prefix);
        let staged_include = format!("include {}/sites/*.conf;", tree.display());
        let main = berth_services::nginx::render_main(&self.spec).replace(&live_include, &staged_include);
        let check_conf = scratch.join("nginx-check.conf");
        if let Err(e) = fsx::write_atomic(&check_conf, main.as_bytes(), 0o644) {
            tracing::error!(error = %e, "could not write the nginx check config");
        }
        self.base(&check_conf).arg("-t")
    }

    /// `nginx -s reload`, then wait until every worker of the old
    /// generation has exited: until then an old worker may still answer
    /// with the old configuration, and a health check would test the wrong
    /// one. (With systemd and no pid file readable, only the command runs.)
    ///
    /// `-s reload` only sends a signal: if the master then fails to load the
    /// configuration (it checks nothing `nginx -t` did not, but it can run
    /// out of file descriptors or memory where the check did not), it keeps
    /// the old one, logs `[emerg]`, and the old workers stay. That is a
    /// failed reload, and is reported as one.
    async fn reload(&self) -> Result<berth_sys::CmdOutput, CmdError> {
        let old: Vec<u32> = self.pid().map(procfs::children_of).unwrap_or_default();
        let log = self.prefix().join("logs/error.log");
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len());
        let out = self.base(&self.conf()).arg("-s").arg("reload").run().await?;
        if !out.success() || old.is_empty() {
            return Ok(out);
        }
        let failed = |why: String| berth_sys::CmdOutput {
            code: Some(1),
            stdout: String::new(),
            stderr: why,
            elapsed: out.elapsed,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if !old.iter().any(|p| procfs::alive(*p)) {
                return Ok(out);
            }
            if let Some(line) = new_emerg(&log, log_start) {
                return Ok(failed(format!("nginx kept its previous configuration: {line}")));
            }
            if std::time::Instant::now() > deadline {
                return Ok(failed("the old nginx workers were still running after 60 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The first `[emerg]` line written to `log` after byte `from`.
fn new_emerg(log: &Path, from: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(log).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = String::new();
    f.take(1 << 20).read_to_string(&mut buf).ok()?;
    buf.lines().find(|l| l.contains("[emerg]")).map(str::to_owned)
}

/// Stops a private nginx when dropped, also when a test panics (a master
/// left running would hold its port and outlive the test run).
pub struct StopOnDrop {
    pub prefix: PathBuf,
}

impl Drop for StopOnDrop {
    #[allow(clippy::disallowed_methods)] // Drop cannot await the async Cmd
    fn drop(&mut self) {
        let _ = std::process::Command::new(NGINX)
            .arg("-e")
            .arg(self.prefix.join("logs/error.log"))
            .arg("-p")
            .arg(format!("{}/", self.prefix.display()))
            .arg("-c")
            .arg("conf/nginx.conf")
            .args(["-s", "quit"])
            .env_clear()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
