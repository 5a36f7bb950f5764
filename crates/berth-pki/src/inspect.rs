//! Certificates and keys that come from outside: a custom certificate a user
//! uploads for a site, or what an ACME CA hands back. Everything here is pure
//! (no IO, no clock: the caller passes `now`), and every input is untrusted:
//! sizes are bounded and errors say in plain words what is wrong with the
//! paste ("the key does not match the certificate", "certificate 2 did not
//! sign certificate 1"). Keys are read with ring through rcgen; SEC1 and
//! PKCS#1 keys are rewrapped as PKCS#8 first, so every form of a key yields
//! the same SubjectPublicKeyInfo, byte for byte what a certificate for it holds.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
    PublicKeyData, SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    OID_PKIX_ACCESS_DESCRIPTOR_OCSP, OID_SIG_ED25519,
};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

/// The largest PEM text accepted (a chain or a key).
pub const MAX_PEM_BYTES: usize = 64 * 1024;
/// The most certificates a chain may hold.
pub const MAX_CHAIN_LEN: usize = 10;
/// The longest common name X.509 allows (ub-common-name); CAs refuse longer.
const MAX_CN_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("the {0} is larger than 64 KiB")]
    TooLarge(&'static str),
    #[error("the PEM text is damaged: {0}")]
    BadPem(String),
    #[error("not a PEM certificate: expected a block starting with -----BEGIN CERTIFICATE-----")]
    NotPemCertificate,
    #[error("a private key was pasted where the certificate belongs; paste it into the key field")]
    KeyInCertificateField,
    #[error("unexpected PEM block \"{0}\" among the certificates; only CERTIFICATE blocks are allowed")]
    UnexpectedBlock(String),
    #[error("the chain has {0} certificates; at most 10 are allowed")]
    TooManyCertificates(usize),
    #[error("the certificate could not be read: {0}")]
    BadCertificate(String),
    #[error("certificate {index} of the chain could not be read: {reason}")]
    BadChainCertificate { index: usize, reason: String },
    #[error("no certificate was given")]
    EmptyChain,
    #[error(
        "certificate {parent} is not the issuer of certificate {child}: certificate {child} was issued by \"{issuer}\" \
         but certificate {parent} is \"{subject}\" (the chain must go from the site's certificate up to the root)"
    )]
    NotIssuer {
        child: usize,
        parent: usize,
        issuer: String,
        subject: String,
    },
    #[error("certificate {parent} did not sign certificate {child}")]
    BadSignature { child: usize, parent: usize },
    #[error("the signature algorithm of certificate {0} is not supported")]
    UnsupportedSignature(usize),
    #[error("not a PEM private key: expected a block starting with -----BEGIN PRIVATE KEY-----")]
    NotPemKey,
    #[error("a certificate was pasted where the private key belongs")]
    CertificateInKeyField,
    #[error(
        "the private key is encrypted with a passphrase; remove it first (openssl pkey -in key.pem -out plain-key.pem)"
    )]
    EncryptedKey,
    #[error("unsupported PEM block \"{0}\" in the key field; expected PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY")]
    UnsupportedKeyBlock(String),
    #[error("the key field holds {0} private keys; paste exactly one")]
    SeveralKeys(usize),
    #[error("the private key could not be read: {0}")]
    BadKey(&'static str),
    #[error("the key does not match the certificate")]
    KeyMismatch,
    #[error("the certificate is not valid before {0}")]
    NotYetValid(String),
    #[error("the certificate expired on {0}")]
    Expired(String),
    #[error("the certificate does not cover {0}")]
    NameNotCovered(String),
    #[error("RSA keys are not generated here: the agent generates them with openssl genpkey")]
    RsaKeygen,
    #[error("a certificate request needs at least one name")]
    NoNames,
    #[error("\"{0}\" is not a valid DNS name for a certificate")]
    BadName(String),
    #[error("could not build the key or certificate request: {0}")]
    Crypto(String),
}

/// What a certificate says, as the panel shows and stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// DNS names (subject alternative names), lower-case, in certificate
    /// order; the subject CN only when there is no SAN extension at all.
    pub names: Vec<String>,
    /// Lower-case hex without separators or leading zero bytes (as `openssl x509 -serial`).
    pub serial_hex: String,
    /// The issuer's CN, else its full DN.
    pub issuer: String,
    /// The subject's CN, else its full DN.
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex; equals `key_spki_sha256` of its key.
    pub spki_sha256: String,
    pub ocsp_url: Option<String>,
    /// "ecdsa-p256", "ecdsa-p384", "rsa-<bits>", "ed25519" or "other".
    pub key_type: String,
    pub self_signed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    EcdsaP256,
    Rsa2048,
    Rsa4096,
}

fn pem_blocks(input: &str, what: &'static str) -> Result<Vec<pem::Pem>, InspectError> {
    if input.len() > MAX_PEM_BYTES {
        return Err(InspectError::TooLarge(what));
    }
    let blocks = pem::parse_many(input).map_err(|e| InspectError::BadPem(e.to_string()))?;
    // The parser stops silently at a block without its END line.
    if input.matches("-----BEGIN ").count() != blocks.len() {
        return Err(InspectError::BadPem("a block has no matching END line".into()));
    }
    Ok(blocks)
}

/// The DER of each CERTIFICATE block, in order.
/// DER certificates as one PEM chain, in the given order.
pub fn to_pem_chain(ders: &[Vec<u8>]) -> String {
    ders.iter()
        .map(|d| {
            let cfg = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
            pem::encode_config(&pem::Pem::new("CERTIFICATE", d.clone()), cfg)
        })
        .collect::<Vec<_>>()
        .join("")
}

pub fn parse_chain_pem(pem: &str) -> Result<Vec<Vec<u8>>, InspectError> {
    let blocks = pem_blocks(pem, "certificate chain")?;
    if blocks.is_empty() {
        return Err(InspectError::NotPemCertificate);
    }
    let mut ders = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block.tag() {
            "CERTIFICATE" => ders.push(block.into_contents()),
            tag if tag.ends_with("PRIVATE KEY") => return Err(InspectError::KeyInCertificateField),
            tag => return Err(InspectError::UnexpectedBlock(tag.to_owned())),
        }
    }
    if ders.len() > MAX_CHAIN_LEN {
        return Err(InspectError::TooManyCertificates(ders.len()));
    }
    Ok(ders)
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| format!("not X.509 ({e})"))?;
    if !rest.is_empty() {
        return Err("extra bytes after the certificate".into());
    }
    Ok(cert)
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

