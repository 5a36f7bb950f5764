//! Saved CLI credentials (`berth login`): where the file lives, reading and
//! writing it, and how flags, environment and the file combine into the URL
//! and token a command uses.
//!
//! The file holds a bearer token, so it is written with mode 0600 in a 0700
//! directory, atomically (temp file + rename) so a crash never leaves half a
//! file or a moment where the token is world-readable.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `berth login` saves.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

// By hand so the token never reaches a log or an error through `{:?}`.
impl fmt::Debug for SavedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedConfig")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The config file: `$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/cli.json`,
/// else `$HOME/.config/berth/cli.json`. Empty variables count as unset, and
/// a relative `XDG_CONFIG_HOME` is ignored as the XDG spec requires.
pub fn path_from_env(get: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("BERTH_CONFIG") {
        return Some(p);
    }
    if let Some(x) = var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Some(x.join("berth").join("cli.json"));
    }
    var("HOME").map(|h| h.join(".config").join("berth").join("cli.json"))
}

pub fn config_path() -> anyhow::Result<PathBuf> {
    path_from_env(|k| std::env::var_os(k)).context("cannot find a place for the CLI config: set BERTH_CONFIG or HOME")
}

/// Read the saved config; a missing file is an empty config.
pub fn load(path: &Path) -> anyhow::Result<SavedConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SavedConfig::default()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    warn_if_readable_by_others(path);
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: {} is readable by other users; it holds a token (chmod 600 it)",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Write the config atomically with owner-only permissions.
pub fn save(path: &Path, cfg: &SavedConfig) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cli.json".into());
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = open_private(&tmp)?;
        let mut body = serde_json::to_vec_pretty(cfg).map_err(std::io::Error::other)?;
        body.push(b'\n');
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("writing {}", path.display()))
    })
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(p: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(p)
}

#[cfg(not(unix))]
fn open_private(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(p)
}

/// The URL and token a command uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    pub url: String,
    pub token: Option<String>,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn same_panel(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

/// Flags and environment first, then the saved config. The saved token is
/// only used with the saved URL: `--url other-panel` must never send this
/// panel's token somewhere else.
pub fn resolve(flag_url: Option<&str>, flag_token: Option<&str>, saved: &SavedConfig) -> anyhow::Result<Resolved> {
    let nonempty = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let saved_url = nonempty(saved.url.as_deref());
    let url = nonempty(flag_url)
        .or_else(|| saved_url.clone())
        .context("no panel URL: run `berth login --url https://panel.example.com …` first, or set BERTH_URL")?;
    let token = nonempty(flag_token).or_else(|| {
        let saved_applies = saved_url.as_deref().is_some_and(|s| same_panel(s, &url));
        nonempty(saved.token.as_deref()).filter(|_| saved_applies)
    });
    Ok(Resolved { url, token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let m: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn config_path_order() {
        let p = |pairs: &[(&str, &str)]| path_from_env(env(pairs));
        assert_eq!(
            p(&[
                ("BERTH_CONFIG", "/etc/b.json"),
                ("XDG_CONFIG_HOME", "/x"),
                ("HOME", "/h")
            ]),
            Some(PathBuf::from("/etc/b.json"))
        );
        assert_eq!(
            p(&[("BERTH_CONFIG", ""), ("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]),
            Some(PathBuf::from("/x/berth/cli.json"))
        );
        assert_eq!(
            p(&[("XDG_CONFIG_HOME", "rel"), ("HOME", "/h")]),
            Some(PathBuf::from("/h/.config/berth/cli.json"))
        );
        assert_eq!(p(&[]), None);
    }

    fn saved(url: &str, token: &str) -> SavedConfig {
        SavedConfig {
            url: Some(url.into()),
            token: Some(token.into()),
        }
    }

    #[test]
    fn flags_win_over_the_saved_config() {
        let s = saved("https://a.example/", "bs_saved");
        let r = resolve(None, None, &s).unwrap();
        assert_eq!(
            (r.url.as_str(), r.token.as_deref()),
            ("https://a.example/", Some("bs_saved"))
        );
        let r = resolve(Some("https://a.example"), Some("bt_flag"), &s).unwrap();
        assert_eq!(r.token.as_deref(), Some("bt_flag"));
        // Same panel spelled without the slash: the saved token still applies.
        let r = resolve(Some("https://a.example"), None, &s).unwrap();
        assert_eq!(r.token.as_deref(), Some("bs_saved"));
    }

    #[test]
    fn saved_token_never_goes_to_another_panel() {
        let s = saved("https://a.example", "bs_saved");
        let r = resolve(Some("https://evil.example"), None, &s).unwrap();
        assert_eq!(r.token, None);
    }

    #[test]
    fn no_url_is_a_clear_error() {
        let e = resolve(None, Some("bt_x"), &SavedConfig::default()).unwrap_err();
        assert!(e.to_string().contains("berth login --url"), "{e}");
        assert!(resolve(Some("  "), None, &SavedConfig::default()).is_err());
    }

    #[test]
    fn save_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("cli.json");
        let cfg = saved("https://a.example", "bs_secret");
        save(&path, &cfg).unwrap();
        save(&path, &cfg).unwrap(); // over an existing file
        assert_eq!(load(&path).unwrap(), cfg);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp files left behind");
        assert_eq!(load(&dir.path().join("missing.json")).unwrap(), SavedConfig::default());
        assert!(!format!("{cfg:?}").contains("bs_secret"));
    }
}
