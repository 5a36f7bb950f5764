//! `berth audit …`: read the audit log and verify its hash chain. `verify`
//! exits 1 when the chain is broken, so it can run from cron or monitoring.

use super::output::{Ctx, opt, page_footer, ts};
use super::table::{Table, clean, print_fields};
use berth_proto::api::audit::AuditQuery;
use berth_proto::{TenantId, Timestamp, UserId};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCmd {
    /// List audit entries, newest first.
    List {
        /// Only what this user did.
        #[arg(long)]
        actor: Option<UserId>,
        #[arg(long)]
        tenant: Option<TenantId>,
        /// An action (`tenant.create`) or a prefix ending in a dot (`tenant.`).
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        target_type: Option<String>,
        #[arg(long)]
        target_id: Option<String>,
        /// From this time on (RFC 3339, inclusive).
        #[arg(long, value_parser = parse_time)]
        since: Option<String>,
        /// Before this time (RFC 3339, exclusive).
        #[arg(long, value_parser = parse_time)]
        until: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Recompute the hash chain; exit 1 if any entry was changed or removed.
    Verify,
}

/// Check an RFC 3339 time here, for a clear message before any request.
fn parse_time(s: &str) -> Result<String, String> {
    Timestamp::parse_rfc3339(s)
        .map(|_| s.to_owned())
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time (like 2025-01-31T00:00:00Z)"))
}

pub async fn run(ctx: &Ctx, cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        AuditCmd::List {
            actor,
            tenant,
            action,
            target_type,
            target_id,
            since,
            until,
            limit,
            offset,
        } => {
            let q = AuditQuery {
                actor_id: actor,
                tenant_id: tenant,
                action,
                target_type,
                target_id,
                since,
                until,
                limit,
                offset,
            };
            let page = c.list_audit(&q).await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["SEQ", "AT", "ACTOR", "ROLE", "ACTION", "TARGET", "TENANT", "SUMMARY"]);
                for e in &page.items {
                    let target = match &e.target_id {
                        Some(id) => format!("{}:{id}", e.target_type),
                        None => e.target_type.clone(),
                    };
                    t.row(vec![
                        e.seq.to_string(),
                        ts(e.at),
                        opt(e.actor_id),
                        opt(e.actor_role),
                        e.action.clone(),
                        target,
                        opt(e.tenant_id),
                        e.summary.to_string(),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Verify => {
            let r = c.verify_audit().await?;
            ctx.emit(&r, |r| {
                print_fields(&[
                    ("ok", if r.ok { "yes" } else { "NO" }.into()),
                    ("entries checked", r.checked.to_string()),
                    ("first bad entry", opt(r.first_bad_seq)),
                    ("message", clean(&r.message)),
                ]);
            })?;
            Ok(if r.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_checked() {
        assert!(parse_time("2025-01-31T00:00:00Z").is_ok());
        assert!(parse_time("2025-01-31T00:00:00+02:00").is_ok());
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2025-01-31").is_err());
    }
}
