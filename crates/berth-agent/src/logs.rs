//! Reading a site's logs backwards, a page at a time: the newest lines
//! first, then `before` (a byte offset) to go further back. Bounded in lines
//! and bytes, so a huge log or one enormous line costs at most one page.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes read per page at most.
pub const MAX_PAGE_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPage {
    /// Oldest first.
    pub lines: Vec<String>,
    /// Pass as `before` for the page before this one; `None` at the start.
    pub next_before: Option<u64>,
    /// The file's size now.
    pub size: u64,
}

/// Up to `max_lines` whole lines ending before byte `before` (default: the
/// end). A missing file is an empty page. Symlinks are not followed.
pub fn tail(path: &Path, before: Option<u64>, max_lines: usize) -> std::io::Result<LogPage> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(LogPage {
                lines: vec![],
                next_before: None,
                size: 0,
            });
        }
        Err(e) => return Err(e),
    };
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let size = f.metadata()?.len();
    let end = before.unwrap_or(size).min(size);
    let start = end.saturating_sub(MAX_PAGE_BYTES);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; (end - start) as usize];
    f.read_exact(&mut buf)?;
    // Cut at line starts: drop a partial first line unless it begins the file.
    let mut begin = 0usize;
    if start > 0 {
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => begin = i + 1,
            // One line longer than a page: show its tail rather than nothing.
            None => begin = 0,
        }
    }
    let body = &buf[begin..];
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let all: Vec<&[u8]> = if body.is_empty() {
        vec![]
    } else {
        body.split(|b| *b == b'\n').collect()
    };
    let skip = all.len().saturating_sub(max_lines.max(1));
    let mut first_offset = start + begin as u64;
    for l in &all[..skip] {
        first_offset += l.len() as u64 + 1;
    }
    let lines = all[skip..]
        .iter()
        .map(|l| String::from_utf8_lossy(l).replace(|c: char| c.is_control() && c != '\t', "?"))
        .collect();
    Ok(LogPage {
        lines,
        next_before: (first_offset > 0).then_some(first_offset),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_backwards_through_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("access.log");
        let text: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&p, &text).unwrap();
        let page = tail(&p, None, 4).unwrap();
        assert_eq!(page.lines, vec!["line 7", "line 8", "line 9", "line 10"]);
        let page2 = tail(&p, page.next_before, 4).unwrap();
        assert_eq!(page2.lines, vec!["line 3", "line 4", "line 5", "line 6"]);
        let page3 = tail(&p, page2.next_before, 4).unwrap();
        assert_eq!(page3.lines, vec!["line 1", "line 2"]);
        assert_eq!(page3.next_before, None);
        assert_eq!(page.size, text.len() as u64);
    }

    #[test]
    fn missing_files_are_empty_and_symlinks_refused() {
        let d = tempfile::tempdir().unwrap();
        let page = tail(&d.path().join("nope.log"), None, 10).unwrap();
        assert!(page.lines.is_empty());
        let target = d.path().join("secret");
        std::fs::write(&target, "secret\n").unwrap();
        let link = d.path().join("error.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(tail(&link, None, 10).is_err());
    }

    #[test]
    fn control_characters_are_masked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        std::fs::write(&p, "GET /\x1b[31mred\n").unwrap();
        assert_eq!(tail(&p, None, 5).unwrap().lines, vec!["GET /?[31mred"]);
    }
}
