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
