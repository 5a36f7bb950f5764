//! `berth-bench-dns`: DNS through Berth's API against a real PowerDNS
//! (SQLite backend, loopback), each figure beside PowerDNS's own API doing
//! the same in the same run, and the server's query throughput:
//! - a zone with N records (default 10,000): created in one call, until the
//!   last record is answered; then one record changed, until the new value
//!   is answered (median of 5);
//! - M zones (default 1,000) created with 8 calls in flight, until all are
//!   answered;
//! - UDP queries per second the server answers for a record of the big zone.
//!
//! Runs as root (pdns_server drops to `pdns`). Prints markdown.

mod panel;

use anyhow::Result;
use berth_agent::dns::{DnsServersConfig, PowerDnsAdmin};
use berth_testkit::dns_servers::PowerDnsServer;
use clap::Parser;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(name = "berth-bench-dns")]
struct Args {
    /// Records in the big zone.
    #[arg(long, default_value_t = 10_000)]
    records: usize,
    /// Zones created one by one.
    #[arg(long, default_value_t = 1000)]
    zones: usize,
    /// API calls in flight for the zones.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of UDP queries.
    #[arg(long, default_value_t = 5)]
    query_seconds: u64,
}

/// PowerDNS's own API, for the baselines.
struct Pdns {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Pdns {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Result<()> {
        let r = self
            .http
            .request(method, format!("{}/api/v1/servers/localhost{path}", self.url))
            .header("X-API-Key", &self.key)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "PowerDNS: {}",
            r.text().await.unwrap_or_default()
        );
        Ok(())
    }
}

fn soa_ns(zone: &str) -> Vec<Value> {
    vec![
        json!({ "name": format!("{zone}."), "type": "SOA", "ttl": 3600, "records": [{ "content":
            "ns1.berth.localhost. hostmaster.berth.localhost. 1 10800 3600 604800 300", "disabled": false }] }),
        json!({ "name": format!("{zone}."), "type": "NS", "ttl": 3600, "records": [
            { "content": "ns1.berth.localhost.", "disabled": false }] }),
    ]
}

/// One A query over UDP; the answer's first address, if any.
fn query_packet(id: u16, name: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, 1 question
    for label in name.split('.') {
        p.push(u8::try_from(label.len()).unwrap_or(63));
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    p
}

/// Does the server answer `name` A with `want` (a real DNS round trip)?
async fn answers(port: u16, name: &str, want: [u8; 4]) -> Result<bool> {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    s.send_to(&query_packet(7, name), ("127.0.0.1", port)).await?;
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(2), s.recv(&mut buf)).await??;
    // The answer's RDATA is the last 4 bytes of a one-answer A response.
    let ancount = u16::from_be_bytes([buf[6], buf[7]]);
    Ok(ancount == 1 && n >= 4 && buf[n - 4..n] == want)
}