fn display_name(name: &X509Name<'_>) -> String {
    common_name(name).unwrap_or_else(|| name.to_string())
}

fn rsa_bits(modulus: &[u8]) -> usize {
    let start = modulus.iter().position(|b| *b != 0).unwrap_or(modulus.len());
    match modulus.get(start..) {
        Some([first, rest @ ..]) => rest.len() * 8 + (8 - first.leading_zeros() as usize),
        _ => 0,
    }
}

fn key_type(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION {
        match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("rsa-{}", rsa_bits(rsa.modulus)),
            _ => "other".into(),
        }
    } else if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        match spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()) {
            Some(curve) if curve == OID_EC_P256 => "ecdsa-p256".into(),
            Some(curve) if curve == OID_NIST_EC_P384 => "ecdsa-p384".into(),
            _ => "other".into(),
        }
    } else if *alg == OID_SIG_ED25519 {
        "ed25519".into()
    } else {
        "other".into()
    }
}

fn ocsp_url(cert: &X509Certificate<'_>) -> Option<String> {
    cert.extensions().iter().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::AuthorityInfoAccess(aia) => aia.accessdescs.iter().find_map(|d| match &d.access_location {
            GeneralName::URI(uri) if d.access_method == OID_PKIX_ACCESS_DESCRIPTOR_OCSP => Some((*uri).to_owned()),
            _ => None,
        }),
        _ => None,
    })
}

/// Issuer and subject name the same entity: the same bytes, or the same
/// text (CAs sometimes re-encode a name with another string type).
fn same_name(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || a.to_string().eq_ignore_ascii_case(&b.to_string())
}

fn cert_info(cert: &X509Certificate<'_>) -> Result<CertInfo, InspectError> {
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| InspectError::BadCertificate(format!("subject alternative names: {e}")))?;
    let names = match sans {
        Some(san) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        None => common_name(cert.subject())
            .map(|cn| cn.to_ascii_lowercase())
            .into_iter()
            .collect(),
    };
    let raw_serial = cert.raw_serial();
    let serial = raw_serial.get(raw_serial.iter().position(|b| *b != 0).unwrap_or(raw_serial.len())..);
    let serial_hex = match serial {
        Some(s) if !s.is_empty() => hex::encode(s),
        _ => "00".into(),
    };
    Ok(CertInfo {
        names,
        serial_hex,
        issuer: display_name(cert.issuer()),
        subject: display_name(cert.subject()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        spki_sha256: hex::encode(Sha256::digest(cert.public_key().raw)),
        ocsp_url: ocsp_url(cert),
        key_type: key_type(cert.public_key()),
        self_signed: same_name(cert.subject(), cert.issuer()) && cert.verify_signature(None).is_ok(),
    })
}

/// Read one certificate (DER).
pub fn inspect(der: &[u8]) -> Result<CertInfo, InspectError> {
    let cert = parse_cert(der).map_err(InspectError::BadCertificate)?;
    cert_info(&cert)
}

/// Read the first certificate of a PEM chain (the site's own).
pub fn inspect_pem_leaf(pem: &str) -> Result<CertInfo, InspectError> {
    let ders = parse_chain_pem(pem)?;
    let leaf = ders.first().ok_or(InspectError::NotPemCertificate)?;
    inspect(leaf)
}

/// Each certificate is issued and signed by the next one. Certificates are
/// numbered from 1 in messages, as a user counts them in the paste.
pub fn verify_chain(ders: &[Vec<u8>]) -> Result<(), InspectError> {
    if ders.is_empty() {
        return Err(InspectError::EmptyChain);
    }
    let certs = ders
        .iter()
        .enumerate()
        .map(|(i, der)| parse_cert(der).map_err(|reason| InspectError::BadChainCertificate { index: i + 1, reason }))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, pair) in certs.windows(2).enumerate() {
        let [cert, issuer] = pair else { continue };
        let (child, parent) = (i + 1, i + 2);
        if !same_name(cert.issuer(), issuer.subject()) {
            return Err(InspectError::NotIssuer {
                child,
                parent,
                issuer: display_name(cert.issuer()),
                subject: display_name(issuer.subject()),
            });
        }
        match cert.verify_signature(Some(issuer.public_key())) {
            Ok(()) => {}
            Err(X509Error::SignatureUnsupportedAlgorithm) => return Err(InspectError::UnsupportedSignature(child)),
            Err(_) => return Err(InspectError::BadSignature { child, parent }),
        }
    }
    Ok(())
}

/// A DER TLV with a definite length.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// AlgorithmIdentifier contents (without the SEQUENCE header).
const ALG_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
const ALG_EC_P256: &[u8] = &[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
];
const ALG_EC_P384: &[u8] = &[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
];

/// PKCS#8 PrivateKeyInfo (v1) around a PKCS#1 or SEC1 key.
fn wrap_pkcs8(alg: &[u8], key: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(der_tlv(0x30, alg));
    body.extend(der_tlv(0x04, key));
    der_tlv(0x30, &body)
}

fn pkcs8_key(der: Vec<u8>) -> Result<KeyPair, rcgen::Error> {
    KeyPair::try_from(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)))
}

const KEY_HELP: &str = "supported are unencrypted RSA (2048 to 8192 bits), ECDSA P-256 or P-384 (with its public key) \
                        and Ed25519 keys";

