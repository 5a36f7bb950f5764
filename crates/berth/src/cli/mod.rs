//! The CLI verbs of `berth` (everything but `serve`, `admin` and
//! `completions`): an ordinary client of the panel API through
//! `berth-client`, with the URL and token from flags, environment or the
//! file `berth login` saves.
//!
//! Output is a human table by default and the response JSON with `--json`.
//! API errors print `error: <message> (code, HTTP status, request id)` and
//! exit 1; other errors are returned to `main`.

mod account;
mod audit;
mod certificates;
mod config;
mod databases;
mod dns;
mod jobs;
mod login;
mod node;
mod output;
mod packages;
mod prompt;
mod schedules;
mod settings;
mod sites;
mod table;
mod tenants;
mod tokens;
mod users;

use anyhow::Context;
use berth_client::{Client, ClientError, code_str};
use output::Ctx;
use std::process::ExitCode;

/// Options every verb accepts. `Debug` is written by hand to keep the token
/// out of logs and panic messages.
#[derive(clap::Args, Clone)]
pub struct GlobalArgs {
    /// Panel URL (default: the one saved by `berth login`).
    #[arg(long, global = true, env = "BERTH_URL")]
    pub url: Option<String>,
    /// API or session token (default: the one saved by `berth login`).
    #[arg(long, global = true, env = "BERTH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

impl std::fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalArgs")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("json", &self.json)
            .finish()
    }
}

/// The client verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Log in to a panel and save the URL and token for the next commands.
    Login(login::LoginArgs),
    /// End the saved session and forget its token.
    Logout,
    /// Show the account the current token belongs to.
    Whoami,
    /// Tenants: customer accounts.
    #[command(subcommand)]
    Tenants(tenants::TenantsCmd),
    /// Users of every role.
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Packages (plans) of limits.
    #[command(subcommand)]
    Packages(packages::PackagesCmd),
    /// Your API tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCmd),
    /// Your login sessions.
    #[command(subcommand)]
    Sessions(account::SessionsCmd),
    /// System settings.
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
    /// Background jobs: list, inspect, follow, run, retry, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCmd),
    /// Recurring job schedules.
    #[command(subcommand)]
    Schedules(schedules::SchedulesCmd),
    /// Websites.
    #[command(subcommand)]
    Sites(sites::SitesCmd),
    /// Tenants' MariaDB and PostgreSQL databases.
    #[command(subcommand)]
    Databases(databases::DatabasesCmd),
    /// Database users: grants, remote hosts, passwords.
    #[command(subcommand, name = "database-users")]
    DatabaseUsers(databases::DatabaseUsersCmd),
    /// DNS zones and records.
    #[command(subcommand)]
    Dns(dns::DnsCmd),
    /// Sites' TLS certificates: ACME orders, uploads, renewals, expiry.
    #[command(subcommand)]
    Certificates(certificates::CertificatesCmd),
    /// A node's configuration history, drift and rollback (staff).
    #[command(subcommand)]
    Node(node::NodeCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Two-factor authentication (TOTP) of your account.
    #[command(subcommand)]
    Twofa(account::TwofaCmd),
    /// Your password.
    #[command(subcommand)]
    Password(account::PasswordCmd),
}

/// Run one verb. API errors are printed here (exit code 1); any other error
/// (no URL configured, unreadable config, network failure…) is returned.
pub async fn run(global: GlobalArgs, cmd: Command) -> anyhow::Result<ExitCode> {
    match dispatch(&global, cmd).await {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<ClientError>() {
            Some(ClientError::Api { status, body }) => {
                eprintln!("{}", api_error_line(*status, body));
                Ok(ExitCode::FAILURE)
            }
            _ => Err(e),
        },
    }
}

