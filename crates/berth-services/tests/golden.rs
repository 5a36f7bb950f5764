//! Golden tests of every renderer, one loop over `tests/golden/<service>/`.
//! Each `*.golden` file is: the JSON input, a line `----- output -----`, then
//! the exact expected output. Run with `BERTH_BLESS=1` to rewrite the expected
//! part after an intended change (and review the diff).

use berth_proto::AbsPath;
use berth_proto::desired::{FpmPoolSpec, NginxMainSpec, VhostSpec};
use berth_proto::php::PhpIni;
use std::path::Path;

const SEP: &str = "\n----- output -----\n";

fn check_dir(dir: &str, render: impl Fn(&str) -> Result<String, String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(dir);
    let bless = std::env::var("BERTH_BLESS").as_deref() == Ok("1");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&root)
        .expect("the golden directory exists")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
    {
        let text = std::fs::read_to_string(&path).expect("a readable golden file");
        let (input, expected) = text.split_once(SEP).unwrap_or((text.as_str(), ""));
        let got = render(input).unwrap_or_else(|e| format!("ERROR: {e}\n"));
        if bless {
            std::fs::write(&path, format!("{input}{SEP}{got}")).expect("writable golden file");
        } else {
            assert_eq!(got, expected, "{} differs (BERTH_BLESS=1 rewrites it)", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "no golden files in {}", root.display());
}

#[test]
fn nginx_golden() {
    check_dir("nginx", |input| {
        let v: serde_json::Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
        if v.get("prefix").is_some() {
            let spec: NginxMainSpec = serde_json::from_value(v).map_err(|e| e.to_string())?;
            Ok(berth_services::nginx::render_main(&spec))
        } else {
            let spec: VhostSpec = serde_json::from_value(v).map_err(|e| e.to_string())?;
            Ok(berth_services::nginx::render_vhost(&spec))
        }
    });
}

#[test]
fn php_fpm_golden() {
    check_dir("php-fpm", |input| {
        // The pool spec, plus for a site pool "site" and "site_socket" and "ini".
        let mut v: serde_json::Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
        let site = v
            .as_object_mut()
            .and_then(|o| Some((o.remove("site")?, o.remove("site_socket")?, o.remove("ini")?)));
        let spec: FpmPoolSpec = serde_json::from_value(v).map_err(|e| e.to_string())?;
        match site {
            None => {
                let include = AbsPath::parse("/var/lib/berth/php/acme/8.2/current").map_err(|e| e.to_string())?;
                Ok(berth_services::php_fpm::render_pool(&spec, &include))
            }
            Some((site, sock, ini)) => {
                let site = serde_json::from_value(site).map_err(|e| e.to_string())?;
                let sock: AbsPath = serde_json::from_value(sock).map_err(|e| e.to_string())?;
                let ini: PhpIni = serde_json::from_value(ini).map_err(|e| e.to_string())?;
                Ok(berth_services::php_fpm::render_site_pool(&spec, site, &sock, &ini))
            }
        }
    });
}

/// Input: `{"nginx": spec, "binary"}` or `{"php": spec, "binary", "conf"}`.
fn render_unit(input: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
    let path = |k: &str| serde_json::from_value::<AbsPath>(v[k].clone()).map_err(|e| format!("{k}: {e}"));
    if let Some(n) = v.get("nginx") {
        let spec: NginxMainSpec = serde_json::from_value(n.clone()).map_err(|e| e.to_string())?;
        Ok(berth_services::systemd::render_nginx_unit(&spec, &path("binary")?))
    } else {
        let spec: FpmPoolSpec = serde_json::from_value(v["php"].clone()).map_err(|e| e.to_string())?;
        Ok(berth_services::systemd::render_php_unit(
            &spec,
            &path("binary")?,
            &path("conf")?,
        ))
    }
}

#[test]
fn systemd_golden() {
    check_dir("systemd", render_unit);
}

/// systemd's own checker on the rendered units (it needs no running
/// systemd): no unknown keys, no bad values, executables that exist.
#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    let nginx = Path::new("/usr/sbin/nginx");
    let php = std::fs::read_dir("/usr/sbin")
        .expect("/usr/sbin")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("php-fpm"))
        });
    let (true, true, Some(php)) = (analyze.exists(), nginx.exists(), php) else {
        panic!("systemd, nginx and php-fpm must be installed (scripts/test installs them)");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json");
    let units = [
        (
            "berth-nginx.service",
            spec(
                r#"{"nginx": {"prefix": "/var/lib/berth/nginx", "workers": 2, "default_listen": ["0.0.0.0:80"], "user": "berth-web"}, "binary": "/usr/sbin/nginx"}"#,
            ),
        ),
        (
            "berth-php-root-8.2.service",
            serde_json::json!({
                "php": {"tenant": "root", "version": "8.2", "socket": "/run/x/php.sock", "pid": "/run/x/php-fpm.pid",
                        "error_log": "/run/x/php-fpm.log", "home": "/root", "tmp": "/tmp", "max_children": 4,
                        "memory_mb": 128, "max_execution_s": 30, "upload_mb": 8},
                "binary": php.display().to_string(),
                "conf": "/run/x/php-fpm.conf",
            }),
        ),
    ];
    for (name, input) in units {
        let text = render_unit(&input.to_string()).expect("renders");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write unit");
        #[allow(clippy::disallowed_methods)] // a test runs the checker directly
        let out = std::process::Command::new(analyze)
            .arg("verify")
            .arg(&path)
            .output()
            .expect("systemd-analyze runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Without a running systemd it may say so; nothing about the unit.
        let about_unit: Vec<&str> = stderr.lines().filter(|l| l.contains(name)).collect();
        assert!(out.status.success() && about_unit.is_empty(), "{name}: {stderr}");
    }
}

/// Input: `{"op": …}` with the op's arguments (see each arm).
#[test]
fn dbsql_golden() {
    use berth_proto::api::databases::DbIdent;
    use berth_proto::desired::DbUserSpec;
    use berth_services::dbsql::{mariadb, postgres};
    check_dir("dbsql", |input| {
        let v: serde_json::Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
        let get = |k: &str| v.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let spec = || serde_json::from_value::<DbUserSpec>(get("spec")).map_err(|e| e.to_string());
        let name = || serde_json::from_value::<DbIdent>(get("name")).map_err(|e| e.to_string());
        let strings = |k: &str| serde_json::from_value::<Vec<String>>(get(k)).map_err(|e| e.to_string());
        let idents = |k: &str| serde_json::from_value::<Vec<DbIdent>>(get(k)).map_err(|e| e.to_string());
        match v["op"].as_str() {
            Some("mariadb_user") => mariadb::apply_user(&spec()?, &strings("existing")?),
            Some("mariadb_create") => Ok(mariadb::create_database(&name()?)),
            Some("postgres_user") => Ok(postgres::apply_user(&spec()?)),
            Some("postgres_create") => Ok(postgres::create_database(&name()?)),
            Some("postgres_drop_user") => Ok(postgres::drop_user(&name()?, &idents("tenant_databases")?)),
            other => Err(format!("unknown op {other:?}")),
        }
    });
}

#[test]
fn dns_golden() {
    check_dir("dns", |input| {
        let v: serde_json::Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
        let spec: berth_proto::dns::ZoneSpec = serde_json::from_value(v["spec"].clone()).map_err(|e| e.to_string())?;
        match v["format"].as_str() {
            Some("bind") => berth_services::dns::render_bind_zone(&spec),
            _ => berth_services::dns::pdns_rrsets(&spec)
                .and_then(|r| serde_json::to_string_pretty(&r).map_err(|e| e.to_string()))
                .map(|s| s + "\n"),
        }
    });
}

/// BIND's own checker accepts every rendered zone file of the golden set.
#[test]
fn rendered_zones_pass_named_checkzone() {
    let check = Path::new("/usr/bin/named-checkzone");
    assert!(
        check.exists(),
        "bind9-utils must be installed (scripts/test installs it)"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dns");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    for e in std::fs::read_dir(&root).expect("golden dir").flatten() {
        let text = std::fs::read_to_string(e.path()).expect("golden file");
        let Some((input, _)) = text.split_once(SEP) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(input).expect("json");
        if v["format"] != "bind" {
            continue;
        }
        let spec: berth_proto::dns::ZoneSpec = serde_json::from_value(v["spec"].clone()).expect("spec");
        let file = dir.path().join("zone");
        std::fs::write(&file, berth_services::dns::render_bind_zone(&spec).expect("renders")).expect("write");
        #[allow(clippy::disallowed_methods)] // a test runs the checker directly
        let out = std::process::Command::new(check)
            .args(["-q", "-k", "fail", "-n", "fail", spec.zone.as_str()])
            .arg(&file)
            .output()
            .expect("named-checkzone runs");
        assert!(
            out.status.success(),
            "{}: {}{}",
            e.path().display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        n += 1;
    }
    assert!(n > 0);
}
