//! `berth serve`: open the database, create the first admin on an empty
//! install, start the panel and its job workers, serve until a signal.

use anyhow::Context;
use berth_panel::{Panel, PanelConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Where Berth keeps its data (the SQLite database by default).
    #[arg(long, default_value = "./var", env = "BERTH_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8420", env = "BERTH_LISTEN")]
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB`; default: SQLite in the data dir.
    #[arg(long, env = "BERTH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Job workers in this process.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Where nginx serves the websites of this machine.
    #[arg(long, default_value = "0.0.0.0:80", env = "BERTH_WEB_LISTEN")]
    pub web_listen: SocketAddr,
    /// Where tenants' homes (and their sites' files) are.
    #[arg(long, default_value = "/home", env = "BERTH_HOMES_ROOT")]
    pub homes_root: PathBuf,
    /// Where PHP-FPM masters keep their configs and sockets; outside the
    /// data dir (0700), since the masters run as the tenants.
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
    /// Run only the panel: no websites on this machine.
    #[arg(long)]
    pub no_local_node: bool,
}

/// The local node: nginx under the data dir, sites in the homes root.
fn node_config(args: &ServeArgs) -> anyhow::Result<berth_agent::node::NodeConfig> {
    use berth_proto::{AbsPath, AccountName};
    let data = std::fs::canonicalize(&args.data_dir)?;
    std::fs::create_dir_all(&args.homes_root)?;
    let homes = std::fs::canonicalize(&args.homes_root)?;
    let abs = |p: &Path| AbsPath::parse(&p.display().to_string()).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()));
    Ok(berth_agent::node::NodeConfig {
        homes_root: abs(&homes)?,
        nginx: berth_proto::desired::NginxMainSpec {
            prefix: abs(&data.join("nginx"))?,
            workers: 2,
            default_listen: vec![args.web_listen],
            default_tls_listen: vec![],
            user: Some(AccountName::parse("berth-web")?),
        },
        web_listen: vec![args.web_listen],
        php_root: {
            std::fs::create_dir_all(&args.php_root)?;
            abs(&std::fs::canonicalize(&args.php_root)?)?
        },
        php_sbin: PathBuf::from("/usr/sbin"),
        services: berth_agent::systemd::ServiceManager::from_choice(&args.service_manager)
            .map_err(anyhow::Error::msg)?,
        databases: args.db.config(data.join("db-dumps")),
        dns: args.dns.config()?,
        certs: args.tls.config(&data.join("tls"))?,
        templates_dir: Some(data.join("templates")),
    })
}

pub fn database_url(data_dir: &Path, explicit: Option<&str>) -> String {
    match explicit {
        Some(u) => u.to_owned(),
        None => format!("sqlite://{}?mode=rwc", data_dir.join("berth.db").display()),
    }
}

pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The database holds password hashes and session hashes.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("securing {}", dir.display()))?;
    }
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    prepare_data_dir(&args.data_dir)?;
    let url = database_url(&args.data_dir, args.database_url.as_deref());
    let db = berth_db::Db::connect(&url)
        .await
        .with_context(|| "opening the database (see --database-url)".to_string())?;
    let node = if args.no_local_node {
        None
    } else {
        Some(node_config(&args)?)
    };
    let config = PanelConfig {
        workers: args.workers,
        node,
        dump_dir: Some(std::fs::canonicalize(&args.data_dir)?.join("db-dumps")),
        ..PanelConfig::default()
    };
    let first = berth_panel::bootstrap::ensure_first_admin(
        &db,
        std::env::var("BERTH_ADMIN_EMAIL").ok().as_deref(),
        std::env::var("BERTH_ADMIN_PASSWORD").ok().as_deref(),
        (config.argon2_m_kib, config.argon2_t),
    )
    .await?;
    let panel = Panel::start(db, config).await?;
    let web = match (args.no_local_node, panel.node_error()) {
        (true, _) => "Websites: off on this machine (--no-local-node).".to_owned(),
        (false, Some(e)) => format!("Websites: OFF — the local node did not start: {e}"),
        (false, None) => {
            let https: Vec<&str> = args
                .tls
                .https_listen
                .iter()
                .map(String::as_str)
                .filter(|a| *a != "none")
                .collect();
            format!(
                "Websites: served by nginx on {}, HTTPS {} (files under {})",
                args.web_listen,
                if https.is_empty() {
                    "off".to_owned()
                } else {
                    format!("on {}", https.join(", "))
                },
                args.homes_root.display()
            )
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("Berth is running at http://{addr}/  (API docs: http://{addr}/api/docs)");
    println!("{web}");
    if let Some(f) = first {
        match f.generated_password {
            Some(p) => println!(
                "First superadmin created: {}  password: {p}\n  (shown once; log in with `berth login --url http://{addr} --email {}` and change it)",
                f.email, f.email
            ),
            None => println!("First superadmin created from BERTH_ADMIN_EMAIL: {}", f.email),
        }
    }
    tracing::info!(%addr, "listening");
    panel.serve(listener, shutdown_signal()).await?;
    Ok(())
}
