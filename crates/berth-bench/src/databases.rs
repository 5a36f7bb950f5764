//! `berth-bench-databases`: create N databases, each with a user granted
//! all privileges on it, through Berth's API (each a job that reaches the
//! real server through the local node) on MariaDB and on PostgreSQL, beside
//! the engine's own `CREATE DATABASE` + `CREATE USER` (+ grant) through its
//! CLI, one invocation per pair, in the same run. Private servers (temp data
//! dirs, loopback ports); runs as root. Prints markdown.

mod panel;

use anyhow::Result;
use berth_agent::dbs::{DbServersConfig, MariadbAdmin, PostgresAdmin};
use berth_sys::Cmd;
use berth_testkit::servers::{MariaDbServer, PostgresServer};
use clap::Parser;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(name = "berth-bench-databases")]
struct Args {
    /// Databases (each with a user) per engine.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// API calls in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Job workers of the panel.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// One database and its user through the API, until both jobs succeeded.
async fn one(api: &panel::Api, tenant: &str, engine: &str, i: usize) -> Result<Duration> {
    let t = Instant::now();
    let (s, d) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/databases",
            Some(json!({ "tenant_id": tenant, "engine": engine, "name": format!("d{i}") })),
        )
        .await?;
    anyhow::ensure!(s == 201, "database: {s} {d}");
    let (s, u) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/database-users",
            Some(json!({ "tenant_id": tenant, "engine": engine, "name": format!("u{i}"),
                "grants": [{ "database_id": d["database"]["id"], "access": "all" }] })),
        )
        .await?;
    anyhow::ensure!(s == 201, "user: {s} {u}");
    api.job_done(d["job_id"].as_str().unwrap_or_default()).await?;
    api.job_done(u["job_id"].as_str().unwrap_or_default()).await?;
    Ok(t.elapsed())
}

/// The engine's own CLI: one invocation per database+user pair.
async fn baseline(engine: &str, m: &MariaDbServer, p: &PostgresServer, n: usize, run: &str) -> Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let o = match engine {
            "mariadb" => {
                let sql = format!(
                    "CREATE DATABASE base{run}_{i}; CREATE USER 'base{run}_{i}'@'localhost' IDENTIFIED BY 'Pw-{i}-xxxxxxxx'; \
                     GRANT ALL ON base{run}_{i}.* TO 'base{run}_{i}'@'localhost';"
                );
                Cmd::new("/usr/bin/mariadb")
                    .arg("--no-defaults")
                    .arg(format!("--socket={}", m.socket.display()))
                    .args(["-u", "root", "-e", &sql])
                    .run()
                    .await?
            }
            _ => {
                let sql = format!(
                    "CREATE ROLE base{run}_{i} LOGIN PASSWORD 'Pw-{i}-xxxxxxxx'; CREATE DATABASE base{run}_{i} OWNER base{run}_{i};"
                );
                // psql -c with two statements runs them in one transaction,
                // which CREATE DATABASE refuses: two -c.
                let (a, b) = sql.split_once("; ").unwrap_or((&sql, ""));
                Cmd::new("/usr/sbin/runuser")
                    .args(["-u", "postgres", "--", "/usr/bin/psql", "-X", "-q", "-h"])
                    .arg(&p.socket_dir)
                    .arg("-p")
                    .arg(p.port.to_string())
                    .args(["-d", "postgres", "-c", a, "-c", b])
                    .cwd("/")
                    .run()
                    .await?
            }
        };
        anyhow::ensure!(o.success(), "baseline {engine}: {}", o.stderr);
        out.push(t.elapsed());
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let maria = MariaDbServer::start()?;
    let pg = PostgresServer::start()?;
    let tmp = tempfile::tempdir()?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
    let dir = tmp.path().to_path_buf();
    let web = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut node = panel::node_config(&dir, web)?;
    node.databases = DbServersConfig {
        mariadb: Some(MariadbAdmin {
            client: "/usr/bin/mariadb".into(),
            dump: "/usr/bin/mariadb-dump".into(),
            socket: maria.socket.clone(),
            port: maria.port,
        }),
        postgres: Some(PostgresAdmin {
            psql: "/usr/bin/psql".into(),
            pg_dump: "/usr/bin/pg_dump".into(),
            pg_restore: "/usr/bin/pg_restore".into(),
            socket_dir: pg.socket_dir.clone(),
            port: pg.port,
            os_user: "postgres".into(),
        }),
        dump_dir: Some(dir.join("dumps")),
    };
    let running = panel::Running::start(&dir, node, Some(args.workers)).await?;
    let api = running.api.clone();
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();

    println!("## Databases (berth-bench-databases)\n");
    println!(
        "{} cores, SQLite panel database, {} job workers, {} API calls in flight; {} databases, each with a user granted all on it, per engine.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        args.workers,
        args.concurrency,
        args.count
    );
    println!(
        "| engine | Berth: total | Berth: per database+user p50 | p99 | engine CLI: total | CLI per pair p50 | p99 | total / CLI total |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for engine in ["mariadb", "postgres"] {
        let (s, t) = api
            .call(
                reqwest::Method::POST,
                "/api/v1/tenants",
                Some(json!({ "name": format!("bd{run}{}", &engine[..1]), "display_name": "bench" })),
            )
            .await?;
        anyhow::ensure!(s == 201, "tenant: {s} {t}");
        let tenant = t["id"].as_str().unwrap_or_default().to_owned();
        let started = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(args.concurrency));
        let mut tasks = Vec::new();
        for i in 0..args.count {
            let (api, sem, tenant) = (api.clone(), sem.clone(), tenant.clone());
            tasks.push(tokio::spawn(async move {
                let _p = sem.acquire_owned().await?;
                one(&api, &tenant, engine, i).await
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.push(t.await??);
        }
        let total = started.elapsed();
        lat.sort();
        let b0 = Instant::now();
        let mut base = baseline(engine, &maria, &pg, args.count, &run).await?;
        let btotal = b0.elapsed();
        base.sort();
        println!(
            "| {engine} | {} | {} | {} | {} | {} | {} | {:.1}× |",
            secs(total),
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            secs(btotal),
            ms(pct(&base, 0.5)),
            ms(pct(&base, 0.99)),
            total.as_secs_f64() / btotal.as_secs_f64()
        );
    }
    running.stop().await;
    Ok(())
}
