//! `berth node …`: a node's configuration history (revisions, journal),
//! drift, and the jobs that roll back or resolve drift. Staff only.

use super::output::{Ctx, opt, ts};
use super::table::{Table, print_fields};
use berth_proto::api::nodes::{DriftAction, NodeChange, ResolveDrift, RollbackRequest};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum NodeCmd {
    /// Configuration revisions, newest first.
    History {
        #[arg(default_value = "local")]
        node: String,
    },
    /// Every apply, rejection, rollback and recovery.
    Journal {
        #[arg(default_value = "local")]
        node: String,
    },
    /// Managed files changed by hand.
    Drift {
        #[arg(default_value = "local")]
        node: String,
    },
    /// Resolve drift: keep the hand edits, or overwrite them.
    ResolveDrift {
        #[arg(value_parser = ["keep", "overwrite"])]
        action: String,
        #[arg(long, default_value = "local")]
        node: String,
        #[arg(long)]
        wait: bool,
    },
    /// Re-render every site and apply them all as one revision.
    Rebuild {
        #[arg(long, default_value = "local")]
        node: String,
        #[arg(long)]
        wait: bool,
    },
    /// Make an earlier revision live again (as a new revision).
    Rollback {
        rev: u64,
        #[arg(long, default_value = "local")]
        node: String,
        #[arg(long)]
        wait: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: NodeCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    let (change, wait) = match cmd {
        NodeCmd::History { node } => {
            let revs = c.node_revisions(&node).await?;
            ctx.emit(&revs, |revs| {
                let mut t = Table::new(&["REV", "LIVE", "AT", "FILES", "PARENT", "REASON"]);
                for r in revs {
                    t.row(vec![
                        r.rev.to_string(),
                        if r.live { "*".into() } else { String::new() },
                        ts(r.at),
                        r.files.to_string(),
                        opt(r.parent),
                        r.reason.clone(),
                    ]);
                }
                t.print();
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::Journal { node } => {
            let lines = c.node_journal(&node).await?;
            ctx.emit(&lines, |lines| {
                let mut t = Table::new(&["AT", "EVENT", "REV", "REASON", "DETAIL"]);
                for l in lines {
                    t.row(vec![
                        ts(l.at),
                        l.event.clone(),
                        opt(l.rev),
                        l.reason.clone(),
                        opt(l.detail.as_ref()),
                    ]);
                }
                t.print();
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::Drift { node } => {
            let d = c.node_drift(&node).await?;
            let clean = d.is_empty();
            ctx.emit(&d, |d| {
                if d.is_empty() {
                    println!("No drift: the live files are what the last revision applied.");
                    return;
                }
                let mut t = Table::new(&["PATH", "EXPECTED", "ACTUAL"]);
                for x in d {
                    t.row(vec![
                        x.path.clone(),
                        opt(x.expected_sha256.as_ref()),
                        opt(x.actual_sha256.as_ref()),
                    ]);
                }
                t.print();
            })?;
            // Scripts can test for drift with the exit status.
            return Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(3) });
        }
        NodeCmd::ResolveDrift { action, node, wait } => {
            let action = if action == "keep" {
                DriftAction::Keep
            } else {
                DriftAction::Overwrite
            };
            (c.resolve_node_drift(&node, &ResolveDrift { action }).await?, wait)
        }
        NodeCmd::Rebuild { node, wait } => (c.rebuild_node(&node).await?, wait),
        NodeCmd::Rollback { rev, node, wait } => (c.rollback_node(&node, &RollbackRequest { rev }).await?, wait),
    };
    report(ctx, &change)?;
    if wait {
        return super::jobs::wait_for(ctx, change.job_id).await;
    }
    Ok(ExitCode::SUCCESS)
}

fn report(ctx: &Ctx, change: &NodeChange) -> anyhow::Result<()> {
    ctx.emit(change, |c| print_fields(&[("job", c.job_id.to_string())]))
}
