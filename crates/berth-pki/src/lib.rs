//! The panel's internal certificate authority, generated per install and
//! never shipped. Nodes make their key pair themselves and send a CSR; the
//! panel checks the CSR's signature and issues a certificate from its own
//! parameters (the node's name as CN and DNS name, client and server auth,
//! a random serial): nothing the node asked for is copied except its public
//! key. The panel talks to agents with a client certificate named
//! `berth-panel`; agents accept no other peer.

pub mod inspect;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The common name of the panel's client certificate; no node may take it.
pub const PANEL_CN: &str = "berth-panel";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("pem: {0}")]
    Pem(String),
    #[error("the certificate request must use an ECDSA P-256 key")]
    KeyType,
    #[error("{0}")]
    Verifier(String),
}

/// A certificate the CA issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub cert_pem: String,
    pub serial_hex: String,
    pub sha256_hex: String,
    pub not_after_ms: i64,
}

/// What a peer's certificate says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub cn: String,
    pub serial_hex: String,
    pub sha256_hex: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
}

fn random_serial() -> SerialNumber {
    let mut s: [u8; 16] = rand::random();
    // Positive and without a leading zero byte, so the DER serial is exactly these bytes.
    s[0] = (s[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&s)
}

fn named(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

/// SHA-256 of a certificate's DER, hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn first_der(pem: &str) -> Result<CertificateDer<'static>, PkiError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| PkiError::Pem(e.to_string()))
}

/// Read a certificate (DER).
pub fn cert_info_der(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = c.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
    Some(CertInfo {
        cn,
        serial_hex: hex::encode(c.raw_serial()),
        sha256_hex: fingerprint(der),
        not_before_ms: c.validity().not_before.timestamp() * 1000,
        not_after_ms: c.validity().not_after.timestamp() * 1000,
    })
}

/// Read a certificate (PEM, the first in the text).
pub fn cert_info(pem: &str) -> Option<CertInfo> {
    cert_info_der(first_der(pem).ok()?.as_ref())
}

/// The CA of one install.
pub struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// A new CA: (certificate PEM, private key PEM). Ten years.
    pub fn generate() -> Result<(String, String), PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut p = CertificateParams::default();
        p.distinguished_name = named("Berth internal CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::hours(1);
        p.not_after = now + Duration::days(3650);
        p.serial_number = Some(random_serial());
        let cert = p.self_signed(&key)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        Ok(Ca {
            cert_pem: cert_pem.to_owned(),
            issuer: Issuer::from_ca_cert_pem(cert_pem, key)?,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// SHA-256 of the CA certificate (what a join token pins).
    pub fn fingerprint(&self) -> Result<String, PkiError> {
        Ok(fingerprint(first_der(&self.cert_pem)?.as_ref()))
    }

    fn sign(
        &self,
        cn: &str,
        dns: Option<&str>,
        key: &impl rcgen::PublicKeyData,
        days: i64,
    ) -> Result<Issued, PkiError> {
        let mut p = CertificateParams::default();
        p.distinguished_name = named(cn);
        if let Some(d) = dns {
            p.subject_alt_names = vec![SanType::DnsName(d.try_into()?)];
        }
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        // Minutes of slack for clocks that differ a little.
        p.not_before = now - Duration::minutes(5);
        p.not_after = now + Duration::days(days.max(1));
        let serial = random_serial();
        let serial_hex = hex::encode(serial.as_ref());
        p.serial_number = Some(serial);
        let cert = p.signed_by(key, &self.issuer)?;
        Ok(Issued {
            sha256_hex: fingerprint(cert.der()),
            cert_pem: cert.pem(),
            serial_hex,
            not_after_ms: p.not_after.unix_timestamp() * 1000,
        })
    }

    /// A node's certificate for the key in `csr_pem` (whose signature is
    /// checked). Only the public key is taken from the request.
    pub fn issue_node(&self, csr_pem: &str, node: &str, days: i64) -> Result<Issued, PkiError> {
        if node == PANEL_CN {
            return Err(PkiError::Verifier(format!("{PANEL_CN} is not a node name")));
        }
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)?;
        if *csr.public_key.algorithm() != PKCS_ECDSA_P256_SHA256 {
            return Err(PkiError::KeyType);
        }
        self.sign(node, Some(node), &csr.public_key, days)
    }

    /// A fresh key and client certificate for the panel: (issued, key PEM).
    pub fn issue_panel_client(&self, days: i64) -> Result<(Issued, String), PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let issued = self.sign(PANEL_CN, None, &key, days)?;
        Ok((issued, key.serialize_pem()))
    }
}

/// On the node: a new key pair and a CSR naming the node: (CSR PEM, key PEM).
pub fn make_csr(node: &str) -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut p = CertificateParams::default();
    p.distinguished_name = named(node);
    let csr = p.serialize_request(&key)?;
    Ok((csr.pem()?, key.serialize_pem()))
}

