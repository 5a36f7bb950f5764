//! `berth login`, `berth logout`, `berth whoami`: getting a token, saving it
//! next to the panel URL, and ending the session again.

use super::config::{self, SavedConfig};
use super::output::{Ctx, print_json};
use super::table::print_fields;
use super::{GlobalArgs, prompt};
use anyhow::{Context, bail};
use berth_client::{Client, ClientError};
use berth_proto::api::auth::LoginRequest;
use berth_proto::api::users::User;
use berth_proto::{Email, ErrorCode, OneTimeCode};
use std::process::ExitCode;

/// Session tokens (from a login) start with this; API tokens do not, and
/// must not be "logged out" (they are deleted with `berth tokens delete`).
const SESSION_PREFIX: &str = "bs_";

/// `berth login --url URL (--token TOKEN | --email EMAIL …)`; `--url` and
/// `--token` are the global options.
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Log in with a password (else the --token given is checked and saved).
    #[arg(long, value_parser = Email::parse)]
    pub email: Option<Email>,
    /// Read the password from standard input instead of prompting.
    #[arg(long, requires = "email")]
    pub password_stdin: bool,
    /// A TOTP or recovery code, when the account has two-factor enabled.
    #[arg(long, requires = "email", value_parser = OneTimeCode::parse)]
    pub totp: Option<OneTimeCode>,
}

pub async fn login(global: &GlobalArgs, args: LoginArgs) -> anyhow::Result<ExitCode> {
    let path = config::config_path()?;
    let mut saved = config::load(&path)?;
    let url = global
        .url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| saved.url.clone())
        .context("give the panel URL: `berth login --url https://panel.example.com …`")?;
    // Logging in never sends an old token: not to this panel, not elsewhere.
    let anon = Client::new(&url)?;

    let (user, token) = match args.email {
        Some(email) => {
            let password = prompt::secret("Password: ", "password", args.password_stdin)?;
            let mut req = LoginRequest {
                email,
                password,
                totp: args.totp,
            };
            // The account has two-factor and no code was given: ask for
            // it when someone is at the terminal, rather than fail.
            let resp = match anon.login(&req).await {
                Err(e) if e.code() == Some(ErrorCode::TotpRequired) && req.totp.is_none() && prompt::interactive() => {
                    let code = prompt::line("Two-factor code: ", "code")?;
                    req.totp = Some(OneTimeCode::parse(&code).map_err(|e| anyhow::anyhow!("{e}"))?);
                    anon.login(&req).await?
                }
                other => other?,
            };
            (resp.user, resp.token)
        }
        None => {
            let Some(token) = global.token.clone().filter(|t| !t.trim().is_empty()) else {
                bail!("give --email (to log in with a password) or --token (to save an API token)");
            };
            let user = anon.clone().with_token(token.clone()).me().await?;
            (user, token)
        }
    };

    saved.url = Some(url.clone());
    saved.token = Some(token);
    config::save(&path, &saved)?;
    if global.json {
        print_json(&user)?;
    } else {
        println!(
            "Logged in to {url} as {} ({}); credentials saved in {}",
            user.email,
            user.role,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// End the session on the server (when the token is one), then forget it.
pub async fn logout(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let path = config::config_path()?;
    let saved = config::load(&path)?;
    let resolved = config::resolve(global.url.as_deref(), global.token.as_deref(), &saved).ok();
    if let Some(r) = resolved
        && let Some(token) = r.token.filter(|t| t.starts_with(SESSION_PREFIX))
    {
        match Client::new(&r.url)?.with_token(token).logout().await {
            Ok(()) => {}
            // Already expired or revoked: nothing left to end on the server.
            Err(e) if e.status() == Some(401) => {}
            Err(e @ ClientError::Api { .. }) => return Err(e.into()),
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("could not reach the panel to end the session; the token is kept, try again"));
            }
        }
    }
    if saved.token.is_some() {
        config::save(
            &path,
            &SavedConfig {
                url: saved.url,
                token: None,
            },
        )?;
    }
    if !global.json {
        println!("Logged out.");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn whoami(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let me = ctx.client.me().await?;
    ctx.emit(&me, |u| print_fields(&user_fields(u)))?;
    Ok(ExitCode::SUCCESS)
}

/// The fields of a user, for `whoami` and `users show`.
pub fn user_fields(u: &User) -> Vec<(&'static str, String)> {
    use super::output::{opt, opt_ts, ts, yes_no};
    vec![
        ("id", u.id.to_string()),
        ("email", u.email.to_string()),
        ("name", u.name.to_string()),
        ("role", u.role.to_string()),
        ("tenant", opt(u.tenant_id)),
        ("allocation package", opt(u.allocation_package_id)),
        ("two-factor", yes_no(u.totp_enabled)),
        ("disabled", yes_no(u.disabled)),
        ("created", ts(u.created_at)),
        ("last login", opt_ts(u.last_login_at)),
    ]
}
