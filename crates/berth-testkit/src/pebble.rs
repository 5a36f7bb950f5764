//! A real ACME server for the certificate tests: Let's Encrypt's `pebble`
//! (Debian package `pebble` 2.4) on free loopback ports with a private
//! directory, stopped when dropped (recipe from
//! shared/research/services-probe.md §5). The package ships no TLS
//! certificate for pebble's own listener, so a throwaway CA and a
//! `localhost`/127.0.0.1 leaf are generated here with rcgen. Pebble's
//! issuing root is regenerated at every start: fetch it with `root_pem()`.

#![allow(clippy::disallowed_methods)] // a test harness starts its servers directly

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PEBBLE: &str = "/usr/bin/pebble";
const CURL: &str = "/usr/bin/curl";

pub struct Pebble {
    /// The ACME API on 127.0.0.1 (directory at `/dir`).
    pub acme_port: u16,
    /// The management API on 127.0.0.1 (`/roots/0`, `/intermediates/0`, …).
    pub management_port: u16,
    /// The port pebble's VA connects to for http-01.
    pub http_port: u16,
    /// The port pebble's VA connects to for tls-alpn-01 (free, nothing listens).
    pub tls_port: u16,
    root: OnceLock<String>,
    child: Child,
    dir: tempfile::TempDir,
}

/// `n` distinct free TCP ports on 127.0.0.1 (all bound at once, so none repeats).
fn free_ports<const N: usize>() -> anyhow::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ports = [0u16; N];
    for (port, l) in ports.iter_mut().zip(&listeners) {
        *port = l.local_addr()?.port();
    }
    Ok(ports)
}

/// A CA and a leaf for `localhost` + 127.0.0.1 signed by it:
/// (CA PEM, leaf certificate PEM, leaf private key PEM).
fn listener_cert() -> anyhow::Result<(String, String, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "Berth test pebble listener CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    let leaf_pem = leaf.signed_by(&leaf_key, &issuer)?.pem();
    Ok((ca_pem, leaf_pem, leaf_key.serialize_pem()))
}

/// `curl -sf --cacert <ca> <url>`: the body, or an error with curl's stderr.
fn curl_get(ca: &Path, url: &str) -> anyhow::Result<String> {
    let out = Command::new(CURL)
        .args(["-sS", "-f", "--max-time", "5", "--cacert"])
        .arg(ca)
        .arg(url)
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8(out.stdout)?)
}

impl Pebble {
    /// Start pebble: the ACME and management listeners on free 127.0.0.1
    /// ports; `http_port` is where its VA connects for http-01 (the test
    /// nginx's port); `dns_server` is passed as `-dnsserver`, so names are
    /// resolved there (only at validation time). Env: `PEBBLE_VA_NOSLEEP=1`,
    /// `PEBBLE_WFE_NONCEREJECT=0`. Returns once the directory answers.
    pub fn start(http_port: u16, dns_server: SocketAddr) -> anyhow::Result<Pebble> {
        Self::start_with_env(http_port, dns_server, &[])
    }

    /// As `start`, with extra environment variables (e.g.
    /// `("PEBBLE_VA_ALWAYS_VALID", "1")`); later ones override the defaults.
    pub fn start_with_env(http_port: u16, dns_server: SocketAddr, env: &[(&str, &str)]) -> anyhow::Result<Pebble> {
        Self::start_inner(http_port, dns_server, env, None)
    }

    /// As `start`, for a CA that requires External Account Binding: only
    /// accounts bound with key id `kid` and the HMAC key `hmac_b64url`
    /// (base64url) are accepted.
    pub fn start_with_eab(
        http_port: u16,
        dns_server: SocketAddr,
        kid: &str,
        hmac_b64url: &str,
    ) -> anyhow::Result<Pebble> {
        Self::start_inner(http_port, dns_server, &[], Some((kid, hmac_b64url)))
    }

    fn start_inner(
        http_port: u16,
        dns_server: SocketAddr,
        env: &[(&str, &str)],
        eab: Option<(&str, &str)>,
    ) -> anyhow::Result<Pebble> {
        anyhow::ensure!(
            Path::new(PEBBLE).exists() && Path::new(CURL).exists(),
            "pebble and curl are not installed (apt-get install pebble curl)"
        );
        let dir = tempfile::Builder::new().prefix("berth-pebble-").tempdir()?;
        let d = dir.path();
        let (ca_pem, cert_pem, key_pem) = listener_cert()?;
        std::fs::write(d.join("listener-ca.pem"), ca_pem)?;
        std::fs::write(d.join("cert.pem"), cert_pem)?;
        std::fs::write(d.join("key.pem"), key_pem)?;
        let [acme_port, management_port, tls_port] = free_ports::<3>()?;
        let mut config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{acme_port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": d.join("cert.pem"),
                "privateKey": d.join("key.pem"),
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
            }
        });
        if let Some((kid, key)) = eab {
            config["pebble"]["externalAccountBindingRequired"] = true.into();
            config["pebble"]["externalAccountMACKeys"] = serde_json::json!({ kid: key });
        }
        std::fs::write(d.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
        let log = std::fs::File::create(d.join("pebble.log"))?;
        let child = Command::new(PEBBLE)
            .arg("-config")
            .arg(d.join("config.json"))
            .arg("-dnsserver")
            .arg(dns_server.to_string())
            .current_dir(d)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut server = Pebble {
            acme_port,
            management_port,
            http_port,
            tls_port,
            root: OnceLock::new(),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = TcpStream::connect(("127.0.0.1", management_port)).is_ok()
                && curl_get(&server.listener_ca_path(), &server.directory_url()).is_ok();
            if ready {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("pebble exited ({status}): {}", server.log());
            }
            if Instant::now() > deadline {
                anyhow::bail!("pebble did not start within 20 s: {}", server.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `https://127.0.0.1:<acme_port>/dir`.
    pub fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// PEM of the CA that signed pebble's own TLS listener certificate: an
    /// ACME client trusts this to talk to pebble (not to verify issued certs).
    pub fn listener_ca_path(&self) -> PathBuf {
        self.dir.path().join("listener-ca.pem")
    }

    /// Pebble's issuing root (PEM), from the management port's `/roots/0`;
    /// fetched once per server, since it is regenerated at every start.
    pub fn root_pem(&self) -> anyhow::Result<String> {
        if let Some(pem) = self.root.get() {
            return Ok(pem.clone());
        }
        let url = format!("https://127.0.0.1:{}/roots/0", self.management_port);
        let pem = curl_get(&self.listener_ca_path(), &url)?;
        anyhow::ensure!(
            pem.contains("BEGIN CERTIFICATE"),
            "{url} returned no certificate: {pem}"
        );
        Ok(self.root.get_or_init(|| pem).clone())
    }

    /// `root_pem()` written to `root.pem` in the server's directory (for
    /// `curl --cacert` against a site serving a pebble-issued certificate).
    pub fn root_path(&self) -> anyhow::Result<PathBuf> {
        let path = self.dir.path().join("root.pem");
        if !path.exists() {
            // Written beside and renamed, so a concurrent reader never sees half a file.
            let tmp = tempfile::NamedTempFile::new_in(self.dir.path())?;
            std::fs::write(tmp.path(), self.root_pem()?)?;
            tmp.persist(&path)?;
        }
        Ok(path)
    }

    /// Pebble's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
