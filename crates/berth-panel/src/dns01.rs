//! Where dns-01 answers go. `certificate.issue` asks a `Dns01Provider` to
//! publish `_acme-challenge.<name>` TXT records and to take them away; the
//! one provider today is Berth's own DNS (the tenant's zone on its DNS
//! node). Another DNS service is another implementation of the trait.

use crate::agents::Pki;
use berth_agent::node::LocalNode;
use berth_jobs::{BoxFuture, StepCtx, StepError};
use berth_proto::{DnsRecordId, DnsZoneId, TenantId};
use std::sync::Arc;

/// A published answer, as the provider needs it to take it away.
#[derive(Clone, Debug)]
pub struct Dns01Answer {
    pub zone: String,
    pub record: String,
}

pub trait Dns01Provider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Publish `value` as a TXT record at `_acme-challenge.<name>` (a
    /// wildcard's base name) and return once the authoritative server
    /// answers it.
    fn present<'a>(
        &'a self,
        ctx: &'a StepCtx,
        tenant: TenantId,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Dns01Answer, StepError>>;
    /// Take published answers away.
    fn cleanup<'a>(&'a self, ctx: &'a StepCtx, answers: &'a [Dns01Answer]) -> BoxFuture<'a, Result<(), StepError>>;
}

/// The tenant's zone on Berth's own DNS.
pub struct BerthDns {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl Dns01Provider for BerthDns {
    fn name(&self) -> &'static str {
        "berth-dns"
    }
    fn present<'a>(
        &'a self,
        ctx: &'a StepCtx,
        tenant: TenantId,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Dns01Answer, StepError>> {
        Box::pin(async move {
            let (zone, record) = crate::dns_jobs::acme_txt_add(&self.node, &self.pki, ctx, tenant, name, value).await?;
            Ok(Dns01Answer {
                zone: zone.to_string(),
                record: record.to_string(),
            })
        })
    }
    fn cleanup<'a>(&'a self, ctx: &'a StepCtx, answers: &'a [Dns01Answer]) -> BoxFuture<'a, Result<(), StepError>> {
        Box::pin(async move {
            let ids = answers
                .iter()
                .map(|a| Ok((a.zone.parse::<DnsZoneId>()?, a.record.parse::<DnsRecordId>()?)))
                .collect::<Result<Vec<_>, uuid::Error>>()
                .map_err(|e| StepError::Permanent(format!("dns-01 answer: {e}")))?;
            crate::dns_jobs::acme_txt_remove(&self.node, &self.pki, ctx, &ids).await
        })
    }
}