async fn dispatch(global: &GlobalArgs, cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Login(a) => login::login(global, a).await,
        Command::Logout => login::logout(global).await,
        Command::Whoami => login::whoami(&connect(global)?).await,
        Command::Tenants(c) => tenants::run(&connect(global)?, c).await,
        Command::Users(c) => users::run(&connect(global)?, c).await,
        Command::Packages(c) => packages::run(&connect(global)?, c).await,
        Command::Tokens(c) => tokens::run(&connect(global)?, c).await,
        Command::Sessions(c) => account::sessions(&connect(global)?, c).await,
        Command::Settings(c) => settings::run(&connect(global)?, c).await,
        Command::Jobs(c) => jobs::run(&connect(global)?, c).await,
        Command::Schedules(c) => schedules::run(&connect(global)?, c).await,
        Command::Sites(c) => sites::run(&connect(global)?, c).await,
        Command::Databases(c) => databases::run_databases(&connect(global)?, c).await,
        Command::DatabaseUsers(c) => databases::run_users(&connect(global)?, c).await,
        Command::Dns(c) => dns::run(&connect(global)?, c).await,
        Command::Certificates(c) => certificates::run(&connect(global)?, c).await,
        Command::Node(c) => node::run(&connect(global)?, c).await,
        Command::Audit(c) => audit::run(&connect(global)?, c).await,
        Command::Twofa(c) => account::twofa(&connect(global)?, c).await,
        Command::Password(c) => account::password(&connect(global)?, c).await,
    }
}

/// An authenticated client from flags, environment and the saved config.
fn connect(global: &GlobalArgs) -> anyhow::Result<Ctx> {
    let saved = config::load(&config::config_path()?)?;
    let r = config::resolve(global.url.as_deref(), global.token.as_deref(), &saved)?;
    let token = r
        .token
        .context("not logged in: run `berth login`, or pass --token / set BERTH_TOKEN")?;
    Ok(Ctx {
        client: Client::new(&r.url)?.with_token(token),
        json: global.json,
    })
}

/// `error: no such tenant (not_found, HTTP 404, request 0190…)`, plus the
/// details (which field was refused) when the server gave them.
fn api_error_line(status: u16, body: &berth_proto::ApiErrorBody) -> String {
    let mut s = format!(
        "error: {} ({}, HTTP {status}",
        table::clean(&body.message),
        code_str(body.code)
    );
    if let Some(id) = &body.request_id {
        s.push_str(&format!(", request {}", table::clean(id)));
    }
    s.push(')');
    if let Some(d) = body.details.as_ref().filter(|d| !d.is_null()) {
        s.push_str(&format!("\n  details: {}", table::clean(&d.to_string())));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// The shape `main` gives the CLI: global options and the verbs.
    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        global: GlobalArgs,
        #[command(subcommand)]
        cmd: Command,
    }

    #[test]
    fn the_command_tree_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_verb() {
        let cli = TestCli::try_parse_from([
            "berth", "tenants", "list", "--url", "http://x", "--json", "--limit", "5",
        ])
        .unwrap();
        assert_eq!(cli.global.url.as_deref(), Some("http://x"));
        assert!(cli.global.json);
    }

    #[test]
    fn bad_ids_are_refused_by_the_parser() {
        assert!(TestCli::try_parse_from(["berth", "tenants", "show", "nope"]).is_err());
        assert!(TestCli::try_parse_from(["berth", "users", "update", "x", "--enable", "--disable"]).is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let cli = TestCli::try_parse_from(["berth", "whoami", "--token", "bs_secret"]).unwrap();
        assert!(!format!("{cli:?}").contains("bs_secret"));
    }

    #[test]
    fn api_errors_are_one_clear_line() {
        let body = berth_proto::ApiErrorBody {
            code: berth_proto::ErrorCode::InvalidInput,
            message: "bad\nname".into(),
            details: Some(serde_json::json!({"field": "name"})),
            request_id: Some("r1".into()),
        };
        assert_eq!(
            api_error_line(422, &body),
            "error: bad\\nname (invalid_input, HTTP 422, request r1)\n  details: {\"field\":\"name\"}"
        );
    }
}
