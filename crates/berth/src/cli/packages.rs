//! `berth packages …`: list, show, create, update, delete. Limits are given
//! as `--limit resource=N` or `--limit resource=unlimited`; an update changes
//! only the limits it names (the API replaces the whole set, so we fetch the
//! package first and merge).

use super::output::{Ctx, opt, page_footer, ts};
use super::table::{Table, print_fields};
use anyhow::bail;
use berth_proto::api::PageQuery;
use berth_proto::api::packages::{CreatePackage, Limits, Package, Resource, UpdatePackage};
use berth_proto::{PackageId, Text};
use std::process::ExitCode;

/// One `--limit resource=value`; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitArg {
    pub resource: Resource,
    pub value: Option<i64>,
}

pub fn parse_limit(s: &str) -> Result<LimitArg, String> {
    let names = || Resource::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected resource=value, like sites=10 (resources: {})", names()))?;
    let key = key.trim();
    let resource = Resource::ALL
        .into_iter()
        .find(|r| r.as_str() == key)
        .ok_or_else(|| format!("unknown resource {key:?} (resources: {})", names()))?;
    let value = match value.trim() {
        "unlimited" => None,
        v => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(format!("{v:?} is not a count: give a number from 0, or `unlimited`"));
            }
        },
    };
    Ok(LimitArg { resource, value })
}

/// Apply the named limits on top of `base`.
pub fn apply_limits(mut base: Limits, args: &[LimitArg]) -> Limits {
    for a in args {
        base.set(a.resource, a.value);
    }
    base
}

#[derive(clap::Subcommand, Debug)]
pub enum PackagesCmd {
    /// List packages you can see.
    List {
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one package and its limits.
    Show { id: PackageId },
    /// Create a package; resources not named are unlimited.
    Create {
        #[arg(value_parser = Text::parse)]
        name: Text,
        /// resource=N or resource=unlimited (repeat for several).
        #[arg(long = "limit", value_name = "RESOURCE=VALUE", value_parser = parse_limit)]
        limits: Vec<LimitArg>,
    },
    /// Rename a package or change some of its limits.
    Update {
        id: PackageId,
        #[arg(long, value_parser = Text::parse)]
        name: Option<Text>,
        /// resource=N or resource=unlimited; other limits stay as they are.
        #[arg(long = "limit", value_name = "RESOURCE=VALUE", value_parser = parse_limit)]
        limits: Vec<LimitArg>,
    },
    /// Delete a package.
    Delete { id: PackageId },
}

pub async fn run(ctx: &Ctx, cmd: PackagesCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        PackagesCmd::List { limit, offset } => {
            let page = c.list_packages(&PageQuery { limit, offset }).await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "NAME", "OWNER", "SITES", "DOMAINS", "DISK MB", "CREATED"]);
                for p in &page.items {
                    t.row(vec![
                        p.id.to_string(),
                        p.name.to_string(),
                        opt(p.owner_id),
                        limit_str(p.limits.sites),
                        limit_str(p.limits.domains),
                        limit_str(p.limits.disk_mb),
                        ts(p.created_at),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
        }
        PackagesCmd::Show { id } => show(ctx, &c.get_package(id).await?)?,
        PackagesCmd::Create { name, limits } => {
            let req = CreatePackage {
                name,
                limits: apply_limits(Limits::default(), &limits),
            };
            show(ctx, &c.create_package(&req).await?)?;
        }
        PackagesCmd::Update { id, name, limits } => {
            if name.is_none() && limits.is_empty() {
                bail!("nothing to change: give --name or --limit");
            }
            let limits = if limits.is_empty() {
                None
            } else {
                let current = c.get_package(id).await?;
                Some(apply_limits(current.limits, &limits))
            };
            show(ctx, &c.update_package(id, &UpdatePackage { name, limits }).await?)?;
        }
        PackagesCmd::Delete { id } => {
            c.delete_package(id).await?;
            ctx.done(format!("Package {id} deleted."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn limit_str(v: Option<i64>) -> String {
    v.map_or_else(|| "unlimited".into(), |n| n.to_string())
}

fn show(ctx: &Ctx, p: &Package) -> anyhow::Result<()> {
    ctx.emit(p, |p| {
        print_fields(&[
            ("id", p.id.to_string()),
            ("name", p.name.to_string()),
            ("owner", opt(p.owner_id)),
            ("created", ts(p.created_at)),
            ("updated", ts(p.updated_at)),
        ]);
        println!();
        let mut t = Table::new(&["RESOURCE", "LIMIT"]);
        for r in Resource::ALL {
            t.row(vec![r.to_string(), limit_str(p.limits.get(r))]);
        }
        t.print();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(
            parse_limit("disk_mb=1024"),
            Ok(LimitArg {
                resource: Resource::DiskMb,
                value: Some(1024)
            })
        );
        assert_eq!(parse_limit("sites=unlimited").map(|l| l.value), Ok(None));
        assert_eq!(parse_limit("dns_zones=0").map(|l| l.value), Ok(Some(0)));
        for bad in ["sites", "sites=", "sites=-1", "sites=ten", "disk=5", "=5", "sites=1.5"] {
            assert!(parse_limit(bad).is_err(), "{bad:?} accepted");
        }
        let e = parse_limit("disk=5").unwrap_err();
        assert!(e.contains("disk_mb"), "{e}");
    }

    #[test]
    fn update_changes_only_named_limits() {
        let base = Limits {
            sites: Some(5),
            domains: Some(10),
            ..Default::default()
        };
        let args = [
            parse_limit("sites=unlimited").unwrap(),
            parse_limit("mailboxes=3").unwrap(),
        ];
        let out = apply_limits(base, &args);
        assert_eq!(out.sites, None);
        assert_eq!(out.domains, Some(10));
        assert_eq!(out.mailboxes, Some(3));
    }
}
