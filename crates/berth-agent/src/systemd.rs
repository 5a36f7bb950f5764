//! Who starts and keeps the node's services running: the agent itself
//! (nodes without systemd: containers, tests, the demo; `LocalNode::supervise`
//! restarts what died) or systemd (production hosts: units the agent writes,
//! started at boot, restarted by systemd, each tenant's PHP master in its own
//! cgroup with the package's limits).
//!
//! Checking and reloading stay the executor's in both cases: the agent runs
//! `nginx -t`/`php-fpm -t` itself and waits for the new configuration to
//! answer, so a failed reload is seen and rolled back the same way.

use berth_sys::{Cmd, CmdError, CmdOutput, fsx};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SYSTEMCTL: &str = "/usr/bin/systemctl";

/// How services are started and kept running on this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceManager {
    /// The agent starts the masters and restarts them when they die.
    Agent,
    /// systemd, with Berth's units in `unit_dir` (`/etc/systemd/system`).
    Systemd { unit_dir: PathBuf },
}

impl ServiceManager {
    /// systemd when it is the running init (the test `sd_booted()` makes:
    /// `/run/systemd/system` exists), else the agent.
    pub fn detect() -> ServiceManager {
        Self::detect_at(Path::new("/run/systemd/system"))
    }

    fn detect_at(marker: &Path) -> ServiceManager {
        if marker.is_dir() {
            ServiceManager::Systemd {
                unit_dir: PathBuf::from("/etc/systemd/system"),
            }
        } else {
            ServiceManager::Agent
        }
    }

    /// `auto`, `agent` or `systemd` (a flag's value).
    pub fn from_choice(choice: &str) -> Result<ServiceManager, String> {
        match choice {
            "auto" => Ok(Self::detect()),
            "agent" => Ok(ServiceManager::Agent),
            "systemd" => Ok(ServiceManager::Systemd {
                unit_dir: PathBuf::from("/etc/systemd/system"),
            }),
            other => Err(format!("unknown service manager {other:?} (auto, agent or systemd)")),
        }
    }

    pub fn systemd(&self) -> Option<Systemd> {
        match self {
            ServiceManager::Agent => None,
            ServiceManager::Systemd { unit_dir } => Some(Systemd {
                unit_dir: unit_dir.clone(),
            }),
        }
    }
}

/// Units in one directory, driven through `systemctl`.
pub struct Systemd {
    pub unit_dir: PathBuf,
}

impl Systemd {
    fn systemctl(&self) -> Cmd {
        Cmd::new(SYSTEMCTL).timeout(Duration::from_secs(120))
    }

    /// Write `name` with `text` unless it already has it, then make systemd
    /// read it. Returns whether the file changed.
    pub async fn install(&self, name: &str, text: &str) -> Result<bool, CmdError> {
        let path = self.unit_dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            return Ok(false);
        }
        fsx::write_atomic(&path, text.as_bytes(), 0o644).map_err(|e| CmdError::File {
            path: path.clone(),
            source: e,
        })?;
        self.daemon_reload().await?;
        Ok(true)
    }

    async fn daemon_reload(&self) -> Result<CmdOutput, CmdError> {
        self.systemctl().arg("daemon-reload").run().await
    }

    /// Enable (start at boot) and start now; a unit that runs stays as is.
    pub async fn start(&self, name: &str) -> Result<CmdOutput, CmdError> {
        self.systemctl().args(["enable", "--now", name]).run().await
    }

    /// `systemctl reload`: the unit's `ExecReload`.
    pub async fn reload(&self, name: &str) -> Result<CmdOutput, CmdError> {
        self.systemctl().args(["reload", name]).run().await
    }

    /// Stop now; it still starts at boot.
    pub async fn stop(&self, name: &str) -> Result<CmdOutput, CmdError> {
        self.systemctl().args(["stop", name]).run().await
    }

    /// Stop, disable and delete the unit.
    pub async fn remove(&self, name: &str) -> Result<CmdOutput, CmdError> {
        let out = self.systemctl().args(["disable", "--now", name]).run().await?;
        let path = self.unit_dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CmdError::File { path, source: e });
            }
        }
        self.daemon_reload().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_the_marker_directory() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            ServiceManager::detect_at(&d.path().join("absent")),
            ServiceManager::Agent
        );
        assert_eq!(
            ServiceManager::detect_at(d.path()),
            ServiceManager::Systemd {
                unit_dir: PathBuf::from("/etc/systemd/system")
            }
        );
        assert!(ServiceManager::from_choice("upstart").is_err());
        assert_eq!(ServiceManager::from_choice("agent"), Ok(ServiceManager::Agent));
    }
}
