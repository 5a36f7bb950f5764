//! `berth admin`: recovery on the panel host, straight to the database. The
//! only CLI verbs that do not go through the API, for when no one can log in.

use crate::serve::{database_url, prepare_data_dir};
use anyhow::Context;
use berth_db::audit::{AuditEvent, AuditMeta};
use berth_db::{Db, auth as auth_db, users};
use berth_proto::{Email, Role, Text};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DbArgs {
    #[arg(long, default_value = "./var", env = "BERTH_DATA_DIR")]
    data_dir: PathBuf,
    #[arg(long, env = "BERTH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a superadmin (for example when every superadmin is locked out).
    CreateSuperadmin {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// Read the password from stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a user (generated and printed), end their
    /// sessions and turn off their two-factor authentication.
    ResetPassword {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
    },
    /// Check the audit log's hash chain.
    VerifyAudit {
        #[command(flatten)]
        db: DbArgs,
    },
}

async fn open(a: &DbArgs) -> anyhow::Result<Db> {
    prepare_data_dir(&a.data_dir)?;
    Db::connect(&database_url(&a.data_dir, a.database_url.as_deref()))
        .await
        .context("opening the database")
}

fn meta() -> AuditMeta {
    AuditMeta {
        ip: Some("local:berth-admin".into()),
        ..AuditMeta::default()
    }
}

pub async fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    let argon = berth_panel::PanelConfig::default();
    match cmd {
        AdminCommand::CreateSuperadmin {
            db,
            email,
            password_stdin,
        } => {
            let db = open(&db).await?;
            let email = Email::parse(&email)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let p = line.trim_end_matches(['\r', '\n']).to_owned();
                berth_core::password_policy::PasswordPolicy {
                    min_length: 12,
                    min_classes: 3,
                }
                .check(&p, email.as_str())
                .map_err(anyhow::Error::msg)?;
                (p, false)
            } else {
                (berth_panel::auth::secrets::generate_password(), true)
            };
            let hash =
                berth_panel::auth::secrets::hash_password_async(password.clone(), argon.argon2_m_kib, argon.argon2_t)
                    .await
                    .map_err(anyhow::Error::msg)?;
            let mut tx = db.begin().await?;
            let u = users::insert(
                &mut tx,
                users::NewUser {
                    email,
                    name: Text::parse("Administrator")?,
                    role: Role::Superadmin,
                    tenant_id: None,
                    allocation_package_id: None,
                    password_hash: hash,
                },
            )
            .await?;
            berth_db::audit::append(
                &mut tx,
                &meta(),
                AuditEvent {
                    tenant_id: None,
                    action: "admin.create_superadmin",
                    target_type: "user",
                    target_id: Some(u.id.to_string()),
                    summary: serde_json::json!({ "email": u.email }),
                },
            )
            .await?;
            tx.commit().await?;
            println!("created superadmin {}", u.email);
            if generated {
                println!("password: {password}  (shown once)");
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::ResetPassword { db, email } => {
            let db = open(&db).await?;
            let email = Email::parse(&email)?;
            let mut c = db.conn().await?;
            let rec = users::find_by_email(&mut c, &email)
                .await?
                .with_context(|| format!("no user {email}"))?;
            drop(c);
            let password = berth_panel::auth::secrets::generate_password();
            let hash =
                berth_panel::auth::secrets::hash_password_async(password.clone(), argon.argon2_m_kib, argon.argon2_t)
                    .await
                    .map_err(anyhow::Error::msg)?;
            let mut tx = db.begin().await?;
            users::set_password_hash(&mut tx, rec.user.id, &hash).await?;
            users::set_totp(&mut tx, rec.user.id, None, None).await?;
            let ended = auth_db::delete_user_sessions(&mut tx, rec.user.id, None).await?;
            berth_db::audit::append(
                &mut tx,
                &meta(),
                AuditEvent {
                    tenant_id: rec.user.tenant_id,
                    action: "admin.reset_password",
                    target_type: "user",
                    target_id: Some(rec.user.id.to_string()),
                    summary: serde_json::json!({ "sessions_ended": ended, "totp_disabled": rec.user.totp_enabled }),
                },
            )
            .await?;
            tx.commit().await?;
            println!("new password for {email}: {password}  (shown once; {ended} session(s) ended)");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::VerifyAudit { db } => {
            let db = open(&db).await?;
            let mut c = db.conn().await?;
            let r = berth_db::audit::verify(&mut c).await?;
            println!("{}", r.message);
            Ok(if r.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