async fn until_answers(port: u16, name: &str, want: [u8; 4]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers(port, name, want).await.unwrap_or(false) {
        anyhow::ensure!(Instant::now() < deadline, "{name} never answered");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Queries per second: `sockets` UDP sockets, each with one query in flight.
async fn qps(port: u16, name: &str, secs: u64, sockets: usize) -> Result<f64> {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..sockets {
        let name = name.to_owned();
        tasks.push(tokio::spawn(async move {
            let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
            s.connect(("127.0.0.1", port)).await?;
            let mut buf = [0u8; 512];
            let mut n = 0u64;
            let mut id = u16::try_from(i).unwrap_or(0);
            while Instant::now() < end {
                id = id.wrapping_add(64);
                s.send(&query_packet(id, &name)).await?;
                if tokio::time::timeout(Duration::from_secs(1), s.recv(&mut buf))
                    .await
                    .is_ok()
                {
                    n += 1;
                }
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / secs as f64)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn addr(i: usize) -> (String, [u8; 4]) {
    let (a, b) = (
        u8::try_from(i / 250 % 250).unwrap_or(0),
        u8::try_from(i % 250 + 1).unwrap_or(1),
    );
    (format!("10.1.{a}.{b}"), [10, 1, a, b])
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let pdns = PowerDnsServer::start()?;
    let tmp = tempfile::tempdir()?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
    let dir = tmp.path().to_path_buf();
    let web = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut node = panel::node_config(&dir, web)?;
    node.dns = DnsServersConfig {
        powerdns: Some(PowerDnsAdmin {
            api_url: pdns.api_url.clone(),
            api_key: pdns.api_key.clone(),
            server_id: "localhost".into(),
        }),
        bind: None,
    };
    let running = panel::Running::start(&dir, node, None).await?;
    let api = running.api.clone();
    let http = api.http.clone();
    let raw = Pdns {
        http,
        url: pdns.api_url.clone(),
        key: pdns.api_key.clone(),
    };
    let (s, t) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants",
            Some(json!({ "name": "benchdns", "display_name": "bench" })),
        )
        .await?;
    anyhow::ensure!(s == 201, "tenant: {s} {t}");
    let tenant = t["id"].as_str().unwrap_or_default().to_owned();
    let port = pdns.dns_port;
    let n = args.records;
    let last = n - 1;

    // 1. The big zone: Berth, then PowerDNS's API directly.
    let records: Vec<Value> = (0..n)
        .map(|i| json!({ "name": format!("h{i}"), "type": "A", "content": addr(i).0 }))
        .collect();
    let t0 = Instant::now();
    let (s, z) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/dns/zones",
            Some(json!({ "tenant_id": tenant, "name": "big.bench", "records": records })),
        )
        .await?;
    anyhow::ensure!(s == 201, "zone: {s} {z}");
    let api_answered = t0.elapsed();
    api.job_done(z["job_id"].as_str().unwrap_or_default()).await?;
    until_answers(port, &format!("h{last}.big.bench"), addr(last).1).await?;
    let berth_create = t0.elapsed();
    let mut rrsets = soa_ns("raw.bench");
    rrsets.extend((0..n).map(|i| {
        json!({ "name": format!("h{i}.raw.bench."), "type": "A", "ttl": 3600,
            "records": [{ "content": addr(i).0, "disabled": false }] })
    }));
    let t0 = Instant::now();
    raw.send(
        reqwest::Method::POST,
        "/zones",
        json!({ "name": "raw.bench.", "kind": "Native", "soa_edit_api": "DEFAULT", "nameservers": [], "rrsets": rrsets }),
    )
    .await?;
    until_answers(port, &format!("h{last}.raw.bench"), addr(last).1).await?;
    let raw_create = t0.elapsed();

    // 2. One record changed, five times each.
    let zid = z["zone"]["id"].as_str().unwrap_or_default().to_owned();
    let rid = z["records"][0]["id"].as_str().unwrap_or_default().to_owned();
    let (mut berth_change, mut raw_change, mut change_api) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..5u8 {
        let want = [192, 0, 2, 100 + k];
        let t0 = Instant::now();
        let (s, r) = api
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/dns/zones/{zid}/records/{rid}"),
                Some(json!({ "name": "h0", "type": "A", "content": format!("192.0.2.{}", 100 + k) })),
            )
            .await?;
        anyhow::ensure!(s == 200, "change: {s} {r}");
        change_api.push(t0.elapsed());
        until_answers(port, "h0.big.bench", want).await?;
        berth_change.push(t0.elapsed());
        api.job_done(r["job_id"].as_str().unwrap_or_default()).await?;
        let t0 = Instant::now();
        raw.send(
            reqwest::Method::PATCH,
            "/zones/raw.bench.",
            json!({ "rrsets": [{ "name": "h0.raw.bench.", "type": "A", "ttl": 3600, "changetype": "REPLACE",
                "records": [{ "content": format!("192.0.2.{}", 100 + k), "disabled": false }] }] }),
        )
        .await?;
        until_answers(port, "h0.raw.bench", want).await?;
        raw_change.push(t0.elapsed());
    }

    // 3. Query throughput of the server itself.
    let q1 = qps(port, &format!("h{}.big.bench", n / 2), args.query_seconds, 1).await?;
    let q8 = qps(port, &format!("h{}.big.bench", n / 2), args.query_seconds, 8).await?;

    // 4. Many zones, one call each.
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.zones {
        let (api, sem, tenant) = (api.clone(), sem.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire_owned().await?;
            let (s, z) = api
                .call(
                    reqwest::Method::POST,
                    "/api/v1/dns/zones",
                    Some(json!({ "tenant_id": tenant, "name": format!("z{i}.bench"),
                        "records": [{ "name": "@", "type": "A", "content": "192.0.2.1" }] })),
                )
                .await?;
            anyhow::ensure!(s == 201, "zone {i}: {s} {z}");
            api.job_done(z["job_id"].as_str().unwrap_or_default()).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    until_answers(port, &format!("z{}.bench", args.zones - 1), [192, 0, 2, 1]).await?;
    let berth_zones = t0.elapsed();
    let t0 = Instant::now();
    for i in 0..args.zones {
        let zone = format!("r{i}.bench");
        let mut rrsets = soa_ns(&zone);
        rrsets.push(json!({ "name": format!("{zone}."), "type": "A", "ttl": 3600,
            "records": [{ "content": "192.0.2.1", "disabled": false }] }));
        raw.send(
            reqwest::Method::POST,
            "/zones",
            json!({ "name": format!("{zone}."), "kind": "Native", "soa_edit_api": "DEFAULT", "nameservers": [], "rrsets": rrsets }),
        )
        .await?;
    }
    let raw_zones = t0.elapsed();

    println!("## DNS (berth-bench-dns)\n");
    println!(
        "{} cores, SQLite panel database, PowerDNS {} with its SQLite backend; {n} records, {} zones.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        pdns_version(),
        args.zones
    );
    println!("| measure | Berth (API → answered by the server) | PowerDNS API directly | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| zone with {n} records: create (API call answered after {}) | {} | {} | {:.1}× |",
        secs(api_answered),
        secs(berth_create),
        secs(raw_create),
        berth_create.as_secs_f64() / raw_create.as_secs_f64()
    );
    let (bc, rc) = (median(berth_change), median(raw_change));
    println!(
        "| one record of it changed (median of 5; API call answered after {}) | {} | {} | {:.1}× |",
        ms(median(change_api)),
        ms(bc),
        ms(rc),
        bc.as_secs_f64() / rc.as_secs_f64()
    );
    println!(
        "| {} zones, one call each ({} in flight; PowerDNS: one at a time) | {} | {} | {:.1}× |",
        args.zones,
        args.concurrency,
        secs(berth_zones),
        secs(raw_zones),
        berth_zones.as_secs_f64() / raw_zones.as_secs_f64()
    );
    println!(
        "\nQueries answered by the server for a name of the big zone: {q1:.0}/s with one query in flight, {q8:.0}/s with eight (UDP, loopback, {} s each).",
        args.query_seconds
    );
    running.stop().await;
    Ok(())
}

fn pdns_version() -> String {
    #[allow(clippy::disallowed_methods)] // a benchmark reads the server's version directly
    let out = std::process::Command::new("/usr/sbin/pdns_server")
        .arg("--version")
        .output();
    out.ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr))
        .and_then(|s| {
            s.split_whitespace()
                .skip_while(|w| *w != "Authoritative")
                .nth(2)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}
