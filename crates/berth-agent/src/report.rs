//! What a node reports about itself: what is installed (capabilities) and
//! how loaded it is (metrics). Read from /proc, /etc/os-release and the
//! programs themselves.

use berth_proto::api::nodes::{Capabilities, Metrics, NodeReport};
use std::path::Path;
use std::time::Duration;

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn os_name() -> String {
    read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "unknown".into())
}

async fn nginx_version() -> Option<String> {
    let out = berth_sys::Cmd::new(crate::nginx::NGINX).arg("-v").run().await.ok()?;
    out.stderr
        .trim()
        .strip_prefix("nginx version: nginx/")
        .map(str::to_owned)
}

/// Busy and total jiffies of all CPUs (first line of /proc/stat).
fn cpu_times() -> Option<(u64, u64)> {
    let stat = read("/proc/stat");
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().sum();
    // idle + iowait are not busy.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

fn meminfo_mb(key: &str) -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// (total, free) MB of the file system holding `path`.
pub(crate) async fn disk_mb(path: &Path) -> (u64, u64) {
    let out = berth_sys::Cmd::new("/usr/bin/df")
        .args(["-P", "-B1048576"])
        .arg(path)
        .run()
        .await;
    let Ok(out) = out else { return (0, 0) };
    let Some(line) = out.stdout.lines().nth(1) else {
        return (0, 0);
    };
    let f: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    (f.first().copied().unwrap_or(0), f.get(2).copied().unwrap_or(0))
}

pub async fn collect(homes: &Path, php: Vec<String>) -> NodeReport {
    let before = cpu_times();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = cpu_times();
    let cpu_percent = match (before, after) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => ((b1 - b0) as f64 * 100.0 / (t1 - t0) as f64).clamp(0.0, 100.0),
        _ => 0.0,
    };
    let load: Vec<f64> = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    let (disk_total_mb, disk_free_mb) = disk_mb(homes).await;
    NodeReport {
        capabilities: Capabilities {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            os: os_name(),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            systemd: Path::new("/run/systemd/system").exists(),
            nginx: nginx_version().await,
            php,
        },
        metrics: Metrics {
            cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            cpu_percent: (cpu_percent * 10.0).round() / 10.0,
            load1: load.first().copied().unwrap_or(0.0),
            load5: load.get(1).copied().unwrap_or(0.0),
            load15: load.get(2).copied().unwrap_or(0.0),
            mem_total_mb: meminfo_mb("MemTotal:"),
            mem_available_mb: meminfo_mb("MemAvailable:"),
            disk_total_mb,
            disk_free_mb,
        },
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn reads_this_machine() {
        let r = super::collect(std::path::Path::new("/"), vec![]).await;
        assert!(r.metrics.cpu_cores >= 1);
        assert!(r.metrics.mem_total_mb > 0);
        assert!(r.metrics.disk_total_mb > 0);
        assert!(!r.capabilities.kernel.is_empty());
    }
}
