//! The command context (an authenticated client and the output mode) and the
//! small formatting helpers every verb shares.

use berth_client::Client;
use berth_proto::Timestamp;
use berth_proto::api::Page;
use serde::Serialize;
use std::fmt::Display;

/// What a verb needs: the client and whether to print JSON.
pub struct Ctx {
    pub client: Client,
    pub json: bool,
}

impl Ctx {
    /// Print `value` as pretty JSON in `--json` mode, else run `human`.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&T)) -> anyhow::Result<()> {
        if self.json {
            print_json(value)
        } else {
            human(value);
            Ok(())
        }
    }

    /// A one-line confirmation for commands whose answer has no body; silent
    /// in `--json` mode, where the exit status says it all.
    pub fn done(&self, message: impl Display) {
        if !self.json {
            println!("{message}");
        }
    }
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `-` for an absent value.
pub fn opt<T: Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A timestamp to the second (`2025-11-24T16:00:00Z`): milliseconds only
/// add noise in a table.
pub fn ts(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    match (s.find('.'), s.ends_with('Z')) {
        (Some(dot), true) => format!("{}Z", &s[..dot]),
        _ => s,
    }
}

pub fn opt_ts(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), ts)
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Say when a list shows only part of what matched.
pub fn page_footer<T>(page: &Page<T>) {
    let shown = page.items.len() as i64;
    if shown == 0 && page.offset == 0 {
        println!("(none)");
    } else if page.offset > 0 || shown < page.total {
        let first = if shown == 0 { 0 } else { page.offset + 1 };
        println!(
            "({first}-{} of {}; use --limit/--offset for more)",
            page.offset + shown,
            page.total
        );
    }
}

/// Parse a JSON argument (`--payload '{"ms": 10}'`).
pub fn parse_json_arg(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not valid JSON: {e}"))
}

/// The first line of `s`, at most `max` characters (for table cells).
pub fn shorten(s: &str, max: usize) -> String {
    let s = s.lines().next().unwrap_or_default();
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_drop_milliseconds() {
        assert_eq!(ts(Timestamp(1_764_000_000_123)), "2025-11-24T16:00:00Z");
        assert_eq!(opt_ts(None), "-");
        assert_eq!(opt(Some(3)), "3");
    }

    #[test]
    fn json_args() {
        assert_eq!(parse_json_arg(r#"{"ms":5}"#), Ok(serde_json::json!({"ms": 5})));
        assert!(parse_json_arg("{ms:5}").is_err());
    }
}
