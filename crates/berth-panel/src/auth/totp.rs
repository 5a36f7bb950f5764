//! TOTP (RFC 6238, SHA-1, 6 digits, 30 s) with replay protection: the
//! accepted time step is stored and a code for the same or an older step is
//! refused, so a code seen over someone's shoulder cannot be used again.

use totp_rs::{Builder, Secret, Totp};

pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn build(secret_b32: &str, account: &str) -> Result<Totp, String> {
    let secret = Secret::try_from_base32(secret_b32).map_err(|e| e.to_string())?;
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some("Berth"))
        .build()
        .map_err(|e| e.to_string())
}

/// The `otpauth://` URL for authenticator apps.
pub fn url(secret_b32: &str, account: &str) -> Result<String, String> {
    build(secret_b32, account)?.to_url().map_err(|e| e.to_string())
}

/// The time step a code is valid for (±1 step of clock skew), if any.
pub fn matching_step(secret_b32: &str, code: &str, now_secs: u64) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = build(secret_b32, "x").ok()?;
    t.check(code, now_secs).and_then(|s| i64::try_from(s).ok())
}

/// The current code (tests and the CLI's self-check use it).
pub fn current_code(secret_b32: &str, now_secs: u64) -> Option<String> {
    Some(build(secret_b32, "x").ok()?.generate(now_secs).to_string())
}

pub fn now_secs() -> u64 {
    (berth_proto::Timestamp::now().millis() / 1000).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step() {
        let s = new_secret();
        let now = 1_800_000_000;
        let code = current_code(&s, now).unwrap();
        assert_eq!(matching_step(&s, &code, now), Some((now / 30) as i64));
        assert_eq!(
            matching_step(&s, &code, now + 30),
            Some((now / 30) as i64),
            "skew of one step"
        );
        assert_eq!(matching_step(&s, &code, now + 300), None);
        assert_eq!(matching_step(&s, "12345a", now), None);
        assert!(url(&s, "ann@example.com").unwrap().starts_with("otpauth://totp/"));
    }
}
