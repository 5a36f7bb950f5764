//! PHP-FPM: one master per tenant and PHP version, with a single pool.
//!
//! The master runs as the tenant (isolation-probe.md §1.3), so a bug in a
//! pool or a tenant's config cannot reach another tenant or root. Package
//! limits are `php_admin_value`: neither `ini_set()`, `.user.ini` nor the
//! per-site `PHP_VALUE` can raise them.

use berth_proto::desired::FpmPoolSpec;
use berth_proto::php::PhpIni;
use berth_proto::{AbsPath, SiteId};
use std::fmt::Write;

const HEADER: &str = "; Managed by Berth. Edits here are reported as drift and replaced by the next apply.\n";

/// The file name of the master's configuration inside its tree.
pub const CONF: &str = "php-fpm.conf";

/// The file of a site's own pool inside the tree.
pub fn site_pool_file(site: SiteId) -> String {
    format!("site-{site}.conf")
}

/// The master's configuration: global settings, the tenant's default
/// pool, and an include of the sites' own pools (`site-*.conf` in
/// `include_dir`, the live tree).
pub fn render_pool(spec: &FpmPoolSpec, include_dir: &AbsPath) -> String {
    let mut s = String::from(HEADER);
    s.push_str("[global]\n");
    let _ = writeln!(s, "pid = {}", spec.pid);
    let _ = writeln!(s, "error_log = {}", spec.error_log);
    // The agent starts the master and waits for it: with daemonize the
    // starting process exits only once the master is ready (or failed).
    s.push_str("daemonize = yes\n");
    // The package's worker limit holds for the whole master, however many
    // site pools it runs.
    let _ = writeln!(s, "process.max = {}", spec.max_children.max(1));
    s.push_str("emergency_restart_threshold = 10\n");
    s.push_str("emergency_restart_interval = 1m\n");
    s.push_str("process_control_timeout = 10s\n");
    let _ = writeln!(s);
    pool_section(&mut s, spec, spec.tenant.as_str(), &spec.socket, None);
    // The tree root always exists; a `sites/` directory would not (and
    // php-fpm refuses a glob in a missing directory).
    let _ = writeln!(s, "\ninclude = {include_dir}/site-*.conf");
    s
}

/// A site's own pool, for its ini overrides. They cannot go into a shared
/// pool: PHP-FPM keeps `PHP_VALUE` settings in a worker for the requests
/// that follow (measured: another site of the same pool saw them).
pub fn render_site_pool(spec: &FpmPoolSpec, site: SiteId, socket: &AbsPath, ini: &PhpIni) -> String {
    let mut s = String::from(HEADER);
    pool_section(&mut s, spec, &format!("site-{site}"), socket, Some(ini));
    s
}

fn pool_section(s: &mut String, spec: &FpmPoolSpec, name: &str, socket: &AbsPath, ini: Option<&PhpIni>) {
    let t = &spec.tenant;
    let _ = writeln!(s, "[{name}]");
    let _ = writeln!(s, "listen = {socket}");
    let _ = writeln!(s, "listen.owner = {t}");
    // nginx's worker user is in every tenant's group and nobody else is.
    let _ = writeln!(s, "listen.group = {t}");
    s.push_str("listen.mode = 0660\n");
    s.push_str("pm = ondemand\n");
    let _ = writeln!(s, "pm.max_children = {}", spec.max_children.max(1));
    s.push_str("pm.process_idle_timeout = 10s\n");
    s.push_str("pm.max_requests = 500\n");
    s.push_str("clear_env = yes\n");
    s.push_str("security.limit_extensions = .php\n");
    let _ = writeln!(s, "php_admin_value[open_basedir] = {}/", spec.home);
    for k in ["upload_tmp_dir", "session.save_path", "sys_temp_dir"] {
        let _ = writeln!(s, "php_admin_value[{k}] = {}", spec.tmp);
    }
    let _ = writeln!(s, "php_admin_value[memory_limit] = {}M", spec.memory_mb);
    let _ = writeln!(s, "php_admin_value[max_execution_time] = {}", spec.max_execution_s);
    let _ = writeln!(s, "php_admin_value[upload_max_filesize] = {}M", spec.upload_mb);
    let _ = writeln!(s, "php_admin_value[post_max_size] = {}M", spec.upload_mb);
    // Errors go to FastCGI stderr, which nginx writes to the site's error log.
    s.push_str("php_admin_flag[log_errors] = on\n");
    // Values are canonical (PhpIni): no quotes, newlines or `;`.
    for (k, v) in ini.into_iter().flat_map(|i| i.iter()) {
        let _ = writeln!(s, "php_value[{k}] = {v}");
    }
}
