//! systemd units for the services the agent runs on a node with systemd:
//! one for the node's nginx (its private prefix), one per tenant PHP-FPM
//! master. Without systemd the agent starts and supervises the same
//! processes itself; with it, systemd starts them at boot, restarts them
//! when they die, and holds each tenant's master in its own cgroup with the
//! package's limits (memory, tasks).
//!
//! Every path is an `AbsPath` and every name an `AccountName` or
//! `PhpVersion`: none can carry a space, `%` (a unit specifier), a quote or
//! a newline, so nothing here needs escaping.

use berth_proto::desired::{FpmPoolSpec, NginxMainSpec};
use berth_proto::{AbsPath, AccountName, PhpVersion};
use std::fmt::Write;

const HEADER: &str = "# Managed by Berth (berth agent); rewritten when the node's settings change.\n";

/// The unit of the node's nginx.
pub const NGINX_UNIT: &str = "berth-nginx.service";

/// The unit of a tenant's master for one PHP version.
pub fn php_unit_name(tenant: &AccountName, version: &PhpVersion) -> String {
    format!("berth-php-{tenant}-{version}.service")
}

/// nginx with Berth's prefix. The agent reloads it with `nginx -s reload`
/// itself (the master's pid stays, so systemd keeps tracking it); `ExecReload`
/// is there for an admin's `systemctl reload`.
pub fn render_nginx_unit(spec: &NginxMainSpec, binary: &AbsPath) -> String {
    let p = &spec.prefix;
    let base = format!("{binary} -e {p}/logs/error.log -p {p}/ -c {p}/conf/nginx.conf");
    let mut s = String::from(HEADER);
    s.push_str("[Unit]\nDescription=nginx for Berth's websites\n");
    s.push_str("After=network-online.target\nWants=network-online.target\n\n");
    s.push_str("[Service]\nType=forking\n");
    let _ = writeln!(s, "PIDFile={p}/run/nginx.pid");
    let _ = writeln!(s, "ExecStartPre={base} -t -q");
    let _ = writeln!(s, "ExecStart={base}");
    let _ = writeln!(s, "ExecReload={base} -s reload");
    // QUIT lets workers finish their requests; the rest of the cgroup gets
    // SIGKILL after the timeout.
    s.push_str("KillSignal=SIGQUIT\nKillMode=mixed\nTimeoutStopSec=10\n");
    s.push_str("Restart=on-failure\nRestartSec=2\n");
    // Two log files per site stay open in the master and every worker.
    s.push_str("LimitNOFILE=1048576\n\n");
    s.push_str("[Install]\nWantedBy=multi-user.target\n");
    s
}

/// A tenant's PHP-FPM master, as the tenant (systemd sets the user; no root
/// process). `--nodaemonize` with `Type=notify` (as Debian's own php-fpm
/// units): a `USR2` reload re-executes the master in place, so systemd
/// keeps its main pid. The cgroup caps the whole master: memory at the
/// package's per-worker limit times its workers plus the master's share,
/// tasks at its workers plus the master's.
pub fn render_php_unit(spec: &FpmPoolSpec, binary: &AbsPath, conf: &AbsPath) -> String {
    let workers = u64::from(spec.max_children.max(1));
    let memory_mb = u64::from(spec.memory_mb.max(1)) * workers + 64;
    let mut s = String::from(HEADER);
    s.push_str("[Unit]\n");
    let _ = writeln!(s, "Description=PHP {} FastCGI for tenant {}", spec.version, spec.tenant);
    s.push_str("After=network.target\n\n");
    s.push_str("[Service]\nType=notify\n");
    let _ = writeln!(s, "User={}", spec.tenant);
    let _ = writeln!(s, "Group={}", spec.tenant);
    let _ = writeln!(s, "ExecStart={binary} --nodaemonize -y {conf}");
    s.push_str("ExecReload=/bin/kill -USR2 $MAINPID\n");
    s.push_str("KillSignal=SIGQUIT\nTimeoutStopSec=15\n");
    s.push_str("Restart=on-failure\nRestartSec=2\n");
    let _ = writeln!(s, "MemoryMax={memory_mb}M");
    let _ = writeln!(s, "TasksMax={}", workers + 8);
    s.push_str("NoNewPrivileges=yes\nPrivateDevices=yes\nProtectSystem=full\n\n");
    s.push_str("[Install]\nWantedBy=multi-user.target\n");
    s
}
