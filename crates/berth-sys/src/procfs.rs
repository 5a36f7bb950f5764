//! Reading `/proc`: which processes are children of which, and whose.

use std::fs;

/// The pids whose parent is `ppid`.
pub fn children_of(ppid: u32) -> Vec<u32> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(ppid))
        .collect()
}

/// The parent pid of `pid`, if it exists.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Is `pid` alive (and not a zombie)?
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit_once(')').and_then(|(_, a)| a.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// The real uid of `pid`.
pub fn uid_of(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The command line of `pid` as one string (arguments joined by spaces;
/// a process may have rewritten it, like php-fpm's `php-fpm: pool x`).
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        String::from_utf8_lossy(&raw)
            .split('\0')
            .filter(|a| !a.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Live processes of `uid` whose parent is init and whose command line
/// starts with `prefix`: what a crashed master leaves behind.
pub fn orphans(uid: u32, prefix: &str) -> Vec<u32> {
    children_of(1)
        .into_iter()
        .filter(|p| alive(*p) && uid_of(*p) == Some(uid) && cmdline(*p).is_some_and(|c| c.starts_with(prefix)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_parent_and_ourselves() {
        let me = std::process::id();
        let parent = parent_of(me).unwrap();
        assert!(children_of(parent).contains(&me));
        assert!(alive(me));
        assert_eq!(uid_of(me), Some(berth_uid()));
        assert!(cmdline(me).is_some_and(|c| !c.is_empty()));
        assert!(!alive(u32::MAX - 1));
    }

    fn berth_uid() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(u32::MAX)
    }
}
