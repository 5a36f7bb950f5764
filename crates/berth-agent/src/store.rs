//! Revisions of one service's managed files.
//!
//! ```text
//! <root>/blobs/<sha256>        every file content ever applied, written once
//! <root>/revs/<n>.json         manifest of revision n: path -> sha256, why, when
//! <root>/revs/<n>/             revision n's tree (hardlinks, a cache of the blobs)
//! <root>/current -> revs/<n>   the live revision (the service reads through it)
//! <root>/staging/              trees being built; removed on open
//! <root>/journal.jsonl         every apply, rejection, rollback and recovery
//! ```
//!
//! The manifest is written before `current` is swapped, so after a crash
//! `current` points at a complete revision: the old one or the new one.
//! Manifests and blobs are the truth; a tree can always be rebuilt from them.

use berth_sys::fsx::{self, sha256_hex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid managed path {0:?}: must be relative, made of plain names")]
    BadPath(String),
    #[error("revision {0} does not exist")]
    NoRevision(u64),
    #[error("revision {rev} is damaged: {detail}")]
    Damaged { rev: u64, detail: String },
    #[error("journal: {0}")]
    Journal(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A managed file path relative to the tree root: plain names only.
pub fn check_rel(p: &str) -> Result<(), StoreError> {
    let ok = !p.is_empty()
        && p.len() <= 512
        && p.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadPath(p.to_owned()))
    }
}

/// What revision n is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub rev: u64,
    pub at_ms: i64,
    /// Who or what asked (a job id, "rollback to 3", "adopt drift"…).
    pub reason: String,
    pub parent: Option<u64>,
    pub files: BTreeMap<String, String>,
}

/// A line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub at_ms: i64,
    pub event: String,
    pub rev: Option<u64>,
    pub reason: String,
    pub detail: Option<String>,
}

/// A managed file that differs from the live revision's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub path: String,
    pub expected: Option<String>,
    /// `None`: the file is missing.
    pub actual: Option<String>,
}

pub struct Store {
    root: PathBuf,
}

pub fn now_ms() -> i64 {
    berth_proto::Timestamp::now().millis()
}

