//! `berth sites …`: list, show, create, update, suspend, unsuspend, delete.
//! Changes answer with the job that puts them on the node; `--wait` follows it.

use super::output::{Ctx, opt, page_footer, ts};
use super::table::{Table, print_fields};
use anyhow::bail;
use berth_proto::api::sites::{CreateSite, Site, SiteChange, SiteKind, SiteQuery, UpdateSite};
use berth_proto::{DomainName, RedirectUrl, SiteId, TenantId};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct KindArgs {
    /// Serve files from the site's public_html (the default).
    #[arg(long, conflicts_with_all = ["proxy", "redirect"])]
    static_files: bool,
    /// Pass requests to a local application (loopback address:port).
    #[arg(long, conflicts_with = "redirect")]
    proxy: Option<SocketAddr>,
    /// Send every request to this URL.
    #[arg(long, value_parser = RedirectUrl::parse)]
    redirect: Option<RedirectUrl>,
    /// With --redirect: 302 instead of 301.
    #[arg(long, requires = "redirect")]
    temporary: bool,
}

impl KindArgs {
    fn kind(&self) -> Option<SiteKind> {
        if let Some(u) = self.proxy {
            Some(SiteKind::Proxy { upstream: u })
        } else if let Some(to) = &self.redirect {
            Some(SiteKind::Redirect {
                to: to.clone(),
                permanent: !self.temporary,
            })
        } else if self.static_files {
            Some(SiteKind::Static)
        } else {
            None
        }
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum SitesCmd {
    /// List sites you can see.
    List {
        #[arg(long)]
        tenant: Option<TenantId>,
        /// Text in the domain.
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one site.
    Show { id: SiteId },
    /// Create a site.
    Create {
        #[arg(value_parser = DomainName::parse)]
        domain: DomainName,
        #[arg(long)]
        tenant: TenantId,
        /// Another name the site answers to (repeatable).
        #[arg(long = "alias", value_parser = DomainName::parse)]
        aliases: Vec<DomainName>,
        #[command(flatten)]
        kind: KindArgs,
        /// Follow the job until the site is live.
        #[arg(long)]
        wait: bool,
    },
    /// Change a site's aliases or kind.
    Update {
        id: SiteId,
        /// Replace the aliases (repeatable; `--no-aliases` removes them all).
        #[arg(long = "alias", value_parser = DomainName::parse)]
        aliases: Vec<DomainName>,
        #[arg(long, conflicts_with = "aliases")]
        no_aliases: bool,
        #[command(flatten)]
        kind: KindArgs,
        #[arg(long)]
        wait: bool,
    },
    /// Serve the suspension page instead.
    Suspend {
        id: SiteId,
        #[arg(long)]
        wait: bool,
    },
    /// Serve the site again.
    Unsuspend {
        id: SiteId,
        #[arg(long)]
        wait: bool,
    },
    /// Delete a site (its files stay in the tenant's home).
    Delete {
        id: SiteId,
        #[arg(long)]
        wait: bool,
    },
}

fn kind_text(k: &SiteKind) -> String {
    match k {
        SiteKind::Static => "static".into(),
        SiteKind::Proxy { upstream } => format!("proxy → {upstream}"),
        SiteKind::Redirect { to, permanent } => format!("redirect {} → {to}", if *permanent { 301 } else { 302 }),
    }
}

pub async fn run(ctx: &Ctx, cmd: SitesCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    let (change, wait) = match cmd {
        SitesCmd::List {
            tenant,
            q,
            limit,
            offset,
        } => {
            let page = c
                .list_sites(&SiteQuery {
                    tenant_id: tenant,
                    q,
                    limit,
                    offset,
                })
                .await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "DOMAIN", "KIND", "STATUS", "TENANT", "ALIASES", "CREATED"]);
                for s in &page.items {
                    t.row(vec![
                        s.id.to_string(),
                        s.domain.to_string(),
                        kind_text(&s.kind),
                        s.status.as_str().into(),
                        s.tenant_id.to_string(),
                        s.aliases.len().to_string(),
                        ts(s.created_at),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        SitesCmd::Show { id } => {
            show(ctx, &c.get_site(id).await?)?;
            return Ok(ExitCode::SUCCESS);
        }
        SitesCmd::Create {
            domain,
            tenant,
            aliases,
            kind,
            wait,
        } => {
            let req = CreateSite {
                tenant_id: tenant,
                domain,
                aliases,
                kind: kind.kind().unwrap_or(SiteKind::Static),
            };
            (c.create_site(&req).await?, wait)
        }
        SitesCmd::Update {
            id,
            aliases,
            no_aliases,
            kind,
            wait,
        } => {
            let aliases = if no_aliases {
                Some(Vec::new())
            } else if aliases.is_empty() {
                None
            } else {
                Some(aliases)
            };
            let kind = kind.kind();
            if aliases.is_none() && kind.is_none() {
                bail!("nothing to change: give --alias, --no-aliases, --static-files, --proxy or --redirect");
            }
            (c.update_site(id, &UpdateSite { aliases, kind }).await?, wait)
        }
        SitesCmd::Suspend { id, wait } => (c.suspend_site(id).await?, wait),
        SitesCmd::Unsuspend { id, wait } => (c.unsuspend_site(id).await?, wait),
        SitesCmd::Delete { id, wait } => (c.delete_site(id).await?, wait),
    };
    report(ctx, &change)?;
    if wait {
        return super::jobs::wait_for(ctx, change.job_id).await;
    }
    Ok(ExitCode::SUCCESS)
}

fn report(ctx: &Ctx, change: &SiteChange) -> anyhow::Result<()> {
    ctx.emit(change, |c| {
        print_fields(&[
            ("site", c.site.id.to_string()),
            ("domain", c.site.domain.to_string()),
            ("status", c.site.status.as_str().into()),
            ("job", c.job_id.to_string()),
        ]);
    })
}

fn show(ctx: &Ctx, s: &Site) -> anyhow::Result<()> {
    ctx.emit(s, |s| {
        let aliases: Vec<String> = s.aliases.iter().map(ToString::to_string).collect();
        print_fields(&[
            ("id", s.id.to_string()),
            ("domain", s.domain.to_string()),
            (
                "aliases",
                if aliases.is_empty() {
                    "-".into()
                } else {
                    aliases.join(", ")
                },
            ),
            ("kind", kind_text(&s.kind)),
            ("status", s.status.as_str().into()),
            ("tenant", s.tenant_id.to_string()),
            ("document root", format!("~/{}", s.document_root)),
            ("last job", opt(s.last_job_id)),
            ("created", ts(s.created_at)),
            ("updated", ts(s.updated_at)),
        ]);
    })
}
