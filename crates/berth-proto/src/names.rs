//! Validated string types ("parse, don't validate"). Each can only be built
//! through `TryFrom<String>` (serde uses the same path), so holding one is
//! proof the value passed its rules. None of them accepts control characters,
//! so CR/LF injection into logs, headers, configs or mail is impossible by type.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Why a value was refused; the message is safe to show to the user.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what}: {why}")]
pub struct InvalidName {
    pub what: &'static str,
    pub why: &'static str,
}

fn no_controls(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

macro_rules! validated {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
            pub fn parse(s: &str) -> Result<Self, InvalidName> {
                Self::try_from(s.to_owned())
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(s: String) -> Result<Self, InvalidName> {
                let check: fn(String) -> Result<String, &'static str> = $check;
                check(s).map(Self).map_err(|why| InvalidName { what: $what, why })
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use validated;

validated!(
    /// An email address, lower-cased. Deliberately stricter than RFC 5322:
    /// no quoted local parts, no comments, no IP literals.
    Email,
    "email",
    |s| {
        let s = s.trim().to_ascii_lowercase();
        if s.len() < 3 || s.len() > 254 {
            return Err("must be 3 to 254 characters");
        }
        let (local, domain) = s.split_once('@').ok_or("must contain @")?;
        if local.is_empty() || local.len() > 64 {
            return Err("the part before @ must be 1 to 64 characters");
        }
        if !local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err("the part before @ has characters that are not allowed");
        }
        if !is_hostname(domain) || !domain.contains('.') {
            return Err("the part after @ must be a domain name");
        }
        Ok(s)
    }
);

/// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

validated!(
    /// A short machine name (tenant account name, later the base of its Linux
    /// user): `[a-z][a-z0-9-]*`, 2 to 32 characters, no trailing hyphen.
    AccountName,
    "name",
    |s| {
        let ok_len = (2..=32).contains(&s.len());
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok_len {
            return Err("must be 2 to 32 characters");
        }
        if !first_ok || !rest_ok || s.ends_with('-') || s.contains("--") {
            return Err("must start with a letter and contain only a-z, 0-9 and single inner hyphens");
        }
        Ok(s)
    }
);

validated!(
    /// Free text for display (names, descriptions): 1 to 200 characters,
    /// no control characters, no leading or trailing whitespace.
    Text,
    "text",
    |s| {
        if s.is_empty() || s.chars().count() > 200 {
            return Err("must be 1 to 200 characters");
        }
        if !no_controls(&s) {
            return Err("must not contain control characters or line breaks");
        }
        if s.trim() != s {
            return Err("must not start or end with whitespace");
        }
        Ok(s)
    }
);

validated!(
    /// A settings key: `namespace.key[.more]`, lower-case words and underscores.
    SettingKey,
    "setting key",
    |s| {
        if s.len() > 128 {
            return Err("must be at most 128 characters");
        }
        let parts: Vec<&str> = s.split('.').collect();
        let word = |p: &&str| {
            p.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if parts.len() < 2 || !parts.iter().all(word) {
            return Err("must look like namespace.key (lower-case words separated by dots)");
        }
        Ok(s)
    }
);

validated!(
    /// A job kind or queue name: `[a-z][a-z0-9_.-]*`, at most 64 characters.
    JobKind,
    "job kind",
    |s| {
        if s.is_empty() || s.len() > 64 {
            return Err("must be 1 to 64 characters");
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase())
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
        {
            return Err("must start with a letter and contain only a-z, 0-9, '_', '.', '-'");
        }
        Ok(s)
    }
);

validated!(
    /// A client-chosen idempotency key: 1 to 128 printable ASCII characters.
    IdempotencyKey,
    "idempotency key",
    |s| {
        if s.is_empty() || s.len() > 128 {
            return Err("must be 1 to 128 characters");
        }
        if !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err("must be printable ASCII without spaces");
        }
        Ok(s)
    }
);

/// A password as typed by a user. Never printed: `Debug` is redacted and it has
/// no `Display`. Strength rules live in settings and are checked by the core
/// crate's password policy; here only the shape is checked.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = Password)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Password {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        if s.is_empty() || s.chars().count() > 256 {
            return Err(InvalidName {
                what: "password",
                why: "must be 1 to 256 characters",
            });
        }
        if !no_controls(&s) {
            return Err(InvalidName {
                what: "password",
                why: "must not contain control characters",
            });
        }
        Ok(Password(s))
    }
}

