//! Sites' TLS certificates. Ordering and renewing are `certificate.issue`
//! jobs; an upload is checked here (key matches, chain builds, names cover
//! the site, valid now), its key sent straight to the site's node (the
//! panel keeps no copy), and the site applied; deleting one takes HTTPS off
//! the site. Tenants see and change only their own sites' certificates.

use crate::auth::Authed;
use crate::cert_jobs::{name_allowed, site_names};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_agent::certs::CertRequest;
use berth_core::{Permission, Scope};
use berth_db::audit::AuditEvent;
use berth_db::certificates::{self as certs, CertSpec};
use berth_db::jobs::NewJob;
use berth_db::{Conn, sites, tenants};
use berth_proto::api::Page;
use berth_proto::api::certificates::{
    CertSource, Certificate, CertificateJob, CertificateQuery, CertificateSummary, Challenge, KeyType,
    OrderCertificate, UploadCertificate,
};
use berth_proto::api::databases::JobsStarted;
use berth_proto::api::sites::Site;
use berth_proto::api::tenants::TenantStatus;
use berth_proto::{ApiErrorBody, CertName, CertificateId, ErrorCode, JobId, SiteId, TenantId};
use serde_json::json;

/// Most names on one certificate (Let's Encrypt's limit).
pub const MAX_NAMES: usize = 100;

fn ev(tenant: TenantId, action: &'static str, id: CertificateId, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: Some(tenant),
        action,
        target_type: "certificate",
        target_id: Some(id.to_string()),
        summary,
    }
}

async fn enqueue_issue(st: &SharedState, c: &mut Conn, auth: &Authed, cert: &Certificate) -> ApiResult<JobId> {
    let (job, _) = st
        .engine
        .enqueue_on(
            c,
            NewJob {
                queue: "certificates".into(),
                kind: "certificate.issue".into(),
                payload: json!({ "certificate_id": cert.id }),
                priority: 0,
                max_attempts: 3,
                run_at: berth_db::now_ms(),
                idempotency_key: None,
                tenant_id: Some(cert.tenant_id),
                created_by: Some(auth.user.id),
            },
        )
        .await?;
    certs::attempt(c, cert.id, job.id).await?;
    Ok(job.id)
}

/// The site, in the caller's scope, of a tenant that is not suspended.
async fn writable_site(c: &mut Conn, scope: &Scope, id: SiteId) -> ApiResult<Site> {
    let site = sites::get(c, scope, id).await?;
    let t = tenants::get(c, &Scope::system(), site.tenant_id).await?;
    if t.status == TenantStatus::Suspended {
        return Err(ApiError::new(ErrorCode::Suspended, "the tenant is suspended"));
    }
    Ok(site)
}

/// Certificates in my scope, soonest expiry first.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", params(CertificateQuery),
    responses((status = 200, body = Page<Certificate>)), security(("bearer" = [])))]