impl Store {
    /// Open (creating if needed) and recover: unfinished staging trees and
    /// revisions without a manifest are removed; the journal notes a
    /// recovery when `current` is not what it last recorded.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for d in ["blobs", "revs", "staging"] {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(io(&p))?;
        }
        let s = Store {
            root: root.to_path_buf(),
        };
        let staging = root.join("staging");
        for e in fs::read_dir(&staging).map_err(io(&staging))?.flatten() {
            let p = e.path();
            fs::remove_dir_all(&p)
                .or_else(|_| fs::remove_file(&p))
                .map_err(io(&p))?;
        }
        let revs = root.join("revs");
        for e in fs::read_dir(&revs).map_err(io(&revs))?.flatten() {
            let p = e.path();
            if p.is_dir() && !p.with_extension("json").exists() {
                fs::remove_dir_all(&p).map_err(io(&p))?;
            }
        }
        let live = s.current()?;
        let recorded = s
            .journal()?
            .iter()
            .rev()
            .find(|e| e.event == "applied" || e.event == "recovered")
            .and_then(|e| e.rev);
        if live.is_some() && live != recorded {
            s.log(
                "recovered",
                live,
                "agent start",
                Some(format!("live revision is {live:?}, journal said {recorded:?}")),
            )?;
        }
        Ok(s)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory the service reads (through the `current` symlink).
    pub fn live_dir(&self) -> PathBuf {
        self.root.join("current")
    }

    /// The live revision number.
    pub fn current(&self) -> Result<Option<u64>, StoreError> {
        let link = self.root.join("current");
        match fs::read_link(&link) {
            Ok(t) => Ok(t.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&link)(e)),
        }
    }

    pub fn manifest(&self, rev: u64) -> Result<Manifest, StoreError> {
        let p = self.root.join("revs").join(format!("{rev}.json"));
        let text = match fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NoRevision(rev)),
            Err(e) => return Err(io(&p)(e)),
        };
        serde_json::from_str(&text).map_err(|e| StoreError::Damaged {
            rev,
            detail: e.to_string(),
        })
    }

    /// The numbers of every saved revision (those with a manifest), ascending.
    fn rev_numbers(&self) -> Result<Vec<u64>, StoreError> {
        let dir = self.root.join("revs");
        let mut revs: Vec<u64> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .flatten()
            .filter_map(|e| {
                let n = e.file_name();
                n.to_str()?.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        revs.sort_unstable();
        Ok(revs)
    }

    /// Every revision, oldest first.
    pub fn history(&self) -> Result<Vec<Manifest>, StoreError> {
        self.rev_numbers()?.into_iter().map(|r| self.manifest(r)).collect()
    }

    /// Remove the trees of revisions older than the newest `keep` and not
    /// live. Their manifests and blobs stay (history, diffs and rollbacks
    /// read those), so only the hardlink farms go: a node with thousands of
    /// sites would otherwise keep thousands of directory entries per apply.
    pub fn prune_trees(&self, keep: usize) -> Result<usize, StoreError> {
        let live = self.current()?;
        let revs = self.rev_numbers()?;
        let mut removed = 0;
        for rev in revs.iter().rev().skip(keep) {
            if Some(*rev) == live {
                continue;
            }
            let dir = self.root.join("revs").join(rev.to_string());
            match fs::remove_dir_all(&dir) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&dir)(e)),
            }
        }
        Ok(removed)
    }

    pub fn journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let p = self.root.join("journal.jsonl");
        let text = match fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&p)(e)),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| StoreError::Journal(e.to_string())))
            .collect()
    }

    pub fn log(&self, event: &str, rev: Option<u64>, reason: &str, detail: Option<String>) -> Result<(), StoreError> {
        let p = self.root.join("journal.jsonl");
        let entry = JournalEntry {
            at_ms: now_ms(),
            event: event.to_owned(),
            rev,
            reason: reason.to_owned(),
            detail,
        };
        let mut line = serde_json::to_string(&entry).map_err(|e| StoreError::Journal(e.to_string()))?;
        line.push('\n');
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(io(&p))?;
        f.write_all(line.as_bytes()).map_err(io(&p))?;
        f.sync_all().map_err(io(&p))
    }

    fn blob(&self, sha: &str) -> PathBuf {
        self.root.join("blobs").join(sha)
    }

    fn put_blob(&self, content: &[u8]) -> Result<String, StoreError> {
        let sha = sha256_hex(content);
        let p = self.blob(&sha);
        if !p.exists() {
            fsx::write_atomic(&p, content, 0o444).map_err(io(&p))?;
        }
        Ok(sha)
    }

    /// Read a blob, verifying it still has the content its name promises.
    pub fn read_blob(&self, sha: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.blob(sha);
        let b = fs::read(&p).map_err(io(&p))?;
        if sha256_hex(&b) != sha {
            return Err(StoreError::Damaged {
                rev: 0,
                detail: format!("blob {sha} was modified"),
            });
        }
        Ok(b)
    }

    fn next_rev(&self) -> Result<u64, StoreError> {
        Ok(self.rev_numbers()?.last().map_or(1, |r| r + 1))
    }

    /// Build a complete new tree in staging: the live files, with `puts`
    /// written and `removes` dropped. Returns its manifest (not yet saved)
    /// and its directory.
    pub fn stage(
        &self,
        puts: &BTreeMap<String, Vec<u8>>,
        removes: &[String],
        reason: &str,
    ) -> Result<(Manifest, PathBuf), StoreError> {
        for p in puts.keys().chain(removes.iter()) {
            check_rel(p)?;
        }
        let parent = self.current()?;
        let mut files = match parent {
            Some(r) => self.manifest(r)?.files,
            None => BTreeMap::new(),
        };
        for r in removes {
            files.remove(r);
        }
        for (path, content) in puts {
            files.insert(path.clone(), self.put_blob(content)?);
        }
        let rev = self.next_rev()?;
        let dir = self.root.join("staging").join(rev.to_string());
        self.materialize(&files, &dir, parent)?;
        Ok((
            Manifest {
                rev,
                at_ms: now_ms(),
                reason: reason.to_owned(),
                parent,
                files,
            },
            dir,
        ))
    }

    /// Write a tree for `files` at `dir`. Blobs are never linked into a
    /// tree (a hand edit in place would then corrupt the history): a file
    /// unchanged since the parent revision is hardlinked from the parent's
    /// tree when its content still matches, anything else is copied from its
    /// blob.
    fn materialize(&self, files: &BTreeMap<String, String>, dir: &Path, parent: Option<u64>) -> Result<(), StoreError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let parent_dir = parent.map(|p| self.root.join("revs").join(p.to_string()));
        for (path, sha) in files {
            let target = dir.join(path);
            if let Some(p) = target.parent() {
                fs::create_dir_all(p).map_err(io(p))?;
            }
            let reused = parent_dir.as_ref().is_some_and(|pd| {
                let src = pd.join(path);
                fs::read(&src).is_ok_and(|b| &sha256_hex(&b) == sha) && fs::hard_link(&src, &target).is_ok()
            });
            if !reused {
                let content = self.read_blob(sha)?;
                fs::write(&target, content).map_err(io(&target))?;
            }
        }
        Ok(())
    }

    /// Make a staged tree a revision (manifest written last).
    pub fn commit(&self, m: &Manifest, staged: &Path) -> Result<PathBuf, StoreError> {
        let dir = self.root.join("revs").join(m.rev.to_string());
        fs::rename(staged, &dir).map_err(io(&dir))?;
        let mp = dir.with_extension("json");
        let text = serde_json::to_vec_pretty(m).map_err(|e| StoreError::Journal(e.to_string()))?;
        fsx::write_atomic(&mp, &text, 0o644).map_err(io(&mp))?;
        Ok(dir)
    }

    /// Point `current` at revision `rev` (atomic).
    pub fn activate(&self, rev: u64) -> Result<(), StoreError> {
        let link = self.root.join("current");
        fsx::swap_symlink(&link, Path::new(&format!("revs/{rev}"))).map_err(io(&link))
    }

    /// Drop a staged tree that will not be used.
    pub fn discard(&self, staged: &Path) {
        let _ = fs::remove_dir_all(staged);
    }

    /// Files of the live revision that differ from its manifest.
    pub fn drift(&self) -> Result<Vec<Drift>, StoreError> {
        let Some(rev) = self.current()? else {
            return Ok(Vec::new());
        };
        let m = self.manifest(rev)?;
        let live = self.live_dir();
        let mut out = Vec::new();
        for (path, sha) in &m.files {
            let actual = fs::read(live.join(path)).ok().map(|b| sha256_hex(&b));
            if actual.as_deref() != Some(sha.as_str()) {
                out.push(Drift {
                    path: path.clone(),
                    expected: Some(sha.clone()),
                    actual,
                });
            }
        }
        // Files nobody asked for, placed in the live tree by hand.
        let mut stack = vec![live.clone()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&live) {
                    let rel = rel.to_string_lossy().into_owned();
                    if !m.files.contains_key(&rel) {
                        out.push(Drift {
                            path: rel,
                            expected: None,
                            actual: fs::read(&p).ok().map(|b| sha256_hex(&b)),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The contents of revision `rev`, from blobs (the truth).
    pub fn contents(&self, rev: u64) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let m = self.manifest(rev)?;
        m.files
            .iter()
            .map(|(p, sha)| {
                self.read_blob(sha)
                    .map(|b| (p.clone(), b))
                    .map_err(|e| StoreError::Damaged {
                        rev,
                        detail: e.to_string(),
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(store: &Store, name: &str, body: &str) -> u64 {
        let puts = BTreeMap::from([(name.to_owned(), body.as_bytes().to_vec())]);
        let (m, staged) = store.stage(&puts, &[], "test").unwrap();
        store.commit(&m, &staged).unwrap();
        store.activate(m.rev).unwrap();
        m.rev
    }

    #[test]
    fn pruned_trees_keep_history_and_contents() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let revs: Vec<u64> = (0..6)
            .map(|i| apply(&store, "sites/a.conf", &format!("v{i}")))
            .collect();
        assert_eq!(revs, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(store.prune_trees(3).unwrap(), 3);
        for r in 1..=3 {
            assert!(!d.path().join("revs").join(r.to_string()).exists());
        }
        for r in 4..=6 {
            assert!(d.path().join("revs").join(r.to_string()).is_dir());
        }
        // History, contents and numbering do not depend on the trees.
        assert_eq!(store.history().unwrap().len(), 6);
        assert_eq!(store.contents(1).unwrap()["sites/a.conf"], b"v0");
        assert_eq!(apply(&store, "sites/b.conf", "new"), 7);
        assert_eq!(fs::read_to_string(store.live_dir().join("sites/a.conf")).unwrap(), "v5");
        // The live tree is kept even when it is not among the newest.
        store.activate(4).unwrap();
        store.prune_trees(1).unwrap();
        assert!(d.path().join("revs/4").is_dir() && d.path().join("revs/7").is_dir());
        assert!(!d.path().join("revs/5").exists());
    }
}
