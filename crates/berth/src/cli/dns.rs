//! `berth dns zones …` and `berth dns records …`. A zone is named by its id
//! or its domain; a record by its id. Changes answer with their job;
//! `--wait` follows it.

use super::output::{Ctx, opt, page_footer, ts};
use super::table::{Table, print_fields};
use anyhow::bail;
use berth_proto::api::databases::DbHost;
use berth_proto::api::dns::{
    CreateZone, DmarcPolicy, DmarcStance, DnsRecord, DnsZone, MailAuthReport, SetMailAuth, SpfAll, SpfPolicy, ZoneQuery,
};
use berth_proto::dns::{RecordType, RecordWire, Target};
use berth_proto::{AccountName, DnsRecordId, DnsZoneId, DomainName, Email, JobId, TenantId};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum DnsCmd {
    /// DNS zones.
    #[command(subcommand)]
    Zones(ZonesCmd),
    /// Records of a zone.
    #[command(subcommand)]
    Records(RecordsCmd),
    /// SPF and DMARC records from policies, and a checker (SPF, DMARC,
    /// DKIM, MX).
    #[command(subcommand, name = "mail-auth")]
    MailAuth(MailAuthCmd),
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AllArg {
    Fail,
    SoftFail,
    Neutral,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StanceArg {
    None,
    Quarantine,
    Reject,
}

fn stance(s: StanceArg) -> DmarcStance {
    match s {
        StanceArg::None => DmarcStance::None,
        StanceArg::Quarantine => DmarcStance::Quarantine,
        StanceArg::Reject => DmarcStance::Reject,
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum MailAuthCmd {
    /// What is missing or wrong in the zone's mail authentication.
    Check { zone: String },
    /// Write SPF (with --spf-all) and/or DMARC (with --dmarc) records.
    Set {
        zone: String,
        /// SPF: the domain's MX hosts may send.
        #[arg(long)]
        spf_mx: bool,
        /// SPF: the domain's A/AAAA hosts may send.
        #[arg(long)]
        spf_a: bool,
        /// SPF: an address or network that may send (repeat).
        #[arg(long, value_parser = |s: &str| DbHost::try_from(s.to_owned()).map_err(|e| e.to_string()))]
        spf_ip: Vec<DbHost>,
        /// SPF: another domain's SPF to include (repeat).
        #[arg(long, value_parser = |s: &str| Target::parse(s).map_err(|e| e.to_string()))]
        spf_include: Vec<Target>,
        /// SPF: what to say of other senders (writes the SPF record).
        #[arg(long, value_enum)]
        spf_all: Option<AllArg>,
        /// DMARC policy (writes the DMARC record).
        #[arg(long, value_enum)]
        dmarc: Option<StanceArg>,
        #[arg(long, value_enum)]
        dmarc_subdomains: Option<StanceArg>,
        #[arg(long)]
        dmarc_pct: Option<u8>,
        /// Where aggregate reports go (repeat).
        #[arg(long, value_parser = |s: &str| Email::parse(s).map_err(|e| e.to_string()))]
        dmarc_rua: Vec<Email>,
        #[arg(long)]
        wait: bool,
    },
}

fn print_findings(r: &MailAuthReport) {
    let mut t = Table::new(&["SEVERITY", "TOPIC", "FINDING"]);
    for f in &r.findings {
        t.row(vec![
            format!("{:?}", f.severity).to_ascii_lowercase(),
            f.topic.clone(),
            f.message.clone(),
        ]);
    }
    t.print();
}

#[derive(clap::Subcommand, Debug)]
pub enum ZonesCmd {
    /// List zones you can see.
    List {
        #[arg(long)]
        tenant: Option<TenantId>,
        /// Text in the name.
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one zone (id or domain).
    Show { zone: String },
    /// Create a zone; it starts with the `dns.zone_template` setting's
    /// records unless `--empty`.
    Create {
        #[arg(value_parser = DomainName::parse)]
        name: DomainName,
        #[arg(long)]
        tenant: TenantId,
        /// Start with no records.
        #[arg(long)]
        empty: bool,
        /// An enrolled node with the dns role (default: the panel's own).
        #[arg(long, value_parser = AccountName::parse)]
        node: Option<AccountName>,
        #[arg(long)]
        wait: bool,
    },
    /// Delete a zone: its server stops answering for it.
    Delete {
        zone: String,
        #[arg(long)]
        wait: bool,
    },
    /// Print the zone as a zone file (BIND's format).
    Export { zone: String },
    /// Read a zone file and show what it would add and remove; `--apply`
    /// makes the zone's records the file's.
    Import {
        zone: String,
        file: std::path::PathBuf,
        #[arg(long)]
        apply: bool,
        #[arg(long)]
        wait: bool,
    },
    /// Sign the zone (DNSSEC, on PowerDNS nodes) or stop signing it; `show`
    /// then lists the DS records for the registrar.
    Dnssec {
        zone: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[arg(long)]
        wait: bool,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum RecordsCmd {
    /// List a zone's records.
    List { zone: String },
    /// Add a record: `berth dns records add example.com www A 192.0.2.1`;
    /// MX `"10 mail.example.com"`, SRV `"10 5 5060 sip.example.com"`, CAA
    /// `'0 issue "letsencrypt.org"'`, TXT the text itself.
    Add {
        zone: String,
        /// Relative to the zone: `@`, `www`, `_dmarc`, `*.dev`.
        name: String,
        #[arg(value_parser = parse_type)]
        rtype: RecordType,
        content: String,
        /// Seconds (default: the `dns.default_ttl` setting).
        #[arg(long)]
        ttl: Option<u32>,
        #[arg(long)]
        wait: bool,
    },
    /// Replace a record.
    Update {
        zone: String,
        record: DnsRecordId,
        name: String,
        #[arg(value_parser = parse_type)]
        rtype: RecordType,
        content: String,
        #[arg(long)]
        ttl: Option<u32>,
        #[arg(long)]
        wait: bool,
    },
    /// Delete a record.
    Delete {
        zone: String,
        record: DnsRecordId,
        #[arg(long)]
        wait: bool,
    },
    /// Replace every record of a zone with those in a JSON file (a list of
    /// {name, type, ttl, content}, as `records list --json` prints).
    Replace {
        zone: String,
        file: std::path::PathBuf,
        #[arg(long)]
        wait: bool,
    },
}

fn parse_type(s: &str) -> Result<RecordType, String> {
    RecordType::parse(s).ok_or_else(|| "one of A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR".into())
}

async fn find_zone(ctx: &Ctx, what: &str) -> anyhow::Result<DnsZone> {
    if let Ok(id) = what.parse::<DnsZoneId>() {
        return Ok(ctx.client.get_zone(id).await?);
    }
    let name = DomainName::parse(what)?;
    let page = ctx
        .client
        .list_zones(&ZoneQuery {
            q: Some(name.to_string()),
            limit: Some(500),
            ..Default::default()
        })
        .await?;
    match page.items.into_iter().find(|z| z.name == name) {
        Some(z) => Ok(z),
        None => bail!("no zone named {name}"),
    }
}

async fn done(ctx: &Ctx, job: JobId, wait: bool) -> anyhow::Result<ExitCode> {
    if wait {
        return super::jobs::wait_for(ctx, job).await;
    }
    Ok(ExitCode::SUCCESS)
}

fn records_table(list: &[DnsRecord]) {
    let mut t = Table::new(&["ID", "NAME", "TYPE", "TTL", "CONTENT"]);
    for r in list {
        t.row(vec![
            r.id.to_string(),
            r.record.name.clone(),
            r.record.rtype.to_string(),
            opt(r.record.ttl),
            r.record.content.clone(),
        ]);
    }
    t.print();
}

pub async fn run(ctx: &Ctx, cmd: DnsCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        DnsCmd::Zones(ZonesCmd::List {
            tenant,
            q,
            limit,
            offset,
        }) => {
            let page = c
                .list_zones(&ZoneQuery {
                    tenant_id: tenant,
                    q,
                    limit,
                    offset,
                })
                .await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "NAME", "NODE", "RECORDS", "SERIAL", "TENANT", "CREATED"]);
                for z in &page.items {
                    t.row(vec![
                        z.id.to_string(),
                        z.name.to_string(),
                        z.node.clone(),
                        z.records.to_string(),
                        opt(z.serial),
                        z.tenant_id.to_string(),
                        ts(z.created_at),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
            Ok(ExitCode::SUCCESS)
        }
        DnsCmd::Zones(ZonesCmd::Show { zone }) => {
            let z = find_zone(ctx, &zone).await?;
            ctx.emit(&z, |z| {
                print_fields(&[
                    ("zone", z.id.to_string()),
                    ("name", z.name.to_string()),
                    ("node", z.node.clone()),
                    ("records", z.records.to_string()),
                    ("serial", opt(z.serial)),
                    ("dnssec", if z.dnssec { "on".into() } else { "off".into() }),
                    (
                        "ds",
                        if z.ds.is_empty() {
                            "-".into()
                        } else {
                            z.ds.join("\n    ")
                        },
                    ),
                    ("tenant", z.tenant_id.to_string()),
                    ("last job", opt(z.last_job_id)),
                    ("created", ts(z.created_at)),
                ])
            })?;
            Ok(ExitCode::SUCCESS)
        }
        DnsCmd::Zones(ZonesCmd::Create {
            name,
            tenant,
            empty,
            node,
            wait,
        }) => {
            let made = c
                .create_zone(&CreateZone {
                    tenant_id: tenant,
                    name,
                    records: empty.then(Vec::new),
                    node,
                })
                .await?;
            ctx.emit(&made, |m| {
                print_fields(&[
                    ("zone", m.zone.id.to_string()),
                    ("name", m.zone.name.to_string()),
                    ("node", m.zone.node.clone()),
                    ("records", m.records.len().to_string()),
                    ("job", m.job_id.to_string()),
                ])
            })?;
            done(ctx, made.job_id, wait).await
        }
        DnsCmd::Zones(ZonesCmd::Delete { zone, wait }) => {
            let z = find_zone(ctx, &zone).await?;
            let jobs = c.delete_zone(z.id).await?;
            ctx.emit(&jobs, |j| {
                print_fields(&[(
                    "jobs",
                    j.job_ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                )])
            })?;
            match jobs.job_ids.first() {
                Some(j) => done(ctx, *j, wait).await,
                None => Ok(ExitCode::SUCCESS),
            }
        }
        DnsCmd::MailAuth(MailAuthCmd::Check { zone }) => {
            let z = find_zone(ctx, &zone).await?;
            let r = c.mail_auth(z.id).await?;
            ctx.emit(&r, print_findings)?;
            Ok(ExitCode::SUCCESS)
        }
        DnsCmd::MailAuth(MailAuthCmd::Set {
            zone,
            spf_mx,
            spf_a,
            spf_ip,
            spf_include,
            spf_all,
            dmarc,
            dmarc_subdomains,
            dmarc_pct,
            dmarc_rua,
            wait,
        }) => {
            let z = find_zone(ctx, &zone).await?;
            if spf_all.is_none() && dmarc.is_none() {
                bail!("nothing to write: give --spf-all (SPF) and/or --dmarc (DMARC)");
            }
            let req = SetMailAuth {
                spf: spf_all.map(|all| SpfPolicy {
                    mx: spf_mx,
                    a: spf_a,
                    ip: spf_ip,
                    include: spf_include,
                    all: match all {
                        AllArg::Fail => SpfAll::Fail,
                        AllArg::SoftFail => SpfAll::SoftFail,
                        AllArg::Neutral => SpfAll::Neutral,
                    },
                }),
                dmarc: dmarc.map(|p| DmarcPolicy {
                    policy: stance(p),
                    subdomain_policy: dmarc_subdomains.map(stance),
                    pct: dmarc_pct,
                    rua: dmarc_rua,
                }),
            };
            let r = c.set_mail_auth(z.id, &req).await?;
            ctx.emit(&r, print_findings)?;
            match r.job_id {
                Some(j) => done(ctx, j, wait).await,
                None => Ok(ExitCode::SUCCESS),
            }
        }
        DnsCmd::Zones(ZonesCmd::Dnssec { zone, state, wait }) => {
            let z = find_zone(ctx, &zone).await?;
            let changed = c
                .update_zone(
                    z.id,
                    &berth_proto::api::dns::UpdateZone {
                        dnssec: Some(state == "on"),
                    },
                )
                .await?;
            ctx.emit(&changed, |ch| println!("job: {}", ch.job_id))?;
            done(ctx, changed.job_id, wait).await
        }
        DnsCmd::Zones(ZonesCmd::Import {
            zone,
            file,
            apply,
            wait,
        }) => {
            let z = find_zone(ctx, &zone).await?;
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let diff = c.import_zone(z.id, text, apply).await?;
            ctx.emit(&diff, |d| {
                for r in &d.add {
                    println!("+ {} {} {} {}", r.name, opt(r.ttl), r.rtype, r.content);
                }
                for r in &d.remove {
                    println!("- {} {} {} {}", r.name, opt(r.ttl), r.rtype, r.content);
                }
                for i in &d.ignored {
                    println!("  ignored: {i}");
                }
                println!(
                    "{} to add, {} to remove, {} unchanged{}",
                    d.add.len(),
                    d.remove.len(),
                    d.unchanged,
                    match d.job_id {
                        Some(j) => format!("; applied, job {j}"),
                        None => "; nothing changed (--apply to import)".into(),
                    }
                );
            })?;
            match diff.job_id {
                Some(j) => done(ctx, j, wait).await,
                None => Ok(ExitCode::SUCCESS),
            }
        }
        DnsCmd::Zones(ZonesCmd::Export { zone }) => {
            let z = find_zone(ctx, &zone).await?;
            print!("{}", c.export_zone(z.id).await?);
            Ok(ExitCode::SUCCESS)
        }
        DnsCmd::Records(RecordsCmd::Replace { zone, file, wait }) => {
            let z = find_zone(ctx, &zone).await?;
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let list: Vec<RecordWire> = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: not a list of records: {e}", file.display()))?;
            let done_ = c.replace_records(z.id, &list).await?;
            ctx.emit(&done_, |d| {
                println!("{} record(s); job: {}", d.records.len(), d.job_id);
            })?;
            done(ctx, done_.job_id, wait).await
        }
        DnsCmd::Records(RecordsCmd::List { zone }) => {
            let z = find_zone(ctx, &zone).await?;
            let list = c.list_records(z.id).await?;
            ctx.emit(&list, |l| records_table(l))?;
            Ok(ExitCode::SUCCESS)
        }
        DnsCmd::Records(RecordsCmd::Add {
            zone,
            name,
            rtype,
            content,
            ttl,
            wait,
        }) => {
            let z = find_zone(ctx, &zone).await?;
            let r = RecordWire {
                name,
                rtype,
                ttl,
                content,
            };
            let changed = c.create_record(z.id, &r).await?;
            ctx.emit(&changed, |ch| {
                if let Some(r) = &ch.record {
                    records_table(std::slice::from_ref(r));
                }
                println!("job: {}", ch.job_id);
            })?;
            done(ctx, changed.job_id, wait).await
        }
        DnsCmd::Records(RecordsCmd::Update {
            zone,
            record,
            name,
            rtype,
            content,
            ttl,
            wait,
        }) => {
            let z = find_zone(ctx, &zone).await?;
            let r = RecordWire {
                name,
                rtype,
                ttl,
                content,
            };
            let changed = c.update_record(z.id, record, &r).await?;
            ctx.emit(&changed, |ch| {
                if let Some(r) = &ch.record {
                    records_table(std::slice::from_ref(r));
                }
                println!("job: {}", ch.job_id);
            })?;
            done(ctx, changed.job_id, wait).await
        }
        DnsCmd::Records(RecordsCmd::Delete { zone, record, wait }) => {
            let z = find_zone(ctx, &zone).await?;
            let changed = c.delete_record(z.id, record).await?;
            ctx.emit(&changed, |ch| println!("job: {}", ch.job_id))?;
            done(ctx, changed.job_id, wait).await
        }
    }
}
