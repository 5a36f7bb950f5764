//! The apply executor against a real nginx (Debian's package) with a private
//! prefix on a free loopback port.

use berth_agent::apply::{ApplyError, Executor, Plan};
use berth_agent::health::HttpCheck;
use berth_agent::nginx::Nginx;
use berth_agent::store::Store;
use berth_proto::desired::{NginxMainSpec, VhostKind, VhostSpec};
use berth_proto::{AbsPath, AccountName, DomainName, SiteId};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

async fn get(addr: SocketAddr, host: &str) -> anyhow::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn vhost(addr: SocketAddr, host: &str, kind: VhostKind, logs: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let spec = VhostSpec {
        site: SiteId::new(),
        listen: vec![addr],
        server_names: vec![DomainName::parse(host)?],
        access_log: AbsPath::parse(&logs.join(format!("{host}.access.log")).display().to_string())?,
        error_log: AbsPath::parse(&logs.join(format!("{host}.error.log")).display().to_string())?,
        kind,
        redirects: vec![],
        error_pages: Default::default(),
        name_redirect: None,
        acme_root: None,
        tls: None,
    };
    Ok((
        format!("sites/{host}.conf"),
        berth_services::nginx::render_vhost(&spec).into_bytes(),
    ))
}

fn docroot(base: &Path, name: &str, content: &str) -> anyhow::Result<AbsPath> {
    let d = base.join(name);
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join("index.html"), content)?;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755))?;
    Ok(AbsPath::parse(&d.display().to_string())?)
}

fn check(addr: SocketAddr, host: &str) -> anyhow::Result<HttpCheck> {
    Ok(HttpCheck {
        addr,
        host: DomainName::parse(host)?,
        path: "/".into(),
        min_status: 200,
        max_status: 299,
        expect_header: None,
    })
}

