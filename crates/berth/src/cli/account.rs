//! Verbs about your own account: sessions, two-factor, password.

use super::output::{Ctx, opt, ts};
use super::prompt;
use super::table::{Table, print_fields};
use berth_proto::api::auth::{ChangePasswordRequest, PasswordConfirm, TotpEnableRequest};
use berth_proto::{OneTimeCode, SessionId};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum SessionsCmd {
    /// List your sessions (the one making this call is marked).
    List,
    /// End one session.
    Revoke { id: SessionId },
    /// End every session of yours, this one included.
    RevokeAll,
}

pub async fn sessions(ctx: &Ctx, cmd: SessionsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SessionsCmd::List => {
            let list = ctx.client.list_sessions().await?;
            ctx.emit(&list, |list| {
                let mut t = Table::new(&["ID", "CURRENT", "IP", "CREATED", "LAST SEEN", "EXPIRES", "USER AGENT"]);
                for s in list {
                    t.row(vec![
                        s.id.to_string(),
                        if s.current { "*".into() } else { String::new() },
                        opt(s.ip.as_deref()),
                        ts(s.created_at),
                        ts(s.last_seen_at),
                        ts(s.expires_at),
                        opt(s.user_agent.as_deref()),
                    ]);
                }
                t.print();
            })?;
        }
        SessionsCmd::Revoke { id } => {
            ctx.client.revoke_session(id).await?;
            ctx.done(format!("Session {id} ended."));
        }
        SessionsCmd::RevokeAll => {
            let ack = ctx.client.logout_all().await?;
            ctx.emit(&ack, |a| println!("{}", super::table::clean(&a.message)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Subcommand, Debug)]
pub enum TwofaCmd {
    /// Start: get a new secret for your authenticator app.
    Setup,
    /// Finish: prove the app works with a current code; prints recovery codes.
    Enable {
        #[arg(value_parser = OneTimeCode::parse)]
        code: OneTimeCode,
    },
    /// Turn two-factor off (asks for your password).
    Disable {
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn twofa(ctx: &Ctx, cmd: TwofaCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TwofaCmd::Setup => {
            let r = ctx.client.totp_setup().await?;
            ctx.emit(&r, |r| {
                println!("Add this account to your authenticator app, then run `berth twofa enable CODE`.");
                print_fields(&[("secret", r.secret.clone()), ("otpauth url", r.otpauth_url.clone())]);
            })?;
        }
        TwofaCmd::Enable { code } => {
            let r = ctx.client.totp_enable(&TotpEnableRequest { code }).await?;
            ctx.emit(&r, |r| {
                println!("Two-factor is on. Recovery codes (shown once; each works once, keep them safe):");
                for c in &r.recovery_codes {
                    println!("  {}", super::table::clean(c));
                }
            })?;
        }
        TwofaCmd::Disable { password_stdin } => {
            let password = prompt::secret("Password: ", "password", password_stdin)?;
            let ack = ctx.client.totp_disable(&PasswordConfirm { password }).await?;
            ctx.emit(&ack, |a| println!("{}", super::table::clean(&a.message)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Subcommand, Debug)]
pub enum PasswordCmd {
    /// Change your password (asks for the current and the new one; with
    /// stdin not a terminal, reads them as two lines).
    Change,
}

pub async fn password(ctx: &Ctx, cmd: PasswordCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PasswordCmd::Change => {
            let current_password = prompt::secret("Current password: ", "current password", false)?;
            let new_password = prompt::new_password(false)?;
            let ack = ctx
                .client
                .change_password(&ChangePasswordRequest {
                    current_password,
                    new_password,
                })
                .await?;
            ctx.emit(&ack, |a| println!("{}", super::table::clean(&a.message)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