impl From<Password> for String {
    fn from(p: Password) -> String {
        p.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in [
            "ann",
            "@example.com",
            "ann@",
            "ann@localhost",
            "a\r\nb@example.com",
            "ann@exa mple.com",
            "ann@-x.com",
            "a..b@example.com",
            "\"a\"@example.com",
            "ann@example.com;rm",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn account_names() {
        assert!(AccountName::parse("acme-web2").is_ok());
        for bad in [
            "a", "Acme", "1acme", "acme-", "ac--me", "ac;me", "../x", "ac me", "a{b}", "",
        ] {
            assert!(AccountName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(AccountName::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn text_refuses_control_characters() {
        assert!(Text::parse("Acme Ltd — Web").is_ok());
        for bad in ["", " lead", "trail ", "line\nbreak", "cr\rlf", "nul\0", "tab\there"] {
            assert!(Text::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Text::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn setting_keys() {
        assert!(SettingKey::parse("jobs.retry.base_delay_ms").is_ok());
        for bad in ["jobs", "Jobs.x", "jobs..x", "jobs.x;y", ".jobs", "jobs.1x"] {
            assert!(SettingKey::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::try_from("hunter2hunter2".to_owned()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert!(Password::try_from("a\nb".to_owned()).is_err());
    }

    #[test]
    fn serde_goes_through_validation() {
        let r: Result<Email, _> = serde_json::from_str("\"not-an-email\"");
        assert!(r.is_err());
        let r: Email = serde_json::from_str("\"x@y.io\"").unwrap();
        assert_eq!(r.as_str(), "x@y.io");
    }
}

validated!(
    /// A one-time code typed at login: a 6-digit TOTP code or a recovery code
    /// (letters, digits and hyphens, up to 32 characters).
    OneTimeCode,
    "code",
    |s| {
        let s = s.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > 32 {
            return Err("must be 1 to 32 characters");
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("must contain only digits, letters and hyphens");
        }
        Ok(s)
    }
);

validated!(
    /// A fully qualified domain name, lower case, in ASCII (an IDN such as
    /// `bücher.example` is converted to `xn--bcher-kva.example`). At least two
    /// labels, each 1–63 letters, digits or inner hyphens; 253 characters at
    /// most; no trailing dot. Nothing else can reach a vhost or a zone file.
    DomainName,
    "domain",
    |s| {
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain spaces or control characters");
        }
        let ascii = idna::domain_to_ascii_strict(&s).map_err(|_| "is not a valid domain name")?;
        let ascii = ascii.to_ascii_lowercase();
        if !is_hostname(&ascii) {
            return Err("must be labels of letters, digits and inner hyphens separated by single dots");
        }
        if !ascii.contains('.') {
            return Err("must have at least two labels (example.com)");
        }
        if ascii.rsplit('.').next().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return Err("must not end in a numeric label");
        }
        Ok(ascii)
    }
);

validated!(
    /// A name on a certificate: a domain, or a wildcard `*.example.com`
    /// (one label, issued with dns-01 only).
    CertName,
    "certificate name",
    |s| {
        let (wild, rest) = match s.strip_prefix("*.") {
            Some(r) => (true, r.to_owned()),
            None => (false, s),
        };
        let d = DomainName::parse(&rest).map_err(|e| e.why)?;
        Ok(if wild { format!("*.{d}") } else { d.into_inner() })
    }
);

impl CertName {
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }
    /// The domain without `*.`.
    pub fn base(&self) -> &str {
        self.0.strip_prefix("*.").unwrap_or(&self.0)
    }
}

impl From<DomainName> for CertName {
    fn from(d: DomainName) -> CertName {
        CertName(d.into_inner())
    }
}

#[cfg(test)]
mod domain_tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        assert_eq!(DomainName::parse("Example.COM").unwrap().as_str(), "example.com");
        assert_eq!(
            DomainName::parse("bücher.example").unwrap().as_str(),
            "xn--bcher-kva.example"
        );
        assert!(DomainName::parse("a-b.c-d.example").is_ok());
    }

    #[test]
    fn hostile_domains_are_refused() {
        let long_label = format!("{}.com", "a".repeat(64));
        let too_long = format!("{}com", "abcdefghi.".repeat(26));
        for bad in [
            "test..com",
            "example.com;",
            "exa{mple}.com",
            "\"quoted\".com",
            "exa mple.com",
            "example.com\nserver_name evil",
            "example.com.",
            ".example.com",
            "-x.example.com",
            "x-.example.com",
            "localhost",
            "1.2.3.4",
            "under_score.com",
            "../etc/passwd",
            "*.example.com",
            long_label.as_str(),
            too_long.as_str(),
            "",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

validated!(
    /// An absolute path whose components are plain names (letters, digits,
    /// `.`, `_`, `-`; never `.` or `..`), at most 1024 bytes. Safe to put in
    /// a config file without quoting.
    AbsPath,
    "path",
    |s| {
        if s.len() > 1024 || !s.starts_with('/') {
            return Err("must be an absolute path of at most 1024 characters");
        }
        let ok = s.split('/').skip(1).all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
        });
        if !ok && s != "/" {
            return Err("must be made of plain names (letters, digits, '.', '_', '-'), without '..' or empty parts");
        }
        Ok(s)
    }
);

validated!(
    /// An http(s) redirect target. Refuses whitespace, quotes, `$`, braces,
    /// `;` and backslashes, so it can be put in an nginx string literally.
    RedirectUrl,
    "url",
    |s| {
        if s.len() > 2048 {
            return Err("must be at most 2048 characters");
        }
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or("must start with http:// or https://")?;
        if s.chars().any(|c| c.is_control() || c.is_whitespace() || "\"'$`{};\\<>".contains(c)) {
            return Err("must not contain whitespace, quotes, '$', braces, ';' or '\\'");
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, p)| if p.chars().all(|c| c.is_ascii_digit()) { h } else { host });
        if !is_hostname(host) {
            return Err("must name a valid host");
        }
        Ok(s)
    }
);

validated!(
    /// A PHP version as `major.minor` (`8.2`): names the `php-fpm8.2` binary.
    PhpVersion,
    "php version",
    |s| {
        let ok = matches!(s.split_once('.'), Some((a, b))
            if (1..=2).contains(&a.len()) && (1..=2).contains(&b.len())
                && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()));
        if ok { Ok(s) } else { Err("must be major.minor, like 8.2") }
    }
);

validated!(
    /// A URL path on a site (`/old/page`, `/errors/404.html`): starts with
    /// `/`, at most 512 characters of letters, digits and `-._~/%+!,`, no
    /// `..` segment. Safe to write into an nginx config unquoted.
    UrlPath,
    "path",
    |s| {
        if s.is_empty() || s.len() > 512 || !s.starts_with('/') {
            return Err("must start with / and be at most 512 characters");
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || "-._~/%+!,".contains(c)) {
            return Err("may hold only letters, digits, '/' and -._~%+!,");
        }
        if s.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err("must not contain '.' or '..' segments");
        }
        if s.contains("//") {
            return Err("must not contain '//'");
        }
        Ok(s)
    }
);

validated!(
    /// Where a redirect goes: a path on the same site (`/new`) or a URL
    /// (`https://example.net/x`), under the rules of `UrlPath` or `RedirectUrl`.
    RedirectTarget,
    "redirect target",
    |s| {
        if s.starts_with('/') {
            UrlPath::parse(&s).map(|_| s).map_err(|e| e.why)
        } else {
            RedirectUrl::parse(&s).map(|_| s).map_err(|e| e.why)
        }
    }
);

impl DomainName {
    /// The name with `www.` added, or taken off when it has it.
    pub fn www_partner(&self) -> Option<DomainName> {
        match self.0.strip_prefix("www.") {
            Some(bare) => DomainName::parse(bare).ok(),
            None => DomainName::parse(&format!("www.{}", self.0)).ok(),
        }
    }
}

#[cfg(test)]
mod path_url_tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(AbsPath::parse("/home/acme/domains/example.com/public_html").is_ok());
        for bad in [
            "relative/x",
            "/home/../etc",
            "/home//x",
            "/home/a b",
            "/home/x;y",
            "/home/$x",
            "/home/x\n",
        ] {
            assert!(AbsPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn redirect_urls() {
        assert!(RedirectUrl::parse("https://example.com/new?a=1").is_ok());
        assert!(RedirectUrl::parse("http://example.com:8080/x").is_ok());
        for bad in [
            "ftp://example.com",
            "https://exa mple.com",
            "https://example.com/$host",
            "https://example.com/\";return 200 \"x",
            "https://example.com/{x}",
            "javascript:alert(1)",
            "https://",
        ] {
            assert!(RedirectUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn php_versions_and_url_paths() {
        assert!(PhpVersion::parse("8.2").is_ok());
        for bad in ["8", "8.", ".2", "8.2.1", "8;2", "x.y", "100.1"] {
            assert!(PhpVersion::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UrlPath::parse("/old/page.html").is_ok());
        assert!(UrlPath::parse("/").is_ok());
        for bad in [
            "", "old", "/a/../b", "/a/./b", "/a b", "/a;b", "/a{b}", "/a\nb", "/\"x", "/$uri", "//x",
        ] {
            assert!(UrlPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
