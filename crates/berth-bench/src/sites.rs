//! `berth-bench-sites`: websites on one node at 10, 1,000 and 10,000
//! existing sites, beside the bare cost of `nginx -t` + `nginx -s reload` at
//! the same size, in one run:
//!
//! (a) latency from `POST /api/v1/sites` to the site answering 200 by Host;
//! (b) total time to create 1,000 sites submitted at once (until all answer);
//! (c) a full rebuild (`POST /api/v1/nodes/local/rebuild`) of every site;
//! and the resident memory of the panel process (which runs the local agent)
//! and of nginx. Runs as root (tenant users, nginx). Prints markdown.

mod panel;

use anyhow::{Result, bail};
use clap::Parser;
use serde_json::json;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
#[command(name = "berth-bench-sites")]
struct Args {
    /// Existing sites before each measurement (ascending).
    #[arg(long, value_delimiter = ',', default_value = "10,1000,10000")]
    sizes: Vec<usize>,
    /// Sites submitted at once in (b).
    #[arg(long, default_value_t = 1000)]
    burst: usize,
    /// Samples for (a) and for the bare baseline.
    #[arg(long, default_value_t = 5)]
    samples: usize,
    /// Tenants the sites are spread over.
    #[arg(long, default_value_t = 10)]
    tenants: usize,
    /// Job workers of the panel (each runs up to 128 site jobs at once).
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

/// Status and `X-Berth-Site` of GET / by Host.
async fn probe(addr: SocketAddr, host: &str) -> Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let status = text.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    let site = text
        .lines()
        .find_map(|l| l.strip_prefix("X-Berth-Site: "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok((status, site))
}

async fn until_served(addr: SocketAddr, host: &str, site: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok((200, s)) = probe(addr, host).await
            && s == site
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{host} never answered");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// nginx master plus workers.
fn nginx_rss_kib(prefix: &Path) -> u64 {
    let Some(pid) = std::fs::read_to_string(prefix.join("run/nginx.pid"))
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
    else {
        return 0;
    };
    rss_kib(pid)
        + berth_sys::procfs::children_of(pid)
            .into_iter()
            .map(rss_kib)
            .sum::<u64>()
}

/// The bare cycle: `nginx -t` on the live config, then `nginx -s reload`
/// and waiting until the old workers are gone (what the executor waits for).
async fn bare_cycle(prefix: &Path) -> Result<Duration> {
    let base = |extra: &[&str]| {
        let mut c = berth_sys::Cmd::new("/usr/sbin/nginx")
            .arg("-e")
            .arg(prefix.join("logs/error.log"))
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .arg("-c")
            .arg(prefix.join("conf/nginx.conf"))
            .timeout(Duration::from_secs(300));
        for a in extra {
            c = c.arg(a);
        }
        c
    };
    let pid: u32 = std::fs::read_to_string(prefix.join("run/nginx.pid"))?.trim().parse()?;
    let old = berth_sys::procfs::children_of(pid);
    let t = Instant::now();
    let out = base(&["-t"]).run().await?;
    if !out.success() {
        bail!("nginx -t: {}", out.stderr);
    }
    let out = base(&["-s", "reload"]).run().await?;
    if !out.success() {
        bail!("nginx -s reload: {}", out.stderr);
    }
    while old.iter().any(|p| berth_sys::procfs::alive(*p)) {
        if t.elapsed() > Duration::from_secs(120) {
            bail!("nginx did not take the reload (see its error.log)");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let tmp = tempfile::tempdir()?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
    let dir = tmp.path().to_path_buf();
    let web: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let node = panel::node_config(&dir, web)?;
    let prefix = dir.join("nginx");
    let running = panel::Running::start(&dir, node, Some(args.workers)).await?;
    let api = std::sync::Arc::new(running.api.clone());
    let db = running.db.clone();

    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let mut tenants = Vec::new();
    let mut names = Vec::new();
    for i in 0..args.tenants {
        let name = format!("bn{run}{i}");
        let (s, v) = api
            .call(
                reqwest::Method::POST,
                "/api/v1/tenants",
                Some(json!({ "name": name, "display_name": name })),
            )
            .await?;
        anyhow::ensure!(s == 201, "tenant: {s} {v}");
        tenants.push(v["id"].as_str().unwrap_or_default().to_owned());
        names.push(name);
    }
    let _users = DeleteUsers(names);

    println!("## Sites on one node (berth-bench-sites)\n");
    println!(
        "{} cores, nginx {}, SQLite, {} job workers, sites spread over {} tenants.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        nginx_version().await,
        args.workers,
        args.tenants
    );
    println!(
        "| existing sites | bare `nginx -t` + reload | (a) API → 200, median of {} | (a) / bare | (b) {} sites at once: API calls answered | (b) all serving | (b) / bare | (c) full rebuild | panel+agent RSS | nginx RSS |",
        args.samples, args.burst
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");

    let mut made = 0usize;
    for &size in &args.sizes {
        // Fill to `size` sites straight into the database (the fast path for
        // setup only), then put them all on the node with one rebuild.
        let mut c = db.conn().await?;
        while made < size {
            let t: berth_proto::TenantId = tenants[made % tenants.len()].parse()?;
            let d = berth_proto::DomainName::parse(&format!("fill{made}.b{run}.test"))?;
            berth_db::sites::insert(
                &mut c,
                t,
                &d,
                &[],
                &berth_proto::api::sites::SiteKind::Static,
                &Default::default(),
                None,
            )
            .await?;
            made += 1;
        }
        drop(c);
        rebuild(&api).await?; // creates directories and users; not measured
        let t = Instant::now();
        rebuild(&api).await?;
        let rebuild_time = t.elapsed();

        let mut bare = Vec::new();
        for _ in 0..args.samples {
            bare.push(bare_cycle(&prefix).await?);
        }
        let bare = median(bare);

        let mut lat = Vec::new();
        for i in 0..args.samples {
            let host = format!("lat{size}x{i}.b{run}.test");
            let t = Instant::now();
            let (s, v) = api
                .call(
                    reqwest::Method::POST,
                    "/api/v1/sites",
                    Some(json!({ "tenant_id": tenants[i % tenants.len()], "domain": host, "kind": { "type": "static" } })),
                )
                .await?;
            anyhow::ensure!(s == 201, "create: {s} {v}");
            until_served(web, &host, v["site"]["id"].as_str().unwrap_or_default()).await?;
            lat.push(t.elapsed());
        }
        let lat = median(lat);

        let t = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
        let mut posts = Vec::new();
        for i in 0..args.burst {
            let (api, sem) = (api.clone(), sem.clone());
            let tenant = tenants[i % tenants.len()].clone();
            let host = format!("burst{size}x{i}.b{run}.test");
            posts.push(tokio::spawn(async move {
                let _p = sem.acquire_owned().await?;
                let (s, v) = api
                    .call(
                        reqwest::Method::POST,
                        "/api/v1/sites",
                        Some(json!({ "tenant_id": tenant, "domain": host, "kind": { "type": "static" } })),
                    )
                    .await?;
                anyhow::ensure!(s == 201, "create: {s} {v}");
                Ok::<_, anyhow::Error>((host, v["job_id"].as_str().unwrap_or_default().to_owned()))
            }));
        }
        let mut jobs = Vec::new();
        for p in posts {
            jobs.push(p.await??);
        }
        let answered = t.elapsed();
        for (_, job) in &jobs {
            api.job_done(job).await?;
        }
        for (host, _) in &jobs {
            anyhow::ensure!(probe(web, host).await?.0 == 200, "{host} does not answer");
        }
        let burst = t.elapsed();

        println!(
            "| {size} | {} | {} | {:.1}× | {} | {} | {:.1}× | {} | {} MiB | {} MiB |",
            secs(bare),
            secs(lat),
            lat.as_secs_f64() / bare.as_secs_f64(),
            secs(answered),
            secs(burst),
            burst.as_secs_f64() / bare.as_secs_f64(),
            secs(rebuild_time),
            rss_kib(std::process::id()) / 1024,
            nginx_rss_kib(&prefix) / 1024,
        );
        made += args.samples + args.burst;
    }
    running.stop().await;
    Ok(())
}

async fn rebuild(api: &panel::Api) -> Result<()> {
    let (s, v) = api
        .call(reqwest::Method::POST, "/api/v1/nodes/local/rebuild", Some(json!({})))
        .await?;
    anyhow::ensure!(s == 202, "rebuild: {s} {v}");
    api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    Ok(())
}

async fn nginx_version() -> String {
    match berth_sys::Cmd::new("/usr/sbin/nginx").arg("-v").run().await {
        Ok(o) => o.stderr.trim().trim_start_matches("nginx version: nginx/").to_owned(),
        Err(_) => "?".into(),
    }
}

/// Removes the benchmark's tenant users when dropped.
struct DeleteUsers(Vec<String>);

impl Drop for DeleteUsers {
    #[allow(clippy::disallowed_methods)] // Drop cannot await the async Cmd
    fn drop(&mut self) {
        for u in &self.0 {
            for prog in ["/usr/sbin/userdel", "/usr/sbin/groupdel"] {
                let _ = std::process::Command::new(prog)
                    .arg(u)
                    .env_clear()
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}