/// A private nginx on a free loopback port under a fresh 0755 directory
/// (`nginx/` its prefix and store, `logs/` for the sites' logs).
async fn private_nginx() -> anyhow::Result<(
    tempfile::TempDir,
    SocketAddr,
    Nginx,
    Store,
    berth_agent::nginx::StopOnDrop,
)> {
    let tmp = tempfile::tempdir()?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
    let prefix = tmp.path().join("nginx");
    std::fs::create_dir_all(tmp.path().join("logs"))?;
    let addr = free_addr()?;
    let nginx = Nginx::new(NginxMainSpec {
        prefix: AbsPath::parse(&prefix.display().to_string())?,
        workers: 1,
        default_listen: vec![addr],
        default_tls_listen: vec![],
        user: Some(AccountName::parse("www-data")?),
    });
    nginx.prepare()?;
    let store = Store::open(&prefix)?;
    let out = nginx.start().await?;
    anyhow::ensure!(out.success(), "nginx did not start: {}", out.stderr);
    let stop = berth_agent::nginx::StopOnDrop { prefix };
    Ok((tmp, addr, nginx, store, stop))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_changes_never_reach_the_live_config() -> anyhow::Result<()> {
    let (tmp, addr, nginx, store, _stop) = private_nginx().await?;
    let base = tmp.path();
    let prefix = base.join("nginx");
    let logs = base.join("logs");
    let exec = Executor::new(store, nginx);
    scenario(&exec, addr, base, &logs, &prefix).await
}

async fn scenario(
    exec: &Executor<Nginx>,
    addr: SocketAddr,
    base: &Path,
    logs: &Path,
    prefix: &Path,
) -> anyhow::Result<()> {
    assert_eq!(get(addr, "nobody.test").await?.0, 404, "unknown hosts get 404");

    // Revision 1: two static sites.
    let a1 = docroot(base, "a1", "site A v1")?;
    let b = docroot(base, "b", "site B")?;
    let (pa, a_conf1) = vhost(addr, "a.test", VhostKind::Static { root: a1 }, logs)?;
    let (pb, b_conf) = vhost(addr, "b.test", VhostKind::Static { root: b }, logs)?;
    let plan = Plan {
        reason: "job 1".into(),
        puts: BTreeMap::from([(pa.clone(), a_conf1.clone()), (pb.clone(), b_conf)]),
        removes: vec![],
        health: vec![check(addr, "a.test")?, check(addr, "b.test")?],
    };
    let r1 = exec.apply(&plan).await?;
    assert_eq!(r1.rev, 1);
    let names: Vec<&str> = r1.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["stage", "check", "swap", "reload", "health"]);
    assert_eq!(get(addr, "a.test").await?, (200, "site A v1".into()));

    // Hammer site B during every following change; it must never fail.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hammer = {
        let (stop, ok, bad) = (stop.clone(), ok.clone(), bad.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match get(addr, "b.test").await {
                    Ok((200, body)) if body == "site B" => ok.fetch_add(1, Ordering::Relaxed),
                    _ => bad.fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
    };

    // A config nginx refuses: rejected, nothing changed, no reload.
    let broken = format!("server {{ listen {addr}; server_name a.test; bogus_directive on; }}\n");
    let err = exec
        .apply(&Plan {
            reason: "job 2".into(),
            puts: BTreeMap::from([(pa.clone(), broken.into_bytes())]),
            ..Default::default()
        })
        .await
        .expect_err("nginx -t must refuse");
    match &err {
        ApplyError::CheckFailed { stderr, .. } => assert!(stderr.contains("bogus_directive"), "{stderr}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.retryable());
    assert_eq!(exec.store().current()?, Some(1));
    assert_eq!(get(addr, "a.test").await?, (200, "site A v1".into()));

    // A config nginx accepts but that breaks the site: rolled back.
    let (_, a_500) = vhost(
        addr,
        "a.test",
        VhostKind::Redirect {
            to: berth_proto::RedirectUrl::parse("https://elsewhere.test/")?,
            permanent: false,
        },
        logs,
    )?;
    let err = exec
        .apply(&Plan {
            reason: "job 3".into(),
            puts: BTreeMap::from([(pa.clone(), a_500)]),
            removes: vec![],
            health: vec![check(addr, "a.test")?],
        })
        .await
        .expect_err("the health check must fail");
    assert!(
        matches!(err, ApplyError::HealthFailed { restored: Some(1), .. }),
        "{err:?}"
    );
    assert_eq!(exec.store().current()?, Some(1));
    assert_eq!(get(addr, "a.test").await?, (200, "site A v1".into()));

    // A good change.
    let a2 = docroot(base, "a2", "site A v2")?;
    let (_, a_conf2) = vhost(addr, "a.test", VhostKind::Static { root: a2 }, logs)?;
    let r = exec
        .apply(&Plan {
            reason: "job 4".into(),
            puts: BTreeMap::from([(pa.clone(), a_conf2)]),
            removes: vec![],
            health: vec![check(addr, "a.test")?],
        })
        .await?;
    assert_eq!((r.rev, r.previous), (3, Some(1)), "revision 2 was the rolled-back one");
    assert_eq!(get(addr, "a.test").await?, (200, "site A v2".into()));

    stop.store(true, Ordering::Relaxed);
    hammer.await?;
    let (ok, bad) = (ok.load(Ordering::Relaxed), bad.load(Ordering::Relaxed));
    assert!(ok > 20, "only {ok} requests made");
    assert_eq!(
        bad,
        0,
        "site B failed {bad} of {} requests during the changes",
        ok + bad
    );

    // A hand edit is reported as drift, not silently overwritten…
    let live_b = prefix.join("current").join(&pb);
    let mut text = std::fs::read_to_string(&live_b)?;
    text.push_str("# edited by hand\n");
    std::fs::write(&live_b, text)?;
    let drift = exec.store().drift()?;
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].path, pb);
    // …and the admin chooses: overwrite it (from the blobs, untouched).
    let r = exec.overwrite_drift().await?.expect("there was drift");
    assert!(exec.store().drift()?.is_empty());
    assert!(!std::fs::read_to_string(&live_b)?.contains("edited by hand"));
    assert_eq!(r.rev, 4);

    // Roll back to revision 1 (as a new revision, through the same checks).
    let r = exec.rollback_to(1, vec![check(addr, "a.test")?]).await?;
    assert_eq!(r.rev, 5);
    assert_eq!(get(addr, "a.test").await?, (200, "site A v1".into()));
    let _ = a_conf1;

    let events: Vec<String> = exec.store().journal()?.into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        ["applied", "rejected", "rolled_back", "applied", "applied", "applied"]
    );
    let history = exec.store().history()?;
    assert_eq!(history.iter().map(|m| m.rev).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(history[4].reason, "rollback to revision 1");

    // A crash mid-apply leaves staging junk and a revision without manifest;
    // reopening cleans both and the live revision is untouched.
    std::fs::create_dir_all(prefix.join("staging/6/sites"))?;
    std::fs::write(prefix.join("staging/6/sites/x.conf"), "half")?;
    std::fs::create_dir_all(prefix.join("revs/7/sites"))?;
    let reopened = Store::open(prefix)?;
    assert_eq!(reopened.current()?, Some(5));
    assert!(!prefix.join("staging/6").exists() && !prefix.join("revs/7").exists());
    Ok(())
}

/// Changes that arrive together become one revision (one `nginx -t`, one
/// reload); a bad change among them is split out and refused alone while
/// the good ones still land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_are_coalesced() -> anyhow::Result<()> {
    let (tmp, addr, nginx, store, _stop) = private_nginx().await?;
    let base = tmp.path();
    let prefix = base.join("nginx");
    let logs = base.join("logs");
    let exec = Arc::new(Executor::new(store, nginx));

    let root = docroot(base, "shared", "coalesced")?;
    let mut plans = Vec::new();
    for i in 0..30 {
        let host = format!("s{i}.test");
        let (path, conf) = vhost(addr, &host, VhostKind::Static { root: root.clone() }, &logs)?;
        plans.push(Plan {
            reason: format!("job {i}"),
            puts: BTreeMap::from([(path, conf)]),
            removes: vec![],
            health: vec![check(addr, &host)?],
        });
    }
    // One change nginx refuses, in the middle of the crowd.
    plans.insert(
        15,
        Plan {
            reason: "bad job".into(),
            puts: BTreeMap::from([(
                "sites/bad.conf".to_owned(),
                format!("server {{ listen {addr}; server_name bad.test; bogus_directive on; }}\n").into_bytes(),
            )]),
            ..Default::default()
        },
    );
    let tasks: Vec<_> = plans
        .into_iter()
        .map(|p| {
            let exec = exec.clone();
            tokio::spawn(async move { (p.reason.clone(), exec.apply(&p).await) })
        })
        .collect();
    let mut ok = 0;
    let mut max_changes = 0;
    for t in tasks {
        let (reason, r) = t.await?;
        match r {
            Ok(rep) => {
                assert_ne!(reason, "bad job");
                ok += 1;
                max_changes = max_changes.max(rep.changes);
            }
            Err(e) => {
                assert_eq!(reason, "bad job", "{e}");
                assert!(matches!(e, ApplyError::CheckFailed { .. }), "{e:?}");
            }
        }
    }
    assert_eq!(ok, 30);
    assert!(max_changes > 1, "some changes were applied together");
    let revisions = exec.store().history()?.len();
    assert!(revisions < 30, "{revisions} revisions for 30 changes");
    for i in 0..30 {
        assert_eq!(get(addr, &format!("s{i}.test")).await?, (200, "coalesced".into()));
    }
    assert!(!prefix.join("current/sites/bad.conf").exists());
    Ok(())
}

