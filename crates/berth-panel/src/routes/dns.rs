//! Tenants' DNS zones and records. Every change is checked against the
//! whole zone (`berth_core::dns_zone`) before it is stored, then a
//! `dns.zone.apply` job created in the same transaction (with its audit
//! row) puts the zone on its server. A zone's domain belongs to one tenant:
//! nobody can create a zone for a domain another tenant holds (as a zone or
//! as a site).

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::{Permission, Scope};
use berth_db::audit::AuditEvent;
use berth_db::dns as zones;
use berth_db::jobs::NewJob;
use berth_db::{Conn, packages, tenants, usage};
use berth_proto::api::Page;
use berth_proto::api::databases::JobsStarted;
use berth_proto::api::dns::{
    CreateZone, DnsRecord, DnsZone, ImportDiff, ImportQuery, MailAuthReport, RecordChanged, RecordsReplaced,
    SetMailAuth, UpdateZone, ZoneChanged, ZoneCreated, ZoneQuery,
};
use berth_proto::api::nodes::NodeRole;
use berth_proto::api::packages::Resource;
use berth_proto::api::tenants::TenantStatus;
use berth_proto::dns::{Record, RecordWire};
use berth_proto::{ApiErrorBody, DnsRecordId, DnsZoneId, JobId, TenantId};
use serde_json::json;

/// Most records a zone may hold (one apply sends them all).
pub const MAX_RECORDS: usize = 20_000;

/// Largest body of the calls that carry a whole zone (creation with its
/// records, replacing all records): 20,000 records of about 300 bytes.
pub const MAX_ZONE_BODY: usize = 8 * 1024 * 1024;

fn ev(tenant: TenantId, action: &'static str, id: String, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: Some(tenant),
        action,
        target_type: "dns_zone",
        target_id: Some(id),
        summary,
    }
}

async fn enqueue(
    st: &SharedState,
    c: &mut Conn,
    auth: Option<&Authed>,
    kind: &str,
    payload: serde_json::Value,
    tenant: TenantId,
) -> ApiResult<JobId> {
    let (job, _) = st
        .engine
        .enqueue_on(
            c,
            NewJob {
                queue: "dns".into(),
                kind: kind.into(),
                payload,
                priority: 0,
                max_attempts: 0,
                run_at: berth_db::now_ms(),
                idempotency_key: None,
                tenant_id: Some(tenant),
                created_by: auth.map(|a| a.user.id),
            },
        )
        .await?;
    Ok(job.id)
}

/// The job that applies `zone`: the zone's last apply job when no worker
/// has taken it yet (changes arriving together coalesce into one apply),
/// else a new one.
async fn enqueue_apply(st: &SharedState, c: &mut Conn, auth: &Authed, zone: &DnsZone) -> ApiResult<JobId> {
    if let Some(j) = zone.last_job_id
        && berth_db::jobs::join_queued(c, j).await?
    {
        return Ok(j);
    }
    let job = enqueue(
        st,
        c,
        Some(auth),
        "dns.zone.apply",
        json!({ "zone_id": zone.id }),
        zone.tenant_id,
    )
    .await?;
    zones::set_zone_job(c, zone.id, job).await?;
    Ok(job)
}

/// A record as given; an absolute name (ending in a dot) must be inside
/// `zone` and is made relative.
fn parse_record(mut w: RecordWire, default_ttl: u32, zone: &berth_proto::DomainName) -> ApiResult<Record> {
    if w.name.ends_with('.') {
        w.name = berth_proto::dns::RecordName::relative(&w.name, zone)
            .ok_or_else(|| ApiError::invalid_field("name", format!("{} is not inside the zone {zone}", w.name)))?
            .to_string();
    }
    let ttl = w.ttl;
    let mut r = Record::try_from(w).map_err(|e| ApiError::invalid_field(e.what, e.to_string()))?;
    if ttl.is_none() {
        r.ttl = default_ttl;
    }
    Ok(r)
}

/// The zone with this change must still keep every rule.
fn check(zone: &DnsZone, records: &[Record]) -> ApiResult<()> {
    if records.len() > MAX_RECORDS {
        return Err(ApiError::invalid(format!("a zone holds at most {MAX_RECORDS} records")));
    }
    berth_core::dns_zone::check_zone(&zone.name, records)
        .map_err(|p| ApiError::invalid(p.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))
}