fn roots(ca_pem: &str) -> Result<rustls::RootCertStore, PkiError> {
    let mut r = rustls::RootCertStore::empty();
    r.add(first_der(ca_pem)?)?;
    Ok(r)
}

fn chain(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Pem(e.to_string()))
}

/// The agent's TLS server config: its certificate, and a client
/// certificate signed by the CA is required. (That the client is the panel,
/// not another node, the agent checks after the handshake by the CN.)
pub fn agent_server_config(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, PkiError> {
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots(ca_pem)?))
        .build()
        .map_err(|e| PkiError::Verifier(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| PkiError::Pem(e.to_string()))?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain(cert_pem)?, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The panel's verifier of an agent's certificate: the chain to the CA and
/// the node's name (webpki), and then the certificate itself must be one the
/// panel issued to this node and still trusts (its fingerprint): a revoked
/// or replaced certificate is refused during the handshake, before any
/// request is sent.
#[derive(Debug)]
struct Pinned {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    allowed: Vec<String>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        if self.allowed.iter().any(|a| *a == fingerprint(end_entity.as_ref())) {
            Ok(ok)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The panel's TLS client config for one node: trusts only the CA, only
/// certificates with these fingerprints, and presents the panel's
/// certificate.
pub fn panel_client_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    allowed: Vec<String>,
) -> Result<rustls::ClientConfig, PkiError> {
    let inner = rustls::client::WebPkiServerVerifier::builder(Arc::new(roots(ca_pem)?))
        .build()
        .map_err(|e| PkiError::Verifier(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| PkiError::Pem(e.to_string()))?;
    Ok(rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { inner, allowed }))
        .with_client_auth_cert(chain(cert_pem)?, key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[test]
    fn issues_from_its_own_parameters() {
        provider();
        let (ca_cert, ca_key) = Ca::generate().unwrap();
        let ca = Ca::load(&ca_cert, &ca_key).unwrap();
        // The node asks for a CA certificate with another name; it gets neither.
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(vec!["evil.example".to_owned()]).unwrap();
        p.distinguished_name = named(PANEL_CN);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let csr = p.serialize_request(&key).unwrap().pem().unwrap();
        let issued = ca.issue_node(&csr, "web-1", 30).unwrap();
        let info = cert_info(&issued.cert_pem).unwrap();
        assert_eq!(info.cn, "web-1");
        assert_eq!(info.serial_hex, issued.serial_hex);
        let der = first_der(&issued.cert_pem).unwrap();
        let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        assert!(!c.is_ca());
        let sans: Vec<String> = c
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(sans, vec!["DNSName(web-1)"]);
        // Two certificates for one key still get different serials.
        let again = ca.issue_node(&csr, "web-1", 30).unwrap();
        assert_ne!(again.serial_hex, issued.serial_hex);
        assert!(ca.issue_node(&csr, PANEL_CN, 30).is_err());
    }

    #[test]
    fn refuses_tampered_requests() {
        provider();
        let (ca_cert, ca_key) = Ca::generate().unwrap();
        let ca = Ca::load(&ca_cert, &ca_key).unwrap();
        assert!(ca.issue_node("not a csr", "web-1", 30).is_err());
        let (csr, _) = make_csr("web-1").unwrap();
        // Flip a character inside the base64 body: the signature no longer holds.
        let mut bytes = csr.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bytes).unwrap();
        assert!(ca.issue_node(&bad, "web-1", 30).is_err());
    }

    #[test]
    fn configs_build_from_issued_material() {
        provider();
        let (ca_cert, ca_key) = Ca::generate().unwrap();
        let ca = Ca::load(&ca_cert, &ca_key).unwrap();
        let (csr, key) = make_csr("web-1").unwrap();
        let issued = ca.issue_node(&csr, "web-1", 30).unwrap();
        assert!(agent_server_config(&ca_cert, &issued.cert_pem, &key).is_ok());
        // A certificate with another key does not fit.
        let (_, other_key) = make_csr("web-1").unwrap();
        assert!(agent_server_config(&ca_cert, &issued.cert_pem, &other_key).is_err());
        let (panel, _) = ca.issue_panel_client(30).unwrap();
        assert_eq!(cert_info(&panel.cert_pem).unwrap().cn, PANEL_CN);
        assert_eq!(ca.fingerprint().unwrap().len(), 64);
    }
}
