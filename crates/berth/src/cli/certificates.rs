//! `berth certificates …`: list, show, summary, order (ACME), upload, renew,
//! delete. A certificate is named by its id, a site by its id (as in
//! `berth sites`). Changes answer with their job; `--wait` follows it.
//!
//! `upload` reads the key from a file and sends it once; it is never printed
//! (the answer carries only the certificate, and `UploadCertificate`'s
//! `Debug` redacts it).

use super::output::{Ctx, opt, opt_ts, page_footer, ts};
use super::table::{Table, print_fields};
use berth_proto::api::certificates::{
    CertSource, CertStatus, Certificate, CertificateJob, CertificateQuery, Challenge, KeyType, OrderCertificate,
    UploadCertificate,
};
use berth_proto::{CertName, CertificateId, JobId, SiteId, TenantId};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum CertificatesCmd {
    /// List certificates you can see, soonest expiry first.
    List {
        #[arg(long)]
        tenant: Option<TenantId>,
        /// The site's id.
        #[arg(long)]
        site: Option<SiteId>,
        /// pending, valid, failing, failed or expired.
        #[arg(long, value_parser = parse_status)]
        status: Option<CertStatus>,
        /// Only those expiring within this many days (expired ones too).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(0..))]
        expiring_within: Option<i64>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one certificate.
    Show { id: CertificateId },
    /// Counts by status, and how many expire soon.
    Summary,
    /// Order a certificate from the ACME server for a site (or re-order the
    /// site's certificate with other names or key type).
    Order {
        /// The site's id.
        #[arg(long)]
        site: SiteId,
        /// A name to cover (repeatable; `*.example.com` needs dns-01).
        /// Default: every name the site answers to.
        #[arg(long = "name", value_parser = CertName::parse)]
        names: Vec<CertName>,
        /// http-01 (default) or dns-01.
        #[arg(long, value_parser = parse_challenge)]
        challenge: Option<Challenge>,
        /// ecdsa-p256 (default), rsa-2048 or rsa-4096.
        #[arg(long, value_parser = parse_key_type)]
        key_type: Option<KeyType>,
        /// Follow the job until the certificate is installed.
        #[arg(long)]
        wait: bool,
    },
    /// Install a certificate from elsewhere, with its private key.
    Upload {
        /// The site's id.
        #[arg(long)]
        site: SiteId,
        /// PEM file: the site's certificate first, then (optionally) its chain.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// PEM file: the private key (not encrypted); sent to the site's node only.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// PEM file: more chain certificates, if not in --cert.
        #[arg(long, value_name = "FILE")]
        chain: Option<PathBuf>,
        #[arg(long)]
        wait: bool,
    },
    /// Renew an ACME certificate now.
    Renew {
        id: CertificateId,
        #[arg(long)]
        wait: bool,
    },
    /// Delete a certificate: the site is served over HTTP only.
    Delete {
        id: CertificateId,
        #[arg(long)]
        wait: bool,
    },
}

const STATUSES: [CertStatus; 5] = [
    CertStatus::Pending,
    CertStatus::Valid,
    CertStatus::Failing,
    CertStatus::Failed,
    CertStatus::Expired,
];

fn parse_status(s: &str) -> Result<CertStatus, String> {
    CertStatus::parse(s).ok_or_else(|| {
        let all: Vec<&str> = STATUSES.iter().map(|s| s.as_str()).collect();
        format!("{s:?} is not a status ({})", all.join(", "))
    })
}

fn parse_challenge(s: &str) -> Result<Challenge, String> {
    match s {
        "http-01" => Ok(Challenge::Http01),
        "dns-01" => Ok(Challenge::Dns01),
        other => Err(format!("{other:?} is not a challenge (http-01, dns-01)")),
    }
}

/// Only the key types that can be ordered (`other` is for uploaded keys).
fn parse_key_type(s: &str) -> Result<KeyType, String> {
    match KeyType::parse(s) {
        Some(k) if k != KeyType::Other => Ok(k),
        _ => Err(format!("{s:?} is not a key type (ecdsa-p256, rsa-2048, rsa-4096)")),
    }
}

fn source_str(s: CertSource) -> &'static str {
    match s {
        CertSource::Acme => "acme",
        CertSource::Custom => "custom",
    }
}

