//! What a database server stores for a password, computed in Berth so the
//! password itself never reaches the node, a command line or a log: the
//! node gets only this, and the tenant gets the password once.
//!
//! - MariaDB `mysql_native_password`: `*` + upper-case hex of
//!   SHA1(SHA1(password)) (what `PASSWORD()` returns), used with
//!   `IDENTIFIED BY PASSWORD '…'`.
//! - PostgreSQL SCRAM-SHA-256 (RFC 5802/7677, the format PostgreSQL keeps in
//!   `pg_authid.rolpassword`): `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`,
//!   all base64, used with `PASSWORD '…'` (the server takes a verifier as is).
//!
//! Both outputs contain only `*`, hex digits, base64 characters, `$` and
//! `:`, so they can be put in an SQL string literal without escaping.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The iteration count PostgreSQL uses by default (`scram_iterations`).
pub const SCRAM_ITERATIONS: u32 = 4096;

pub fn mariadb_native_hash(password: &str) -> String {
    let once = Sha1::digest(password.as_bytes());
    let twice = Sha1::digest(once);
    format!("*{}", hex::encode_upper(twice))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// A SCRAM-SHA-256 verifier for `password` with `salt`. PostgreSQL
/// SASLprep-normalises passwords; Berth's generated passwords and those the
/// API accepts are printable ASCII, for which SASLprep is the identity.
pub fn scram_sha256_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac_sha256(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac_sha256(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

/// A password for a database user: 24 characters from letters and digits
/// (about 142 bits), so it survives any client, shell or connection string.
pub fn generate_password(random: &[u8; 24]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    random
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_hash_matches_password_function() {
        // SELECT PASSWORD('password') on MariaDB/MySQL.
        assert_eq!(
            mariadb_native_hash("password"),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
    }

    #[test]
    fn scram_verifier_matches_rfc7677() {
        // RFC 7677 §3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==,
        // 4096 iterations. The server proves itself with
        // HMAC(ServerKey, AuthMessage) = 6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = scram_sha256_verifier("pencil", &salt, 4096);
        let rest = v.strip_prefix("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$").unwrap();
        let (stored, server) = rest.split_once(':').unwrap();
        assert_eq!(B64.decode(stored).unwrap().len(), 32);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac_sha256(&B64.decode(server).unwrap(), auth_message.as_bytes());
        assert_eq!(B64.encode(signature), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn generated_passwords_are_plain() {
        let p = generate_password(&[200; 24]);
        assert_eq!(p.len(), 24);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
