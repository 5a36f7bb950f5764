//! `berth agent join` and `berth agent run`: a node's agent. Joining makes
//! the node's key here, sends only a certificate request with the one-time
//! token, and checks that the CA it gets back is the one the token names.
//! Running serves the RPC over mutual TLS and puts sites on this machine
//! through the same executor as the panel's local node.

use anyhow::{Context, bail};
use berth_agent::node::{LocalNode, NodeConfig};
use berth_agent::rpc::{Agent, StateFiles};
use berth_proto::api::nodes::{JoinRequest, JoinResponse};
use berth_proto::desired::NginxMainSpec;
use berth_proto::{AbsPath, AccountName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum AgentCommand {
    /// Enrol this machine with a panel (once, with the token from `berth node add`).
    Join {
        /// The panel's URL, e.g. https://panel.example.com or http://127.0.0.1:8420.
        panel: String,
        #[arg(long, env = "BERTH_JOIN_TOKEN", hide_env_values = true)]
        token: String,
        /// Where the agent keeps its key, certificate and state.
        #[arg(long, default_value = "/var/lib/berth-agent", env = "BERTH_AGENT_DIR")]
        state_dir: PathBuf,
    },
    /// Serve the panel's requests (after `join`).
    Run(Box<RunArgs>),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[arg(long, default_value = "/var/lib/berth-agent", env = "BERTH_AGENT_DIR")]
    pub state_dir: PathBuf,
    /// Where the RPC listens (the address given to `berth node add`).
    #[arg(long, default_value = "0.0.0.0:8421", env = "BERTH_AGENT_LISTEN")]
    pub listen: SocketAddr,
    /// Where nginx serves this node's websites.
    #[arg(long, default_value = "0.0.0.0:80", env = "BERTH_WEB_LISTEN")]
    pub web_listen: SocketAddr,
    #[arg(long, default_value = "/home", env = "BERTH_HOMES_ROOT")]
    pub homes_root: PathBuf,
    #[arg(long, default_value = "/var/lib/berth/php", env = "BERTH_PHP_ROOT")]
    pub php_root: PathBuf,
    /// Who starts nginx and the PHP-FPM masters and restarts them: `auto`
    /// (systemd when it is the running init), `systemd` or `agent`.
    #[arg(long, default_value = "auto", env = "BERTH_SERVICE_MANAGER")]
    pub service_manager: String,
    #[command(flatten)]
    pub db: crate::db_flags::DbFlags,
    #[command(flatten)]
    pub dns: crate::dns_flags::DnsFlags,
    #[command(flatten)]
    pub tls: crate::tls_flags::TlsFlags,
}

pub async fn run(cmd: AgentCommand) -> anyhow::Result<()> {
    match cmd {
        AgentCommand::Join {
            panel,
            token,
            state_dir,
        } => join(&panel, &token, &state_dir).await,
        AgentCommand::Run(args) => serve(*args).await,
    }
}

async fn join(panel: &str, token: &str, dir: &Path) -> anyhow::Result<()> {
    let files = StateFiles { dir: dir.to_path_buf() };
    if files.cert().exists() {
        bail!("{} holds an enrolment already; remove it to join again", dir.display());
    }
    let pin = token
        .rsplit_once('_')
        .map(|(_, p)| p)
        .filter(|p| p.len() == 16 && p.chars().all(|c| c.is_ascii_hexdigit()))
        .context("this is not a join token (bj_…)")?;
    // The node's name is the panel's to give; the request carries only the key.
    let (csr, key) = berth_pki::make_csr("berth-node")?;
    let url = format!("{}/api/v1/nodes/join", panel.trim_end_matches('/'));
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?
        .post(&url)
        .json(&JoinRequest {
            token: token.to_owned(),
            csr,
        })
        .send()
        .await
        .with_context(|| format!("reaching {url}"))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        bail!(
            "the panel refused ({status}): {}",
            body["message"].as_str().unwrap_or("?")
        );
    }
    let j: JoinResponse = resp.json().await?;
    let ca = berth_pki::cert_info(&j.ca_pem).context("the panel sent no CA certificate")?;
    if !ca.sha256_hex.starts_with(&pin.to_ascii_lowercase()) {
        bail!("the panel's CA is not the one the token names: refusing it");
    }
    files.save(j.name.as_str(), &j.ca_pem, &j.cert_pem, &key)?;
    files.server_config().map_err(anyhow::Error::msg)?;
    println!("enrolled as node {}; start it with `berth agent run`", j.name);
    Ok(())
}

async fn serve(args: RunArgs) -> anyhow::Result<()> {
    let files = StateFiles {
        dir: args.state_dir.clone(),
    };
    let name = std::fs::read_to_string(files.name()).with_context(|| {
        format!(
            "{} has no enrolment: run `berth agent join` first",
            args.state_dir.display()
        )
    })?;
    let name = AccountName::parse(name.trim())?;
    let tls = Arc::new(RwLock::new(files.server_config().map_err(anyhow::Error::msg)?));
    std::fs::create_dir_all(&args.homes_root)?;
    std::fs::create_dir_all(&args.php_root)?;
    let abs = |p: &Path| -> anyhow::Result<AbsPath> {
        let c = std::fs::canonicalize(p)?;
        Ok(AbsPath::parse(&c.display().to_string())?)
    };
    let cfg = NodeConfig {
        homes_root: abs(&args.homes_root)?,
        nginx: NginxMainSpec {
            prefix: AbsPath::parse(
                &std::fs::canonicalize(&args.state_dir)?
                    .join("nginx")
                    .display()
                    .to_string(),
            )?,
            workers: 2,
            default_listen: vec![args.web_listen],
            default_tls_listen: vec![],
            user: Some(AccountName::parse("berth-web")?),
        },
        web_listen: vec![args.web_listen],
        php_root: abs(&args.php_root)?,
        php_sbin: PathBuf::from("/usr/sbin"),
        services: berth_agent::systemd::ServiceManager::from_choice(&args.service_manager)
            .map_err(anyhow::Error::msg)?,
        databases: args.db.config(std::fs::canonicalize(&args.state_dir)?.join("db-dumps")),
        dns: args.dns.config()?,
        certs: args.tls.config(&std::fs::canonicalize(&args.state_dir)?.join("tls"))?,
        templates_dir: Some(std::fs::canonicalize(&args.state_dir)?.join("templates")),
    };
    let node = Arc::new(LocalNode::start(cfg).await?);
    let agent = Arc::new(Agent::new(node.clone(), files, tls.clone()));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(node = %name, listen = %listener.local_addr()?, "agent serving");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let supervisor = {
        let node = node.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => { node.supervise().await; }
                    _ = stop.changed() => break,
                }
            }
        })
    };
    let server = tokio::spawn(berth_agent::rpc::serve_mtls(
        listener,
        tls,
        berth_agent::rpc::router(agent),
        stop_rx,
    ));
    crate::serve::shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = server.await;
    let _ = supervisor.await;
    Ok(())
}
