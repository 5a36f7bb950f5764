//! `certificate.issue` (order from ACME, then install) and
//! `certificates.renew` (the recurring scan that starts renewals, retries
//! with backoff and raises alerts).
//!
//! The site's node makes the key and answers a CSR; the panel talks to the
//! ACME server with the install's account and keeps the chain. Installing
//! is applying the site: its server block gets HTTPS through the one apply
//! executor (checked by `nginx -t`, health-checked, rolled back on failure),
//! and applies that arrive together share one reload.

use crate::acme::{self, AcmeSettings};
use crate::agents::Pki;
use crate::db_jobs::{db_err, field, only};
use berth_agent::certs::{CertRequest, ChallengeFile};
use berth_agent::node::LocalNode;
use berth_db::certificates as certs;
use berth_db::jobs::NewJob;
use berth_db::{sites, tenants};
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use berth_proto::api::certificates::{CertSource, Certificate, Challenge};
use berth_proto::api::sites::{Site, WwwMode};
use berth_proto::{CertName, CertificateId, DomainName, NodeId};
use instant_acme::{AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// An ACME certificate this close to expiry has missed its renewals.
const WARN_ACME_DAYS: i64 = 7;

/// Every name a site answers to: its domain, aliases, and the `www.`
/// partner when it has one.
pub(crate) fn site_names(site: &Site) -> Vec<DomainName> {
    let mut names = vec![site.domain.clone()];
    names.extend(site.aliases.iter().cloned());
    if site.options.www != WwwMode::None
        && let Some(p) = site.domain.www_partner()
        && !names.contains(&p)
    {
        names.push(p);
    }
    names
}

/// Is `name` one this site may have on its certificate?
pub(crate) fn name_allowed(site_names: &[DomainName], name: &CertName) -> bool {
    if name.is_wildcard() {
        site_names.iter().any(|n| n.as_str() == name.base())
    } else {
        site_names.iter().any(|n| n.as_str() == name.as_str())
    }
}

/// Retry after a failed attempt: 1 h, doubling, at most a day.
fn backoff_ms(failures: i64) -> i64 {
    let exp = u32::try_from((failures - 1).clamp(0, 10)).unwrap_or(0);
    (HOUR_MS * 2i64.pow(exp)).min(DAY_MS)
}

pub struct CertificateIssue {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
    /// Where dns-01 answers are published.
    pub dns01: Arc<dyn crate::dns01::Dns01Provider>,
}

struct Loaded {
    cert: Certificate,
    site: Site,
    node: Option<NodeId>,
    names: Vec<CertName>,
}

impl CertificateIssue {
    async fn load(&self, ctx: &StepCtx, id: CertificateId) -> Result<Option<Loaded>, StepError> {
        let mut c = ctx.db().conn().await.map_err(db_err)?;
        let scope = berth_core::Scope::system();
        let cert = match certs::get(&mut c, &scope, id).await {
            Ok(x) => x,
            Err(berth_db::DbError::NotFound) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        let site = match sites::get(&mut c, &scope, cert.site_id).await {
            Ok(s) => s,
            Err(berth_db::DbError::NotFound) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        let node = sites::node_of(&mut c, site.id).await.map_err(db_err)?;
        // Names the site no longer has are dropped: a removed domain stops
        // being renewed instead of failing forever.
        let own = site_names(&site);
        let names: Vec<CertName> = cert.names.iter().filter(|n| name_allowed(&own, n)).cloned().collect();
        Ok(Some(Loaded {
            cert,
            site,
            node,
            names,
        }))
    }

    async fn node_call(
        &self,
        ctx: &StepCtx,
        node: Option<NodeId>,
        req: CertRequest,
    ) -> Result<berth_agent::certs::CertReply, StepError> {
        let rid = ctx.job().id.to_string();
        acme::on_node(ctx.db(), &self.node, &self.pki, node, req, Some(&rid))
            .await
            .map_err(|(retry, e)| {
                if retry {
                    StepError::Retry(e)
                } else {
                    StepError::Permanent(e)
                }
            })
    }

    /// Names resolve (to the node's addresses when they are known) and the
    /// challenge path answers on the node; otherwise nothing is ordered.
    async fn preflight(&self, ctx: &StepCtx, l: &Loaded, s: &AcmeSettings) -> Result<Value, StepError> {
        if l.cert.challenge == Some(Challenge::Dns01) {
            ctx.log("info", "dns-01: the names' HTTP is not involved").await;
            return Ok(json!({ "skipped": "dns-01" }));
        }
        if let Some(w) = l.names.iter().find(|n| n.is_wildcard()) {
            return Err(StepError::Permanent(format!(
                "{w} is a wildcard: it needs the dns-01 challenge"
            )));
        }
        let mut c = ctx.db().conn().await.map_err(db_err)?;
        let addrs = berth_db::settings::effective(&mut c, "dns.node_addresses")
            .await
            .map_err(db_err)?;
        drop(c);
        let known: Vec<std::net::IpAddr> = addrs
            .get(&l.site.node)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
            .unwrap_or_default();
        let mut problems = Vec::new();
        let mut domains = Vec::new();
        let resolver =
            acme::NameResolver::new(s.resolver).map_err(|e| StepError::Permanent(format!("acme.resolver: {e}")))?;
        for n in &l.names {
            let Ok(d) = DomainName::parse(n.as_str()) else { continue };
            match resolver.lookup(d.as_str()).await {
                Ok(ips) if ips.is_empty() => problems.push(format!("{d} does not resolve")),
                Ok(ips) if !known.is_empty() && !ips.iter().any(|ip| known.contains(ip)) => problems.push(format!(
                    "{d} points to {} but the site's node {} is at {}",
                    ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                    l.site.node,
                    known.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                )),
                Ok(_) => {}
                Err(e) => problems.push(format!("{d} does not resolve: {e}")),
            }
            domains.push(d);
        }
        let reply = self
            .node_call(ctx, l.node, CertRequest::Preflight { names: domains })
            .await?;
        for r in &reply.preflight {
            if !r.ok {
                problems.push(format!("{}: {}", r.name, r.detail));
            }
        }
        if !problems.is_empty() {
            return Err(StepError::Permanent(format!(
                "preflight failed, nothing was ordered: {}",
                problems.join("; ")
            )));
        }
        ctx.log(
            "info",
            format!(
                "preflight passed for {}",
                l.names.iter().map(CertName::as_str).collect::<Vec<_>>().join(", ")
            ),
        )
        .await;
        Ok(json!({ "names": l.names }))
    }

    /// Order, answer the challenges, finalize with the node's CSR, keep the
    /// chain.
    async fn order(&self, ctx: &StepCtx, l: &Loaded, s: &AcmeSettings) -> Result<Value, StepError> {
        let perm = StepError::Permanent;
        let account = acme::account(ctx.db(), s).await.map_err(StepError::Retry)?;
        let ids: Vec<Identifier> = l.names.iter().map(|n| Identifier::Dns(n.as_str().to_owned())).collect();
        let mut order = account
            .new_order(&NewOrder::new(&ids))
            .await
            .map_err(|e| StepError::Retry(format!("new order: {e}")))?;
        let kind = match l.cert.challenge.unwrap_or_default() {
            Challenge::Http01 => ChallengeType::Http01,
            Challenge::Dns01 => ChallengeType::Dns01,
        };
        let mut tokens = Vec::new();
        let mut dns_records = Vec::new();
        {
            let mut authzs = order.authorizations();
            while let Some(a) = authzs.next().await {
                let mut authz = a.map_err(|e| StepError::Retry(format!("authorization: {e}")))?;
                match authz.status {
                    AuthorizationStatus::Pending => {}
                    AuthorizationStatus::Valid => continue,
                    other => return Err(perm(format!("an authorization is {other:?}"))),
                }
                let mut ch = authz
                    .challenge(kind.clone())
                    .ok_or_else(|| perm(format!("the ACME server offers no {kind:?} challenge")))?;
                let ka = ch.key_authorization();
                match kind {
                    ChallengeType::Dns01 => {
                        let name = ch.identifier().to_string();
                        let value = ka.dns_value();
                        let answer = self.dns01.present(ctx, l.cert.tenant_id, &name, &value).await?;
                        dns_records.push(answer);
                    }
                    _ => {
                        let file = ChallengeFile {
                            token: ch.token.clone(),
                            key_authorization: ka.as_str().to_owned(),
                        };
                        tokens.push(file.token.clone());
                        self.node_call(ctx, l.node, CertRequest::PutChallenges { challenges: vec![file] })
                            .await?;
                    }
                }
                ch.set_ready()
                    .await
                    .map_err(|e| StepError::Retry(format!("challenge: {e}")))?;
            }
        }
        // Poll soon and often at first: a CA that validates at once (or a
        // local one) should not cost a fixed quarter second per poll.
        let policy = RetryPolicy::new()
            .initial_delay(Duration::from_millis(50))
            .backoff(1.5)
            .timeout(Duration::from_secs(90));
        let status = order.poll_ready(&policy).await;
        // The challenge answers are not needed any more, whatever happened.
        if !tokens.is_empty() {
            let _ = self
                .node_call(ctx, l.node, CertRequest::RemoveChallenges { tokens })
                .await;
        }
        if !dns_records.is_empty()
            && let Err(e) = self.dns01.cleanup(ctx, &dns_records).await
        {
            ctx.log("warn", format!("{}: the dns-01 answers stay: {e}", self.dns01.name()))
                .await;
        }
        let status = status.map_err(|e| StepError::Retry(format!("waiting for validation: {e}")))?;
        if status != OrderStatus::Ready {
            return Err(perm(format!(
                "the ACME server did not validate the names ({status:?}): {}",
                why_invalid(&mut order).await
            )));
        }
        let names: Vec<String> = l.names.iter().map(|n| n.as_str().to_owned()).collect();
        let reply = self
            .node_call(
                ctx,
                l.node,
                CertRequest::NewKey {
                    key_type: l.cert.key_type,
                    names,
                },
            )
            .await?;
        let csr = reply
            .csr
            .as_deref()
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .ok_or_else(|| perm("the node answered no CSR".into()))?;
        order
            .finalize_csr(&csr)
            .await
            .map_err(|e| perm(format!("finalize: {e}")))?;
        let chain = order
            .poll_certificate(&policy)
            .await
            .map_err(|e| StepError::Retry(format!("downloading the certificate: {e}")))?;
        let leaf = berth_pki::inspect::inspect_pem_leaf(&chain)
            .map_err(|e| perm(format!("the ACME server's certificate: {e}")))?;
        if reply.key_id.as_deref() != Some(leaf.spki_sha256.as_str()) {
            return Err(perm("the issued certificate is not for the node's key".into()));
        }
        let mut c = ctx.db().conn().await.map_err(db_err)?;
        certs::issued(
            &mut c,
            l.cert.id,
            &certs::Issued {
                issuer: leaf.issuer.clone(),
                serial: leaf.serial_hex.clone(),
                not_before: leaf.not_before * 1000,
                not_after: leaf.not_after * 1000,
                chain_pem: chain,
            },
            None,
        )
        .await
        .map_err(db_err)?;
        drop(c);
        ctx.log(
            "info",
            format!(
                "issued by {} (serial {}), valid until {}",
                leaf.issuer,
                leaf.serial_hex,
                berth_proto::Timestamp(leaf.not_after * 1000)
            ),
        )
        .await;
        Ok(
            json!({ "serial": leaf.serial_hex, "issuer": leaf.issuer, "not_after": berth_proto::Timestamp(leaf.not_after * 1000) }),
        )
    }

    /// Record a failure on the certificate, alert, and pass the error on.
    async fn failed(&self, ctx: &StepCtx, id: CertificateId, s: &AcmeSettings, e: StepError) -> StepError {
        let (StepError::Permanent(msg) | StepError::Retry(msg)) = &e;
        let msg = msg.clone();
        if let Ok(mut c) = ctx.db().conn().await {
            let failures = certs::get(&mut c, &berth_core::Scope::system(), id)
                .await
                .map(|x| x.failures + 1)
                .unwrap_or(1);
            // Every failure gets a next attempt, also one the job engine
            // retries first (a CA that is down must not leave a site without
            // a certificate for good); the scan leaves it alone until then.
            let next = Some(berth_db::now_ms() + backoff_ms(failures));
            if let Err(err) = certs::failed(&mut c, id, &msg, next).await {
                ctx.log("warn", format!("could not record the failure: {err}")).await;
            }
            if let Ok(cert) = certs::get(&mut c, &berth_core::Scope::system(), id).await {
                drop(c);
                if let Some(n) = &cert.next_attempt_at {
                    ctx.log("info", format!("next attempt at {n}")).await;
                }
                let body = json!({ "event": "certificate.failed", "certificate": cert, "error": msg });
                if let Some(said) = acme::alert(&s.webhook, &body).await {
                    ctx.log("info", said).await;
                }
            }
        }
        e
    }
}

/// Wait (up to two minutes) until the site's last apply job has finished:
/// an order made with a site change (in the same request) must not probe
/// names the node does not serve yet. Longer: the engine retries the step.
async fn wait_for_site_apply(ctx: &StepCtx, site: &Site) -> Result<(), StepError> {
    use berth_proto::api::jobs::JobState;
    let Some(job) = site.last_job_id else {
        return Ok(());
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut said = false;
    loop {
        let mut c = ctx.db().conn().await.map_err(db_err)?;
        let state = match berth_db::jobs::get(&mut c, &berth_core::Scope::system(), job).await {
            Ok(j) => j.state,
            Err(berth_db::DbError::NotFound) => return Ok(()),
            Err(e) => return Err(db_err(e)),
        };
        drop(c);
        if !matches!(state, JobState::Queued | JobState::Running | JobState::Failed) {
            return Ok(());
        }
        if !said {
            ctx.log("info", format!("waiting for the site's apply job {job} to finish"))
                .await;
            said = true;
        }
        if std::time::Instant::now() > deadline {
            return Err(StepError::Retry(format!("the site's apply job {job} has not finished")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the ACME server said about the names it refused.
async fn why_invalid(order: &mut instant_acme::Order) -> String {
    let mut out = Vec::new();
    if let Some(p) = &order.state().error {
        out.push(p.to_string());
    }
    let mut authzs = order.authorizations();
    while let Some(Ok(a)) = authzs.next().await {
        let id = a.identifier().to_string();
        for ch in &a.challenges {
            if let Some(p) = &ch.error {
                out.push(format!("{id}: {p}"));
            }
        }
    }
    if out.is_empty() {
        "no reason given".into()
    } else {
        out.join("; ")
    }
}

fn cert_id(payload: &Value) -> Result<CertificateId, String> {
    only(payload, &["certificate_id"])?;
    field(payload, "certificate_id")
}

impl JobHandler for CertificateIssue {
    fn kind(&self) -> &'static str {
        "certificate.issue"
    }
    fn description(&self) -> &'static str {
        "Orders a site's certificate from the ACME server (preflight, challenges, key and CSR on the site's node) and installs it in the site's server block."
    }
    /// Issuing is mostly waiting (on the CA, on the node's apply): one
    /// worker runs several, and installs that meet share a reload.
    fn batch(&self) -> usize {
        16
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        cert_id(payload)?;
        Ok(vec!["preflight".into(), "order".into(), "install".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id = cert_id(ctx.payload()).map_err(StepError::Permanent)?;
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let s = AcmeSettings::load(&mut c).await.map_err(db_err)?;
            drop(c);
            let Some(l) = self.load(ctx, id).await? else {
                ctx.log("info", "the certificate or its site was deleted meanwhile")
                    .await;
                return Ok(None);
            };
            if idx == 0 {
                let mut c = ctx.db().conn().await.map_err(db_err)?;
                certs::attempt(&mut c, id, ctx.job().id).await.map_err(db_err)?;
                let t = tenants::get(&mut c, &berth_core::Scope::system(), l.site.tenant_id)
                    .await
                    .map_err(db_err)?;
                drop(c);
                if t.status == berth_proto::api::tenants::TenantStatus::Suspended {
                    return Err(self
                        .failed(ctx, id, &s, StepError::Permanent("the tenant is suspended".into()))
                        .await);
                }
                if l.cert.source != CertSource::Acme {
                    return Err(StepError::Permanent(
                        "an uploaded certificate is not ordered from ACME".into(),
                    ));
                }
                if l.names.is_empty() {
                    let e = StepError::Permanent("no name of this certificate is on its site any more".into());
                    return Err(self.failed(ctx, id, &s, e).await);
                }
            }
            if idx == 0 {
                // The site's own change (an alias just added, the site just
                // created) must be on the node before its names are probed.
                wait_for_site_apply(ctx, &l.site).await?;
            }
            let r = match idx {
                0 => self.preflight(ctx, &l, &s).await.map(Some),
                1 => self.order(ctx, &l, &s).await.map(Some),
                _ => crate::site_jobs::apply_site(&self.node, &self.pki, ctx, l.site.id).await,
            };
            match r {
                Ok(v) => Ok(v),
                Err(e) => Err(self.failed(ctx, id, &s, e).await),
            }
        })
    }
}

/// The recurring scan: renew ACME certificates inside the renewal window
/// (and retry failed ones when their backoff is over), warn about uploaded
/// certificates that are about to expire.
pub struct CertificatesRenew;

impl JobHandler for CertificatesRenew {
    fn kind(&self) -> &'static str {
        "certificates.renew"
    }
    fn description(&self) -> &'static str {
        "Starts renewals of certificates inside the renewal window (acme.renew_days_before) and retries failed ones after their backoff; alerts about expiring uploaded certificates."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &[])?;
        Ok(vec!["scan".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let s = AcmeSettings::load(&mut c).await.map_err(db_err)?;
            let now = berth_db::now_ms();
            let window = now + s.renew_days * DAY_MS;
            let due = certs::due(&mut c, now, s.renew_days * DAY_MS, 500)
                .await
                .map_err(db_err)?;
            let mut started = Vec::new();
            for (id, tenant) in &due {
                // A lease: the job's outcome sets the next attempt.
                certs::set_next_attempt(&mut c, *id, Some(now + HOUR_MS))
                    .await
                    .map_err(db_err)?;
                let (job, _) = berth_db::jobs::insert(
                    &mut c,
                    NewJob {
                        queue: "certificates".into(),
                        kind: "certificate.issue".into(),
                        payload: json!({ "certificate_id": id }),
                        priority: 0,
                        max_attempts: 3,
                        run_at: now,
                        idempotency_key: None,
                        tenant_id: Some(*tenant),
                        created_by: None,
                    },
                )
                .await
                .map_err(db_err)?;
                started.push(job.id);
            }
            // Uploads inside the renewal window; ACME certificates a week
            // from expiry (their renewals have been failing all along).
            let acme_end = now + WARN_ACME_DAYS.min(s.renew_days) * DAY_MS;
            let expiring = certs::expiring_unwarned(&mut c, now, window, acme_end)
                .await
                .map_err(db_err)?;
            for id in &expiring {
                certs::warned(&mut c, *id, now).await.map_err(db_err)?;
            }
            drop(c);
            for id in &expiring {
                let mut c = ctx.db().conn().await.map_err(db_err)?;
                let cert = certs::get(&mut c, &berth_core::Scope::system(), *id)
                    .await
                    .map_err(db_err)?;
                drop(c);
                let what = match cert.source {
                    CertSource::Custom => "upload a new one",
                    CertSource::Acme => "its renewals have not succeeded (see last_error)",
                };
                ctx.log(
                    "warn",
                    format!(
                        "the certificate of {} expires in {} days; {what}",
                        cert.site_domain,
                        cert.days_left.unwrap_or(0)
                    ),
                )
                .await;
                let body = json!({ "event": "certificate.expiring", "certificate": cert });
                if let Some(said) = acme::alert(&s.webhook, &body).await {
                    ctx.log("info", said).await;
                }
            }
            if !started.is_empty() {
                ctx.log("info", format!("started {} renewal(s)", started.len())).await;
            }
            Ok(Some(json!({ "renewals": started, "expiry_warnings": expiring })))
        })
    }
}

/// Delete key and chain files no kept nginx revision names (older than a
/// day, so keys of orders in flight stay), on this panel's node and every
/// trusted enrolled node. Daily.
pub struct CertificatesPrune {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for CertificatesPrune {
    fn kind(&self) -> &'static str {
        "certificates.prune"
    }
    fn description(&self) -> &'static str {
        "Deletes key and chain files on nodes that no kept nginx revision uses any more (older than min_age_s, default a day)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["min_age_s"])?;
        field::<Option<u64>>(payload, "min_age_s")?;
        Ok(vec!["prune".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let min_age_s = field::<Option<u64>>(ctx.payload(), "min_age_s")
                .map_err(StepError::Permanent)?
                .unwrap_or(86_400);
            let mut targets: Vec<(String, Option<NodeId>)> = Vec::new();
            if self.node.is_some() {
                targets.push(("local".into(), None));
            }
            for row in crate::node_jobs::trusted_nodes(ctx, None).await? {
                targets.push((row.node.name.to_string(), Some(row.id)));
            }
            let mut out = serde_json::Map::new();
            let rid = ctx.job().id.to_string();
            for (name, id) in targets {
                let r = acme::on_node(
                    ctx.db(),
                    &self.node,
                    &self.pki,
                    id,
                    CertRequest::Prune { min_age_s },
                    Some(&rid),
                );
                match r.await {
                    Ok(reply) => {
                        if !reply.pruned.is_empty() {
                            ctx.log("info", format!("{name}: deleted {} file(s)", reply.pruned.len()))
                                .await;
                        }
                        out.insert(name, json!(reply.pruned));
                    }
                    Err((_, e)) => ctx.log("warn", format!("{name}: {e}")).await,
                }
            }
            Ok(Some(Value::Object(out)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_day() {
        assert_eq!(backoff_ms(1), HOUR_MS);
        assert_eq!(backoff_ms(2), 2 * HOUR_MS);
        assert_eq!(backoff_ms(5), 16 * HOUR_MS);
        assert_eq!(backoff_ms(6), DAY_MS);
        assert_eq!(backoff_ms(60), DAY_MS);
    }

    #[test]
    fn names_must_be_the_sites() {
        let own = vec![
            DomainName::parse("shop.example").unwrap(),
            DomainName::parse("www.shop.example").unwrap(),
        ];
        let ok = |n: &str| CertName::parse(n).is_ok_and(|c| name_allowed(&own, &c));
        assert!(ok("shop.example"));
        assert!(ok("www.shop.example"));
        assert!(ok("*.shop.example"));
        assert!(!ok("other.example"));
        assert!(!ok("*.example"), "not a name at all");
        assert!(!ok("*.other.example"));
        assert!(!ok("a.shop.example"));
    }
}
