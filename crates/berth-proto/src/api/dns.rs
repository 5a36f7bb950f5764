//! DNS zones and records (`/api/v1/dns/zones`).

use crate::dns::RecordWire;
use crate::{DnsRecordId, DnsZoneId, DomainName, JobId, TenantId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DnsZone {
    pub id: DnsZoneId,
    pub tenant_id: TenantId,
    /// The zone's apex (`example.com`).
    pub name: DomainName,
    /// The DNS node serving it (`local`: the panel's own).
    pub node: String,
    /// The SOA serial the server reported after the last apply (`null`
    /// before the first).
    pub serial: Option<i64>,
    pub records: i64,
    /// Signed (PowerDNS nodes).
    pub dnssec: bool,
    /// The DS records to give the registrar, once the zone is signed.
    pub ds: Vec<String>,
    pub last_job_id: Option<JobId>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateZone {
    pub tenant_id: TenantId,
    /// An IDN is converted to punycode.
    pub name: DomainName,
    /// The first records; left out, the `dns.zone_template` setting's.
    #[serde(default)]
    pub records: Option<Vec<RecordWire>>,
    /// An enrolled node with the `dns` role; the panel's local node when
    /// left out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub node: Option<crate::AccountName>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DnsRecord {
    pub id: DnsRecordId,
    pub zone_id: DnsZoneId,
    #[serde(flatten)]
    pub record: RecordWire,
}

/// A zone and the job that puts it on its server.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ZoneCreated {
    pub zone: DnsZone,
    pub records: Vec<DnsRecord>,
    pub job_id: JobId,
}

/// A record change and the job that applies the zone.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordChanged {
    pub record: Option<DnsRecord>,
    pub job_id: JobId,
}

/// `PATCH /api/v1/dns/zones/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateZone {
    /// Sign the zone (PowerDNS nodes), or stop signing it.
    pub dnssec: Option<bool>,
}

/// A zone change and the job that applies it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ZoneChanged {
    pub zone: DnsZone,
    pub job_id: JobId,
}

/// What SPF says of senders it does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpfAll {
    /// `-all`: reject.
    Fail,
    /// `~all`: accept but mark.
    SoftFail,
    /// `?all`: no statement.
    Neutral,
}

/// An SPF policy; Berth writes the record (`v=spf1 …`).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpfPolicy {
    /// The domain's MX hosts may send.
    #[serde(default)]
    pub mx: bool,
    /// The domain's A/AAAA hosts may send.
    #[serde(default)]
    pub a: bool,
    /// Addresses or networks that may send.
    #[serde(default)]
    pub ip: Vec<crate::api::databases::DbHost>,
    /// Other domains' SPF to include (a mail provider's).
    #[serde(default)]
    pub include: Vec<crate::dns::Target>,
    pub all: SpfAll,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DmarcStance {
    None,
    Quarantine,
    Reject,
}

/// A DMARC policy; Berth writes the record at `_dmarc`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DmarcPolicy {
    pub policy: DmarcStance,
    #[serde(default)]
    pub subdomain_policy: Option<DmarcStance>,
    /// Percentage of failing mail the policy applies to (1–100).
    #[serde(default)]
    pub pct: Option<u8>,
    /// Where aggregate reports go.
    #[serde(default)]
    pub rua: Vec<crate::Email>,
}

/// `PUT /api/v1/dns/zones/{id}/mail-auth`: the records to write (left out:
/// left as they are).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMailAuth {
    #[serde(default)]
    pub spf: Option<SpfPolicy>,
    #[serde(default)]
    pub dmarc: Option<DmarcPolicy>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Error,
}

/// One thing the checker found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailAuthFinding {
    pub severity: Severity,
    /// `spf`, `dmarc`, `dkim` or `mx`.
    pub topic: String,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailAuthReport {
    pub zone: DomainName,
    pub findings: Vec<MailAuthFinding>,
    /// The apply job, after a change.
    pub job_id: Option<JobId>,
}

/// `POST /api/v1/dns/zones/{id}/import`: preview (default) or apply.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Replace the zone's records with the file's (default: only show
    /// what would change).
    pub apply: Option<bool>,
}

/// What importing a zone file changes (or changed, when applied).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportDiff {
    pub add: Vec<crate::dns::RecordWire>,
    pub remove: Vec<crate::dns::RecordWire>,
    pub unchanged: usize,
    /// Read but not imported (the apex SOA and NS: Berth's own).
    pub ignored: Vec<String>,
    /// The apply job, when applied.
    pub job_id: Option<JobId>,
}

/// All records replaced, and the job that applies the zone.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordsReplaced {
    pub records: Vec<DnsRecord>,
    pub job_id: JobId,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ZoneQuery {
    pub tenant_id: Option<TenantId>,
    /// Substring of the name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
