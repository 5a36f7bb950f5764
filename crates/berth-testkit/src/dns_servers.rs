//! Real DNS servers for the DNS module's tests: PowerDNS Authoritative with
//! its SQLite backend and HTTP API, from Debian's packages, with a private
//! directory and free loopback ports, stopped when dropped (recipe from
//! shared/research/services-probe.md §4.1). Needs root (pdns_server drops
//! to the `pdns` user). Answers are checked with the real `dig`.

#![allow(clippy::disallowed_methods)] // a test harness starts its servers directly

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port for both UDP and TCP on 127.0.0.1 (DNS listens on both).
fn free_dns_port() -> anyhow::Result<u16> {
    for _ in 0..50 {
        let t = TcpListener::bind("127.0.0.1:0")?;
        let port = t.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no port free for both UDP and TCP")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct PowerDnsServer {
    /// DNS (UDP and TCP) on 127.0.0.1.
    pub dns_port: u16,
    /// `http://127.0.0.1:<port>` (the API is under `/api/v1`).
    pub api_url: String,
    pub api_key: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl PowerDnsServer {
    pub fn start() -> anyhow::Result<PowerDnsServer> {
        let schema = Path::new("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql");
        anyhow::ensure!(
            Path::new("/usr/sbin/pdns_server").exists() && schema.exists(),
            "pdns-server and pdns-backend-sqlite3 are not installed (scripts/test installs them)"
        );
        let dir = tempfile::Builder::new().prefix("berth-pdns-").tempdir()?;
        let d = dir.path();
        std::fs::create_dir_all(d.join("run"))?;
        let db = d.join("pdns.sqlite3");
        let out = Command::new("/usr/bin/sqlite3")
            .arg(&db)
            .stdin(std::fs::File::open(schema)?)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "sqlite3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The directory too: SQLite writes its journal beside the file.
        let out = Command::new("/bin/chown").args(["-R", "pdns:pdns"]).arg(d).output()?;
        anyhow::ensure!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
        let dns_port = free_dns_port()?;
        let api_port = free_port()?;
        let api_key = format!("k{}", uuid::Uuid::new_v4().simple());
        std::fs::write(
            d.join("pdns.conf"),
            format!(
                "launch=gsqlite3\ngsqlite3-database={}\ngsqlite3-dnssec=yes\nlocal-address=127.0.0.1\nlocal-port={dns_port}\n\
                 socket-dir={}\napi=yes\napi-key={api_key}\nwebserver=yes\nwebserver-address=127.0.0.1\n\
                 webserver-port={api_port}\nwebserver-allow-from=127.0.0.0/8\nsetuid=pdns\nsetgid=pdns\n\
                 daemon=no\nguardian=no\ndisable-syslog=yes\nloglevel=4\n",
                db.display(),
                d.join("run").display()
            ),
        )?;
        let log = std::fs::File::create(d.join("pdns.log"))?;
        let child = Command::new("/usr/sbin/pdns_server")
            .arg(format!("--config-dir={}", d.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let server = PowerDnsServer {
            dns_port,
            api_url: format!("http://127.0.0.1:{api_port}"),
            api_key,
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", api_port)).is_err() {
            if Instant::now() > deadline {
                anyhow::bail!("pdns_server did not start: {}", server.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pdns.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// `dig +short` against this server: the answers, one per line.
    pub fn dig(&self, name: &str, rtype: &str) -> Vec<String> {
        dig(self.dns_port, name, rtype, &["+short"])
    }
}

/// `dig @127.0.0.1 -p <port> <name> <type> <flags…>`: stdout lines.
pub fn dig(port: u16, name: &str, rtype: &str, flags: &[&str]) -> Vec<String> {
    match Command::new("/usr/bin/dig")
        .args(["@127.0.0.1", "-p", &port.to_string(), "+time=2", "+tries=2"])
        .args([name, rtype])
        .args(flags)
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect(),
        Err(_) => Vec::new(),
    }
}

impl Drop for PowerDnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// BIND 9 (`named -g`, as root) with a private directory, a free DNS port
/// and a private rndc key and control port; `allow-new-zones` so zones can
/// be added with `rndc addzone` (shared/research/services-probe.md §4.2).
pub struct BindServer {
    pub dns_port: u16,
    /// `rndc -c <this>` reaches this server.
    pub rndc_conf: PathBuf,
    /// Where zone files go (the server's directory).
    pub zones_dir: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

impl BindServer {
    pub fn start() -> anyhow::Result<BindServer> {
        anyhow::ensure!(
            Path::new("/usr/sbin/named").exists() && Path::new("/usr/sbin/rndc-confgen").exists(),
            "bind9 is not installed (scripts/test installs it)"
        );
        let dir = tempfile::Builder::new().prefix("berth-bind-").tempdir()?;
        let d = dir.path();
        for sub in ["zones", "run"] {
            std::fs::create_dir_all(d.join(sub))?;
        }
        let key = d.join("rndc.key");
        let out = Command::new("/usr/sbin/rndc-confgen")
            .args(["-a", "-k", "berth-test", "-c"])
            .arg(&key)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "rndc-confgen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dns_port = free_dns_port()?;
        let ctl_port = free_port()?;
        let rndc_conf = d.join("rndc.conf");
        std::fs::write(
            &rndc_conf,
            format!(
                "include \"{}\";\noptions {{ default-key \"berth-test\"; default-server 127.0.0.1; default-port {ctl_port}; }};\n",
                key.display()
            ),
        )?;
        std::fs::write(
            d.join("named.conf"),
            format!(
                "include \"{key}\";\ncontrols {{ inet 127.0.0.1 port {ctl_port} allow {{ 127.0.0.1; }} keys {{ \"berth-test\"; }}; }};\n\
                 options {{ directory \"{dir}\"; pid-file \"{dir}/run/named.pid\"; session-keyfile \"{dir}/run/session.key\";\n\
                 managed-keys-directory \"{dir}/run\"; listen-on port {dns_port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
                 recursion no; dnssec-validation no; allow-new-zones yes; }};\n",
                key = key.display(),
                dir = d.display()
            ),
        )?;
        let log = std::fs::File::create(d.join("named.log"))?;
        let child = Command::new("/usr/sbin/named")
            .arg("-c")
            .arg(d.join("named.conf"))
            .arg("-g")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let server = BindServer {
            dns_port,
            rndc_conf,
            zones_dir: d.join("zones"),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = Command::new("/usr/sbin/rndc")
                .arg("-c")
                .arg(&server.rndc_conf)
                .arg("status")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(server);
            }
            if Instant::now() > deadline {
                anyhow::bail!("named did not start: {}", server.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }

    pub fn dig(&self, name: &str, rtype: &str) -> Vec<String> {
        dig(self.dns_port, name, rtype, &["+short"])
    }
}

impl Drop for BindServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
