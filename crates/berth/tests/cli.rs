//! The `berth` binary as a user runs it, against a real panel (in-process on
//! 127.0.0.1:0) on SQLite and on PostgreSQL: log in, manage tenants, users,
//! packages, tokens and settings, run and follow jobs, verify the audit log.
//! Also the typed client's job stream against the real server.

use berth_client::{Client, StreamEvent};
use futures::StreamExt;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "Quiet-Lighthouse-19";

struct Cli {
    url: String,
    config: tempfile::TempDir,
}

impl Cli {
    #[allow(clippy::disallowed_methods)] // tests run the binary under test directly
    fn run(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Output> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_CONFIG", self.config.path().join("cli.json"))
            .env_remove("BERTH_URL")
            .env_remove("BERTH_TOKEN")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())?;
        }
        Ok(child.wait_with_output()?)
    }

    fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run(args, None)?;
        anyhow::ensure!(
            out.status.success(),
            "berth {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, args: &[&str]) -> anyhow::Result<Value> {
        let mut a = args.to_vec();
        a.push("--json");
        Ok(serde_json::from_str(&self.ok(&a)?)?)
    }
}

async fn start_panel(db_url: &str) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let db = berth_db::Db::connect(db_url).await?;
    let cfg = berth_panel::PanelConfig {
        workers: 2,
        argon2_m_kib: 256,
        argon2_t: 1,
        ..Default::default()
    };
    berth_panel::bootstrap::ensure_first_admin(&db, Some(EMAIL), Some(PASSWORD), (256, 1)).await?;
    let panel = berth_panel::Panel::start(db, cfg).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(panel.serve(listener, async move {
        let _ = rx.await;
    }));
    Ok((url, tx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_the_cli() -> anyhow::Result<()> {
    berth_testkit::init_crypto();
    for db in berth_testkit::databases().await? {
        let (url, _stop) = start_panel(&db.url).await?;
        let cli = Cli {
            url: url.clone(),
            config: tempfile::tempdir()?,
        };
        let b = db.backend;

        // Wrong password: a clear error and exit 1, nothing saved.
        let out = cli.run(
            &["login", "--url", &cli.url, "--email", EMAIL, "--password-stdin"],
            Some("nope\n"),
        )?;
        assert!(!out.status.success(), "[{b}]");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("wrong email or password"),
            "[{b}]"
        );
        let out = cli.run(
            &["login", "--url", &cli.url, "--email", EMAIL, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        )?;
        assert!(out.status.success(), "[{b}] {}", String::from_utf8_lossy(&out.stderr));
        let me = cli.json(&["whoami"])?;
        assert_eq!(me["role"], "superadmin", "[{b}]");

        let t = cli.json(&["tenants", "create", "acme", "--display-name", "Acme Ltd"])?;
        let tid = t["id"].as_str().unwrap_or_default().to_owned();
        let bad = cli.run(&["tenants", "create", "bad;name", "--display-name", "X"], None)?;
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("must start with a letter"),
            "[{b}]"
        );
        let list = cli.json(&["tenants", "list"])?;
        assert_eq!(list["total"], 1, "[{b}] the bad tenant was not created");

        let p = cli.json(&[
            "packages",
            "create",
            "Basic",
            "--limit",
            "sites=2",
            "--limit",
            "disk_mb=500",
        ])?;
        assert_eq!(p["limits"]["sites"], 2);
        let pid = p["id"].as_str().unwrap_or_default().to_owned();
        cli.ok(&["tenants", "update", &tid, "--package", &pid])?;
        let usage = cli.ok(&["tenants", "usage", &tid])?;
        assert!(usage.contains("sites"), "{usage}");

        let u = cli.json(&[
            "users",
            "create",
            "--email",
            "ann@acme.example",
            "--name",
            "Ann",
            "--role",
            "client",
            "--tenant",
            &tid,
        ])?;
        assert!(
            u["generated_password"].as_str().is_some_and(|p| p.len() >= 12),
            "[{b}] {u}"
        );

        let tok = cli.json(&["tokens", "create", "ci", "--access", "read"])?;
        let secret = tok["secret"].as_str().unwrap_or_default().to_owned();
        assert!(secret.starts_with("bt_"));
        // A read-only token in the environment overrides the saved login.
        let out = cli.run(
            &["--token", &secret, "tenants", "create", "nope", "--display-name", "X"],
            None,
        )?;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"), "[{b}]");

        cli.ok(&["settings", "set", "jobs.retry.base_delay_ms", "10"])?;
        let out = cli.run(&["settings", "set", "jobs.retry.base_delay_ms", "\"soon\""], None)?;
        assert!(!out.status.success());

        cli.ok(&["jobs", "run", "builtin.noop", "--wait"])?;
        let out = cli.run(
            &[
                "jobs",
                "run",
                "builtin.fail_n",
                "--payload",
                r#"{"fail_times":9}"#,
                "--wait",
            ],
            None,
        )?;
        assert_eq!(out.status.code(), Some(1), "[{b}] a dead job is a failure");
        let jobs = cli.json(&["jobs", "list", "--state", "dead"])?;
        assert_eq!(jobs["total"], 1, "[{b}]");

        let audit = cli.json(&["audit", "list", "--action", "tenant."])?;
        assert!(audit["total"].as_i64().unwrap_or(0) >= 2, "[{b}] {audit}");
        cli.ok(&["audit", "verify"])?;

        let comp = cli.ok(&["completions", "bash"])?;
        assert!(comp.contains("berth"));

        // The typed client follows a job over the real event stream.
        let client = Client::new(&url)?.with_token(
            cli.json(&["tokens", "create", "stream", "--access", "full"])?["secret"]
                .as_str()
                .unwrap_or_default(),
        );
        let job = client
            .create_job(&berth_proto::api::jobs::CreateJob {
                kind: berth_proto::JobKind::parse("builtin.sleep")?,
                queue: None,
                payload: serde_json::json!({ "ms": 300 }),
                priority: None,
                max_attempts: None,
                run_at: None,
                idempotency_key: None,
                tenant_id: None,
            })
            .await?;
        let mut stream = Box::pin(client.stream_job(job.id));
        let mut saw_log = false;
        let mut end = None;
        while let Some(ev) = stream.next().await {
            match ev? {
                StreamEvent::Log(_) => saw_log = true,
                StreamEvent::State(_) => {}
                StreamEvent::End(j) => end = Some(j),
            }
        }
        assert!(saw_log, "[{b}]");
        assert_eq!(
            end.map(|j| j.state),
            Some(berth_proto::api::jobs::JobState::Succeeded),
            "[{b}]"
        );

        cli.ok(&["logout"])?;
        let out = cli.run(&["whoami"], None)?;
        assert!(!out.status.success(), "[{b}] logged out");
    }
    Ok(())
}
