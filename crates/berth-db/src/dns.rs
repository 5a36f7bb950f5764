//! Tenants' DNS zones and records.

use crate::row::{i, name, oi, oparse, parse, s, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::dns::{DnsRecord, DnsZone, ZoneQuery};
use berth_proto::dns::{Record, RecordType, RecordWire};
use berth_proto::{DnsRecordId, DnsZoneId, DomainName, JobId, NodeId, TenantId};
use sqlx::any::AnyRow;

macro_rules! zone_cols {
    () => {
        "z.id, z.tenant_id, z.name, z.node_id, z.serial, z.last_job_id, z.created_at, z.dnssec, z.ds, \
         COALESCE((SELECT n.name FROM nodes n WHERE n.id = z.node_id), 'local') AS node_name, \
         (SELECT COUNT(*) FROM dns_records r WHERE r.zone_id = z.id) AS record_count"
    };
}

fn decode_zone(r: &AnyRow) -> DbResult<DnsZone> {
    Ok(DnsZone {
        id: parse(r, "id")?,
        tenant_id: parse(r, "tenant_id")?,
        name: name(r, "name")?,
        node: s(r, "node_name")?,
        serial: oi(r, "serial")?,
        records: i(r, "record_count")?,
        dnssec: i(r, "dnssec")? != 0,
        ds: crate::row::os(r, "ds")?
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| crate::corrupt(format!("ds: {e}")))?
            .unwrap_or_default(),
        last_job_id: oparse::<JobId>(r, "last_job_id")?,
        created_at: ts(r, "created_at")?,
    })
}

fn decode_record(r: &AnyRow) -> DbResult<DnsRecord> {
    let t = s(r, "rtype")?;
    Ok(DnsRecord {
        id: parse(r, "id")?,
        zone_id: parse(r, "zone_id")?,
        record: RecordWire {
            name: s(r, "name")?,
            rtype: RecordType::parse(&t).ok_or_else(|| crate::corrupt(format!("record type {t:?}")))?,
            ttl: Some(u32::try_from(i(r, "ttl")?).map_err(|_| crate::corrupt("ttl"))?),
            content: s(r, "content")?,
        },
    })
}

fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND z.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ")
                .bind(r.to_string())
                .push(")");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND z.tenant_id = ").bind(t.to_string());
        }
    }
}

