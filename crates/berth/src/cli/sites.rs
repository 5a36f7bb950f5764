//! `berth sites …`: list, show, create, update, suspend, unsuspend, delete.
//! Changes answer with the job that puts them on the node; `--wait` follows it.

use super::output::{Ctx, opt, page_footer, ts};
use super::table::{Table, print_fields};
use anyhow::bail;
use berth_proto::api::sites::{
    CreateSite, PathRedirect, Site, SiteChange, SiteKind, SiteLogKind, SiteLogQuery, SiteOptions, SiteQuery,
    UpdateSite, WwwMode,
};
use berth_proto::php::PhpIni;
use berth_proto::{AccountName, DomainName, PhpVersion, RedirectTarget, RedirectUrl, SiteId, TenantId, UrlPath};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct KindArgs {
    /// Serve files from the site's public_html (the default).
    #[arg(long, conflicts_with_all = ["proxy", "redirect", "php"])]
    static_files: bool,
    /// Serve files and PHP through the tenant's PHP-FPM pool; optionally
    /// the version (default: the node's newest).
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["proxy", "redirect"])]
    php: Option<String>,
    /// With --php: an ini override KEY=VALUE (repeatable; allowlisted keys).
    #[arg(long = "ini", requires = "php")]
    ini: Vec<String>,
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
    fn kind(&self) -> anyhow::Result<Option<SiteKind>> {
        Ok(if let Some(v) = &self.php {
            let version = if v.is_empty() {
                None
            } else {
                Some(PhpVersion::parse(v)?)
            };
            let mut ini = BTreeMap::new();
            for kv in &self.ini {
                let Some((k, v)) = kv.split_once('=') else {
                    bail!("--ini takes KEY=VALUE, not {kv:?}");
                };
                ini.insert(k.to_owned(), v.to_owned());
            }
            Some(SiteKind::Php {
                version,
                ini: PhpIni::try_from(ini)?,
            })
        } else if let Some(u) = self.proxy {
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
        })
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum WwwArg {
    None,
    Alias,
    RedirectToWww,
    RedirectToBare,
}

/// Site options as flags; on update only the given ones change.
#[derive(clap::Args, Debug)]
pub struct OptionArgs {
    /// How the www. form of the domain is treated.
    #[arg(long, value_enum)]
    www: Option<WwwArg>,
    /// A path redirect FROM=TO or FROM=TO=CODE (301 default; 302, 307, 308);
    /// TO is a path on the site or a URL. Repeatable; replaces the list.
    #[arg(long = "redirect-path")]
    redirect_paths: Vec<String>,
    /// Remove every path redirect.
    #[arg(long, conflicts_with = "redirect_paths")]
    no_redirect_paths: bool,
    /// An error page CODE=PATH (for example 404=/errors/404.html). Repeatable; replaces the list.
    #[arg(long = "error-page")]
    error_pages: Vec<String>,
    /// Remove every error page.
    #[arg(long, conflicts_with = "error_pages")]
    no_error_pages: bool,
    /// Redirect HTTP to HTTPS (takes effect once the site has a certificate).
    #[arg(long)]
    force_https: Option<bool>,
    /// Send Strict-Transport-Security over HTTPS.
    #[arg(long)]
    hsts: Option<bool>,
}

impl OptionArgs {
    fn given(&self) -> bool {
        self.www.is_some()
            || !self.redirect_paths.is_empty()
            || self.no_redirect_paths
            || !self.error_pages.is_empty()
            || self.no_error_pages
            || self.force_https.is_some()
            || self.hsts.is_some()
    }

    /// `base` with the given flags applied.
    fn apply(&self, mut o: SiteOptions) -> anyhow::Result<SiteOptions> {
        if let Some(w) = self.www {
            o.www = match w {
                WwwArg::None => WwwMode::None,
                WwwArg::Alias => WwwMode::Alias,
                WwwArg::RedirectToWww => WwwMode::RedirectToWww,
                WwwArg::RedirectToBare => WwwMode::RedirectToBare,
            };
        }
        if self.no_redirect_paths || !self.redirect_paths.is_empty() {
            o.redirects = self
                .redirect_paths
                .iter()
                .map(|r| parse_redirect(r))
                .collect::<anyhow::Result<_>>()?;
        }
        if self.no_error_pages || !self.error_pages.is_empty() {
            o.error_pages = BTreeMap::new();
            for e in &self.error_pages {
                let Some((code, path)) = e.split_once('=') else {
                    bail!("--error-page takes CODE=PATH, not {e:?}");
                };
                o.error_pages.insert(code.parse()?, UrlPath::parse(path)?);
            }
        }
        if let Some(f) = self.force_https {
            o.force_https = f;
        }
        if let Some(h) = self.hsts {
            o.hsts = h;
        }
        Ok(o)
    }
}

fn parse_redirect(r: &str) -> anyhow::Result<PathRedirect> {
    let Some((from, rest)) = r.split_once('=') else {
        bail!("--redirect-path takes FROM=TO or FROM=TO=CODE, not {r:?}");
    };
    let (to, code) = match rest.rsplit_once('=') {
        Some((to, c)) if matches!(c, "301" | "302" | "307" | "308") => (to, c.parse()?),
        _ => (rest, 301),
    };
    Ok(PathRedirect {
        from: UrlPath::parse(from)?,
        to: RedirectTarget::parse(to)?,
        code,
    })
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
        #[command(flatten)]
        options: OptionArgs,
        /// The node to put it on (default: the panel's local node).
        #[arg(long, value_parser = AccountName::parse)]
        node: Option<AccountName>,
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
        #[command(flatten)]
        options: OptionArgs,
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
    /// Delete a site (its files stay in the tenant's home unless --delete-files).
    Delete {
        id: SiteId,
        /// Also delete domains/<domain> (web files and logs).
        #[arg(long)]
        delete_files: bool,
        #[arg(long)]
        wait: bool,
    },
    /// Show a site's access (default) or error log, newest lines last.
    Logs {
        id: SiteId,
        /// The error log instead of the access log.
        #[arg(long)]
        error: bool,
        /// Lines to show (1-1000).
        #[arg(long, default_value_t = 100)]
        lines: u32,
        /// Read before this byte offset (the `next_before` of a page).
        #[arg(long)]
        before: Option<u64>,
    },
    /// PHP versions installed on the node, and the ini keys a site may set.
    PhpVersions,
}

fn kind_text(k: &SiteKind) -> String {
    match k {
        SiteKind::Static => "static".into(),
        SiteKind::Proxy { upstream } => format!("proxy → {upstream}"),
        SiteKind::Redirect { to, permanent } => format!("redirect {} → {to}", if *permanent { 301 } else { 302 }),
        SiteKind::Php { version, ini } => {
            let v = version.as_ref().map_or("default".into(), |v| v.to_string());
            if ini.is_empty() {
                format!("php {v}")
            } else {
                let kv: Vec<String> = ini.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("php {v} ({})", kv.join(", "))
            }
        }
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
            options,
            node,
            wait,
        } => {
            let req = CreateSite {
                node,
                tenant_id: tenant,
                domain,
                aliases,
                kind: kind.kind()?.unwrap_or(SiteKind::Static),
                options: options.apply(SiteOptions::default())?,
            };
            (c.create_site(&req).await?, wait)
        }
        SitesCmd::Update {
            id,
            aliases,
            no_aliases,
            kind,
            options,
            wait,
        } => {
            let aliases = if no_aliases {
                Some(Vec::new())
            } else if aliases.is_empty() {
                None
            } else {
                Some(aliases)
            };
            let kind = kind.kind()?;
            let options = if options.given() {
                Some(options.apply(c.get_site(id).await?.options)?)
            } else {
                None
            };
            if aliases.is_none() && kind.is_none() && options.is_none() {
                bail!(
                    "nothing to change: give aliases, a kind (--static-files, --php, --proxy, --redirect) or options"
                );
            }
            (c.update_site(id, &UpdateSite { aliases, kind, options }).await?, wait)
        }
        SitesCmd::Suspend { id, wait } => (c.suspend_site(id).await?, wait),
        SitesCmd::Unsuspend { id, wait } => (c.unsuspend_site(id).await?, wait),
        SitesCmd::Delete { id, delete_files, wait } => (c.delete_site(id, delete_files).await?, wait),
        SitesCmd::Logs {
            id,
            error,
            lines,
            before,
        } => {
            let page = c
                .site_logs(
                    id,
                    &SiteLogQuery {
                        log: if error { SiteLogKind::Error } else { SiteLogKind::Access },
                        lines: Some(lines),
                        before,
                    },
                )
                .await?;
            ctx.emit(&page, |p| {
                for l in &p.lines {
                    println!("{l}");
                }
                if let Some(b) = p.next_before {
                    eprintln!("(older lines: --before {b})");
                }
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        SitesCmd::PhpVersions => {
            let v = c.php_versions().await?;
            ctx.emit(&v, |v| {
                let list: Vec<&str> = v.versions.iter().map(|x| x.as_str()).collect();
                print_fields(&[
                    ("versions", list.join(", ")),
                    ("default", opt(v.default.as_ref())),
                    ("ini keys", v.ini_keys.join(", ")),
                ]);
            })?;
            return Ok(ExitCode::SUCCESS);
        }
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
            ("www", format!("{:?}", s.options.www).to_lowercase()),
            (
                "redirects",
                s.options
                    .redirects
                    .iter()
                    .map(|r| format!("{} → {} ({})", r.from, r.to, r.code))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "error pages",
                s.options
                    .error_pages
                    .iter()
                    .map(|(c, p)| format!("{c} {p}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("force https", s.options.force_https.to_string()),
            ("hsts", s.options.hsts.to_string()),
            ("status", s.status.as_str().into()),
            ("node", s.node.clone()),
            ("tenant", s.tenant_id.to_string()),
            ("document root", format!("~/{}", s.document_root)),
            ("last job", opt(s.last_job_id)),
            ("created", ts(s.created_at)),
            ("updated", ts(s.updated_at)),
        ]);
    })
}
