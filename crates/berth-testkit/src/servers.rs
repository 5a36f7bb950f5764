//! Real database servers for the database module's tests: MariaDB and
//! PostgreSQL from Debian's packages, each with a private data directory in
//! a temp dir and a free loopback port, stopped when dropped (recipes from
//! shared/research/services-probe.md §3). Both need root (the servers run
//! as their own OS users).

#![allow(clippy::disallowed_methods)] // a test harness starts its servers directly

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn chown_r(dir: &Path, user: &str) -> anyhow::Result<()> {
    run(
        Command::new("/bin/chown")
            .arg("-R")
            .arg(format!("{user}:{user}"))
            .arg(dir),
        "chown",
    )
}

/// A temp dir every user can traverse (the servers run as their own users).
fn open_tempdir() -> anyhow::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new().prefix("berth-dbsrv-").tempdir()?;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755))?;
    Ok(d)
}

pub struct MariaDbServer {
    pub socket: PathBuf,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl MariaDbServer {
    /// `mariadb-install-db` (about 2.5 s) and `mariadbd` on a free port,
    /// root over the socket with `unix_socket` authentication.
    pub fn start() -> anyhow::Result<MariaDbServer> {
        anyhow::ensure!(
            Path::new("/usr/sbin/mariadbd").exists(),
            "mariadb-server is not installed (scripts/test installs it)"
        );
        let dir = open_tempdir()?;
        let m = dir.path();
        for d in ["data", "run", "log"] {
            std::fs::create_dir_all(m.join(d))?;
        }
        chown_r(m, "mysql")?;
        run(
            Command::new("/usr/bin/mariadb-install-db")
                .arg("--no-defaults")
                .arg("--user=mysql")
                .arg(format!("--datadir={}", m.join("data").display()))
                .arg("--auth-root-authentication-method=socket")
                .arg("--skip-test-db"),
            "mariadb-install-db",
        )?;
        let port = free_port()?;
        let socket = m.join("run/mysqld.sock");
        Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg("--user=mysql")
            .arg(format!("--datadir={}", m.join("data").display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--pid-file={}", m.join("run/mysqld.pid").display()))
            .arg(format!("--log-error={}", m.join("log/error.log").display()))
            .arg("--skip-name-resolve")
            .arg("--innodb-buffer-pool-size=32M")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = MariaDbServer { socket, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new("/usr/bin/mariadb-admin")
                .arg("--no-defaults")
                .arg(format!("--socket={}", server.socket.display()))
                .arg("ping")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(server.dir.path().join("log/error.log")).unwrap_or_default();
                anyhow::bail!("mariadbd did not start: {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `mariadb` as a user over TCP, like a tenant's application:
    /// (success, stdout, stderr).
    pub fn client(&self, user: &str, password: &str, db: Option<&str>, sql: &str) -> (bool, String, String) {
        let mut c = Command::new("/usr/bin/mariadb");
        c.arg("--no-defaults")
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-P")
            .arg(self.port.to_string())
            .arg("-u")
            .arg(user)
            .arg("--batch")
            .arg("--skip-column-names")
            .env("MYSQL_PWD", password)
            .arg("-e")
            .arg(sql);
        if let Some(d) = db {
            c.arg(d);
        }
        match c.stdin(Stdio::null()).output() {
            Ok(o) => (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (false, String::new(), e.to_string()),
        }
    }

    /// `mariadb` as root over the socket (to inspect the server).
    pub fn root(&self, sql: &str) -> (bool, String, String) {
        match Command::new("/usr/bin/mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-u", "root", "--batch", "--skip-column-names", "-e", sql])
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) => (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (false, String::new(), e.to_string()),
        }
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        let _ = Command::new("/usr/bin/mariadb-admin")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .arg("shutdown")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

pub struct PostgresServer {
    /// The directory holding the socket.
    pub socket_dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl PostgresServer {
    /// `initdb` (peer authentication on the socket, SCRAM over TCP) and
    /// `pg_ctl start` on a free port.
    pub fn start() -> anyhow::Result<PostgresServer> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .ok_or_else(|| anyhow::anyhow!("PostgreSQL server binaries not found (scripts/test installs them)"))?;
        let dir = open_tempdir()?;
        let g = dir.path();
        for d in ["run", "log"] {
            std::fs::create_dir_all(g.join(d))?;
        }
        chown_r(g, "postgres")?;
        run(
            Command::new("/usr/sbin/runuser")
                .args(["-u", "postgres", "--"])
                .arg(bin.join("initdb"))
                .arg("-D")
                .arg(g.join("data"))
                .args([
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "-U",
                    "postgres",
                    "--no-sync",
                ])
                .current_dir("/"),
            "initdb",
        )?;
        let port = free_port()?;
        let socket_dir = g.join("run");
        run(
            Command::new("/usr/sbin/runuser")
                .args(["-u", "postgres", "--"])
                .arg(bin.join("pg_ctl"))
                .arg("-D")
                .arg(g.join("data"))
                .arg("-l")
                .arg(g.join("log/pg.log"))
                .args(["-w", "-s", "-o"])
                .arg(format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
                    socket_dir.display()
                ))
                .arg("start")
                .current_dir("/"),
            "pg_ctl start",
        )?;
        Ok(PostgresServer {
            socket_dir,
            port,
            bin,
            dir,
        })
    }

    /// The data directory (its `pg_hba.conf` is the one in use).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `psql` as a user over TCP with a password: (success, stdout, stderr).
    pub fn client(&self, user: &str, password: &str, db: &str, sql: &str) -> (bool, String, String) {
        match Command::new("/usr/bin/psql")
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-U", user, "-d", db, "-c", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) => (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (false, String::new(), e.to_string()),
        }
    }

    /// `psql` as the superuser over the socket (to inspect the server).
    pub fn root(&self, db: &str, sql: &str) -> (bool, String, String) {
        match Command::new("/usr/sbin/runuser")
            .args(["-u", "postgres", "--", "/usr/bin/psql", "-X", "-A", "-t", "-h"])
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", db, "-c", sql])
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) => (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (false, String::new(), e.to_string()),
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "-s", "stop"])
            .current_dir("/")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
