//! Sites' TLS on this node: private keys (made here, never sent away),
//! certificate chains as content-addressed files, and ACME http-01
//! challenge files that nginx serves for every site.
//!
//! Keys and chains are never rewritten: a key is `keys/<spki-sha256>.key`
//! and a chain `certs/<sha256>.pem`, so a server block names a matching
//! pair whatever revision is live, and `nginx -t` on a staged revision
//! checks the very files it will use.

use berth_pki::inspect::{self, KeyKind};
use berth_proto::api::certificates::KeyType;
use berth_proto::{AbsPath, DomainName};
use berth_sys::fsx;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct CertsConfig {
    /// Where sites with a certificate listen for HTTPS (none: no HTTPS here).
    pub https_listen: Vec<SocketAddr>,
    /// Challenge files (`.well-known/acme-challenge/` under it); every
    /// ancestor must be traversable by nginx's workers.
    pub acme_root: AbsPath,
    /// Keys and chains (kept 0700).
    pub dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not make an RSA key: {0}")]
    KeyGen(String),
}

impl CertError {
    pub fn retryable(&self) -> bool {
        matches!(self, CertError::Io { .. } | CertError::KeyGen(_))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
    move |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One ACME http-01 challenge: the file `token` holding `key_authorization`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChallengeFile {
    pub token: String,
    pub key_authorization: String,
}

/// `POST /v1/certs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CertRequest {
    /// Before ordering: does each name's challenge path answer here?
    Preflight {
        names: Vec<DomainName>,
    },
    PutChallenges {
        challenges: Vec<ChallengeFile>,
    },
    RemoveChallenges {
        tokens: Vec<String>,
    },
    /// Make a key for an order and answer its CSR.
    NewKey {
        key_type: KeyType,
        names: Vec<String>,
    },
    /// Keep an uploaded key (already checked against its certificate).
    PutKey {
        key_pem: String,
    },
    /// Delete keys and chains no kept nginx revision names, older than
    /// `min_age_s` (a key made for an order in flight is younger).
    Prune {
        min_age_s: u64,
    },
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PreflightResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CertReply {
    #[serde(default)]
    pub preflight: Vec<PreflightResult>,
    /// DER, base64 (standard).
    #[serde(default)]
    pub csr: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    /// Files `Prune` deleted.
    #[serde(default)]
    pub pruned: Vec<String>,
}

/// Tokens are base64url (RFC 8555 §8.3); anything else could name a path.
fn token_ok(t: &str) -> bool {
    !t.is_empty() && t.len() <= 256 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn key_auth_ok(token: &str, ka: &str) -> bool {
    ka.strip_prefix(token)
        .and_then(|r| r.strip_prefix('.'))
        .is_some_and(token_ok)
}

pub struct Certs {
    cfg: CertsConfig,
    web: Option<SocketAddr>,
    /// The nginx store's revision trees: what `Prune` must keep.
    revs: PathBuf,
}

impl Certs {
    /// Make the directories: the challenge tree readable by nginx's
    /// workers, the key store by root only.
    /// `revs`: the nginx store's revision trees (the files they name stay).
    pub fn open(cfg: CertsConfig, web: Option<SocketAddr>, revs: PathBuf) -> Result<Certs, CertError> {
        let chal = Path::new(cfg.acme_root.as_str()).join(".well-known/acme-challenge");
        std::fs::create_dir_all(&chal).map_err(io(&chal))?;
        let mut p = chal.clone();
        loop {
            set_mode(&p, 0o755)?;
            if p == Path::new(cfg.acme_root.as_str()) {
                break;
            }
            if !p.pop() {
                break;
            }
        }
        for d in [cfg.dir.clone(), cfg.dir.join("keys"), cfg.dir.join("certs")] {
            std::fs::create_dir_all(&d).map_err(io(&d))?;
            set_mode(&d, 0o700)?;
        }
        Ok(Certs { cfg, web, revs })
    }

    pub fn config(&self) -> &CertsConfig {
        &self.cfg
    }

    fn challenge_dir(&self) -> PathBuf {
        Path::new(self.cfg.acme_root.as_str()).join(".well-known/acme-challenge")
    }

    pub async fn handle(&self, req: CertRequest) -> Result<CertReply, CertError> {
        match req {
            CertRequest::Preflight { names } => Ok(CertReply {
                preflight: self.preflight(&names).await?,
                ..CertReply::default()
            }),
            CertRequest::PutChallenges { challenges } => {
                for c in &challenges {
                    if !token_ok(&c.token) || !key_auth_ok(&c.token, &c.key_authorization) {
                        return Err(CertError::Invalid(format!("not an ACME token: {:?}", c.token)));
                    }
                }
                for c in &challenges {
                    let p = self.challenge_dir().join(&c.token);
                    fsx::write_atomic(&p, c.key_authorization.as_bytes(), 0o644).map_err(io(&p))?;
                }
                Ok(CertReply::default())
            }
            CertRequest::RemoveChallenges { tokens } => {
                for t in tokens.iter().filter(|t| token_ok(t)) {
                    let p = self.challenge_dir().join(t);
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(&p)(e)),
                    }
                }
                Ok(CertReply::default())
            }
            CertRequest::NewKey { key_type, names } => {
                let pem = generate_key(key_type).await?;
                let csr = inspect::csr_der(&names, &pem).map_err(|e| CertError::Invalid(e.to_string()))?;
                let id = self.keep_key(&pem)?;
                use base64::Engine as _;
                Ok(CertReply {
                    csr: Some(base64::engine::general_purpose::STANDARD.encode(csr)),
                    key_id: Some(id),
                    ..CertReply::default()
                })
            }
            CertRequest::PutKey { key_pem } => Ok(CertReply {
                key_id: Some(self.keep_key(&key_pem)?),
                ..CertReply::default()
            }),
            CertRequest::Prune { min_age_s } => Ok(CertReply {
                pruned: self.prune(Duration::from_secs(min_age_s))?,
                ..CertReply::default()
            }),
        }
    }

    /// Key and chain paths named by the revision trees kept on disk (live
    /// and the ones a rollback reaches without a rebuild).
    fn referenced(&self) -> Result<std::collections::HashSet<PathBuf>, CertError> {
        let mut out = std::collections::HashSet::new();
        let mut stack = vec![self.revs.clone()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "conf") {
                    let text = std::fs::read_to_string(&p).map_err(io(&p))?;
                    out.extend(
                        text.split_whitespace()
                            .map(|w| PathBuf::from(w.trim_end_matches(';')))
                            .filter(|w| w.starts_with(&self.cfg.dir)),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Delete key and chain files no kept revision names, once they are
    /// older than `min_age` (a key made for an order in flight is younger).
    fn prune(&self, min_age: Duration) -> Result<Vec<String>, CertError> {
        let referenced = self.referenced()?;
        let mut gone = Vec::new();
        for sub in ["keys", "certs"] {
            let dir = self.cfg.dir.join(sub);
            for e in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
                let p = e.path();
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= min_age);
                if old && !referenced.contains(&p) {
                    std::fs::remove_file(&p).map_err(io(&p))?;
                    gone.push(p.display().to_string());
                }
            }
        }
        Ok(gone)
    }

    /// Store a key under the hash of its public key; answers that hash.
    fn keep_key(&self, pem: &str) -> Result<String, CertError> {
        let id = inspect::key_spki_sha256(pem).map_err(|e| CertError::Invalid(e.to_string()))?;
        let p = self.cfg.dir.join("keys").join(format!("{id}.key"));
        if !p.exists() {
            fsx::write_atomic(&p, pem.as_bytes(), 0o600).map_err(io(&p))?;
        }
        Ok(id)
    }

    /// The files a server block uses for this chain: the chain written (once)
    /// under its hash, and the key this node made or was given for it.
    pub fn files_for(&self, chain_pem: &str) -> Result<(AbsPath, AbsPath, bool), CertError> {
        let leaf = inspect::inspect_pem_leaf(chain_pem).map_err(|e| CertError::Invalid(e.to_string()))?;
        let key = self.cfg.dir.join("keys").join(format!("{}.key", leaf.spki_sha256));
        if !key.exists() {
            return Err(CertError::Invalid(format!(
                "the key of the certificate for {} is not on this node (keys never leave the node that made them; \
                 order or upload the certificate again)",
                leaf.names.first().map_or("this site", String::as_str)
            )));
        }
        let chain = self
            .cfg
            .dir
            .join("certs")
            .join(format!("{}.pem", fsx::sha256_hex(chain_pem.as_bytes())));
        if !chain.exists() {
            fsx::write_atomic(&chain, chain_pem.as_bytes(), 0o644).map_err(io(&chain))?;
        }
        let abs = |p: &Path| AbsPath::parse(&p.display().to_string()).map_err(|e| CertError::Invalid(e.to_string()));
        Ok((abs(&chain)?, abs(&key)?, leaf.ocsp_url.is_some()))
    }

    /// For each name: a probe file is fetched through nginx on this node
    /// with the name as Host. What answers here is what the ACME server
    /// will see once the name resolves to this node.
    async fn preflight(&self, names: &[DomainName]) -> Result<Vec<PreflightResult>, CertError> {
        let token = format!("berth-preflight-{}", uuid::Uuid::new_v4().simple());
        let body = format!("{token}.ok");
        let p = self.challenge_dir().join(&token);
        fsx::write_atomic(&p, body.as_bytes(), 0o644).map_err(io(&p))?;
        let mut out = Vec::new();
        for n in names {
            let r = match self.web {
                None => PreflightResult {
                    name: n.to_string(),
                    ok: false,
                    detail: "this node serves no plain HTTP".into(),
                },
                Some(addr) => {
                    let path = format!("/.well-known/acme-challenge/{token}");
                    match crate::health::fetch(addr, n, &path, Duration::from_secs(5)).await {
                        Ok((200, got)) if got.trim() == body => PreflightResult {
                            name: n.to_string(),
                            ok: true,
                            detail: "the challenge path answers".into(),
                        },
                        Ok((status, got)) => PreflightResult {
                            name: n.to_string(),
                            ok: false,
                            detail: format!(
                                "http://{n}{path} answered {status} {:?} instead of the probe (is the site applied on \
                                 this node?)",
                                got.chars().take(80).collect::<String>()
                            ),
                        },
                        Err(e) => PreflightResult {
                            name: n.to_string(),
                            ok: false,
                            detail: format!("nginx on this node did not answer: {e}"),
                        },
                    }
                }
            };
            out.push(r);
        }
        let _ = std::fs::remove_file(&p);
        Ok(out)
    }
}

fn set_mode(p: &Path, mode: u32) -> Result<(), CertError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(io(p))
}

/// ECDSA keys are made in-process; ring cannot make RSA keys, so those come
/// from `openssl genpkey` (its output never touches the disk unencrypted
/// elsewhere: it is read from stdout).
async fn generate_key(t: KeyType) -> Result<String, CertError> {
    let bits = match t {
        KeyType::EcdsaP256 => {
            return inspect::generate_key_pem(KeyKind::EcdsaP256).map_err(|e| CertError::KeyGen(e.to_string()));
        }
        KeyType::Rsa2048 => 2048,
        KeyType::Rsa4096 => 4096,
        KeyType::Other => return Err(CertError::Invalid("choose ecdsa-p256, rsa-2048 or rsa-4096".into())),
    };
    let out = berth_sys::Cmd::new("/usr/bin/openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .timeout(Duration::from_secs(120))
        .run()
        .await
        .map_err(|e| CertError::KeyGen(e.to_string()))?;
    if !out.success() || !out.stdout.contains("PRIVATE KEY") {
        return Err(CertError::KeyGen(out.stderr));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(token_ok("abc-DEF_123"));
        for bad in ["", "../x", "a/b", "a.b", "a b", "a\n"] {
            assert!(!token_ok(bad), "{bad:?}");
        }
        assert!(key_auth_ok("tok", "tok.thumb-print_1"));
        assert!(!key_auth_ok("tok", "tok.thumb/print"));
        assert!(!key_auth_ok("tok", "other.thumb"));
        assert!(!key_auth_ok("tok", "tok."));
    }
}
