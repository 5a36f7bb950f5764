//! The job kinds that put tenants' zones on their DNS servers:
//! `dns.zone.apply` sends the whole zone (records from the database, SOA
//! and NS from the settings) to its node, which makes its server answer
//! exactly that; `dns.zone.remove` takes a zone off. Both are idempotent:
//! a retried or replayed job changes nothing more.

use crate::agents::Pki;
use crate::db_jobs::{agent_err, db_err, field, only};
use berth_agent::dns::{DnsRequest, ZoneState};
use berth_agent::node::LocalNode;
use berth_db::dns as zones;
use berth_db::nodes;
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use berth_proto::dns::{SoaTimers, ZoneSpec};
use berth_proto::{DnsZoneId, DomainName, NodeId};
use serde_json::Value;
use std::sync::Arc;

/// Send one request to a zone's DNS node.
async fn on_node(
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    ctx: &StepCtx,
    node: Option<NodeId>,
    req: DnsRequest,
) -> Result<ZoneState, StepError> {
    match node {
        None => {
            let n = local.as_ref().ok_or_else(|| {
                StepError::Permanent("this panel runs no local node: zones need an enrolled DNS node".into())
            })?;
            n.dns().handle(req).await.map_err(|e| {
                if e.retryable() {
                    StepError::Retry(e.to_string())
                } else {
                    StepError::Permanent(e.to_string())
                }
            })
        }
        Some(id) => {
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let row = nodes::get_by_id(&mut c, id).await.map_err(db_err)?;
            drop(c);
            let rid = ctx.job().id.to_string();
            pki.call(&row, reqwest::Method::POST, "/v1/dns", Some(&req), Some(&rid))
                .await
                .map_err(agent_err)
        }
    }
}

/// The zone's first serial: today as YYYYMMDD01 (PowerDNS moves it on
/// every later change).
fn first_serial() -> u32 {
    let days = berth_db::now_ms().div_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    u32::try_from(y * 1_000_000 + m * 10_000 + d * 100 + 1).unwrap_or(1)
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub struct ZoneApply {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for ZoneApply {
    fn kind(&self) -> &'static str {
        "dns.zone.apply"
    }
    fn description(&self) -> &'static str {
        "Makes a zone's DNS server answer exactly the zone's records (SOA and NS from the DNS settings)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["zone_id"])?;
        field::<DnsZoneId>(payload, "zone_id")?;
        Ok(vec!["apply on server".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id: DnsZoneId = field(ctx.payload(), "zone_id").map_err(StepError::Permanent)?;
            apply_zone(&self.node, &self.pki, ctx, id).await
        })
    }
}

/// Make a zone's server answer exactly the zone's records now (the
/// `dns.zone.apply` job, and dns-01 challenges).
pub(crate) async fn apply_zone(
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    ctx: &StepCtx,
    id: DnsZoneId,
) -> Result<Option<Value>, StepError> {
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    let mut settings = std::collections::HashMap::new();
    for k in ["dns.nameservers", "dns.hostmaster", "dns.default_ttl"] {
        let v = berth_db::settings::effective(&mut c, k).await.map_err(db_err)?;
        settings.insert(k, v);
    }
    let zone = match zones::get_zone(&mut c, &berth_core::Scope::system(), id).await {
        Ok(z) => z,
        Err(berth_db::DbError::NotFound) => {
            ctx.log("info", "the zone was deleted meanwhile; nothing to apply")
                .await;
            return Ok(None);
        }
        Err(e) => return Err(db_err(e)),
    };
    let node = zones::zone_node(&mut c, id).await.map_err(db_err)?;
    let records = zones::parsed_records(&mut c, id).await.map_err(db_err)?;
    drop(c);
    let spec = ZoneSpec {
        zone: zone.name.clone(),
        nameservers: serde_json::from_value(settings.get("dns.nameservers").cloned().unwrap_or_default())
            .map_err(|e| StepError::Permanent(format!("dns.nameservers: {e}")))?,
        hostmaster: settings
            .get("dns.hostmaster")
            .and_then(Value::as_str)
            .unwrap_or("hostmaster@berth.localhost")
            .to_owned(),
        serial: zone
            .serial
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or_else(first_serial),
        soa: SoaTimers::default(),
        ttl: settings
            .get("dns.default_ttl")
            .and_then(Value::as_u64)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(3600),
        records,
        dnssec: zone.dnssec,
    };
    let n = spec.records.len();
    let st = on_node(local, pki, ctx, node, DnsRequest::ApplyZone { spec }).await?;
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    zones::set_served(&mut c, id, st.serial, &st.ds).await.map_err(db_err)?;
    ctx.log(
        "info",
        format!(
            "zone {} on {}: {n} record(s), {} rrset(s) changed, serial {}",
            zone.name, zone.node, st.changed, st.serial
        ),
    )
    .await;
    if !st.ds.is_empty() {
        ctx.log("info", format!("signed; DS for the registrar: {}", st.ds.join(" | ")))
            .await;
    }
    Ok(Some(
        serde_json::json!({ "serial": st.serial, "changed": st.changed, "ds": st.ds }),
    ))
}

