//! `berth`: the one binary. `berth serve` runs the panel (embedded SQLite by
//! default, with its job workers); `berth admin …` are recovery commands run
//! on the panel host against the database directly; every other verb is an
//! ordinary client of the HTTP API (see `cli/`).

mod admin;
mod agent;
mod cli;
mod db_flags;
mod dns_flags;
mod serve;
mod tls_flags;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    about = "Berth hosting panel: server, node agent and command-line client"
)]
struct Top {
    #[command(flatten)]
    global: cli::GlobalArgs,
    #[command(subcommand)]
    command: TopCommand,
}

#[derive(Subcommand, Debug)]
enum TopCommand {
    /// Run the panel (API and job workers).
    Serve(serve::ServeArgs),
    /// A node's agent: join a panel, then serve it.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Recovery commands on the panel host (direct database access).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print the API's OpenAPI document (what the UI's types are made from:
    /// `berth openapi > web/openapi.json`).
    Openapi,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Cli(cli::Command),
}

fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Human logs on a terminal, JSON lines otherwise (for log shippers).
    if std::io::stderr().is_terminal() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
}

/// `berth tenants list | head` closes stdout early; Rust's `println!` then
/// panics. Exit quietly as a SIGPIPE-killed tool would (status 141) instead
/// of printing a panic (the workspace forbids `unsafe`, so no `signal()`).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

#[tokio::main]
async fn main() -> ExitCode {
    quiet_broken_pipe();
    // Both ring and aws-lc-rs are in the tree; pick one before any TLS use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let top = Top::parse();
    let result = match top.command {
        TopCommand::Serve(args) => {
            init_tracing();
            serve::run(args).await.map(|()| ExitCode::SUCCESS)
        }
        TopCommand::Admin(cmd) => admin::run(cmd).await,
        TopCommand::Agent(cmd) => {
            init_tracing();
            agent::run(cmd).await.map(|()| ExitCode::SUCCESS)
        }
        TopCommand::Openapi => serde_json::to_string_pretty(&berth_panel::openapi_document())
            .map(|doc| {
                println!("{doc}");
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::from),
        TopCommand::Completions { shell } => {
            clap_complete::generate(shell, &mut Top::command(), "berth", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        TopCommand::Cli(cmd) => cli::run(top.global, cmd).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
