//! Cron expressions for recurring jobs (UTC; 5 fields, or 6 with seconds).

use std::str::FromStr;

/// Parse an expression, refusing what croner refuses.
pub fn parse(expr: &str) -> Result<croner::Cron, String> {
    croner::Cron::from_str(expr).map_err(|e| format!("invalid cron expression: {e}"))
}

/// The first time strictly after `after_ms` (Unix ms) the expression matches.
pub fn next_after(expr: &str, after_ms: i64) -> Result<i64, String> {
    let cron = parse(expr)?;
    let start = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(after_ms)
        .ok_or_else(|| "time out of range".to_owned())?;
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|e| format!("no next run: {e}"))?;
    Ok(next.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_five_minutes() {
        // 2026-01-01T00:02:00Z
        let t = 1_767_225_720_000;
        assert_eq!(next_after("*/5 * * * *", t).unwrap(), 1_767_225_900_000);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse("every tuesday").is_err());
        assert!(parse("61 * * * *").is_err());
    }
}