/// A dns-01 answer: `_acme-challenge.<name>` TXT in the tenant's zone on
/// Berth's DNS, served before this returns. Answers where it went, for
/// `acme_txt_remove`.
pub(crate) async fn acme_txt_add(
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    ctx: &StepCtx,
    tenant: berth_proto::TenantId,
    name: &str,
    value: &str,
) -> Result<(DnsZoneId, berth_proto::DnsRecordId), StepError> {
    let base = name.strip_prefix("*.").unwrap_or(name);
    let fqdn = format!("_acme-challenge.{base}");
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    let zone = zones::tenant_zone_for(&mut c, tenant, base)
        .await
        .map_err(db_err)?
        .ok_or_else(|| {
            StepError::Permanent(format!(
                "dns-01 for {name}: the tenant holds no zone for it on Berth's DNS (add the zone, or use http-01)"
            ))
        })?;
    let rel = berth_proto::dns::RecordName::relative(&format!("{fqdn}."), &zone.name)
        .ok_or_else(|| StepError::Permanent(format!("{fqdn} is not inside {}", zone.name)))?;
    let rec = berth_proto::dns::Record::try_from(berth_proto::dns::RecordWire {
        name: rel.to_string(),
        rtype: berth_proto::dns::RecordType::Txt,
        ttl: Some(60),
        content: value.to_owned(),
    })
    .map_err(|e| StepError::Permanent(format!("dns-01 record: {e}")))?;
    let added = zones::insert_record(&mut c, zone.id, &rec).await.map_err(db_err)?;
    drop(c);
    apply_zone(local, pki, ctx, zone.id).await?;
    Ok((zone.id, added.id))
}

/// Take dns-01 answers away again.
pub(crate) async fn acme_txt_remove(
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    ctx: &StepCtx,
    added: &[(DnsZoneId, berth_proto::DnsRecordId)],
) -> Result<(), StepError> {
    let mut c = ctx.db().conn().await.map_err(db_err)?;
    let mut touched = Vec::new();
    for (z, r) in added {
        match zones::delete_record(&mut c, *z, *r).await {
            Ok(()) | Err(berth_db::DbError::NotFound) => {}
            Err(e) => return Err(db_err(e)),
        }
        if !touched.contains(z) {
            touched.push(*z);
        }
    }
    drop(c);
    for z in touched {
        apply_zone(local, pki, ctx, z).await?;
    }
    Ok(())
}

pub struct ZoneRemove {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for ZoneRemove {
    fn kind(&self) -> &'static str {
        "dns.zone.remove"
    }
    fn description(&self) -> &'static str {
        "Takes a deleted zone off its DNS server."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["name", "node_id"])?;
        field::<DomainName>(payload, "name")?;
        field::<Option<NodeId>>(payload, "node_id")?;
        Ok(vec!["remove from server".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let name: DomainName = field(ctx.payload(), "name").map_err(StepError::Permanent)?;
            let node: Option<NodeId> = field(ctx.payload(), "node_id").map_err(StepError::Permanent)?;
            on_node(
                &self.node,
                &self.pki,
                ctx,
                node,
                DnsRequest::RemoveZone { zone: name.clone() },
            )
            .await?;
            ctx.log("info", format!("zone {name} is no longer served")).await;
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_783), (2026, 11, 26));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