/// The one private key in a PEM text, loaded with ring.
fn load_key(key_pem: &str) -> Result<KeyPair, InspectError> {
    let blocks = pem_blocks(key_pem, "private key")?;
    let mut keys = Vec::new();
    for block in &blocks {
        match block.tag() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => keys.push(block),
            "ENCRYPTED PRIVATE KEY" => return Err(InspectError::EncryptedKey),
            // `openssl ecparam -genkey` writes the curve before the key.
            "EC PARAMETERS" => {}
            "CERTIFICATE" => return Err(InspectError::CertificateInKeyField),
            tag => return Err(InspectError::UnsupportedKeyBlock(tag.to_owned())),
        }
    }
    let key = match keys.as_slice() {
        [] => return Err(InspectError::NotPemKey),
        [one] => *one,
        several => return Err(InspectError::SeveralKeys(several.len())),
    };
    // Legacy OpenSSL encryption: "Proc-Type: 4,ENCRYPTED" and "DEK-Info" headers.
    if key.headers().get("Proc-Type").is_some_and(|v| v.contains("ENCRYPTED"))
        || key.headers().get("DEK-Info").is_some()
    {
        return Err(InspectError::EncryptedKey);
    }
    let der = key.contents();
    let loaded = match key.tag() {
        "RSA PRIVATE KEY" => pkcs8_key(wrap_pkcs8(ALG_RSA, der)).ok(),
        // ring refuses a curve that disagrees with the key's own parameters.
        "EC PRIVATE KEY" => KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(wrap_pkcs8(ALG_EC_P256, der)),
            &PKCS_ECDSA_P256_SHA256,
        )
        .or_else(|_| {
            KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(wrap_pkcs8(ALG_EC_P384, der)),
                &PKCS_ECDSA_P384_SHA384,
            )
        })
        .ok(),
        _ => pkcs8_key(der.to_vec()).ok(),
    };
    loaded.ok_or(InspectError::BadKey(KEY_HELP))
}

/// SHA-256 (hex) of the SubjectPublicKeyInfo of the key's public half: what
/// `CertInfo::spki_sha256` is for a certificate of this key.
pub fn key_spki_sha256(key_pem: &str) -> Result<String, InspectError> {
    let key = load_key(key_pem)?;
    Ok(hex::encode(Sha256::digest(key.subject_public_key_info())))
}

/// Whether a certificate with `cert_names` serves `name`: the same name
/// (any case), or a wildcard "*.example.com" for exactly one more label.
pub fn name_covered(cert_names: &[String], name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() {
        return false;
    }
    cert_names.iter().any(|cert_name| {
        let cert_name = cert_name.to_ascii_lowercase();
        if cert_name == name {
            return true;
        }
        match cert_name.strip_prefix("*.") {
            Some(base) if !base.is_empty() && !base.contains('*') => name
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && label != "*" && rest == base),
            _ => false,
        }
    })
}

fn utc_date(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => t.date().to_string(),
        Err(_) => format!("{unix} (unix time)"),
    }
}

fn utc_minute(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()),
        Err(_) => format!("{unix} (unix time)"),
    }
}

/// Everything a custom certificate must satisfy before it is installed:
/// a readable chain in order, the key of the leaf, valid at `now_unix`, and
/// covering every required name. Returns the leaf's details.
pub fn validate_custom(
    chain_pem: &str,
    key_pem: &str,
    required_names: &[String],
    now_unix: i64,
) -> Result<CertInfo, InspectError> {
    let ders = parse_chain_pem(chain_pem)?;
    let leaf = ders.first().ok_or(InspectError::NotPemCertificate)?;
    let info = inspect(leaf)?;
    verify_chain(&ders)?;
    if key_spki_sha256(key_pem)? != info.spki_sha256 {
        return Err(InspectError::KeyMismatch);
    }
    if now_unix < info.not_before {
        return Err(InspectError::NotYetValid(utc_minute(info.not_before)));
    }
    if now_unix > info.not_after {
        return Err(InspectError::Expired(utc_date(info.not_after)));
    }
    if let Some(missing) = required_names.iter().find(|n| !name_covered(&info.names, n)) {
        return Err(InspectError::NameNotCovered(missing.to_ascii_lowercase()));
    }
    Ok(info)
}

/// A new private key as PKCS#8 PEM. Only ECDSA P-256: ring cannot generate
/// RSA keys, which the agent makes with `openssl genpkey`.
pub fn generate_key_pem(kind: KeyKind) -> Result<String, InspectError> {
    match kind {
        KeyKind::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map(|k| k.serialize_pem())
            .map_err(|e| InspectError::Crypto(e.to_string())),
        KeyKind::Rsa2048 | KeyKind::Rsa4096 => Err(InspectError::RsaKeygen),
    }
}