pub async fn list_certificates(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<CertificateQuery>,
) -> ApiResult<Reply<Page<Certificate>>> {
    let scope = auth.authorize(Permission::SitesRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = certs::list(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Counts by status, and how many expire within the renewal window.
#[utoipa::path(get, path = "/api/v1/certificates/summary", tag = "certificates",
    responses((status = 200, body = CertificateSummary)), security(("bearer" = [])))]
pub async fn summary(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<CertificateSummary>> {
    let scope = auth.authorize(Permission::SitesRead)?;
    let days = st.settings.i64("acme.renew_days_before").await;
    let mut c = st.db.conn().await?;
    Ok(Reply(certs::summary(&mut c, &scope, days).await?))
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "certificates", params(("id" = CertificateId, Path)),
    responses((status = 200, body = Certificate), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_certificate(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<CertificateId>,
) -> ApiResult<Reply<Certificate>> {
    let scope = auth.authorize(Permission::SitesRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(certs::get(&mut c, &scope, id).await?))
}

/// Order a site's certificate from the ACME server (or re-order it with new
/// names, challenge or key type; the current one serves until the new one
/// is installed). A preflight runs first and orders nothing when a name
/// does not point here or its challenge path does not answer.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "certificates", request_body = OrderCertificate,
    responses((status = 202, body = CertificateJob), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn order_certificate(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<OrderCertificate>,
) -> ApiResult<(StatusCode, Reply<CertificateJob>)> {
    let scope = auth.authorize(Permission::SitesWrite)?;
    let key_type = req.key_type.unwrap_or_default();
    if key_type == KeyType::Other {
        return Err(ApiError::invalid_field(
            "key_type",
            "choose ecdsa-p256, rsa-2048 or rsa-4096",
        ));
    }
    let mut tx = st.db.begin().await?;
    let site = writable_site(&mut tx, &scope, req.site_id).await?;
    let own = site_names(&site);
    let names: Vec<CertName> = match req.names {
        Some(n) if n.is_empty() => return Err(ApiError::invalid_field("names", "give at least one name")),
        Some(n) => n,
        None => own.iter().cloned().map(CertName::from).collect(),
    };
    if names.len() > MAX_NAMES {
        return Err(ApiError::invalid_field("names", format!("at most {MAX_NAMES} names")));
    }
    let mut seen = std::collections::HashSet::new();
    for n in &names {
        if !name_allowed(&own, n) {
            return Err(ApiError::invalid_field(
                "names",
                format!(
                    "{n} is not a name of the site {} (its names: {})",
                    site.domain,
                    join(&own)
                ),
            ));
        }
        if !seen.insert(n.as_str()) {
            return Err(ApiError::invalid_field("names", format!("{n} is listed twice")));
        }
    }
    let challenge = req.challenge.unwrap_or_default();
    if challenge == Challenge::Http01
        && let Some(w) = names.iter().find(|n| n.is_wildcard())
    {
        return Err(ApiError::invalid_field(
            "challenge",
            format!("{w} is a wildcard: order it with dns-01"),
        ));
    }
    if challenge == Challenge::Dns01 {
        for n in &names {
            if berth_db::dns::tenant_zone_for(&mut tx, site.tenant_id, n.base())
                .await?
                .is_none()
            {
                return Err(ApiError::invalid_field(
                    "challenge",
                    format!("dns-01 for {n} needs the tenant's zone for it on Berth's DNS"),
                ));
            }
        }
    }
    let spec = CertSpec {
        names: names.clone(),
        source: CertSource::Acme,
        challenge: Some(challenge),
        key_type,
    };
    let cert = certs::upsert(&mut tx, site.tenant_id, site.id, &spec).await?;
    let job_id = enqueue_issue(&st, &mut tx, &auth, &cert).await?;
    let cert = certs::get(&mut tx, &Scope::system(), cert.id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            site.tenant_id,
            "certificate.order",
            cert.id,
            json!({ "site": site.domain, "names": names, "challenge": challenge, "key_type": key_type, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((
        StatusCode::ACCEPTED,
        Reply(CertificateJob {
            certificate: cert,
            job_id,
        }),
    ))
}

fn join(names: &[berth_proto::DomainName]) -> String {
    names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
}

fn key_type_of(leaf: &berth_pki::inspect::CertInfo) -> KeyType {
    match leaf.key_type.as_str() {
        "ecdsa-p256" => KeyType::EcdsaP256,
        "rsa-2048" => KeyType::Rsa2048,
        "rsa-4096" => KeyType::Rsa4096,
        _ => KeyType::Other,
    }
}

/// Install a certificate from elsewhere for a site (replacing the one it
/// has). Nothing changes unless it passes every check.
#[utoipa::path(post, path = "/api/v1/certificates/upload", tag = "certificates", request_body = UploadCertificate,
    responses((status = 200, body = CertificateJob), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody),
        (status = 503, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn upload_certificate(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<UploadCertificate>,
) -> ApiResult<Reply<CertificateJob>> {
    use berth_pki::inspect::{self, InspectError as E};
    let scope = auth.authorize(Permission::SitesWrite)?;
    let mut c = st.db.conn().await?;
    let site = writable_site(&mut c, &scope, req.site_id).await?;
    let node = sites::node_of(&mut c, site.id).await?;
    drop(c);
    let mut chain_pem = req.certificate.clone();
    if let Some(more) = &req.chain {
        chain_pem.push('\n');
        chain_pem.push_str(more);
    }
    let own: Vec<String> = site_names(&site).iter().map(|n| n.as_str().to_owned()).collect();
    let now = berth_db::now_ms() / 1000;
    let leaf = inspect::validate_custom(&chain_pem, &req.private_key, &own, now).map_err(|e| {
        let field = match &e {
            E::NotPemKey
            | E::CertificateInKeyField
            | E::EncryptedKey
            | E::UnsupportedKeyBlock(_)
            | E::SeveralKeys(_)
            | E::BadKey(_)
            | E::KeyMismatch => "private_key",
            _ => "certificate",
        };
        ApiError::invalid_field(field, e.to_string())
    })?;
    // One clean PEM chain, leaf first, whatever the upload looked like.
    let ders =
        inspect::parse_chain_pem(&chain_pem).map_err(|e| ApiError::invalid_field("certificate", e.to_string()))?;
    let clean = inspect::to_pem_chain(&ders);
    let rid = auth.ctx.request_id.to_string();
    acme_key_to_node(&st, node, req.private_key.clone(), &rid).await?;
    let mut tx = st.db.begin().await?;
    let spec = CertSpec {
        names: leaf.names.iter().filter_map(|n| CertName::parse(n).ok()).collect(),
        source: CertSource::Custom,
        challenge: None,
        key_type: key_type_of(&leaf),
    };
    let cert = certs::upsert(&mut tx, site.tenant_id, site.id, &spec).await?;
    certs::issued(
        &mut tx,
        cert.id,
        &certs::Issued {
            issuer: leaf.issuer.clone(),
            serial: leaf.serial_hex.clone(),
            not_before: leaf.not_before * 1000,
            not_after: leaf.not_after * 1000,
            chain_pem: clean,
        },
        None,
    )
    .await?;
    let job_id =
        crate::routes::sites::enqueue(&st, &mut tx, Some(&auth), "site.apply", site.id, site.tenant_id).await?;
    let cert = certs::get(&mut tx, &Scope::system(), cert.id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            site.tenant_id,
            "certificate.upload",
            cert.id,
            json!({ "site": site.domain, "names": leaf.names, "issuer": leaf.issuer, "serial": leaf.serial_hex,
                "not_after": cert.not_after, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(CertificateJob {
        certificate: cert,
        job_id,
    }))
}

/// Hand an uploaded key to the node that serves the site.
async fn acme_key_to_node(
    st: &SharedState,
    node: Option<berth_proto::NodeId>,
    key_pem: String,
    rid: &str,
) -> ApiResult<()> {
    crate::acme::on_node(
        &st.db,
        &st.node,
        &st.pki,
        node,
        CertRequest::PutKey { key_pem },
        Some(rid),
    )
    .await
    .map(|_| ())
    .map_err(|(retry, e)| {
        if retry {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("the site's node could not take the key: {e}"),
            )
        } else {
            ApiError::invalid_field("private_key", e)
        }
    })
}

/// Renew now (an ACME certificate), outside the renewal window.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/renew", tag = "certificates", params(("id" = CertificateId, Path)),
    responses((status = 202, body = CertificateJob), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn renew_certificate(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<CertificateId>,
) -> ApiResult<(StatusCode, Reply<CertificateJob>)> {
    let scope = auth.authorize(Permission::SitesWrite)?;
    let mut tx = st.db.begin().await?;
    let cert = certs::get(&mut tx, &scope, id).await?;
    writable_site(&mut tx, &scope, cert.site_id).await?;
    if cert.source != CertSource::Acme {
        return Err(ApiError::invalid(
            "an uploaded certificate cannot be renewed by Berth: upload a new one, or order one from ACME",
        ));
    }
    let job_id = enqueue_issue(&st, &mut tx, &auth, &cert).await?;
    let after = certs::get(&mut tx, &scope, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            cert.tenant_id,
            "certificate.renew",
            id,
            json!({ "site": cert.site_domain, "job_id": job_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((
        StatusCode::ACCEPTED,
        Reply(CertificateJob {
            certificate: after,
            job_id,
        }),
    ))
}

/// Take a site's certificate away: the site answers plain HTTP only again
/// (force-HTTPS and HSTS wait for a new certificate).
#[utoipa::path(delete, path = "/api/v1/certificates/{id}", tag = "certificates", params(("id" = CertificateId, Path)),
    responses((status = 200, body = JobsStarted), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_certificate(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<CertificateId>,
) -> ApiResult<Reply<JobsStarted>> {
    let scope = auth.authorize(Permission::SitesWrite)?;
    let mut tx = st.db.begin().await?;
    let cert = certs::get(&mut tx, &scope, id).await?;
    certs::delete(&mut tx, id).await?;
    let job =
        crate::routes::sites::enqueue(&st, &mut tx, Some(&auth), "site.apply", cert.site_id, cert.tenant_id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            cert.tenant_id,
            "certificate.delete",
            id,
            json!({ "site": cert.site_domain, "names": cert.names, "serial": cert.serial, "job_id": job }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(JobsStarted { job_ids: vec![job] }))
}

/// A site's names changed: an ACME certificate that covered exactly its old
/// names is re-ordered for the new ones (the installed one serves until
/// then). A certificate ordered for chosen names is left as it is.
pub(crate) async fn follow_site_names(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    before: &Site,
    after: &Site,
) -> ApiResult<Option<JobId>> {
    let (old, new) = (site_names(before), site_names(after));
    if old == new {
        return Ok(None);
    }
    let Some(cert) = certs::for_site(c, after.id).await? else {
        return Ok(None);
    };
    let covered: std::collections::BTreeSet<&str> = cert.names.iter().map(CertName::as_str).collect();
    let was: std::collections::BTreeSet<&str> = old.iter().map(|n| n.as_str()).collect();
    if cert.source != CertSource::Acme || covered != was {
        return Ok(None);
    }
    let spec = CertSpec {
        names: new.into_iter().map(CertName::from).collect(),
        source: CertSource::Acme,
        challenge: cert.challenge,
        key_type: cert.key_type,
    };
    let cert = certs::upsert(c, after.tenant_id, after.id, &spec).await?;
    Ok(Some(enqueue_issue(st, c, auth, &cert).await?))
}