async fn writable_zone(c: &mut Conn, scope: &Scope, id: DnsZoneId) -> ApiResult<DnsZone> {
    let z = zones::get_zone(c, scope, id).await?;
    let t = tenants::get(c, &Scope::system(), z.tenant_id).await?;
    if t.status == TenantStatus::Suspended {
        return Err(ApiError::conflict("the tenant is suspended"));
    }
    Ok(z)
}

async fn default_ttl(st: &SharedState) -> u32 {
    u32::try_from(st.settings.i64("dns.default_ttl").await).unwrap_or(3600)
}

/// Zones in my scope.
#[utoipa::path(get, path = "/api/v1/dns/zones", tag = "dns", params(ZoneQuery),
    responses((status = 200, body = Page<DnsZone>)), security(("bearer" = [])))]
pub async fn list_zones(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<ZoneQuery>,
) -> ApiResult<Reply<Page<DnsZone>>> {
    let scope = auth.authorize(Permission::DnsRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = zones::list_zones(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a zone with its first records (or the `dns.zone_template`
/// setting's); a `dns.zone.apply` job puts it on its server.
#[utoipa::path(post, path = "/api/v1/dns/zones", tag = "dns", request_body = CreateZone,
    responses((status = 201, body = ZoneCreated),
        (status = 409, body = ApiErrorBody, description = "held by another tenant, limit reached or tenant suspended"),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_zone(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateZone>,
) -> ApiResult<(StatusCode, Reply<ZoneCreated>)> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    // Settings before the transaction (a cache miss takes a connection).
    let ttl = default_ttl(&st).await;
    let template = st.settings.get("dns.zone_template").await;
    let wires: Vec<RecordWire> = match req.records {
        Some(r) => r,
        None => {
            let list = template.as_array().cloned().unwrap_or_default();
            list.into_iter()
                .map(|mut v| {
                    if let Some(c) = v.get("content").and_then(|c| c.as_str()) {
                        v["content"] = json!(c.replace("{zone}", req.name.as_str()));
                    }
                    serde_json::from_value(v)
                        .map_err(|e| ApiError::invalid(format!("the dns.zone_template setting: {e}")))
                })
                .collect::<ApiResult<_>>()?
        }
    };
    let records: Vec<Record> = wires
        .into_iter()
        .map(|w| parse_record(w, ttl, &req.name))
        .collect::<ApiResult<_>>()?;
    let mut tx = st.db.begin().await?;
    let node = crate::routes::node_for(&st, &mut tx, req.node.as_ref(), NodeRole::Dns).await?;
    let tenant = tenants::get(&mut tx, &scope, req.tenant_id)
        .await
        .map_err(|_| ApiError::invalid_field("tenant_id", "no such tenant"))?;
    if tenant.status == TenantStatus::Suspended {
        return Err(ApiError::conflict("the tenant is suspended"));
    }
    if zones::held_by_other(&mut tx, tenant.id, &req.name).await? {
        return Err(ApiError::conflict(format!(
            "{} is held by another tenant (as a zone or a site)",
            req.name
        )));
    }
    if let Some(p) = tenant.package_id {
        let limits = packages::get(&mut tx, &Scope::system(), p).await?.limits;
        let used = usage::tenant_used(&mut tx, tenant.id, Resource::DnsZones)
            .await?
            .unwrap_or(0);
        berth_core::quota::check(&limits, Resource::DnsZones, used, 1)?;
    }
    let zone = zones::insert_zone(&mut tx, tenant.id, &req.name, node).await?;
    check(&zone, &records)?;
    let mut made = Vec::with_capacity(records.len());
    for r in &records {
        made.push(zones::insert_record(&mut tx, zone.id, r).await?);
    }
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    let zone = zones::get_zone(&mut tx, &scope, zone.id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            tenant.id,
            "dns.zone.create",
            zone.id.to_string(),
            json!({ "name": zone.name, "node": zone.node, "records": made.len(), "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((
        StatusCode::CREATED,
        Reply(ZoneCreated {
            zone,
            records: made,
            job_id,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/dns/zones/{id}", tag = "dns", params(("id" = DnsZoneId, Path)),
    responses((status = 200, body = DnsZone), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_zone(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
) -> ApiResult<Reply<DnsZone>> {
    let scope = auth.authorize(Permission::DnsRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(zones::get_zone(&mut c, &scope, id).await?))
}

/// Change a zone's settings: sign it (DNSSEC, PowerDNS nodes) or stop.
/// The DS records appear on the zone once its apply job has run.
#[utoipa::path(patch, path = "/api/v1/dns/zones/{id}", tag = "dns", params(("id" = DnsZoneId, Path)),
    request_body = UpdateZone,
    responses((status = 200, body = ZoneChanged), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update_zone(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
    Json(req): Json<UpdateZone>,
) -> ApiResult<Reply<ZoneChanged>> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    // The panel's own node says what it serves with; an enrolled node's
    // apply job says so when it cannot sign.
    let local_bind = st
        .node
        .as_ref()
        .is_some_and(|n| n.dns().config().powerdns.is_none() && n.dns().config().bind.is_some());
    if req.dnssec == Some(true) && zone.node == "local" && local_bind {
        return Err(ApiError::invalid_field(
            "dnssec",
            "this zone's node serves DNS with BIND; DNSSEC is served by PowerDNS nodes",
        ));
    }
    if let Some(on) = req.dnssec {
        zones::set_dnssec(&mut tx, id, on).await?;
    }
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    let after = zones::get_zone(&mut tx, &scope, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.zone.update",
            id.to_string(),
            json!({ "zone": zone.name, "dnssec": { "before": zone.dnssec, "after": after.dnssec }, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(ZoneChanged { zone: after, job_id }))
}

/// Delete a zone: its server stops answering for it.
#[utoipa::path(delete, path = "/api/v1/dns/zones/{id}", tag = "dns", params(("id" = DnsZoneId, Path)),
    responses((status = 202, body = JobsStarted), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_zone(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
) -> ApiResult<(StatusCode, Reply<JobsStarted>)> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let mut tx = st.db.begin().await?;
    let zone = zones::get_zone(&mut tx, &scope, id).await?;
    let node = zones::zone_node(&mut tx, id).await?;
    zones::delete_zone(&mut tx, id).await?;
    let job = enqueue(
        &st,
        &mut tx,
        Some(&auth),
        "dns.zone.remove",
        json!({ "name": zone.name, "node_id": node }),
        zone.tenant_id,
    )
    .await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.zone.delete",
            id.to_string(),
            json!({ "name": zone.name, "node": zone.node, "job_id": job }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::ACCEPTED, Reply(JobsStarted { job_ids: vec![job] })))
}

/// Take every zone of a tenant off its server (tenant deletion).
pub(crate) async fn remove_tenant_zones(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    tenant: TenantId,
) -> ApiResult<Vec<JobId>> {
    let mut jobs = Vec::new();
    for (id, name, node) in zones::tenant_zones(c, tenant).await? {
        zones::delete_zone(c, id).await?;
        jobs.push(
            enqueue(
                st,
                c,
                Some(auth),
                "dns.zone.remove",
                json!({ "name": name, "node_id": node }),
                tenant,
            )
            .await?,
        );
    }
    Ok(jobs)
}

#[utoipa::path(get, path = "/api/v1/dns/zones/{id}/records", tag = "dns", params(("id" = DnsZoneId, Path)),
    responses((status = 200, body = Vec<DnsRecord>), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn list_records(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
) -> ApiResult<Reply<Vec<DnsRecord>>> {
    let scope = auth.authorize(Permission::DnsRead)?;
    let mut c = st.db.conn().await?;
    zones::get_zone(&mut c, &scope, id).await?;
    Ok(Reply(zones::records(&mut c, id).await?))
}

/// Add a record; refused (422, nothing changed) when the zone with it
/// would break a rule (CNAME beside other data or at the apex, a duplicate,
/// different TTLs in one rrset, …).
#[utoipa::path(post, path = "/api/v1/dns/zones/{id}/records", tag = "dns", params(("id" = DnsZoneId, Path)),
    request_body = RecordWire,
    responses((status = 201, body = RecordChanged), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_record(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
    Json(req): Json<RecordWire>,
) -> ApiResult<(StatusCode, Reply<RecordChanged>)> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let ttl = default_ttl(&st).await;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    let r = parse_record(req, ttl, &zone.name)?;
    let mut all = zones::parsed_records(&mut tx, id).await?;
    all.push(r.clone());
    check(&zone, &all)?;
    let rec = zones::insert_record(&mut tx, id, &r).await?;
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.record.create",
            id.to_string(),
            json!({ "zone": zone.name, "record": rec.record, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((
        StatusCode::CREATED,
        Reply(RecordChanged {
            record: Some(rec),
            job_id,
        }),
    ))
}

/// Replace a record (name, type, TTL and content).
#[utoipa::path(put, path = "/api/v1/dns/zones/{id}/records/{record_id}", tag = "dns",
    params(("id" = DnsZoneId, Path), ("record_id" = DnsRecordId, Path)), request_body = RecordWire,
    responses((status = 200, body = RecordChanged), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update_record(
    State(st): State<SharedState>,
    auth: Authed,
    Path((id, record_id)): Path<(DnsZoneId, DnsRecordId)>,
    Json(req): Json<RecordWire>,
) -> ApiResult<Reply<RecordChanged>> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let ttl = default_ttl(&st).await;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    let r = parse_record(req, ttl, &zone.name)?;
    let before = zones::get_record(&mut tx, id, record_id).await?;
    let mut all: Vec<Record> = Vec::new();
    for x in zones::records(&mut tx, id).await? {
        if x.id != record_id {
            all.push(Record::try_from(x.record).map_err(|e| ApiError::internal(e.to_string()))?);
        }
    }
    all.push(r.clone());
    check(&zone, &all)?;
    let rec = zones::update_record(&mut tx, id, record_id, &r).await?;
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.record.update",
            id.to_string(),
            json!({ "zone": zone.name, "before": before.record, "after": rec.record, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(RecordChanged {
        record: Some(rec),
        job_id,
    }))
}

#[utoipa::path(delete, path = "/api/v1/dns/zones/{id}/records/{record_id}", tag = "dns",
    params(("id" = DnsZoneId, Path), ("record_id" = DnsRecordId, Path)),
    responses((status = 200, body = RecordChanged), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_record(
    State(st): State<SharedState>,
    auth: Authed,
    Path((id, record_id)): Path<(DnsZoneId, DnsRecordId)>,
) -> ApiResult<Reply<RecordChanged>> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    let before = zones::get_record(&mut tx, id, record_id).await?;
    zones::delete_record(&mut tx, id, record_id).await?;
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.record.delete",
            id.to_string(),
            json!({ "zone": zone.name, "record": before.record, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(RecordChanged { record: None, job_id }))
}

/// Replace every record of a zone at once (an import, or a whole zone
/// kept elsewhere): checked whole, stored in one transaction, one apply.
#[utoipa::path(put, path = "/api/v1/dns/zones/{id}/records", tag = "dns", params(("id" = DnsZoneId, Path)),
    request_body = Vec<RecordWire>,
    responses((status = 200, body = RecordsReplaced), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_records(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
    Json(req): Json<Vec<RecordWire>>,
) -> ApiResult<Reply<RecordsReplaced>> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let ttl = default_ttl(&st).await;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    let records: Vec<Record> = req
        .into_iter()
        .map(|w| parse_record(w, ttl, &zone.name))
        .collect::<ApiResult<_>>()?;
    check(&zone, &records)?;
    let before = zones::records(&mut tx, id).await?.len();
    let made = zones::replace_records(&mut tx, id, &records).await?;
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.records.replace",
            id.to_string(),
            json!({ "zone": zone.name, "before": before, "after": made.len(), "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(RecordsReplaced { records: made, job_id }))
}

/// The zone as a zone file (BIND's format: SOA and NS from the settings,
/// every name absolute), as its server is told to serve it.
#[utoipa::path(get, path = "/api/v1/dns/zones/{id}/export", tag = "dns", params(("id" = DnsZoneId, Path)),
    responses((status = 200, description = "the zone file", content_type = "text/plain"), (status = 404, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn export_zone(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let scope = auth.authorize(Permission::DnsRead)?;
    let nameservers: Vec<String> = serde_json::from_value(st.settings.get("dns.nameservers").await).unwrap_or_default();
    let hostmaster = st.settings.string("dns.hostmaster").await;
    let ttl = default_ttl(&st).await;
    let mut c = st.db.conn().await?;
    let zone = zones::get_zone(&mut c, &scope, id).await?;
    let records = zones::parsed_records(&mut c, id).await?;
    let spec = berth_proto::dns::ZoneSpec {
        zone: zone.name.clone(),
        nameservers,
        hostmaster,
        serial: zone.serial.and_then(|s| u32::try_from(s).ok()).unwrap_or(1),
        soa: berth_proto::dns::SoaTimers::default(),
        ttl,
        records,
        dnssec: false,
    };
    let text = berth_services::dns::render_bind_zone(&spec).map_err(ApiError::internal)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.zone\"", zone.name),
            ),
        ],
        text,
    )
        .into_response())
}

/// Import a zone file (the request body, text, at most 8 MiB): parsed and
/// checked whole; answers what would be added and removed. With
/// `?apply=true` the zone's records become the file's, in one transaction
/// and one apply job.
#[utoipa::path(post, path = "/api/v1/dns/zones/{id}/import", tag = "dns", params(("id" = DnsZoneId, Path), ImportQuery),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = ImportDiff), (status = 404, body = ApiErrorBody), (status = 413, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn import_zone(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Body,
) -> ApiResult<Reply<ImportDiff>> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    let bytes = axum::body::to_bytes(body, berth_core::dns_zonefile::MAX_ZONE_FILE)
        .await
        .map_err(|_| ApiError::new(berth_proto::ErrorCode::PayloadTooLarge, "a zone file is at most 8 MiB"))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::invalid("the zone file is not UTF-8 text"))?;
    let ttl = default_ttl(&st).await;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    let parsed = berth_core::dns_zonefile::parse_zone_file(&zone.name, text, ttl)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    check(&zone, &parsed.records)?;
    let current = zones::parsed_records(&mut tx, id).await?;
    let wire = |r: &Record| RecordWire::from(r.clone());
    let add: Vec<RecordWire> = parsed
        .records
        .iter()
        .filter(|r| !current.contains(r))
        .map(wire)
        .collect();
    let remove: Vec<RecordWire> = current
        .iter()
        .filter(|r| !parsed.records.contains(r))
        .map(wire)
        .collect();
    let unchanged = parsed.records.len() - add.len();
    let mut job_id = None;
    if q.apply == Some(true) {
        zones::replace_records(&mut tx, id, &parsed.records).await?;
        let job = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
        audit(
            &mut tx,
            &auth,
            ev(
                zone.tenant_id,
                "dns.zone.import",
                id.to_string(),
                json!({ "zone": zone.name, "added": add.len(), "removed": remove.len(), "unchanged": unchanged,
                    "job_id": job }),
            ),
        )
        .await?;
        tx.commit().await.map_err(berth_db::DbError::from)?;
        st.engine.wake();
        job_id = Some(job);
    }
    Ok(Reply(ImportDiff {
        add,
        remove,
        unchanged,
        ignored: parsed.ignored,
        job_id,
    }))
}

/// What the zone's records say about its mail authentication: SPF, DMARC,
/// DKIM keys, MX — each finding ok, info, warning or error.
#[utoipa::path(get, path = "/api/v1/dns/zones/{id}/mail-auth", tag = "dns", params(("id" = DnsZoneId, Path)),
    responses((status = 200, body = MailAuthReport), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn mail_auth(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
) -> ApiResult<Reply<MailAuthReport>> {
    let scope = auth.authorize(Permission::DnsRead)?;
    let mut c = st.db.conn().await?;
    let zone = zones::get_zone(&mut c, &scope, id).await?;
    let records = zones::parsed_records(&mut c, id).await?;
    Ok(Reply(MailAuthReport {
        zone: zone.name,
        findings: berth_core::mail_auth::check(&records),
        job_id: None,
    }))
}

/// Write the zone's SPF record (apex) and/or DMARC record (`_dmarc`) from
/// policies, replacing the ones there; answers the checker's findings.
#[utoipa::path(put, path = "/api/v1/dns/zones/{id}/mail-auth", tag = "dns", params(("id" = DnsZoneId, Path)),
    request_body = SetMailAuth,
    responses((status = 200, body = MailAuthReport), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn set_mail_auth(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DnsZoneId>,
    Json(req): Json<SetMailAuth>,
) -> ApiResult<Reply<MailAuthReport>> {
    let scope = auth.authorize(Permission::DnsWrite)?;
    if let Some(spf) = &req.spf {
        if spf.ip.len() > 20 {
            return Err(ApiError::invalid_field("spf.ip", "at most 20 addresses or networks"));
        }
        if spf.include.len() > 8 {
            return Err(ApiError::invalid_field(
                "spf.include",
                "at most 8 includes (SPF allows 10 lookups)",
            ));
        }
    }
    if let Some(d) = &req.dmarc
        && d.pct.is_some_and(|p| !(1..=100).contains(&p))
    {
        return Err(ApiError::invalid_field("dmarc.pct", "must be 1 to 100"));
    }
    let ttl = default_ttl(&st).await;
    let mut tx = st.db.begin().await?;
    let zone = writable_zone(&mut tx, &scope, id).await?;
    let mut records = zones::parsed_records(&mut tx, id).await?;
    let is_txt = |r: &Record, name: &str, prefix: &str| {
        r.name.as_str() == name
            && matches!(&r.data, berth_proto::dns::RecordData::Txt(t) if t.to_ascii_lowercase().starts_with(prefix))
    };
    let mut written = Vec::new();
    let mut add = |records: &mut Vec<Record>, name: &str, text: String| -> ApiResult<()> {
        let r = parse_record(
            RecordWire {
                name: name.into(),
                rtype: berth_proto::dns::RecordType::Txt,
                ttl: None,
                content: text.clone(),
            },
            ttl,
            &zone.name,
        )?;
        // One TTL per name and type: follow the name's other TXT records.
        let same = records
            .iter()
            .find(|o| o.name == r.name && o.data.record_type() == berth_proto::dns::RecordType::Txt)
            .map(|o| o.ttl);
        records.push(Record {
            ttl: same.unwrap_or(r.ttl),
            ..r
        });
        written.push(json!({ "name": name, "text": text }));
        Ok(())
    };
    if let Some(spf) = &req.spf {
        records.retain(|r| !is_txt(r, "@", "v=spf1"));
        add(&mut records, "@", berth_core::mail_auth::spf_text(spf))?;
    }
    if let Some(d) = &req.dmarc {
        records.retain(|r| !is_txt(r, "_dmarc", "v=dmarc1"));
        add(&mut records, "_dmarc", berth_core::mail_auth::dmarc_text(d))?;
    }
    check(&zone, &records)?;
    zones::replace_records(&mut tx, id, &records).await?;
    let job_id = enqueue_apply(&st, &mut tx, &auth, &zone).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            zone.tenant_id,
            "dns.mail_auth.set",
            id.to_string(),
            json!({ "zone": zone.name, "written": written, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(MailAuthReport {
        zone: zone.name,
        findings: berth_core::mail_auth::check(&records),
        job_id: Some(job_id),
    }))
}

/// A new site's A/AAAA records: for each of its names that falls in a zone
/// its tenant holds, one record per address of its node (setting
/// `dns.node_addresses`), unless the name already has address or CNAME
/// records (the tenant's own choice wins). A name the zone's rules would
/// refuse is skipped: a site is never refused for its DNS. Returns the
/// apply jobs.
pub(crate) async fn add_site_records(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    site: &berth_proto::api::sites::Site,
    addresses: &[std::net::IpAddr],
    ttl: u32,
) -> ApiResult<Vec<JobId>> {
    use berth_proto::dns::{RecordData, RecordName, RecordType};
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let mut touched: Vec<DnsZone> = Vec::new();
    let names = std::iter::once(&site.domain).chain(site.aliases.iter());
    for name in names {
        let Some(zone) = zones::tenant_zone_for(c, site.tenant_id, name.as_str()).await? else {
            continue;
        };
        let Some(rel) = RecordName::relative(name.as_str(), &zone.name) else {
            continue;
        };
        let mut records = zones::parsed_records(c, zone.id).await?;
        if records.iter().any(|r| {
            r.name == rel
                && matches!(
                    r.data.record_type(),
                    RecordType::A | RecordType::Aaaa | RecordType::Cname
                )
        }) {
            continue;
        }
        let new: Vec<Record> = addresses
            .iter()
            .map(|a| Record {
                name: rel.clone(),
                ttl,
                data: match a {
                    std::net::IpAddr::V4(v4) => RecordData::A(*v4),
                    std::net::IpAddr::V6(v6) => RecordData::Aaaa(*v6),
                },
            })
            .collect();
        records.extend(new.iter().cloned());
        if berth_core::dns_zone::check_zone(&zone.name, &records).is_err() {
            continue;
        }
        for r in &new {
            zones::insert_site_record(c, zone.id, r, site.id).await?;
        }
        if !touched.iter().any(|z| z.id == zone.id) {
            touched.push(zone);
        }
    }
    let mut jobs = Vec::new();
    for z in &touched {
        jobs.push(enqueue_apply(st, c, auth, z).await?);
    }
    Ok(jobs)
}

/// A deleted site's records go; its zones are applied again.
pub(crate) async fn remove_site_records(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    site: berth_proto::SiteId,
) -> ApiResult<Vec<JobId>> {
    let mut jobs = Vec::new();
    for zid in zones::delete_site_records(c, site).await? {
        let zone = zones::get_zone(c, &Scope::system(), zid).await?;
        jobs.push(enqueue_apply(st, c, auth, &zone).await?);
    }
    Ok(jobs)
}
