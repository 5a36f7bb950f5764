//! Per-site PHP ini overrides: an allowlist of keys, each with a typed value.
//!
//! The values reach nginx (`fastcgi_param PHP_VALUE`) and so PHP; holding a
//! `PhpIni` proves every key is allowed and every value is in canonical form
//! (`On`/`Off`, decimal integers in range, plain identifiers), so no value
//! can carry a newline, a quote or a second directive. Limits that the
//! package sets (memory, execution time, upload size) are `php_admin_value`
//! in the pool and are deliberately not on this list: a site cannot raise them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    Int(i64, i64),
    /// Letters, digits and `/_+-`, up to this many characters.
    Ident(usize),
}

/// The keys a site may set, with their types.
const ALLOWED: &[(&str, Kind)] = &[
    ("date.timezone", Kind::Ident(64)),
    ("default_charset", Kind::Ident(32)),
    ("display_errors", Kind::Bool),
    ("display_startup_errors", Kind::Bool),
    ("error_reporting", Kind::Int(-1, 65535)),
    ("html_errors", Kind::Bool),
    ("log_errors", Kind::Bool),
    ("max_input_nesting_level", Kind::Int(8, 1024)),
    ("max_input_time", Kind::Int(-1, 3600)),
    ("max_input_vars", Kind::Int(100, 100_000)),
    ("output_buffering", Kind::Int(0, 1_048_576)),
    ("session.cookie_httponly", Kind::Bool),
    ("session.cookie_secure", Kind::Bool),
    ("session.gc_maxlifetime", Kind::Int(60, 2_592_000)),
    ("short_open_tag", Kind::Bool),
    ("zlib.output_compression", Kind::Bool),
];

/// Most overrides one site may have.
pub const MAX_INI: usize = 32;

/// The keys a site may override (for documentation and the UI).
pub fn allowed_keys() -> impl Iterator<Item = &'static str> {
    ALLOWED.iter().map(|(k, _)| *k)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("php ini {key}: {why}")]
pub struct InvalidIni {
    pub key: String,
    pub why: String,
}

fn canonical(kind: Kind, v: &str) -> Result<String, String> {
    match kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "1" | "on" | "true" | "yes" => Ok("On".into()),
            "0" | "off" | "false" | "no" => Ok("Off".into()),
            _ => Err("must be On or Off".into()),
        },
        Kind::Int(lo, hi) => match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n.to_string()),
            _ => Err(format!("must be a whole number from {lo} to {hi}")),
        },
        Kind::Ident(max) => {
            if !v.is_empty() && v.len() <= max && v.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) {
                Ok(v.to_owned())
            } else {
                Err(format!("must be 1 to {max} letters, digits or /_+-"))
            }
        }
    }
}

/// Validated per-site ini overrides, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
#[schema(value_type = BTreeMap<String, String>, example = json!({"display_errors": "Off", "max_input_vars": "3000"}))]
pub struct PhpIni(BTreeMap<String, String>);

impl PhpIni {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<BTreeMap<String, String>> for PhpIni {
    type Error = InvalidIni;
    fn try_from(m: BTreeMap<String, String>) -> Result<Self, InvalidIni> {
        if m.len() > MAX_INI {
            return Err(InvalidIni {
                key: "*".into(),
                why: format!("at most {MAX_INI} overrides"),
            });
        }
        let mut out = BTreeMap::new();
        for (k, v) in m {
            let Some((_, kind)) = ALLOWED.iter().find(|(a, _)| *a == k) else {
                let shown: String = k.chars().filter(|c| !c.is_control()).take(64).collect();
                return Err(InvalidIni {
                    key: shown,
                    why: "is not a key a site may set (see docs/operations.md)".into(),
                });
            };
            let v = canonical(*kind, v.trim_matches(' ')).map_err(|why| InvalidIni { key: k.clone(), why })?;
            out.insert(k, v);
        }
        Ok(PhpIni(out))
    }
}

impl From<PhpIni> for BTreeMap<String, String> {
    fn from(v: PhpIni) -> Self {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(pairs: &[(&str, &str)]) -> Result<PhpIni, InvalidIni> {
        PhpIni::try_from(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn canonical_values() {
        let i = ini(&[
            ("display_errors", "true"),
            ("max_input_vars", "3000"),
            ("date.timezone", "Europe/Berlin"),
        ])
        .unwrap();
        let got: Vec<_> = i.iter().collect();
        assert_eq!(
            got,
            vec![
                ("date.timezone", "Europe/Berlin"),
                ("display_errors", "On"),
                ("max_input_vars", "3000")
            ]
        );
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        for (k, v) in [
            ("memory_limit", "1G"),
            ("open_basedir", "/"),
            ("disable_functions", ""),
            ("auto_prepend_file", "/etc/passwd"),
            ("display_errors", "On\nopen_basedir=/"),
            ("max_input_vars", "99999999"),
            ("max_input_vars", "1e3"),
            ("date.timezone", "Europe/Berlin\"; x"),
            ("date.timezone", ""),
            ("default_charset", "utf 8"),
        ] {
            assert!(ini(&[(k, v)]).is_err(), "{k}={v:?}");
        }
    }

    #[test]
    fn serde_goes_through_validation() {
        assert!(serde_json::from_str::<PhpIni>(r#"{"short_open_tag":"off"}"#).is_ok());
        assert!(serde_json::from_str::<PhpIni>(r#"{"memory_limit":"-1"}"#).is_err());
    }
}
