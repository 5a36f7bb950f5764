//! System users and groups, through Debian's own tools (`useradd`,
//! `usermod`) run with argument vectors. Names are validated before they get
//! here (`berth_proto::AccountName`); this module still refuses anything else.

use crate::{Cmd, CmdError};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0:?} is not a valid system user name")]
    BadName(String),
    #[error("a system user {0:?} exists and is not managed by Berth")]
    Foreign(String),
    #[error("{cmd} failed: {stderr}")]
    Failed { cmd: String, stderr: String },
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("reading /etc/passwd: {0}")]
    Io(#[from] std::io::Error),
}

/// An entry of /etc/passwd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
}

fn valid(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub fn lookup(name: &str) -> Result<Option<Passwd>, UserError> {
    let text = std::fs::read_to_string("/etc/passwd")?;
    Ok(text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[0] == name).then(|| Passwd {
            name: f[0].to_owned(),
            uid: f[2].parse().unwrap_or(u32::MAX),
            gid: f[3].parse().unwrap_or(u32::MAX),
            gecos: f[4].to_owned(),
            home: f[5].to_owned(),
        })
    }))
}

async fn run(cmd: Cmd) -> Result<(), UserError> {
    let out = cmd.run().await?;
    if out.success() {
        Ok(())
    } else {
        Err(UserError::Failed {
            cmd: cmd.display(),
            stderr: out.stderr.trim().to_owned(),
        })
    }
}

/// Make sure the user (with its own group) exists and carries `marker` in
/// its comment field; a same-named user without the marker is refused, so
/// Berth never takes over `postgres` or `www-data`.
pub async fn ensure_user(name: &str, home: &Path, marker: &str, system: bool) -> Result<Passwd, UserError> {
    if !valid(name) {
        return Err(UserError::BadName(name.to_owned()));
    }
    // The marker becomes the passwd comment field: no separators in it.
    if marker.is_empty() || marker.len() > 100 || marker.chars().any(|c| c == ':' || c == ',' || c.is_control()) {
        return Err(UserError::BadName(format!("comment {marker:?}")));
    }
    if let Some(p) = lookup(name)? {
        return if p.gecos == marker {
            Ok(p)
        } else {
            Err(UserError::Foreign(name.to_owned()))
        };
    }
    let mut cmd = Cmd::new("/usr/sbin/useradd")
        .args([
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "--user-group",
            "--comment",
            marker,
        ])
        .arg("--home-dir")
        .arg(home);
    if system {
        cmd = cmd.arg("--system");
    }
    run(cmd.arg(name)).await?;
    lookup(name)?.ok_or_else(|| UserError::Failed {
        cmd: "useradd".into(),
        stderr: format!("{name} missing after useradd"),
    })
}

/// Is `user` listed as a supplementary member of `group` in /etc/group?
pub fn is_member(user: &str, group: &str) -> Result<bool, UserError> {
    let text = std::fs::read_to_string("/etc/group")?;
    Ok(text.lines().any(|l| {
        let f: Vec<&str> = l.split(':').collect();
        f.len() >= 4 && f[0] == group && f[3].split(',').any(|m| m == user)
    }))
}

/// Add `user` to the supplementary group `group` (idempotent; no process
/// is started when it is a member already, which is every apply but the
/// first for a tenant).
pub async fn add_to_group(user: &str, group: &str) -> Result<(), UserError> {
    if !valid(user) || !valid(group) {
        return Err(UserError::BadName(format!("{user}/{group}")));
    }
    if is_member(user, group)? {
        return Ok(());
    }
    run(Cmd::new("/usr/sbin/usermod").args(["--append", "--groups", group, user])).await
}

/// Remove a user and its group (not its files).
pub async fn delete_user(name: &str) -> Result<(), UserError> {
    if !valid(name) {
        return Err(UserError::BadName(name.to_owned()));
    }
    run(Cmd::new("/usr/sbin/userdel").arg(name)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_again_here() {
        assert!(valid("acme-web"));
        for bad in ["", "Root", "a;b", "-x", "a b", "../x", &"a".repeat(33)] {
            assert!(!valid(bad), "{bad:?}");
        }
        assert_eq!(lookup("root").unwrap().map(|p| p.uid), Some(0));
        assert!(lookup("no-such-user-here").unwrap().is_none());
        assert!(!is_member("no-such-user-here", "root").unwrap());
    }
}