fn valid_dns_name(name: &str) -> bool {
    let host = name.strip_prefix("*.").unwrap_or(name);
    name.len() <= 253
        && !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A PKCS#10 request (DER) for `names` as DNS SANs, the first also as CN
/// (when it fits the 64-character CN limit), signed by the key (RSA with SHA-256).
pub fn csr_der(names: &[String], key_pem: &str) -> Result<Vec<u8>, InspectError> {
    let mut unique: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.to_ascii_lowercase();
        if !valid_dns_name(&name) {
            return Err(InspectError::BadName(name));
        }
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    let first = unique.first().cloned().ok_or(InspectError::NoNames)?;
    let key = load_key(key_pem)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    if first.len() <= MAX_CN_LEN {
        params.distinguished_name.push(DnType::CommonName, first);
    }
    params.subject_alt_names = unique
        .into_iter()
        .map(|n| {
            n.clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|_| InspectError::BadName(n))
        })
        .collect::<Result<_, _>>()?;
    let csr = params
        .serialize_request(&key)
        .map_err(|e| InspectError::Crypto(e.to_string()))?;
    Ok(csr.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, IsCa, Issuer, KeyUsagePurpose, SerialNumber, date_time_ymd};
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::prelude::FromDer;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pem_of(der: &[u8]) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
    }

    fn params(cn: &str, ca: bool, sans: &[&str]) -> CertificateParams {
        let mut p = CertificateParams::new(names(sans)).unwrap();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        }
        p.not_before = date_time_ymd(2025, 1, 1);
        p.not_after = date_time_ymd(2030, 1, 1);
        p
    }

    struct Pki {
        root: Vec<u8>,
        inter: Vec<u8>,
        leaf: Vec<u8>,
        leaf_key: KeyPair,
        /// Another intermediate with the same name but its own key.
        impostor: Issuer<'static, KeyPair>,
    }

    /// Root (P-384) → intermediate (P-256) → leaf for shop.example.com,
    /// valid 2026-01-01 to 2026-04-01.
    fn pki() -> Pki {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let root_params = params("Test Root", true, &[]);
        let root = root_params.self_signed(&root_key).unwrap().der().to_vec();
        let root_issuer = Issuer::new(root_params, root_key);
        let inter_key = KeyPair::generate().unwrap();
        let inter_params = params("Test Intermediate", true, &[]);
        let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap().der().to_vec();
        let inter_issuer = Issuer::new(inter_params, inter_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params = params("shop.example.com", false, &["Shop.Example.com", "*.shop.example.com"]);
        leaf_params.not_before = date_time_ymd(2026, 1, 1);
        leaf_params.not_after = date_time_ymd(2026, 4, 1);
        leaf_params.serial_number = Some(SerialNumber::from_slice(&[0x8a, 0x01]));
        let leaf = leaf_params.signed_by(&leaf_key, &inter_issuer).unwrap().der().to_vec();
        let impostor = Issuer::new(params("Test Intermediate", true, &[]), KeyPair::generate().unwrap());
        Pki {
            root,
            inter,
            leaf,
            leaf_key,
            impostor,
        }
    }

    impl Pki {
        fn chain_pem(&self) -> String {
            [&self.leaf, &self.inter, &self.root]
                .iter()
                .map(|d| pem_of(d))
                .collect()
        }
        fn key_pem(&self) -> String {
            self.leaf_key.serialize_pem()
        }
    }

    fn jan(day: u8) -> i64 {
        date_time_ymd(2026, 1, day).unix_timestamp()
    }

    #[test]
    fn inspects_an_rcgen_chain() {
        let p = pki();
        let leaf = inspect(&p.leaf).unwrap();
        assert_eq!(leaf.names, names(&["shop.example.com", "*.shop.example.com"]));
        assert_eq!(leaf.serial_hex, "8a01");
        assert_eq!(leaf.issuer, "Test Intermediate");
        assert_eq!(leaf.subject, "shop.example.com");
        assert_eq!(leaf.not_before, jan(1));
        assert_eq!(leaf.not_after, date_time_ymd(2026, 4, 1).unix_timestamp());
        assert_eq!(
            leaf.spki_sha256,
            hex::encode(Sha256::digest(p.leaf_key.subject_public_key_info()))
        );
        assert_eq!(leaf.ocsp_url, None);
        assert_eq!(leaf.key_type, "ecdsa-p256");
        assert!(!leaf.self_signed);
        assert_eq!(inspect_pem_leaf(&p.chain_pem()).unwrap(), leaf);
        // Windows line ends and the text openssl puts before blocks are fine.
        let pasted = format!("subject=CN=shop.example.com\r\n{}", p.chain_pem().replace('\n', "\r\n"));
        assert_eq!(
            parse_chain_pem(&pasted).unwrap(),
            vec![p.leaf.clone(), p.inter.clone(), p.root.clone()]
        );
        let root = inspect(&p.root).unwrap();
        assert_eq!(root.key_type, "ecdsa-p384");
        assert!(root.self_signed);
        // No SAN extension: the CN stands in.
        assert_eq!(root.names, names(&["test root"]));
        assert!(!inspect(&p.inter).unwrap().self_signed);
    }

    #[test]
    fn inspects_an_openssl_rsa_certificate() {
        let info = inspect_pem_leaf(RSA_CERT).unwrap();
        // The IP address SAN is not a name.
        assert_eq!(info.names, names(&["shop.example.com", "*.shop.example.com"]));
        // DER serial 00 8a 1b…: printed as openssl does.
        assert_eq!(info.serial_hex, "8a1b2c3d4e5f");
        assert_eq!(info.issuer, "Shop.Example.com");
        assert_eq!(info.subject, "Shop.Example.com");
        assert_eq!((info.not_before, info.not_after), (1_795_663_793, 2_111_023_793));
        assert_eq!(info.spki_sha256, RSA_SPKI);
        assert_eq!(info.ocsp_url.as_deref(), Some("http://ocsp.example.net/"));
        assert_eq!(info.key_type, "rsa-2048");
        assert!(info.self_signed);
        let ok = validate_custom(RSA_CERT, RSA_PKCS1, &names(&["www.Shop.example.com"]), 1_795_663_800).unwrap();
        assert_eq!(ok, info);
    }

    #[test]
    fn chains_verify_in_order_only() {
        let p = pki();
        let (leaf, inter, root) = (p.leaf.clone(), p.inter.clone(), p.root.clone());
        verify_chain(&[leaf.clone(), inter.clone(), root.clone()]).unwrap();
        verify_chain(&[leaf.clone(), inter.clone()]).unwrap();
        verify_chain(std::slice::from_ref(&leaf)).unwrap();
        verify_chain(std::slice::from_ref(&root)).unwrap();
        assert!(matches!(verify_chain(&[]), Err(InspectError::EmptyChain)));

        let err = verify_chain(&[inter.clone(), leaf.clone()]).unwrap_err();
        assert!(
            matches!(
                err,
                InspectError::NotIssuer {
                    child: 1,
                    parent: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("\"Test Root\""), "{err}");
        let err = verify_chain(&[leaf.clone(), root.clone(), inter.clone()]).unwrap_err();
        assert!(
            matches!(
                err,
                InspectError::NotIssuer {
                    child: 1,
                    parent: 2,
                    ..
                }
            ),
            "{err}"
        );
        let err = verify_chain(&[leaf.clone(), inter.clone(), leaf.clone()]).unwrap_err();
        assert!(
            matches!(
                err,
                InspectError::NotIssuer {
                    child: 2,
                    parent: 3,
                    ..
                }
            ),
            "{err}"
        );

        // Same name, other key: the name matches, the signature does not.
        let impostor = params("Test Intermediate", true, &[])
            .signed_by(p.impostor.key(), &p.impostor)
            .unwrap()
            .der()
            .to_vec();
        let err = verify_chain(&[leaf.clone(), impostor]).unwrap_err();
        assert_eq!(err.to_string(), "certificate 2 did not sign certificate 1");

        // A changed signature, and a changed name under the signature.
        let mut bad_sig = leaf.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 0x01;
        assert!(matches!(
            verify_chain(&[bad_sig, inter.clone()]),
            Err(InspectError::BadSignature { child: 1, parent: 2 })
        ));
        let mut bad_tbs = leaf.clone();
        let at = bad_tbs.windows(4).position(|w| w == b"shop").unwrap();
        bad_tbs[at + 3] = b'q';
        assert!(matches!(
            verify_chain(&[bad_tbs, inter.clone()]),
            Err(InspectError::BadSignature { .. })
        ));
        let err = verify_chain(&[leaf, b"junk".to_vec()]).unwrap_err();
        assert!(
            matches!(err, InspectError::BadChainCertificate { index: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn keys_in_every_form_hash_like_their_certificate() {
        assert_eq!(key_spki_sha256(RSA_PKCS8).unwrap(), RSA_SPKI);
        assert_eq!(key_spki_sha256(RSA_PKCS1).unwrap(), RSA_SPKI);
        assert_eq!(key_spki_sha256(EC256_SEC1).unwrap(), EC256_SPKI);
        assert_eq!(key_spki_sha256(EC256_PKCS8).unwrap(), EC256_SPKI);
        let with_params = format!("{EC256_PARAMS}{EC256_SEC1}");
        assert_eq!(key_spki_sha256(&with_params).unwrap(), EC256_SPKI);
        assert_eq!(key_spki_sha256(EC384_SEC1).unwrap(), EC384_SPKI);
        assert_eq!(key_spki_sha256(ED25519_PKCS8).unwrap(), ED25519_SPKI);
        let p = pki();
        assert_eq!(
            key_spki_sha256(&p.key_pem()).unwrap(),
            inspect(&p.leaf).unwrap().spki_sha256
        );
    }

    #[test]
    fn the_key_must_be_the_leafs() {
        let p = pki();
        let all = names(&["shop.example.com"]);
        validate_custom(&p.chain_pem(), &p.key_pem(), &all, jan(2)).unwrap();
        let err = validate_custom(&p.chain_pem(), EC256_SEC1, &all, jan(2)).unwrap_err();
        assert_eq!(err.to_string(), "the key does not match the certificate");
        let err = validate_custom(RSA_CERT, EC256_PKCS8, &[], 1_795_663_800).unwrap_err();
        assert!(matches!(err, InspectError::KeyMismatch));
        // The CA's chain pasted with the certificates out of order.
        let wrong = [&p.inter, &p.leaf].iter().map(|d| pem_of(d)).collect::<String>();
        assert!(matches!(
            validate_custom(&wrong, &p.key_pem(), &all, jan(2)),
            Err(InspectError::NotIssuer { .. })
        ));
    }

    #[test]
    fn validity_and_names_are_checked() {
        let p = pki();
        let (chain, key) = (p.chain_pem(), p.key_pem());
        let check = |required: &[&str], now: i64| validate_custom(&chain, &key, &names(required), now);
        let info = check(
            &["SHOP.example.com", "www.shop.example.com", "a.shop.example.com."],
            jan(1),
        )
        .unwrap();
        assert_eq!(info.subject, "shop.example.com");
        let end = date_time_ymd(2026, 4, 1).unix_timestamp();
        check(&[], end).unwrap();
        let err = check(&[], jan(1) - 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the certificate is not valid before 2026-01-01 00:00 UTC"
        );
        let err = check(&[], end + 1).unwrap_err();
        assert_eq!(err.to_string(), "the certificate expired on 2026-04-01");
        let err = check(&["shop.example.com", "example.com"], jan(2)).unwrap_err();
        assert_eq!(err.to_string(), "the certificate does not cover example.com");
        assert!(matches!(
            check(&["a.b.shop.example.com"], jan(2)),
            Err(InspectError::NameNotCovered(_))
        ));
    }

    #[test]
    fn wildcards_cover_one_label() {
        let cert = names(&["Example.com", "*.example.com", "*.Shop.example.net"]);
        for yes in [
            "example.com",
            "EXAMPLE.COM",
            "a.example.com",
            "www.shop.example.net",
            "b.example.com.",
        ] {
            assert!(name_covered(&cert, yes), "{yes}");
        }
        for no in [
            "",
            ".",
            "a.b.example.com",
            "shop.example.net",
            "example.net",
            "xexample.com",
            ".example.com",
        ] {
            assert!(!name_covered(&cert, no), "{no}");
        }
        assert!(name_covered(&cert, "*.example.com"));
        assert!(!name_covered(&names(&["*."]), "a."));
        assert!(!name_covered(&names(&["*.*.example.com"]), "a.b.example.com"));
        assert!(!name_covered(&[], "example.com"));
    }

    #[test]
    fn garbage_certificates_are_refused() {
        let p = pki();
        assert!(matches!(parse_chain_pem(""), Err(InspectError::NotPemCertificate)));
        assert!(matches!(
            parse_chain_pem("hello, this is my certificate"),
            Err(InspectError::NotPemCertificate)
        ));
        let err = parse_chain_pem(EC256_PKCS8).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("a private key was pasted where the certificate belongs")
        );
        let err = parse_chain_pem(&format!("{}{RSA_PKCS1}", p.chain_pem())).unwrap_err();
        assert!(matches!(err, InspectError::KeyInCertificateField));
        assert!(matches!(parse_chain_pem(EC256_PARAMS), Err(InspectError::UnexpectedBlock(t)) if t == "EC PARAMETERS"));
        let huge = format!("{}{}", p.chain_pem(), "#".repeat(MAX_PEM_BYTES));
        assert_eq!(
            parse_chain_pem(&huge).unwrap_err().to_string(),
            "the certificate chain is larger than 64 KiB"
        );
        let eleven = pem_of(&p.leaf).repeat(11);
        assert!(matches!(
            parse_chain_pem(&eleven),
            Err(InspectError::TooManyCertificates(11))
        ));
        assert_eq!(parse_chain_pem(&pem_of(&p.leaf).repeat(10)).unwrap().len(), 10);
        let chain = p.chain_pem();
        let truncated = &chain[..chain.len() - 30];
        assert!(matches!(parse_chain_pem(truncated), Err(InspectError::BadPem(_))));
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(parse_chain_pem(bad_base64), Err(InspectError::BadPem(_))));
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            inspect_pem_leaf(not_der),
            Err(InspectError::BadCertificate(_))
        ));
        assert!(inspect(&[]).is_err());
        let mut trailing = p.leaf.clone();
        trailing.push(0);
        assert!(inspect(&trailing).is_err());
        // No panic on any truncation or single-byte change.
        for cut in 0..p.leaf.len() {
            assert!(inspect(&p.leaf[..cut]).is_err());
        }
        for at in 0..p.leaf.len() {
            let mut changed = p.leaf.clone();
            changed[at] ^= 0xff;
            let _ = inspect(&changed);
            let _ = verify_chain(&[changed, p.inter.clone()]);
        }
    }

    #[test]
    fn garbage_keys_are_refused() {
        assert!(matches!(key_spki_sha256(""), Err(InspectError::NotPemKey)));
        assert!(matches!(
            key_spki_sha256("my password is hunter2"),
            Err(InspectError::NotPemKey)
        ));
        assert!(matches!(key_spki_sha256(EC256_PARAMS), Err(InspectError::NotPemKey)));
        assert!(matches!(
            key_spki_sha256(RSA_CERT),
            Err(InspectError::CertificateInKeyField)
        ));
        let two = format!("{EC256_SEC1}{RSA_PKCS8}");
        assert_eq!(
            key_spki_sha256(&two).unwrap_err().to_string(),
            "the key field holds 2 private keys; paste exactly one"
        );
        let pkcs8_encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = key_spki_sha256(pkcs8_encrypted).unwrap_err();
        assert!(err.to_string().starts_with("the private key is encrypted"), "{err}");
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: AES-128-CBC,AF13551BA5CEDA3DCDC8DEF163143718\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(key_spki_sha256(legacy), Err(InspectError::EncryptedKey)));
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            key_spki_sha256(public),
            Err(InspectError::UnsupportedKeyBlock(_))
        ));
        // A key block of the wrong kind: a P-256 key labelled as RSA, RSA labelled as EC.
        let mislabelled = EC256_PKCS8.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        assert!(matches!(key_spki_sha256(&mislabelled), Err(InspectError::BadKey(_))));
        let mislabelled = RSA_PKCS1.replace("RSA PRIVATE KEY", "EC PRIVATE KEY");
        assert!(matches!(key_spki_sha256(&mislabelled), Err(InspectError::BadKey(_))));
        let huge = format!("{EC256_PKCS8}{}", " ".repeat(MAX_PEM_BYTES));
        assert!(matches!(
            key_spki_sha256(&huge),
            Err(InspectError::TooLarge("private key"))
        ));
        // The error never repeats the key.
        let err = key_spki_sha256(&EC256_SEC1.replace("MHcC", "MHcD")).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("AwEH"), "{err:?}");
    }

    fn check_csr(der: &[u8], expected_names: &[&str], key_pem: &str) -> String {
        let (rest, csr) = X509CertificationRequest::from_der(der).unwrap();
        assert!(rest.is_empty());
        csr.verify_signature().unwrap();
        let info = &csr.certification_request_info;
        let sans: Vec<String> = csr
            .requested_extensions()
            .unwrap()
            .filter_map(|e| match e {
                ParsedExtension::SubjectAlternativeName(san) => Some(san),
                _ => None,
            })
            .flat_map(|san| san.general_names.iter())
            .map(|g| match g {
                GeneralName::DNSName(d) => (*d).to_owned(),
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(sans, names(expected_names));
        assert_eq!(
            hex::encode(Sha256::digest(info.subject_pki.raw)),
            key_spki_sha256(key_pem).unwrap()
        );
        rcgen::CertificateSigningRequestParams::from_der(&der.to_vec().into()).unwrap();
        common_name(&info.subject).unwrap_or_default()
    }

    #[test]
    fn csrs_round_trip() {
        let ec = generate_key_pem(KeyKind::EcdsaP256).unwrap();
        assert!(ec.starts_with("-----BEGIN PRIVATE KEY-----"));
        let der = csr_der(
            &names(&["Shop.example.com", "www.shop.example.com", "shop.example.com"]),
            &ec,
        )
        .unwrap();
        let cn = check_csr(&der, &["shop.example.com", "www.shop.example.com"], &ec);
        assert_eq!(cn, "shop.example.com");

        for key in [RSA_PKCS1, RSA_PKCS8] {
            let der = csr_der(&names(&["*.example.org", "example.org"]), key).unwrap();
            assert_eq!(check_csr(&der, &["*.example.org", "example.org"], key), "*.example.org");
            let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
            assert_eq!(
                csr.signature_algorithm.algorithm.to_id_string(),
                "1.2.840.113549.1.1.11"
            );
        }
        let der = csr_der(&names(&["a.example.com"]), EC256_SEC1).unwrap();
        check_csr(&der, &["a.example.com"], EC256_SEC1);

        // A first name too long for a CN is only a SAN.
        let long = format!("{}.example.com", "a".repeat(60));
        let der = csr_der(std::slice::from_ref(&long), &ec).unwrap();
        assert_eq!(check_csr(&der, &[&long], &ec), "");

        assert!(matches!(csr_der(&[], &ec), Err(InspectError::NoNames)));
        for bad in ["", "a..b", "-a.com", "ex ample.com", "a.*.com", "é.com", "*"] {
            assert!(
                matches!(csr_der(&names(&[bad]), &ec), Err(InspectError::BadName(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            csr_der(&names(&["a.com"]), "nope"),
            Err(InspectError::NotPemKey)
        ));
        assert!(matches!(
            generate_key_pem(KeyKind::Rsa2048),
            Err(InspectError::RsaKeygen)
        ));
        assert!(matches!(
            generate_key_pem(KeyKind::Rsa4096),
            Err(InspectError::RsaKeygen)
        ));
    }

    // Test data made with OpenSSL 3.0 (`openssl genpkey`, `openssl rsa -traditional`,
    // `openssl ecparam -genkey -noout`, `openssl pkcs8 -topk8 -nocrypt`,
    // `openssl req -x509 -set_serial 0x8a1b2c3d4e5f` with SANs and an OCSP URL);
    // the hashes are `openssl pkey -pubout -outform DER | sha256sum`.
    const RSA_SPKI: &str = "3480378b45c33f08dca5810a1eb8c1258f5bd4cae0f4657eab901bfd44852f51";
    const EC256_SPKI: &str = "d8bde3400b3c02926d711c39ce27ec13c65cd9d07aea6ac4f8f0fbb4c13e1402";
    const EC384_SPKI: &str = "345a9420555ec2524019048c859ea5e7b6c5dbb62e3c9dbb46e019919e3138f6";
    const ED25519_SPKI: &str = "023aea2d350b900b7c8643c6f7452e0dac09d910aa26042a21e04c5ee4bcedcc";
    const EC256_PARAMS: &str = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";

    const RSA_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC4HGO71cfOWzNs\n\
eQ5FzvEIR03uBQDEtSMhBlYoGJ3LNHJis9FiqB7/X+PC30lrqUO/+H36Ko+/XDmF\n\
8+T6DAtT8YsP6YfuZg7E2mWYQVZysiNUAkCZQoaV7LRF0VOfWumEvG2vre/W9K6E\n\
wyNXwHpSDloOLjlYcBNDWcWWU40JSBLelqUquq6xYbmPNPwwCDEkuck9E2d44qgZ\n\
NU4tMq4IOxu3aAIKRigu6TycrUyc2od01i+5xpsfxJl7oK8DKqamK4MM0+2urfAy\n\
p2CKOhoJsxpkbMKZyxP/32SWeYPv2uQKocvp37qnaBJ54U5PFIbMkifJsRnBoki5\n\
haJa8SuZAgMBAAECggEAEQ0ECZHXctuMbCfb9Agh13/vDjOlahJSggz5rrX06yxc\n\
yZpYsnfagxEo4VPXk2J2NVG4rRIDBRhv9WFsm+HArNIKbHtWzPPju0R0s0Cd1np7\n\
/hxFSkxYdYsZ+PtVcMU1KkdfKy2DMFexz/bYj5hyW6YbngOW6QNcLVkjjPQI9Epx\n\
xe+Du3EsOfvDN8OTLA38LDlT+kzww24N4KL0+RUA//CNKwcuwaI1SJrCewSCo+TD\n\
Ha3rr7p0JzO4HKxSi1iVya4/avSi17Y4UZrt6pmxlL+BJi0q6jsCMTa4lNQ5BA7E\n\
ZY1Axml8TjJ3taSiCNFasENPQ7AEukcx2cwlOT2t5wKBgQDfqCimy0NFkw3QNcdf\n\
8472/5yR0zd8OU17gWkkEbX4LGMXlb7nJrwZph0QOtzG0dThVoVUdRpSPLkBYm21\n\
vE/eNQ7rwtx/3ms4MIs5V0QK4PqV8ZFek2rhQwqRipAT5TIIBGakdWLAA7PnyIMR\n\
qSQui1Yqo+AYIVmu6RijfUdgMwKBgQDSvDpBT7eJCmuQoGbNHXyyfcsmhAi1mnEp\n\
humEDO/KNkrnnaDY40mngEv9kuOfZjMNoD5zkS2bl3JI2a6BFUo2PceI4GR3xiKe\n\
tXDYiSBbMAOT4NKyu8l6XiUpRw3H2DlHew7f2cn8stAn54gMi9Bvzmz03B6N60eP\n\
4a1AxiHJAwKBgQCOct75ZOrCzGd23lnO3iSHYsRJCJsFTsXvzLu3kmQw3ax7YA/H\n\
z57sQyWtqZ/mLc0FfILNCQyrpis7G4K+xmKkJ20KcgDYnEPz9M8nxVH8D9DqYYJy\n\
Fzhyoq1/hx4+3bKg8pShWHZ9z53tGYOJYw49ateFrvxSwiMJyUK9FlS4iwKBgAp5\n\
EkgWpx9nZisc3Z8J/R19xO/YFfq4fzE6JDbM0cnx4s0Z91lwCkQJyz0B5NASKy1d\n\
Ll1d9K9L2oEmWFbP8Q07CsSRqkyNi0Dp8X7Bads+Sp85yB7b2Ep9jUk838FzzHzx\n\
765OS4yEcnXZOtisxiIYVy/gFKCm9bp/07VpY1pzAoGBAIEDOa/6lcZyUyf16F+q\n\
sfkZxDkPLUiNvyM02KtQxyWaSziueAIMbpqbmYqSZWH0UyN6WIoo9pZ3j8NuNX0V\n\
wVgUDHDy/Ga4X7Hghf0gtrtl3HQZqCGSa1ecVyhzXmpBYFUT8svWtVKDk3u6FfEW\n\
dHtr89sezTQtw8rTtEjJqYYw\n\
-----END PRIVATE KEY-----\n\
";

    const RSA_PKCS1: &str = "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEpAIBAAKCAQEAuBxju9XHzlszbHkORc7xCEdN7gUAxLUjIQZWKBidyzRyYrPR\n\
Yqge/1/jwt9Ja6lDv/h9+iqPv1w5hfPk+gwLU/GLD+mH7mYOxNplmEFWcrIjVAJA\n\
mUKGley0RdFTn1rphLxtr63v1vSuhMMjV8B6Ug5aDi45WHATQ1nFllONCUgS3pal\n\
KrqusWG5jzT8MAgxJLnJPRNneOKoGTVOLTKuCDsbt2gCCkYoLuk8nK1MnNqHdNYv\n\
ucabH8SZe6CvAyqmpiuDDNPtrq3wMqdgijoaCbMaZGzCmcsT/99klnmD79rkCqHL\n\
6d+6p2gSeeFOTxSGzJInybEZwaJIuYWiWvErmQIDAQABAoIBABENBAmR13LbjGwn\n\
2/QIIdd/7w4zpWoSUoIM+a619OssXMmaWLJ32oMRKOFT15NidjVRuK0SAwUYb/Vh\n\
bJvhwKzSCmx7Vszz47tEdLNAndZ6e/4cRUpMWHWLGfj7VXDFNSpHXystgzBXsc/2\n\
2I+YclumG54DlukDXC1ZI4z0CPRKccXvg7txLDn7wzfDkywN/Cw5U/pM8MNuDeCi\n\
9PkVAP/wjSsHLsGiNUiawnsEgqPkwx2t66+6dCczuBysUotYlcmuP2r0ote2OFGa\n\
7eqZsZS/gSYtKuo7AjE2uJTUOQQOxGWNQMZpfE4yd7WkogjRWrBDT0OwBLpHMdnM\n\
JTk9recCgYEA36gopstDRZMN0DXHX/OO9v+ckdM3fDlNe4FpJBG1+CxjF5W+5ya8\n\
GaYdEDrcxtHU4VaFVHUaUjy5AWJttbxP3jUO68Lcf95rODCLOVdECuD6lfGRXpNq\n\
4UMKkYqQE+UyCARmpHViwAOz58iDEakkLotWKqPgGCFZrukYo31HYDMCgYEA0rw6\n\
QU+3iQprkKBmzR18sn3LJoQItZpxKYbphAzvyjZK552g2ONJp4BL/ZLjn2YzDaA+\n\
c5Etm5dySNmugRVKNj3HiOBkd8YinrVw2IkgWzADk+DSsrvJel4lKUcNx9g5R3sO\n\
39nJ/LLQJ+eIDIvQb85s9NwejetHj+GtQMYhyQMCgYEAjnLe+WTqwsxndt5Zzt4k\n\
h2LESQibBU7F78y7t5JkMN2se2APx8+e7EMlramf5i3NBXyCzQkMq6YrOxuCvsZi\n\
pCdtCnIA2JxD8/TPJ8VR/A/Q6mGCchc4cqKtf4cePt2yoPKUoVh2fc+d7RmDiWMO\n\
PWrXha78UsIjCclCvRZUuIsCgYAKeRJIFqcfZ2YrHN2fCf0dfcTv2BX6uH8xOiQ2\n\
zNHJ8eLNGfdZcApECcs9AeTQEistXS5dXfSvS9qBJlhWz/ENOwrEkapMjYtA6fF+\n\
wWnbPkqfOcge29hKfY1JPN/Bc8x88e+uTkuMhHJ12TrYrMYiGFcv4BSgpvW6f9O1\n\
aWNacwKBgQCBAzmv+pXGclMn9ehfqrH5GcQ5Dy1Ijb8jNNirUMclmks4rngCDG6a\n\
m5mKkmVh9FMjeliKKPaWd4/DbjV9FcFYFAxw8vxmuF+x4IX9ILa7Zdx0GaghkmtX\n\
nFcoc15qQWBVE/LL1rVSg5N7uhXxFnR7a/PbHs00LcPK07RIyamGMA==\n\
-----END RSA PRIVATE KEY-----\n\
";

    const RSA_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIDzTCCArWgAwIBAgIHAIobLD1OXzANBgkqhkiG9w0BAQsFADAwMRkwFwYDVQQD\n\
DBBTaG9wLkV4YW1wbGUuY29tMRMwEQYDVQQKDApCZXJ0aCBUZXN0MB4XDTI2MTEy\n\
NjAzMjk1M1oXDTM2MTEyMzAzMjk1M1owMDEZMBcGA1UEAwwQU2hvcC5FeGFtcGxl\n\
LmNvbTETMBEGA1UECgwKQmVydGggVGVzdDCCASIwDQYJKoZIhvcNAQEBBQADggEP\n\
ADCCAQoCggEBALgcY7vVx85bM2x5DkXO8QhHTe4FAMS1IyEGVigYncs0cmKz0WKo\n\
Hv9f48LfSWupQ7/4ffoqj79cOYXz5PoMC1Pxiw/ph+5mDsTaZZhBVnKyI1QCQJlC\n\
hpXstEXRU59a6YS8ba+t79b0roTDI1fAelIOWg4uOVhwE0NZxZZTjQlIEt6WpSq6\n\
rrFhuY80/DAIMSS5yT0TZ3jiqBk1Ti0yrgg7G7doAgpGKC7pPJytTJzah3TWL7nG\n\
mx/EmXugrwMqpqYrgwzT7a6t8DKnYIo6GgmzGmRswpnLE//fZJZ5g+/a5Aqhy+nf\n\
uqdoEnnhTk8UhsySJ8mxGcGiSLmFolrxK5kCAwEAAaOB6zCB6DAdBgNVHQ4EFgQU\n\
y1dkmW9wLyciv+zk4UrZtmw3HiswHwYDVR0jBBgwFoAUy1dkmW9wLyciv+zk4UrZ\n\
tmw3HiswDwYDVR0TAQH/BAUwAwEB/zA1BgNVHREELjAsghBTaG9wLkV4YW1wbGUu\n\
Y29tghIqLnNob3AuZXhhbXBsZS5jb22HBH8AAAEwXgYIKwYBBQUHAQEEUjBQMCQG\n\
CCsGAQUFBzABhhhodHRwOi8vb2NzcC5leGFtcGxlLm5ldC8wKAYIKwYBBQUHMAKG\n\
HGh0dHA6Ly9jYS5leGFtcGxlLm5ldC9jYS5jcnQwDQYJKoZIhvcNAQELBQADggEB\n\
AKIWLCDplq6RftQC6ty1YY3f4j717Pq62u1qXkvcHMOI2N2FEVyxFXv3nfp+dr5J\n\
g4tADbSKA1OLHTUaGmcLTid6zWTnDCdX2iGb0FgXrsdfWTcvoOg8L3v9hXCi3ct0\n\
n2Pq64EiUHYB97x+Av5NRPKiNs0jZou7thXMXgE8PDSHFmjCthWhhRyWb+ArQPSS\n\
7Uw8ZUaNa5HN0/zdb7tTDNvvf8CVh3ItTDIeFJ3A9klu8eJ5WmqcBPM4oe5RydLF\n\
JwRO3VIZWV4Vei181exC7SfXh5UDKcaaa+XZlSgUJwUHEMhPwAP5Uk7J80qCHDHf\n\
u7yk2R9VSpSDgfUwZRVHuls=\n\
-----END CERTIFICATE-----\n\
";

    const EC256_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
MHcCAQEEIKafafw1bzGa+/B+lZpos9sHAOODZPEGhtZQETmxKCBkoAoGCCqGSM49\n\
AwEHoUQDQgAEjm5rXqblm5nyHVfc3XoA8sFjUpt9/TwlTkwCrstZL71XyAMacXgn\n\
N3l4MxcsLqom0msXwSMevh21PsDnWDPolA==\n\
-----END EC PRIVATE KEY-----\n\
";

    const EC256_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpp9p/DVvMZr78H6V\n\
mmiz2wcA44Nk8QaG1lARObEoIGShRANCAASObmtepuWbmfIdV9zdegDywWNSm339\n\
PCVOTAKuy1kvvVfIAxpxeCc3eXgzFywuqibSaxfBIx6+HbU+wOdYM+iU\n\
-----END PRIVATE KEY-----\n\
";

    const EC384_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
MIGkAgEBBDCrG7HfD9v6dLYgTkJt3chZj97qK9902OtA7CQkKey0Th/qlLuG4Drg\n\
YsRulENZZhKgBwYFK4EEACKhZANiAAQzGR85tJmv1t04v1V3nC79jvkgXx3bN3jS\n\
yhNBfJMvhGImiQzkhd5kRtc9ccOBKm41lBB9jvkLomcS+86lsMsDRcov92hNys6b\n\
krQx+1W0ADk4vxXi8yxo2z3M6ZYaIms=\n\
-----END EC PRIVATE KEY-----\n\
";

    const ED25519_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIKspAZMX/e0Pn79tWqUXUVFG4n+rsw+PrbIr2rSG3lxf\n\
-----END PRIVATE KEY-----\n\
";
}
