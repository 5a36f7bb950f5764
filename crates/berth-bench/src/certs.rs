//! `berth-bench-certs`: certificates through Berth's API against a real
//! ACME server (`pebble`, `PEBBLE_VA_NOSLEEP=1`, http-01 through the node's
//! nginx, names resolved by a real PowerDNS), each measured until the
//! node's HTTPS listener serves the issued serial:
//! - one issuance (the first, which also creates the ACME account), then
//!   three renewals of it (median);
//! - N more certificates (default 50) ordered with 8 calls in flight: total
//!   time, per certificate, and how many nginx revisions (`nginx -t` +
//!   reload each) they caused;
//!
//! beside the single issuance's median in the same run. Runs as root (nginx
//! workers drop to `berth-web`, pdns_server to `pdns`). Prints markdown.

mod panel;

use anyhow::{Context, Result, bail};
use berth_agent::dns::{DnsServersConfig, PowerDnsAdmin};
use berth_testkit::dns_servers::PowerDnsServer;
use berth_testkit::pebble::Pebble;
use clap::Parser;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(name = "berth-bench-certs")]
struct Args {
    /// Certificates ordered together (one more site is made for the single issuance).
    #[arg(long, default_value_t = 50)]
    count: usize,
    /// API calls in flight while ordering them.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Renewals of the single certificate (their median is the baseline).
    #[arg(long, default_value_t = 3)]
    renewals: usize,
}

const TENANT: &str = "benchcert";
const ZONE: &str = "bench.test";

/// The certificate's serial as the panel records it.
async fn serial(api: &panel::Api, cert: &str) -> Result<String> {
    let c = api.get(&format!("/api/v1/certificates/{cert}")).await?;
    anyhow::ensure!(c["status"] == "valid", "certificate {cert} is not valid: {c}");
    Ok(c["serial"].as_str().context("certificate without serial")?.to_owned())
}

/// The node's nginx revisions: (highest revision number, how many).
async fn revisions(api: &panel::Api) -> Result<(u64, usize)> {
    let v = api.get("/api/v1/nodes/local/revisions").await?;
    let list = v.as_array().context("revisions: not a list")?;
    let top = list.iter().filter_map(|r| r["rev"].as_u64()).max().unwrap_or(0);
    Ok((top, list.len()))
}

/// The node's nginx journal: how many entries of each event.
async fn journal(api: &panel::Api) -> Result<BTreeMap<String, usize>> {
    let v = api.get("/api/v1/nodes/local/journal").await?;
    let mut out = BTreeMap::new();
    for e in v.as_array().context("journal: not a list")? {
        *out.entry(e["event"].as_str().unwrap_or("?").to_owned()).or_insert(0) += 1;
    }
    Ok(out)
}

