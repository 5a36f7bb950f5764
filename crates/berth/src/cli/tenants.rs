//! `berth tenants …`: list, show, create, update, suspend, unsuspend,
//! delete, and usage against the package's limits.

use super::output::{Ctx, opt, page_footer, ts};
use super::table::{Table, print_fields};
use anyhow::bail;
use berth_proto::api::tenants::{CreateTenant, SuspendRequest, Tenant, TenantQuery, TenantStatus, UpdateTenant};
use berth_proto::{AccountName, PackageId, TenantId, Text, UserId};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum TenantsCmd {
    /// List tenants you can see.
    List {
        /// active or suspended.
        #[arg(long, value_parser = parse_status)]
        status: Option<TenantStatus>,
        /// Only tenants managed by this user.
        #[arg(long)]
        owner: Option<UserId>,
        /// Case-insensitive text in the name or display name.
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one tenant.
    Show { id: TenantId },
    /// Create a tenant.
    Create {
        /// Account name: lower-case letters, digits and inner hyphens.
        #[arg(value_parser = AccountName::parse)]
        name: AccountName,
        #[arg(long, value_parser = Text::parse)]
        display_name: Text,
        /// The reseller who manages it (staff only; default: you).
        #[arg(long)]
        owner: Option<UserId>,
        #[arg(long)]
        package: Option<PackageId>,
    },
    /// Change a tenant.
    Update {
        id: TenantId,
        #[arg(long, value_parser = Text::parse)]
        display_name: Option<Text>,
        #[arg(long)]
        package: Option<PackageId>,
        /// Hand the tenant to another reseller (staff only).
        #[arg(long)]
        owner: Option<UserId>,
    },
    /// Suspend a tenant: its sites and logins stop.
    Suspend {
        id: TenantId,
        #[arg(long, value_parser = Text::parse)]
        reason: Option<Text>,
    },
    /// Lift a suspension.
    Unsuspend { id: TenantId },
    /// Delete a tenant.
    Delete { id: TenantId },
    /// Show what a tenant uses against its package's limits.
    Usage { id: TenantId },
}

fn parse_status(s: &str) -> Result<TenantStatus, String> {
    match s {
        "active" => Ok(TenantStatus::Active),
        "suspended" => Ok(TenantStatus::Suspended),
        other => Err(format!("{other:?} is not a status (active, suspended)")),
    }
}

pub async fn run(ctx: &Ctx, cmd: TenantsCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        TenantsCmd::List {
            status,
            owner,
            q,
            limit,
            offset,
        } => {
            let q = TenantQuery {
                status,
                owner_id: owner,
                q,
                limit,
                offset,
            };
            let page = c.list_tenants(&q).await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "NAME", "DISPLAY NAME", "STATUS", "PACKAGE", "OWNER", "CREATED"]);
                for x in &page.items {
                    t.row(vec![
                        x.id.to_string(),
                        x.name.to_string(),
                        x.display_name.to_string(),
                        x.status.as_str().into(),
                        opt(x.package_id),
                        x.owner_id.to_string(),
                        ts(x.created_at),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
        }
        TenantsCmd::Show { id } => show(ctx, &c.get_tenant(id).await?)?,
        TenantsCmd::Create {
            name,
            display_name,
            owner,
            package,
        } => {
            let req = CreateTenant {
                name,
                display_name,
                owner_id: owner,
                package_id: package,
            };
            show(ctx, &c.create_tenant(&req).await?)?;
        }
        TenantsCmd::Update {
            id,
            display_name,
            package,
            owner,
        } => {
            if display_name.is_none() && package.is_none() && owner.is_none() {
                bail!("nothing to change: give --display-name, --package or --owner");
            }
            let req = UpdateTenant {
                display_name,
                package_id: package,
                owner_id: owner,
            };
            show(ctx, &c.update_tenant(id, &req).await?)?;
        }
        TenantsCmd::Suspend { id, reason } => {
            show(ctx, &c.suspend_tenant(id, &SuspendRequest { reason }).await?)?;
        }
        TenantsCmd::Unsuspend { id } => show(ctx, &c.unsuspend_tenant(id).await?)?,
        TenantsCmd::Delete { id } => {
            c.delete_tenant(id).await?;
            ctx.done(format!("Tenant {id} deleted."));
        }
        TenantsCmd::Usage { id } => {
            let usage = c.tenant_usage(id).await?;
            ctx.emit(&usage, |u| {
                println!("package: {}", opt(u.package_id));
                let mut t = Table::new(&["RESOURCE", "USED", "LIMIT"]);
                for l in &u.lines {
                    t.row(vec![
                        l.resource.to_string(),
                        opt(l.used),
                        l.limit.map_or_else(|| "unlimited".into(), |v| v.to_string()),
                    ]);
                }
                t.print();
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, t: &Tenant) -> anyhow::Result<()> {
    ctx.emit(t, |t| {
        print_fields(&[
            ("id", t.id.to_string()),
            ("name", t.name.to_string()),
            ("display name", t.display_name.to_string()),
            ("status", t.status.as_str().into()),
            ("suspended because", opt(t.suspended_reason.as_ref())),
            ("package", opt(t.package_id)),
            ("owner", t.owner_id.to_string()),
            ("created", ts(t.created_at)),
            ("updated", ts(t.updated_at)),
        ]);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("suspended"), Ok(TenantStatus::Suspended));
        assert!(parse_status("Active").is_err());
    }
}
