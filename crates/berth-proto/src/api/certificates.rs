//! TLS certificates of sites (`/api/v1/certificates`).
//!
//! A site has at most one certificate. Its key is made on the site's node
//! and never leaves it; the panel keeps the certificate chain and what it
//! says (names, issuer, serial, validity).

use crate::{CertName, CertificateId, JobId, SiteId, TenantId, Timestamp};
use serde::{Deserialize, Serialize};

/// Where a certificate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertSource {
    /// Ordered from the ACME server (`acme.directory_url`), renewed by Berth.
    Acme,
    /// Uploaded; Berth warns before it expires but cannot renew it.
    Custom,
}

/// How the ACME server checks that the names are ours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Challenge {
    /// A file under `/.well-known/acme-challenge/`, served by the site's
    /// node for every site whatever its settings.
    #[default]
    #[serde(rename = "http-01")]
    Http01,
    /// A TXT record in the tenant's zone on Berth's DNS (wildcards need it).
    #[serde(rename = "dns-01")]
    Dns01,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    #[default]
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// An uploaded certificate's key of another kind (P-384, other RSA
    /// sizes); not orderable.
    Other,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<KeyType> {
        [KeyType::EcdsaP256, KeyType::Rsa2048, KeyType::Rsa4096, KeyType::Other]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    /// Being issued for the first time.
    Pending,
    /// Installed and not near expiry, or renewal not yet due.
    Valid,
    /// Installed, but the last renewal failed (see `last_error`); it keeps
    /// serving and Berth retries with backoff.
    Failing,
    /// Never issued: the last attempt failed (see `last_error`).
    Failed,
    /// Past `not_after`.
    Expired,
}

impl CertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CertStatus::Pending => "pending",
            CertStatus::Valid => "valid",
            CertStatus::Failing => "failing",
            CertStatus::Failed => "failed",
            CertStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<CertStatus> {
        [
            CertStatus::Pending,
            CertStatus::Valid,
            CertStatus::Failing,
            CertStatus::Failed,
            CertStatus::Expired,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certificate {
    pub id: CertificateId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    /// The site's primary domain.
    pub site_domain: String,
    /// The node serving the site, where the key is (`local`: the panel's own).
    pub node: String,
    pub names: Vec<CertName>,
    pub source: CertSource,
    /// ACME certificates only.
    pub challenge: Option<Challenge>,
    pub key_type: KeyType,
    pub status: CertStatus,
    pub issuer: Option<String>,
    /// Lower-case hex.
    pub serial: Option<String>,
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: Option<i64>,
    pub last_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed; `null` after a success.
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub failures: i64,
    /// When Berth tries next (renewal window or backoff), ACME only.
    pub next_attempt_at: Option<Timestamp>,
    pub last_job_id: Option<JobId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Order a certificate from the ACME server for a site (or re-order the
/// site's certificate with new names or key type).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderCertificate {
    pub site_id: SiteId,
    /// Left out: every name the site answers to (domain, aliases, the
    /// `www.` partner when it has one). Each must be one of the site's names,
    /// or a wildcard of one (dns-01).
    #[serde(default)]
    pub names: Option<Vec<CertName>>,
    /// Default `http-01`; wildcards need `dns-01`.
    #[serde(default)]
    pub challenge: Option<Challenge>,
    #[serde(default)]
    pub key_type: Option<KeyType>,
}

/// Install a certificate from elsewhere. Checked before anything changes:
/// the key matches, the chain builds, the names cover the site, it is
/// valid now. The key goes straight to the site's node; the panel keeps no
/// copy.
#[derive(Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadCertificate {
    pub site_id: SiteId,
    /// PEM: the site's certificate first, then (optionally) its chain.
    pub certificate: String,
    /// PEM: more chain certificates, if not in `certificate`.
    #[serde(default)]
    pub chain: Option<String>,
    /// PEM (PKCS#8, SEC1 or PKCS#1), not encrypted.
    pub private_key: String,
}

impl std::fmt::Debug for UploadCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadCertificate")
            .field("site_id", &self.site_id)
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A certificate and the job that issues or installs it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertificateJob {
    pub certificate: Certificate,
    pub job_id: JobId,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CertificateQuery {
    pub tenant_id: Option<TenantId>,
    pub site_id: Option<SiteId>,
    #[param(value_type = Option<String>)]
    pub status: Option<CertStatus>,
    /// Only certificates expiring within this many days (expired ones too).
    pub expiring_within_days: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Counts for the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertificateSummary {
    pub total: i64,
    pub valid: i64,
    pub pending: i64,
    pub failing: i64,
    pub failed: i64,
    pub expired: i64,
    /// Valid or failing, expiring within `acme.renew_days_before` days.
    pub expiring_soon: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names() {
        for (k, w) in [
            (KeyType::EcdsaP256, "ecdsa-p256"),
            (KeyType::Rsa2048, "rsa-2048"),
            (KeyType::Rsa4096, "rsa-4096"),
            (KeyType::Other, "other"),
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), w);
            assert_eq!(KeyType::parse(w), Some(k));
        }
        assert_eq!(serde_json::to_value(Challenge::Http01).unwrap(), "http-01");
        assert_eq!(serde_json::to_value(Challenge::Dns01).unwrap(), "dns-01");
        for st in ["pending", "valid", "failing", "failed", "expired"] {
            let parsed = CertStatus::parse(st).unwrap();
            assert_eq!(serde_json::to_value(parsed).unwrap(), st);
        }
    }
}
