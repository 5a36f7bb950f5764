//! Atomic file operations.

use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

fn tmp_beside(target: &Path) -> std::io::Result<PathBuf> {
    let dir = target
        .parent()
        .ok_or_else(|| std::io::Error::other("target has no parent directory"))?;
    let name = target
        .file_name()
        .ok_or_else(|| std::io::Error::other("target has no file name"))?
        .to_string_lossy();
    let nonce: u64 = rand::random();
    Ok(dir.join(format!(".{name}.{nonce:016x}.tmp")))
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replace `target` with `content` atomically and durably, with `mode`.
pub fn write_atomic(target: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomic_inner(target, content, None, mode)
}

/// [`write_atomic`] for a file another user reads (a service's own
/// configuration): the new file has `uid:gid` before it replaces the old
/// one, so the service never sees a file it cannot read.
pub fn write_atomic_owned(target: &Path, content: &[u8], uid: u32, gid: u32, mode: u32) -> std::io::Result<()> {
    write_atomic_inner(target, content, Some((uid, gid)), mode)
}

fn write_atomic_inner(target: &Path, content: &[u8], owner: Option<(u32, u32)>, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tmp_beside(target)?;
    let r = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&tmp, target)?;
        if let Some(d) = target.parent() {
            fsync_dir(d)?;
        }
        Ok(())
    })();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}

/// Point the symlink `link` at `target` atomically (a new link is made
/// beside it and renamed over the old one).
pub fn swap_symlink(link: &Path, target: &Path) -> std::io::Result<()> {
    let tmp = tmp_beside(link)?;
    std::os::unix::fs::symlink(target, &tmp)?;
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(d) = link.parent() {
        fsync_dir(d)?;
    }
    Ok(())
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Make sure `path` is a real directory (never a symlink) owned by
/// `uid:gid` with `mode`. Returns true when it was created now.
pub fn ensure_dir(path: &Path, uid: u32, gid: u32, mode: u32) -> std::io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let created = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a directory",
                path.display()
            )));
        }
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir(path)?;
            true
        }
        Err(e) => return Err(e),
    };
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(created)
}

/// Write a new file (refusing to follow or replace anything existing) and
/// give it to `uid:gid`. For placeholders in a directory created just now.
pub fn create_file(path: &Path, content: &[u8], uid: u32, gid: u32, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut f = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(content)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.conf");
        write_atomic(&p, b"one", 0o640).unwrap();
        write_atomic(&p, b"two", 0o640).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        // No temp files are left behind.
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlinks_swap_atomically() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("r1")).unwrap();
        fs::create_dir(d.path().join("r2")).unwrap();
        let link = d.path().join("current");
        swap_symlink(&link, Path::new("r1")).unwrap();
        swap_symlink(&link, Path::new("r2")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("r2"));
    }
}