fn challenge_str(c: Challenge) -> &'static str {
    match c {
        Challenge::Http01 => "http-01",
        Challenge::Dns01 => "dns-01",
    }
}

fn names_text(names: &[CertName]) -> String {
    if names.is_empty() {
        "-".into()
    } else {
        names.iter().map(CertName::as_str).collect::<Vec<_>>().join(", ")
    }
}

fn read_pem(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

async fn done(ctx: &Ctx, job: JobId, wait: bool) -> anyhow::Result<ExitCode> {
    if wait {
        return super::jobs::wait_for(ctx, job).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The certificate a change is about, and its job.
fn report(ctx: &Ctx, cj: &CertificateJob) -> anyhow::Result<()> {
    ctx.emit(cj, |cj| {
        let c = &cj.certificate;
        print_fields(&[
            ("certificate", c.id.to_string()),
            ("site", c.site_domain.clone()),
            ("names", names_text(&c.names)),
            ("source", source_str(c.source).into()),
            ("status", c.status.as_str().into()),
            ("job", cj.job_id.to_string()),
        ]);
    })
}

fn show(ctx: &Ctx, c: &Certificate) -> anyhow::Result<()> {
    ctx.emit(c, |c| {
        print_fields(&[
            ("id", c.id.to_string()),
            ("site", c.site_domain.clone()),
            ("site id", c.site_id.to_string()),
            ("tenant", c.tenant_id.to_string()),
            ("node", c.node.clone()),
            ("names", names_text(&c.names)),
            ("source", source_str(c.source).into()),
            ("challenge", opt(c.challenge.map(challenge_str))),
            ("key type", c.key_type.as_str().into()),
            ("status", c.status.as_str().into()),
            ("issuer", opt(c.issuer.as_deref())),
            ("serial", opt(c.serial.as_deref())),
            ("not before", opt_ts(c.not_before)),
            ("not after", opt_ts(c.not_after)),
            ("days left", opt(c.days_left)),
            ("last attempt", opt_ts(c.last_attempt_at)),
            ("last error", opt(c.last_error.as_deref())),
            ("failures", c.failures.to_string()),
            ("next attempt", opt_ts(c.next_attempt_at)),
            ("last job", opt(c.last_job_id)),
            ("created", ts(c.created_at)),
            ("updated", ts(c.updated_at)),
        ]);
    })
}

pub async fn run(ctx: &Ctx, cmd: CertificatesCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        CertificatesCmd::List {
            tenant,
            site,
            status,
            expiring_within,
            limit,
            offset,
        } => {
            let page = c
                .list_certificates(&CertificateQuery {
                    tenant_id: tenant,
                    site_id: site,
                    status,
                    expiring_within_days: expiring_within,
                    limit,
                    offset,
                })
                .await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&[
                    "ID",
                    "SITE",
                    "NAMES",
                    "SOURCE",
                    "STATUS",
                    "DAYS LEFT",
                    "NOT AFTER",
                    "LAST ERROR",
                ]);
                for cert in &page.items {
                    t.row(vec![
                        cert.id.to_string(),
                        cert.site_domain.clone(),
                        names_text(&cert.names),
                        source_str(cert.source).into(),
                        cert.status.as_str().into(),
                        opt(cert.days_left),
                        opt_ts(cert.not_after),
                        cert.last_error
                            .as_deref()
                            .map(|e| super::output::shorten(e, 60))
                            .unwrap_or_default(),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CertificatesCmd::Show { id } => {
            show(ctx, &c.get_certificate(id).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        CertificatesCmd::Summary => {
            let s = c.certificate_summary().await?;
            ctx.emit(&s, |s| {
                print_fields(&[
                    ("total", s.total.to_string()),
                    ("valid", s.valid.to_string()),
                    ("pending", s.pending.to_string()),
                    ("failing", s.failing.to_string()),
                    ("failed", s.failed.to_string()),
                    ("expired", s.expired.to_string()),
                    ("expiring soon", s.expiring_soon.to_string()),
                ]);
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CertificatesCmd::Order {
            site,
            names,
            challenge,
            key_type,
            wait,
        } => {
            let req = OrderCertificate {
                site_id: site,
                names: (!names.is_empty()).then_some(names),
                challenge,
                key_type,
            };
            let cj = c.order_certificate(&req).await?;
            report(ctx, &cj)?;
            done(ctx, cj.job_id, wait).await
        }
        CertificatesCmd::Upload {
            site,
            cert,
            key,
            chain,
            wait,
        } => {
            let req = UploadCertificate {
                site_id: site,
                certificate: read_pem(&cert)?,
                chain: chain.as_deref().map(read_pem).transpose()?,
                private_key: read_pem(&key)?,
            };
            let cj = c.upload_certificate(&req).await?;
            report(ctx, &cj)?;
            done(ctx, cj.job_id, wait).await
        }
        CertificatesCmd::Renew { id, wait } => {
            let cj = c.renew_certificate(id).await?;
            report(ctx, &cj)?;
            done(ctx, cj.job_id, wait).await
        }
        CertificatesCmd::Delete { id, wait } => {
            let jobs = c.delete_certificate(id).await?;
            ctx.emit(&jobs, |j| {
                print_fields(&[(
                    "jobs",
                    j.job_ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                )])
            })?;
            // Follow every job in turn; the first that does not succeed sets
            // the exit code.
            let mut code = ExitCode::SUCCESS;
            if wait {
                for j in &jobs.job_ids {
                    let c = done(ctx, *j, true).await?;
                    if c != ExitCode::SUCCESS && code == ExitCode::SUCCESS {
                        code = c;
                    }
                }
            }
            Ok(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(subcommand)]
        cmd: CertificatesCmd,
    }

    #[test]
    fn enums_parse_by_their_wire_names() {
        assert_eq!(parse_status("failing"), Ok(CertStatus::Failing));
        assert!(parse_status("Valid").is_err());
        assert_eq!(parse_challenge("dns-01"), Ok(Challenge::Dns01));
        assert!(parse_challenge("dns01").is_err());
        assert_eq!(parse_key_type("rsa-4096"), Ok(KeyType::Rsa4096));
        assert!(parse_key_type("other").is_err());
        assert!(parse_key_type("rsa-1024").is_err());
    }

    #[test]
    fn order_takes_names_and_options() {
        let site = SiteId::new().to_string();
        let cli = TestCli::try_parse_from([
            "certificates",
            "order",
            "--site",
            &site,
            "--name",
            "Example.com",
            "--name",
            "*.example.com",
            "--challenge",
            "dns-01",
            "--key-type",
            "rsa-2048",
            "--wait",
        ])
        .expect("parses");
        let CertificatesCmd::Order {
            names,
            challenge,
            key_type,
            wait,
            ..
        } = cli.cmd
        else {
            panic!("not an order: {:?}", cli.cmd);
        };
        let names: Vec<&str> = names.iter().map(CertName::as_str).collect();
        assert_eq!(names, ["example.com", "*.example.com"]);
        assert_eq!(challenge, Some(Challenge::Dns01));
        assert_eq!(key_type, Some(KeyType::Rsa2048));
        assert!(wait);
        assert!(TestCli::try_parse_from(["certificates", "order", "--site", &site, "--name", "a..b"]).is_err());
        assert!(TestCli::try_parse_from(["certificates", "list", "--expiring-within", "-1"]).is_err());
    }

    #[test]
    fn errors_are_cut_to_one_line() {}
}
