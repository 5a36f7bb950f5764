//! `berth users …`: list, show, create, update, delete, set a password,
//! reset two-factor. Generated passwords are printed once, as the server
//! returns them only once.

use super::login::user_fields;
use super::output::{Ctx, opt, opt_ts, page_footer};
use super::prompt;
use super::table::{Table, clean, print_fields};
use anyhow::bail;
use berth_proto::api::users::{CreateUser, SetPasswordRequest, UpdateUser, User, UserQuery};
use berth_proto::{Email, PackageId, Role, TenantId, Text, UserId};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum UsersCmd {
    /// List users you can see.
    List {
        /// superadmin, admin, reseller or client.
        #[arg(long)]
        role: Option<Role>,
        #[arg(long)]
        tenant: Option<TenantId>,
        /// Case-insensitive text in the email or name.
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one user.
    Show { id: UserId },
    /// Create a user; without --password-stdin a password is generated and
    /// printed once.
    Create {
        #[arg(long, value_parser = Email::parse)]
        email: Email,
        #[arg(long, value_parser = Text::parse)]
        name: Text,
        #[arg(long)]
        role: Role,
        /// The tenant of a client user.
        #[arg(long)]
        tenant: Option<TenantId>,
        /// The package capping what a reseller may sell.
        #[arg(long)]
        allocation_package: Option<PackageId>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user.
    Update {
        id: UserId,
        #[arg(long, value_parser = Text::parse)]
        name: Option<Text>,
        /// Block the user from logging in.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Allow a disabled user to log in again.
        #[arg(long)]
        enable: bool,
        #[arg(long)]
        allocation_package: Option<PackageId>,
    },
    /// Delete a user.
    Delete { id: UserId },
    /// Set a user's password; without --password-stdin one is generated and
    /// printed once. Their sessions end unless --keep-sessions.
    SetPassword {
        id: UserId,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        keep_sessions: bool,
    },
    /// Turn off a user's two-factor (when they lost their device).
    ResetTotp { id: UserId },
}

pub async fn run(ctx: &Ctx, cmd: UsersCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        UsersCmd::List {
            role,
            tenant,
            q,
            limit,
            offset,
        } => {
            let q = UserQuery {
                role,
                tenant_id: tenant,
                q,
                limit,
                offset,
            };
            let page = c.list_users(&q).await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "EMAIL", "NAME", "ROLE", "TENANT", "2FA", "DISABLED", "LAST LOGIN"]);
                for u in &page.items {
                    t.row(vec![
                        u.id.to_string(),
                        u.email.to_string(),
                        u.name.to_string(),
                        u.role.to_string(),
                        opt(u.tenant_id),
                        if u.totp_enabled { "on".into() } else { String::new() },
                        if u.disabled { "disabled".into() } else { String::new() },
                        opt_ts(u.last_login_at),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
        }
        UsersCmd::Show { id } => show(ctx, &c.get_user(id).await?)?,
        UsersCmd::Create {
            email,
            name,
            role,
            tenant,
            allocation_package,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(prompt::secret("", "password", true)?)
            } else {
                None
            };
            let req = CreateUser {
                email,
                name,
                role,
                tenant_id: tenant,
                allocation_package_id: allocation_package,
                password,
            };
            let created = c.create_user(&req).await?;
            ctx.emit(&created, |cu| {
                print_fields(&user_fields(&cu.user));
                if let Some(p) = &cu.generated_password {
                    print_generated(p);
                }
            })?;
        }
        UsersCmd::Update {
            id,
            name,
            disable,
            enable,
            allocation_package,
        } => {
            let disabled = match (disable, enable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if name.is_none() && disabled.is_none() && allocation_package.is_none() {
                bail!("nothing to change: give --name, --disable, --enable or --allocation-package");
            }
            let req = UpdateUser {
                name,
                disabled,
                allocation_package_id: allocation_package,
            };
            show(ctx, &c.update_user(id, &req).await?)?;
        }
        UsersCmd::Delete { id } => {
            c.delete_user(id).await?;
            ctx.done(format!("User {id} deleted."));
        }
        UsersCmd::SetPassword {
            id,
            password_stdin,
            keep_sessions,
        } => {
            let password = if password_stdin {
                Some(prompt::secret("", "password", true)?)
            } else {
                None
            };
            let req = SetPasswordRequest {
                password,
                revoke_sessions: Some(!keep_sessions),
            };
            let r = c.set_user_password(id, &req).await?;
            ctx.emit(&r, |r| match &r.generated_password {
                Some(p) => print_generated(p),
                None => println!("Password set."),
            })?;
        }
        UsersCmd::ResetTotp { id } => {
            let ack = c.reset_user_totp(id).await?;
            ctx.emit(&ack, |a| println!("{}", clean(&a.message)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, u: &User) -> anyhow::Result<()> {
    ctx.emit(u, |u| print_fields(&user_fields(u)))
}

/// The one time a generated password is shown: say so plainly.
fn print_generated(p: &str) {
    println!();
    println!("Generated password (shown only this once; pass it on securely):");
    println!("  {}", clean(p));
}
