//! Secrets: password hashing (Argon2id), random tokens and their hashes.
//! Random tokens have 256 bits of entropy, so a plain SHA-256 is the right
//! hash for them; passwords are low-entropy and get argon2.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

pub const SESSION_PREFIX: &str = "bs_";
pub const TOKEN_PREFIX: &str = "bt_";

fn argon(m_kib: u32, t: u32) -> Result<Argon2<'static>, String> {
    let params = Params::new(m_kib, t, 1, None).map_err(|e| e.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hash a password (slow on purpose: run it with `spawn_blocking`).
pub fn hash_password(password: &str, m_kib: u32, t: u32) -> Result<String, String> {
    let a = argon(m_kib, t)?;
    a.hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Check a password against a stored PHC string (its own parameters apply).
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

pub async fn hash_password_async(password: String, m_kib: u32, t: u32) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_password(&password, m_kib, t))
        .await
        .map_err(|e| e.to_string())?
}

pub async fn verify_password_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

/// `prefix` + 43 characters of URL-safe base64 (32 random bytes).
pub fn random_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A password shown once to a human: 20 characters from an alphabet without
/// look-alikes, with every character class present.
pub fn generate_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYM: &[u8] = b"-_.+=@";
    let mut rng = rand::rng();
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SYM].concat();
    loop {
        let p: String = (0..20).map(|_| all[rng.random_range(0..all.len())] as char).collect();
        let has = |set: &[u8]| p.bytes().any(|b| set.contains(&b));
        if has(LOWER) && has(UPPER) && has(DIGIT) && has(SYM) {
            return p;
        }
    }
}

/// A one-time code of `groups` groups of 4 characters from base32's
/// alphabet (5 bits each), lower case, joined by hyphens.
pub fn one_time_code(groups: usize) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    (0..groups)
        .map(|_| {
            (0..4)
                .map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Constant-time equality for secrets compared in memory (CSRF tokens).
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("Correct-Horse-7", 256, 1).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Correct-Horse-7", &h));
        assert!(!verify_password("correct-horse-7", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(SESSION_PREFIX);
        let b = random_token(SESSION_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("bs_") && a.len() == 46);
        assert_eq!(sha256_hex("abc").len(), 64);
    }

    #[test]
    fn generated_passwords_pass_the_default_policy() {
        let policy = berth_core::password_policy::PasswordPolicy {
            min_length: 12,
            min_classes: 3,
        };
        for _ in 0..50 {
            let p = generate_password();
            assert!(policy.check(&p, "x@example.com").is_ok(), "{p}");
        }
    }

    #[test]
    fn one_time_codes_fit_the_code_type() {
        let c = one_time_code(4);
        assert_eq!(c.len(), 19);
        assert!(berth_proto::OneTimeCode::parse(&c).is_ok());
    }
}