/// Journal counts after minus before, the events that changed.
fn journal_delta(before: &BTreeMap<String, usize>, after: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    after
        .iter()
        .filter_map(|(k, &n)| {
            let d = n.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// The leaf the node's HTTPS listener shows for `host` (fresh connection,
/// trusting only pebble's root): its serial.
async fn served(client: &reqwest::Client, https: SocketAddr, host: &str) -> Result<String> {
    let resp = client.get(format!("https://{host}:{}/", https.port())).send().await?;
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate().map(<[u8]>::to_vec))
        .context("no peer certificate")?;
    let info = berth_pki::inspect::inspect(&der)?;
    anyhow::ensure!(
        info.names.iter().any(|n| n == host),
        "{host} is served a certificate for {:?}",
        info.names
    );
    Ok(info.serial_hex)
}

/// Until the HTTPS listener serves `serial` for `host`.
async fn until_served(client: &reqwest::Client, https: SocketAddr, host: &str, serial: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = served(client, https, host).await;
        if got.as_deref().ok() == Some(serial) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{host} does not serve serial {serial} after 60 s: {got:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One A query over UDP.
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

/// Does the server answer `name` A with 127.0.0.1?
async fn answers_loopback(port: u16, name: &str) -> Result<bool> {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    s.send_to(&query_packet(7, name), ("127.0.0.1", port)).await?;
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(2), s.recv(&mut buf)).await??;
    let ancount = u16::from_be_bytes([buf[6], buf[7]]);
    Ok(ancount == 1 && n >= 4 && buf[n - 4..n] == [127, 0, 0, 1])
}

async fn until_answers(port: u16, name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers_loopback(port, name).await.unwrap_or(false) {
        anyhow::ensure!(Instant::now() < deadline, "{name} never answered 127.0.0.1");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Where a `certificate.issue` job's time went, in ms: waiting in the
/// queue, then its steps preflight, order, install.
fn phases(job: &Value) -> Option<[i64; 4]> {
    let at = |v: &Value| {
        serde_json::from_value::<berth_proto::Timestamp>(v.clone())
            .ok()
            .map(|t| t.0)
    };
    let mut out = [at(&job["started_at"])? - at(&job["created_at"])?, 0, 0, 0];
    for (slot, name) in out.iter_mut().skip(1).zip(["preflight", "order", "install"]) {
        let st = job["steps"].as_array()?.iter().find(|s| s["name"] == name)?;
        *slot = at(&st["finished_at"])? - at(&st["started_at"])?;
    }
    Some(out)
}

/// The median of each phase.
fn phase_medians(all: &[[i64; 4]]) -> String {
    let names = ["queue wait", "preflight", "order", "install"];
    (0..4)
        .map(|k| {
            let mut v: Vec<i64> = all.iter().map(|p| p[k]).collect();
            v.sort_unstable();
            format!("{} {} ms", names[k], v.get(v.len() / 2).copied().unwrap_or(0))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn host(i: usize) -> String {
    format!("s{i}.{ZONE}")
}

/// Removes the benchmark's tenant user when dropped.
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

struct Env {
    api: panel::Api,
    /// Trusts only pebble's root, resolves every site to the HTTPS
    /// listener, keeps no connection and resumes no session (every check
    /// is a full handshake).
    tls: reqwest::Client,
    https: SocketAddr,
    dns_port: u16,
}

/// What one issuance (or renewal) took, until served.
struct One {
    took: Duration,
    reloads: u64,
    phases: Option<[i64; 4]>,
}

/// Order (`renew` = None) or renew a certificate of site 0 and wait until
/// its serial is served; the certificate's id.
async fn one(env: &Env, site: &str, renew: Option<&str>) -> Result<(String, One)> {
    let h = host(0);
    let (rev0, _) = revisions(&env.api).await?;
    let t0 = Instant::now();
    let (s, v) = match renew {
        None => {
            env.api
                .call(
                    reqwest::Method::POST,
                    "/api/v1/certificates",
                    Some(json!({ "site_id": site })),
                )
                .await?
        }
        Some(c) => {
            env.api
                .call(
                    reqwest::Method::POST,
                    &format!("/api/v1/certificates/{c}/renew"),
                    Some(json!({})),
                )
                .await?
        }
    };
    anyhow::ensure!(s == 202, "ordering for {h}: {s} {v}");
    let cert = match renew {
        None => v["certificate"]["id"].as_str().context("no certificate id")?.to_owned(),
        Some(c) => c.to_owned(),
    };
    let job = env.api.job_done(v["job_id"].as_str().unwrap_or_default()).await?;
    let serial = serial(&env.api, &cert).await?;
    if let Err(e) = until_served(&env.tls, env.https, &h, &serial).await {
        let revs = env.api.get("/api/v1/nodes/local/revisions").await.unwrap_or_default();
        let journal = env.api.get("/api/v1/nodes/local/journal").await.unwrap_or_default();
        let recent = |v: &Value, newest_first: bool| {
            let a = v.as_array().cloned().unwrap_or_default();
            let a: Vec<Value> = if newest_first {
                a.into_iter().take(4).collect()
            } else {
                a.into_iter().rev().take(4).collect()
            };
            Value::from(a)
        };
        bail!(
            "{e}\n--- the job ---\n{job:#}\n--- newest revisions ---\n{:#}\n--- newest journal lines ---\n{:#}",
            recent(&revs, true),
            recent(&journal, false)
        );
    }
    let took = t0.elapsed();
    let (rev1, _) = revisions(&env.api).await?;
    Ok((
        cert,
        One {
            took,
            reloads: rev1 - rev0,
            phases: phases(&job),
        },
    ))
}

struct Batch {
    took: Duration,
    api_answered: Duration,
    reloads: u64,
    revisions_listed: usize,
    journal: BTreeMap<String, usize>,
    /// Certificates per install revision (from the jobs' install steps).
    per_revision: BTreeMap<u64, usize>,
    phases: Vec<[i64; 4]>,
}

async fn batch(env: &Env, sites: &[String], concurrency: usize) -> Result<Batch> {
    let (rev0, len0) = revisions(&env.api).await?;
    let j0 = journal(&env.api).await?;
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (i, site) in sites.iter().enumerate().skip(1) {
        let (api, sem, site) = (env.api.clone(), sem.clone(), site.clone());
        tasks.push((
            i,
            tokio::spawn(async move {
                let _p = sem.acquire_owned().await?;
                let (s, v) = api
                    .call(
                        reqwest::Method::POST,
                        "/api/v1/certificates",
                        Some(json!({ "site_id": site })),
                    )
                    .await?;
                anyhow::ensure!(s == 202, "ordering for {}: {s} {v}", host(i));
                Ok((
                    v["certificate"]["id"].as_str().unwrap_or_default().to_owned(),
                    v["job_id"].as_str().unwrap_or_default().to_owned(),
                    Instant::now(),
                ))
            }),
        ));
    }
    // Wait in order, one poll at a time (50 pollers would take the CPU
    // the jobs need); jobs that finished meanwhile answer at once.
    let mut api_answered = Duration::ZERO;
    let mut per_revision = BTreeMap::new();
    let mut all_phases = Vec::new();
    for (i, t) in tasks {
        let (cert, job, answered) = t.await??;
        api_answered = api_answered.max(answered - t0);
        let j = env.api.job_done_every(&job, Duration::from_millis(20)).await?;
        let rev = j["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "install"))
            .and_then(|s| s["artifact"]["revision"].as_u64());
        if let Some(r) = rev {
            *per_revision.entry(r).or_insert(0) += 1;
        }
        all_phases.extend(phases(&j));
        let serial = serial(&env.api, &cert).await?;
        until_served(&env.tls, env.https, &host(i), &serial).await?;
    }
    let took = t0.elapsed();
    let (rev1, len1) = revisions(&env.api).await?;
    let j1 = journal(&env.api).await?;
    Ok(Batch {
        took,
        api_answered,
        reloads: rev1 - rev0,
        revisions_listed: len1 - len0,
        journal: journal_delta(&j0, &j1),
        per_revision,
        phases: all_phases,
    })
}

/// Tenant, zone, N+1 static sites (their A records appear in the zone):
/// the sites' ids, once every name answers 127.0.0.1.
async fn make_sites(env: &Env, n: usize, concurrency: usize) -> Result<Vec<String>> {
    let api = &env.api;
    let (s, t) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants",
            Some(json!({ "name": TENANT, "display_name": "certificates bench" })),
        )
        .await?;
    anyhow::ensure!(s == 201, "tenant: {s} {t}");
    let tenant = t["id"].as_str().context("tenant id")?.to_owned();
    let (s, z) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/dns/zones",
            Some(json!({ "tenant_id": tenant, "name": ZONE, "records": [] })),
        )
        .await?;
    anyhow::ensure!(s == 201, "zone: {s} {z}");
    let zid = z["zone"]["id"].as_str().context("zone id")?.to_owned();
    api.job_done(z["job_id"].as_str().unwrap_or_default()).await?;
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = Vec::new();
    for i in 0..=n {
        let (api, sem, tenant) = (api.clone(), sem.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire_owned().await?;
            let (s, v) = api
                .call(
                    reqwest::Method::POST,
                    "/api/v1/sites",
                    Some(json!({ "tenant_id": tenant, "domain": host(i), "kind": { "type": "static" } })),
                )
                .await?;
            anyhow::ensure!(s == 201, "site {}: {s} {v}", host(i));
            Ok((
                v["site"]["id"].as_str().unwrap_or_default().to_owned(),
                v["job_id"].as_str().unwrap_or_default().to_owned(),
            ))
        }));
    }
    let mut sites = Vec::new();
    for t in tasks {
        let (site, job) = t.await??;
        api.job_done_every(&job, Duration::from_millis(20)).await?;
        sites.push(site);
    }
    let z = api.get(&format!("/api/v1/dns/zones/{zid}")).await?;
    if let Some(j) = z["last_job_id"].as_str() {
        api.job_done(j).await?;
    }
    for i in 0..=n {
        until_answers(env.dns_port, &host(i)).await?;
    }
    Ok(sites)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.count > 0 && args.concurrency > 0 && args.renewals > 0,
        "counts must be positive"
    );
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
    let https = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    anyhow::ensure!(web != https, "the same free port twice");
    let pebble = Pebble::start(web.port(), SocketAddr::from(([127, 0, 0, 1], pdns.dns_port)))?;
    let _users = DeleteUsers(vec![TENANT.to_owned()]);
    let mut node = panel::node_config(&dir, web)?;
    node.dns = DnsServersConfig {
        powerdns: Some(PowerDnsAdmin {
            api_url: pdns.api_url.clone(),
            api_key: pdns.api_key.clone(),
            server_id: "localhost".into(),
        }),
        bind: None,
    };
    node.certs.https_listen = vec![https];
    let running = panel::Running::start(&dir, node, None).await?;
    let result = run(
        &args,
        running.api.clone(),
        &pebble,
        https,
        pdns.dns_port,
        running.workers,
    )
    .await;
    running.stop().await;
    if let Err(e) = result {
        eprintln!("--- pebble log ---\n{}--- end of pebble log ---", pebble.log());
        return Err(e.context("berth-bench-certs failed (pebble's log above)"));
    }
    Ok(())
}

async fn run(
    args: &Args,
    api: panel::Api,
    pebble: &Pebble,
    https: SocketAddr,
    dns_port: u16,
    workers: usize,
) -> Result<()> {
    api.set("acme.directory_url", json!(pebble.directory_url())).await?;
    api.set(
        "acme.ca_root_file",
        json!(pebble.listener_ca_path().display().to_string()),
    )
    .await?;
    api.set("acme.resolver", json!(format!("127.0.0.1:{dns_port}"))).await?;
    api.set("acme.contact_email", json!("admin@berth.test")).await?;
    api.set("dns.node_addresses", json!({ "local": ["127.0.0.1"] })).await?;
    // Trusting pebble's root only, and never resuming a TLS session: a
    // resumed session shows the certificate of the session it resumes
    // (nginx keeps its session cache across reloads), not the one installed.
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(pebble.root_pem()?.as_bytes()) {
        roots.add(c.context("pebble's root")?)?;
    }
    let mut tls_config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls_config.resumption = rustls::client::Resumption::disabled();
    let mut tls = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config)
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none());
    for i in 0..=args.count {
        tls = tls.resolve(&host(i), https);
    }
    let env = Env {
        api,
        tls: tls.build()?,
        https,
        dns_port,
    };
    let n = args.count;
    let sites = make_sites(&env, n, args.concurrency).await?;
    let s0 = sites.first().context("no site")?.clone();

    // 1. One issuance, then renewals of it.
    let (cert, first) = one(&env, &s0, None).await?;
    let mut renewals = Vec::new();
    for _ in 0..args.renewals {
        renewals.push(one(&env, &s0, Some(&cert)).await?.1);
    }
    let single = median(renewals.iter().map(|r| r.took).collect());
    let single_reloads: Vec<u64> = std::iter::once(first.reloads)
        .chain(renewals.iter().map(|r| r.reloads))
        .collect();

    // 2. The other N together.
    let b = batch(&env, &sites, args.concurrency).await?;

    println!("## Certificates (berth-bench-certs)\n");
    println!(
        "{} cores, SQLite panel database, {workers} job workers, pebble {} (PEBBLE_VA_NOSLEEP=1, http-01 through the node's nginx), nginx {}, PowerDNS answering the names; N = {n} certificates ({} order calls in flight), ECDSA P-256.\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        pkg_version("pebble").await,
        nginx_version().await,
        args.concurrency,
    );
    println!("| measure | Berth | baseline: one issuance | ratio |");
    println!("|---|---|---|---|");
    let ratio = |a: Duration| a.as_secs_f64() / single.as_secs_f64();
    println!(
        "| one issuance, the first (incl. ACME account), API → served over HTTPS | {} | {} | {:.2}× |",
        ms(first.took),
        ms(single),
        ratio(first.took)
    );
    println!(
        "| one issuance (median of {} renewals), API → served over HTTPS | {} | {} | 1.00× |",
        args.renewals,
        ms(single),
        ms(single)
    );
    println!(
        "| {n} issued and installed, API → all served over HTTPS (calls answered after {}) | {} | {} ({n} one at a time: {}) | {:.1}× |",
        ms(b.api_answered),
        secs(b.took),
        ms(single),
        secs(single * u32::try_from(n).unwrap_or(u32::MAX)),
        ratio(b.took)
    );
    println!(
        "| {n} issued and installed, per certificate | {} | {} | {:.2}× |",
        ms(b.took / u32::try_from(n).unwrap_or(u32::MAX)),
        ms(single),
        ratio(b.took) / n as f64
    );
    println!(
        "| nginx reloads (`nginx -t` + reload, = new revisions) | {} for the {n} | {} for each single one ({}) | {:.2} per certificate |",
        b.reloads,
        if single_reloads.iter().all(|&r| r == 1) {
            "1".to_owned()
        } else {
            "not 1".to_owned()
        },
        single_reloads
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        b.reloads as f64 / n as f64
    );
    // How many reloads carried k certificates, largest k first.
    let mut sizes: BTreeMap<std::cmp::Reverse<usize>, usize> = BTreeMap::new();
    for &k in b.per_revision.values() {
        *sizes.entry(std::cmp::Reverse(k)).or_insert(0) += 1;
    }
    println!(
        "\nThe {n} installs landed in {} revision(s) ({}); node journal during the batch: {}; revisions listed: +{}.",
        b.per_revision.len(),
        sizes
            .iter()
            .map(|(k, r)| format!("{r} with {} certificate(s)", k.0))
            .collect::<Vec<_>>()
            .join(", "),
        b.journal
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        b.revisions_listed
    );
    let single_phases: Vec<[i64; 4]> = renewals.iter().filter_map(|r| r.phases).collect();
    println!(
        "\nWhere a `certificate.issue` job's time goes (medians from the jobs' step times): one renewal: {}; the {n} together: {}.",
        phase_medians(&single_phases),
        phase_medians(&b.phases)
    );
    Ok(())
}

async fn nginx_version() -> String {
    match berth_sys::Cmd::new("/usr/sbin/nginx").arg("-v").run().await {
        Ok(o) => o.stderr.trim().trim_start_matches("nginx version: nginx/").to_owned(),
        Err(_) => "?".into(),
    }
}

/// The installed Debian package's version.
async fn pkg_version(pkg: &str) -> String {
    match berth_sys::Cmd::new("/usr/bin/dpkg-query")
        .args(["-W", "-f=${Version}", pkg])
        .run()
        .await
    {
        Ok(o) if o.success() => o.stdout.trim().to_owned(),
        _ => "?".into(),
    }
}