/// A reload the master cannot carry out (here: it runs out of file
/// descriptors opening the new logs, which `nginx -t` in its own process did
/// not) keeps the old configuration; that is reported as a failed reload and
/// the previous revision is put back, not recorded as live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_the_master_refuses_is_a_failure() -> anyhow::Result<()> {
    let (tmp, addr, nginx, store, _stop) = private_nginx().await?;
    let base = tmp.path();
    let logs = base.join("logs");
    let master = nginx.pid().ok_or_else(|| anyhow::anyhow!("no pid"))?;
    let exec = Executor::new(store, nginx);
    let root = docroot(base, "r", "first")?;
    let (p1, c1) = vhost(addr, "one.test", VhostKind::Static { root: root.clone() }, &logs)?;
    exec.apply(&Plan {
        reason: "first".into(),
        puts: BTreeMap::from([(p1, c1)]),
        removes: vec![],
        health: vec![check(addr, "one.test")?],
    })
    .await?;
    // Leave the master a handful of descriptors more than it holds now.
    let open = std::fs::read_dir(format!("/proc/{master}/fd"))?.count();
    let limit = format!("--nofile={}:{}", open + 4, open + 4);
    let out = berth_sys::Cmd::new("/usr/bin/prlimit")
        .arg("--pid")
        .arg(master.to_string())
        .arg(limit)
        .run()
        .await?;
    anyhow::ensure!(out.success(), "prlimit: {}", out.stderr);
    let mut puts = BTreeMap::new();
    for i in 0..20 {
        let (p, c) = vhost(
            addr,
            &format!("n{i}.test"),
            VhostKind::Static { root: root.clone() },
            &logs,
        )?;
        puts.insert(p, c);
    }
    let err = exec
        .apply(&Plan {
            reason: "too many logs".into(),
            puts,
            removes: vec![],
            health: vec![],
        })
        .await
        .expect_err("the master cannot open 40 more log files");
    assert!(
        matches!(err, ApplyError::ReloadFailed { restored: Some(1), .. }),
        "{err:?}"
    );
    assert_eq!(exec.store().current()?, Some(1), "the previous revision is back");
    assert_eq!(get(addr, "one.test").await?, (200, "first".into()));
    Ok(())
}
