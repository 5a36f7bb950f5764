//! `berth node …`: the node registry (list, add, show, remove, token,
//! rotate-cert, heartbeat) and a node's configuration history (revisions,
//! journal), drift, and the jobs that roll back or resolve drift. Staff only.

use super::output::{Ctx, opt, ts};
use super::table::{Table, print_fields};
use berth_proto::AccountName;
use berth_proto::api::nodes::{
    CreateNode, DriftAction, Node, NodeChange, NodeCreated, NodeRole, ResolveDrift, RollbackRequest,
};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum NodeCmd {
    /// Every node: the panel's own (`local`) and the enrolled ones.
    List,
    /// One node: state, capabilities, metrics.
    Show { node: String },
    /// Register a node; prints the one-time join token for `berth agent join`.
    Add {
        #[arg(value_parser = AccountName::parse)]
        name: AccountName,
        /// host:port of the agent's RPC, as the panel reaches it.
        #[arg(long)]
        address: String,
        /// web, mail, dns, db or backup (repeatable; default web).
        #[arg(long = "role", value_enum)]
        roles: Vec<RoleArg>,
    },
    /// A new join token for a node that has not enrolled yet.
    Token { node: String },
    /// Revoke a node (refused while sites live on it).
    Remove { node: String },
    /// Give a node a new key and certificate now.
    RotateCert {
        node: String,
        #[arg(long)]
        wait: bool,
    },
    /// Ask a node for its report now.
    Heartbeat {
        node: String,
        #[arg(long)]
        wait: bool,
    },
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
    /// Put the operator's template (<data-dir>/templates/nginx-vhost.conf.j2)
    /// in use after rendering every site and `nginx -t`; or the built-in
    /// one again when the file is gone.
    ActivateTemplates {
        #[arg(default_value = "local")]
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

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RoleArg {
    Web,
    Mail,
    Dns,
    Db,
    Backup,
}

fn show_node(n: &Node) {
    let caps = n.capabilities.clone().unwrap_or_default();
    let m = n.metrics.clone().unwrap_or_default();
    let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
    print_fields(&[
        ("name", n.name.to_string()),
        ("state", n.state.as_str().into()),
        ("address", opt(n.address.as_ref())),
        ("roles", roles.join(", ")),
        ("sites", n.sites.to_string()),
        ("last seen", n.last_seen_at.map_or("-".into(), ts)),
        ("last error", opt(n.last_error.as_ref())),
        ("os", caps.os),
        ("nginx", opt(caps.nginx.as_ref())),
        ("php", caps.php.join(", ")),
        ("systemd", caps.systemd.to_string()),
        (
            "load",
            format!(
                "{:.2} {:.2} {:.2} ({} cores, cpu {:.0}%)",
                m.load1, m.load5, m.load15, m.cpu_cores, m.cpu_percent
            ),
        ),
        (
            "memory",
            format!("{} of {} MB free", m.mem_available_mb, m.mem_total_mb),
        ),
        ("disk", format!("{} of {} MB free", m.disk_free_mb, m.disk_total_mb)),
        ("certificate", opt(n.cert_serial.as_ref())),
        ("valid until", n.cert_not_after.map_or("-".into(), ts)),
    ]);
}

fn show_created(ctx: &Ctx, c: &NodeCreated) -> anyhow::Result<()> {
    ctx.emit(c, |c| {
        print_fields(&[
            ("node", c.node.name.to_string()),
            ("join token", c.join_token.clone()),
            ("expires", ts(c.join_expires_at)),
            ("on the node run", c.join_command.clone()),
        ]);
    })
}

pub async fn run(ctx: &Ctx, cmd: NodeCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    let (change, wait) = match cmd {
        NodeCmd::List => {
            let nodes = c.list_nodes().await?;
            ctx.emit(&nodes, |nodes| {
                let mut t = Table::new(&["NAME", "STATE", "ROLES", "SITES", "LAST SEEN", "ADDRESS"]);
                for n in nodes {
                    let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
                    t.row(vec![
                        n.name.to_string(),
                        n.state.as_str().into(),
                        roles.join(","),
                        n.sites.to_string(),
                        n.last_seen_at.map_or("-".into(), ts),
                        opt(n.address.as_ref()),
                    ]);
                }
                t.print();
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::Show { node } => {
            let n = c.get_node(&node).await?;
            ctx.emit(&n, show_node)?;
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::Add { name, address, roles } => {
            let roles = if roles.is_empty() { vec![RoleArg::Web] } else { roles };
            let roles = roles
                .into_iter()
                .map(|r| match r {
                    RoleArg::Web => NodeRole::Web,
                    RoleArg::Mail => NodeRole::Mail,
                    RoleArg::Dns => NodeRole::Dns,
                    RoleArg::Db => NodeRole::Db,
                    RoleArg::Backup => NodeRole::Backup,
                })
                .collect();
            let created = c.create_node(&CreateNode { name, address, roles }).await?;
            show_created(ctx, &created)?;
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::Token { node } => {
            show_created(ctx, &c.node_token(&node).await?)?;
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::Remove { node } => {
            c.delete_node(&node).await?;
            if !ctx.json {
                println!("node {node} is revoked");
            }
            return Ok(ExitCode::SUCCESS);
        }
        NodeCmd::RotateCert { node, wait } => (c.rotate_node_cert(&node).await?, wait),
        NodeCmd::Heartbeat { node, wait } => (c.node_heartbeat(&node).await?, wait),
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
        NodeCmd::ActivateTemplates { node, wait } => (c.activate_node_templates(&node).await?, wait),
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
