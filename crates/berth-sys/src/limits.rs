//! Process resource limits.

use rlimit::Resource;

/// Raise this process's open-file limit (soft and, as root, hard) to `want`
/// or as far as allowed; children (nginx, php-fpm) inherit it. nginx opens
/// two log files per site in its master and every worker, so 10,000 sites
/// need more than the usual 1,024 or 20,000. Returns the new soft limit.
pub fn raise_nofile(want: u64) -> std::io::Result<u64> {
    let (soft, hard) = Resource::NOFILE.get()?;
    if soft >= want {
        return Ok(soft);
    }
    if Resource::NOFILE.set(want, want.max(hard)).is_err() {
        Resource::NOFILE.set(hard.min(want).max(soft), hard)?;
    }
    Ok(Resource::NOFILE.get()?.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn raising_never_lowers() {
        let before = rlimit::Resource::NOFILE.get().unwrap().0;
        let after = super::raise_nofile(before.saturating_add(16)).unwrap();
        assert!(after >= before);
    }
}