pub async fn insert_zone(c: &mut Conn, tenant: TenantId, zone: &DomainName, node: Option<NodeId>) -> DbResult<DnsZone> {
    let id = DnsZoneId::new();
    sqlx::query("INSERT INTO dns_zones (id, tenant_id, name, node_id, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(zone.as_str().to_owned())
        .bind(node.map(|n| n.to_string()))
        .bind(now_ms())
        .execute(&mut *c)
        .await
        .map_err(|e| DbError::from(e).unique_as(&format!("the zone {zone} is already held")))?;
    get_zone(c, &Scope::system(), id).await
}

pub async fn get_zone(c: &mut Conn, scope: &Scope, id: DnsZoneId) -> DbResult<DnsZone> {
    let mut q = Sql::new(concat!("SELECT ", zone_cols!(), " FROM dns_zones z WHERE z.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode_zone(&row)
}

/// The node a zone is served from (`None`: local).
pub async fn zone_node(c: &mut Conn, id: DnsZoneId) -> DbResult<Option<NodeId>> {
    let row = sqlx::query("SELECT node_id FROM dns_zones WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?
        .ok_or(DbError::NotFound)?;
    oparse(&row, "node_id")
}

pub async fn list_zones(c: &mut Conn, scope: &Scope, f: &ZoneQuery) -> DbResult<(Vec<DnsZone>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM dns_zones z WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(t) = f.tenant_id {
            q.push(" AND z.tenant_id = ").bind(t.to_string());
        }
        if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
            let esc = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q.push(" AND z.name LIKE ")
                .bind(format!("%{esc}%"))
                .push(" ESCAPE '\\'");
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", zone_cols!()));
    q.push(" ORDER BY z.name, z.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let out = rows.iter().map(decode_zone).collect::<DbResult<Vec<_>>>()?;
    Ok((out, total))
}

/// Does a tenant other than `tenant` hold `zone`, a zone above or below it,
/// or a site whose domain is the zone, above it or inside it? (A zone nested
/// in another tenant's would take over answers for that tenant's names.)
pub async fn held_by_other(c: &mut Conn, tenant: TenantId, zone: &DomainName) -> DbResult<bool> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM dns_zones WHERE tenant_id <> $2 \
           AND (name = $1 OR name LIKE $3 OR $1 LIKE '%.' || name)) \
         + (SELECT COUNT(*) FROM sites WHERE tenant_id <> $2 \
           AND (domain = $1 OR domain LIKE $3 OR $1 LIKE '%.' || domain)) AS n",
    )
    .bind(zone.as_str().to_owned())
    .bind(tenant.to_string())
    .bind(format!("%.{}", zone.as_str()))
    .fetch_one(&mut *c)
    .await?;
    Ok(i(&row, "n")? > 0)
}

pub async fn delete_zone(c: &mut Conn, id: DnsZoneId) -> DbResult<()> {
    sqlx::query("DELETE FROM dns_records WHERE zone_id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM dns_zones WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn set_zone_job(c: &mut Conn, id: DnsZoneId, job: JobId) -> DbResult<()> {
    sqlx::query("UPDATE dns_zones SET last_job_id = $1 WHERE id = $2")
        .bind(job.to_string())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// What the server reported after an apply: its serial and, when signed,
/// the DS records.
pub async fn set_served(c: &mut Conn, id: DnsZoneId, serial: u32, ds: &[String]) -> DbResult<()> {
    sqlx::query("UPDATE dns_zones SET serial = $1, ds = $2 WHERE id = $3")
        .bind(i64::from(serial))
        .bind((!ds.is_empty()).then(|| serde_json::Value::from(ds.to_vec()).to_string()))
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn records(c: &mut Conn, zone: DnsZoneId) -> DbResult<Vec<DnsRecord>> {
    let rows = sqlx::query(
        "SELECT id, zone_id, name, rtype, ttl, content FROM dns_records WHERE zone_id = $1 \
         ORDER BY name, rtype, content, id",
    )
    .bind(zone.to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(decode_record).collect()
}

/// A zone's records, parsed (a row that no longer parses is corruption).
pub async fn parsed_records(c: &mut Conn, zone: DnsZoneId) -> DbResult<Vec<Record>> {
    records(c, zone)
        .await?
        .into_iter()
        .map(|r| Record::try_from(r.record).map_err(|e| crate::corrupt(e.to_string())))
        .collect()
}

pub async fn get_record(c: &mut Conn, zone: DnsZoneId, id: DnsRecordId) -> DbResult<DnsRecord> {
    let row =
        sqlx::query("SELECT id, zone_id, name, rtype, ttl, content FROM dns_records WHERE id = $1 AND zone_id = $2")
            .bind(id.to_string())
            .bind(zone.to_string())
            .fetch_optional(&mut *c)
            .await?
            .ok_or(DbError::NotFound)?;
    decode_record(&row)
}

pub async fn insert_record(c: &mut Conn, zone: DnsZoneId, r: &Record) -> DbResult<DnsRecord> {
    let id = DnsRecordId::new();
    sqlx::query(
        "INSERT INTO dns_records (id, zone_id, name, rtype, ttl, content, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(zone.to_string())
    .bind(r.name.as_str().to_owned())
    .bind(r.data.record_type().as_str())
    .bind(i64::from(r.ttl))
    .bind(r.data.content())
    .bind(now_ms())
    .execute(&mut *c)
    .await?;
    get_record(c, zone, id).await
}

pub async fn update_record(c: &mut Conn, zone: DnsZoneId, id: DnsRecordId, r: &Record) -> DbResult<DnsRecord> {
    let done = sqlx::query(
        "UPDATE dns_records SET name = $1, rtype = $2, ttl = $3, content = $4 WHERE id = $5 AND zone_id = $6",
    )
    .bind(r.name.as_str().to_owned())
    .bind(r.data.record_type().as_str())
    .bind(i64::from(r.ttl))
    .bind(r.data.content())
    .bind(id.to_string())
    .bind(zone.to_string())
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DbError::NotFound);
    }
    get_record(c, zone, id).await
}

pub async fn delete_record(c: &mut Conn, zone: DnsZoneId, id: DnsRecordId) -> DbResult<()> {
    let done = sqlx::query("DELETE FROM dns_records WHERE id = $1 AND zone_id = $2")
        .bind(id.to_string())
        .bind(zone.to_string())
        .execute(&mut *c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Zones of a tenant (for tenant deletion).
pub async fn tenant_zones(c: &mut Conn, tenant: TenantId) -> DbResult<Vec<(DnsZoneId, DomainName, Option<NodeId>)>> {
    let rows = sqlx::query("SELECT id, name, node_id FROM dns_zones WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| Ok((parse(r, "id")?, name(r, "name")?, oparse(r, "node_id")?)))
        .collect()
}

pub async fn count_zones(c: &mut Conn, tenant: TenantId) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM dns_zones WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_one(&mut *c)
        .await?;
    i(&row, "n")
}

/// Make `records` the zone's whole record set (the caller checked it).
pub async fn replace_records(c: &mut Conn, zone: DnsZoneId, records: &[Record]) -> DbResult<Vec<DnsRecord>> {
    sqlx::query("DELETE FROM dns_records WHERE zone_id = $1")
        .bind(zone.to_string())
        .execute(&mut *c)
        .await?;
    let mut made = Vec::with_capacity(records.len());
    for r in records {
        made.push(insert_record(c, zone, r).await?);
    }
    Ok(made)
}

pub async fn set_dnssec(c: &mut Conn, id: DnsZoneId, on: bool) -> DbResult<()> {
    sqlx::query("UPDATE dns_zones SET dnssec = $1 WHERE id = $2")
        .bind(i64::from(on))
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The tenant's zone that holds `name` (the longest match), if any.
pub async fn tenant_zone_for(c: &mut Conn, tenant: TenantId, fqdn: &str) -> DbResult<Option<DnsZone>> {
    let mut q = Sql::new(concat!(
        "SELECT ",
        zone_cols!(),
        " FROM dns_zones z WHERE z.tenant_id = "
    ));
    q.bind(tenant.to_string());
    q.push(" AND (z.name = ").bind(fqdn.to_owned());
    q.push(" OR ").bind(fqdn.to_owned()).push(" LIKE '%.' || z.name)");
    q.push(" ORDER BY LENGTH(z.name) DESC LIMIT 1");
    let row = q.query().fetch_optional(&mut *c).await?;
    row.as_ref().map(decode_zone).transpose()
}

/// A record Berth makes for a site.
pub async fn insert_site_record(c: &mut Conn, zone: DnsZoneId, r: &Record, site: berth_proto::SiteId) -> DbResult<()> {
    let rec = insert_record(c, zone, r).await?;
    sqlx::query("UPDATE dns_records SET site_id = $1 WHERE id = $2")
        .bind(site.to_string())
        .bind(rec.id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Delete a site's records; the zones they were in.
pub async fn delete_site_records(c: &mut Conn, site: berth_proto::SiteId) -> DbResult<Vec<DnsZoneId>> {
    let rows = sqlx::query("SELECT DISTINCT zone_id FROM dns_records WHERE site_id = $1")
        .bind(site.to_string())
        .fetch_all(&mut *c)
        .await?;
    let zones = rows
        .iter()
        .map(|r| parse(r, "zone_id"))
        .collect::<DbResult<Vec<DnsZoneId>>>()?;
    sqlx::query("DELETE FROM dns_records WHERE site_id = $1")
        .bind(site.to_string())
        .execute(&mut *c)
        .await?;
    Ok(zones)
}
