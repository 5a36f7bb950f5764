//! Sites' TLS certificates and the install's ACME accounts.

use crate::row::{i, oi, oparse, os, ots, parse, s, ts};
use crate::{Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::certificates::{
    CertSource, CertStatus, Certificate, CertificateQuery, CertificateSummary, Challenge, KeyType,
};
use berth_proto::{CertName, CertificateId, JobId, SiteId, TenantId, Timestamp};
use sqlx::any::AnyRow;

const DAY_MS: i64 = 86_400_000;

macro_rules! cols {
    () => {
        "c.id, c.tenant_id, c.site_id, c.names, c.source, c.challenge, c.key_type, c.status, c.issuer, \
         c.serial, c.not_before, c.not_after, c.last_attempt_at, c.last_error, c.failures, c.next_attempt_at, \
         c.last_job_id, c.created_at, c.updated_at, \
         (SELECT st.domain FROM sites st WHERE st.id = c.site_id) AS site_domain, \
         COALESCE((SELECT n.name FROM nodes n JOIN sites st ON st.node_id = n.id WHERE st.id = c.site_id), 'local') \
         AS node_name"
    };
}

fn decode(r: &AnyRow, now: i64) -> DbResult<Certificate> {
    let names: Vec<CertName> =
        serde_json::from_str(&s(r, "names")?).map_err(|e| crate::corrupt(format!("names: {e}")))?;
    let source = match s(r, "source")?.as_str() {
        "acme" => CertSource::Acme,
        "custom" => CertSource::Custom,
        o => return Err(crate::corrupt(format!("source {o:?}"))),
    };
    let challenge = match os(r, "challenge")?.as_deref() {
        None => None,
        Some("http-01") => Some(Challenge::Http01),
        Some("dns-01") => Some(Challenge::Dns01),
        Some(o) => return Err(crate::corrupt(format!("challenge {o:?}"))),
    };
    let kt = s(r, "key_type")?;
    let st = s(r, "status")?;
    let not_after = oi(r, "not_after")?;
    let mut status = CertStatus::parse(&st).ok_or_else(|| crate::corrupt(format!("status {st:?}")))?;
    // Expiry is a fact of the clock, not of the last job.
    if not_after.is_some_and(|t| t <= now) && matches!(status, CertStatus::Valid | CertStatus::Failing) {
        status = CertStatus::Expired;
    }
    Ok(Certificate {
        id: parse(r, "id")?,
        tenant_id: parse(r, "tenant_id")?,
        site_id: parse(r, "site_id")?,
        site_domain: os(r, "site_domain")?.unwrap_or_default(),
        node: s(r, "node_name")?,
        names,
        source,
        challenge,
        key_type: KeyType::parse(&kt).ok_or_else(|| crate::corrupt(format!("key_type {kt:?}")))?,
        status,
        issuer: os(r, "issuer")?,
        serial: os(r, "serial")?,
        not_before: ots(r, "not_before")?,
        not_after: not_after.map(Timestamp),
        days_left: not_after.map(|t| (t - now).div_euclid(DAY_MS)),
        last_attempt_at: ots(r, "last_attempt_at")?,
        last_error: os(r, "last_error")?,
        failures: i(r, "failures")?,
        next_attempt_at: ots(r, "next_attempt_at")?,
        last_job_id: oparse::<JobId>(r, "last_job_id")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn challenge_str(c: Option<Challenge>) -> Option<String> {
    c.map(|c| match c {
        Challenge::Http01 => "http-01".to_owned(),
        Challenge::Dns01 => "dns-01".to_owned(),
    })
}

fn names_json(names: &[CertName]) -> DbResult<String> {
    serde_json::to_string(names).map_err(|e| crate::corrupt(format!("names: {e}")))
}

fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND c.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ")
                .bind(r.to_string())
                .push(")");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND c.tenant_id = ").bind(t.to_string());
        }
    }
}

/// What a new or re-ordered certificate is to be.
#[derive(Clone, Debug)]
pub struct CertSpec {
    pub names: Vec<CertName>,
    pub source: CertSource,
    pub challenge: Option<Challenge>,
    pub key_type: KeyType,
}

/// Create the site's certificate row, or point the existing one at a new
/// spec (it keeps serving its current chain until the new one is issued).
pub async fn upsert(c: &mut Conn, tenant: TenantId, site: SiteId, spec: &CertSpec) -> DbResult<Certificate> {
    let now = now_ms();
    let source = match spec.source {
        CertSource::Acme => "acme",
        CertSource::Custom => "custom",
    };
    let existing = sqlx::query("SELECT id FROM certificates WHERE site_id = $1")
        .bind(site.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let id = match existing {
        Some(r) => {
            let id: CertificateId = parse(&r, "id")?;
            sqlx::query(
                "UPDATE certificates SET names = $1, source = $2, challenge = $3, key_type = $4, failures = 0, \
                 last_error = NULL, next_attempt_at = NULL, updated_at = $5 WHERE id = $6",
            )
            .bind(names_json(&spec.names)?)
            .bind(source)
            .bind(challenge_str(spec.challenge))
            .bind(spec.key_type.as_str())
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *c)
            .await?;
            id
        }
        None => {
            let id = CertificateId::new();
            sqlx::query(
                "INSERT INTO certificates (id, tenant_id, site_id, names, source, challenge, key_type, status, \
                 failures, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)",
            )
            .bind(id.to_string())
            .bind(tenant.to_string())
            .bind(site.to_string())
            .bind(names_json(&spec.names)?)
            .bind(source)
            .bind(challenge_str(spec.challenge))
            .bind(spec.key_type.as_str())
            .bind(now)
            .execute(&mut *c)
            .await?;
            id
        }
    };
    get(c, &Scope::system(), id).await
}

pub async fn get(c: &mut Conn, scope: &Scope, id: CertificateId) -> DbResult<Certificate> {
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM certificates c WHERE c.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    decode(&row, now_ms())
}

pub async fn for_site(c: &mut Conn, site: SiteId) -> DbResult<Option<Certificate>> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM certificates c WHERE c.site_id = $1"))
        .bind(site.to_string())
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| decode(&r, now_ms())).transpose()
}

/// The chain a site serves (PEM), once it has one.
pub async fn chain_of_site(c: &mut Conn, site: SiteId) -> DbResult<Option<String>> {
    let row = sqlx::query("SELECT chain_pem FROM certificates WHERE site_id = $1 AND chain_pem IS NOT NULL")
        .bind(site.to_string())
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| s(&r, "chain_pem")).transpose()
}

pub async fn list(c: &mut Conn, scope: &Scope, f: &CertificateQuery) -> DbResult<(Vec<Certificate>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let now = now_ms();
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM certificates c WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(t) = f.tenant_id {
            q.push(" AND c.tenant_id = ").bind(t.to_string());
        }
        if let Some(site) = f.site_id {
            q.push(" AND c.site_id = ").bind(site.to_string());
        }
        match f.status {
            None => {}
            Some(CertStatus::Expired) => {
                q.push(" AND c.not_after <= ").bind(now);
            }
            Some(st @ (CertStatus::Valid | CertStatus::Failing)) => {
                q.push(" AND c.status = ")
                    .bind(st.as_str())
                    .push(" AND (c.not_after IS NULL OR c.not_after > ")
                    .bind(now)
                    .push(")");
            }
            Some(st) => {
                q.push(" AND c.status = ").bind(st.as_str());
            }
        }
        if let Some(d) = f.expiring_within_days {
            q.push(" AND c.not_after <= ")
                .bind(now + d.clamp(-36_500, 36_500) * DAY_MS);
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", cols!()));
    // Soonest expiry first: what needs attention is at the top.
    q.push(" ORDER BY CASE WHEN c.not_after IS NULL THEN 1 ELSE 0 END, c.not_after, c.created_at, c.id LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    let items = rows.iter().map(|r| decode(r, now)).collect::<DbResult<Vec<_>>>()?;
    Ok((items, total))
}

pub async fn summary(c: &mut Conn, scope: &Scope, soon_days: i64) -> DbResult<CertificateSummary> {
    let now = now_ms();
    let mut q = Sql::new("SELECT c.status, c.not_after FROM certificates c WHERE 1 = 1");
    scope_filter(&mut q, scope);
    let mut out = CertificateSummary::default();
    for r in q.query().fetch_all(&mut *c).await? {
        let st = s(&r, "status")?;
        let na = oi(&r, "not_after")?;
        out.total += 1;
        let live = matches!(st.as_str(), "valid" | "failing");
        match na {
            Some(t) if t <= now && live => out.expired += 1,
            _ => match st.as_str() {
                "valid" => out.valid += 1,
                "failing" => out.failing += 1,
                "failed" => out.failed += 1,
                "pending" => out.pending += 1,
                _ => {}
            },
        }
        if live && na.is_some_and(|t| t > now && t <= now + soon_days * DAY_MS) {
            out.expiring_soon += 1;
        }
    }
    Ok(out)
}

/// A job starts working on the certificate.
pub async fn attempt(c: &mut Conn, id: CertificateId, job: JobId) -> DbResult<()> {
    sqlx::query("UPDATE certificates SET last_attempt_at = $1, last_job_id = $2, updated_at = $1 WHERE id = $3")
        .bind(now_ms())
        .bind(job.to_string())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// What an issued or uploaded certificate says.
#[derive(Clone, Debug)]
pub struct Issued {
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub chain_pem: String,
}

/// The certificate is the site's now; `next` is when renewal is due (ACME).
pub async fn issued(c: &mut Conn, id: CertificateId, i: &Issued, next: Option<i64>) -> DbResult<()> {
    sqlx::query(
        "UPDATE certificates SET status = 'valid', issuer = $1, serial = $2, not_before = $3, not_after = $4, \
         chain_pem = $5, failures = 0, last_error = NULL, next_attempt_at = $6, alerted_at = NULL, updated_at = $7 \
         WHERE id = $8",
    )
    .bind(i.issuer.clone())
    .bind(i.serial.clone())
    .bind(i.not_before)
    .bind(i.not_after)
    .bind(i.chain_pem.clone())
    .bind(next)
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// An attempt failed: a certificate that serves stays (`failing`), one that
/// never did is `failed`. `next`: when to try again (`None`: only on
/// request).
pub async fn failed(c: &mut Conn, id: CertificateId, error: &str, next: Option<i64>) -> DbResult<i64> {
    let mut msg = error.to_owned();
    if msg.len() > 4000 {
        let mut cut = 4000;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
    }
    sqlx::query(
        "UPDATE certificates SET status = CASE WHEN chain_pem IS NULL THEN 'failed' ELSE 'failing' END, \
         last_error = $1, failures = failures + 1, next_attempt_at = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(msg)
    .bind(next)
    .bind(now_ms())
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    let row = sqlx::query("SELECT failures FROM certificates WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *c)
        .await?;
    i(&row, "failures")
}

/// ACME certificates to work on now, with their tenants: failed ones whose
/// backoff is over (`next_attempt_at`), and issued ones inside their
/// renewal window: the last `window_ms` of their life, or the last third of
/// it when that is shorter (a 6-day certificate is not renewed every scan).
pub async fn due(c: &mut Conn, now: i64, window_ms: i64, limit: i64) -> DbResult<Vec<(CertificateId, TenantId)>> {
    let rows = sqlx::query(
        "SELECT id, tenant_id FROM certificates WHERE source = 'acme' AND status <> 'pending' AND ( \
           (next_attempt_at IS NOT NULL AND next_attempt_at <= $1) \
           OR (next_attempt_at IS NULL AND not_after IS NOT NULL AND not_before IS NOT NULL \
               AND not_after - CASE WHEN (not_after - not_before) / 3 < $2 THEN (not_after - not_before) / 3 \
                                    ELSE $2 END <= $1)) \
         ORDER BY not_after LIMIT $3",
    )
    .bind(now)
    .bind(window_ms)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| Ok((parse(r, "id")?, parse(r, "tenant_id")?)))
        .collect()
}

/// Certificates to warn about, not warned about in the last day: uploaded
/// ones expiring before `custom_end` (Berth cannot renew them), ACME ones
/// expiring before `acme_end` (their renewals have not worked).
pub async fn expiring_unwarned(c: &mut Conn, now: i64, custom_end: i64, acme_end: i64) -> DbResult<Vec<CertificateId>> {
    let rows = sqlx::query(
        "SELECT id FROM certificates WHERE not_after IS NOT NULL \
         AND ((source = 'custom' AND not_after <= $1) OR (source = 'acme' AND not_after <= $2)) \
         AND (alerted_at IS NULL OR alerted_at <= $3) ORDER BY not_after LIMIT 500",
    )
    .bind(custom_end)
    .bind(acme_end)
    .bind(now - DAY_MS)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| parse(r, "id")).collect()
}

/// An expiry warning went out.
pub async fn warned(c: &mut Conn, id: CertificateId, now: i64) -> DbResult<()> {
    sqlx::query("UPDATE certificates SET alerted_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Move a renewal window (renewal tests, or an admin who wants it now).
pub async fn set_next_attempt(c: &mut Conn, id: CertificateId, at: Option<i64>) -> DbResult<()> {
    sqlx::query("UPDATE certificates SET next_attempt_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, id: CertificateId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM certificates WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

pub async fn delete_of_site(c: &mut Conn, site: SiteId) -> DbResult<()> {
    sqlx::query("DELETE FROM certificates WHERE site_id = $1")
        .bind(site.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The stored ACME account credentials (JSON) for an ACME directory.
pub async fn acme_account(c: &mut Conn, directory_url: &str) -> DbResult<Option<String>> {
    let row = sqlx::query("SELECT credentials FROM acme_accounts WHERE directory_url = $1")
        .bind(directory_url.to_owned())
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| s(&r, "credentials")).transpose()
}

/// Keep the first account made for a directory (two jobs racing to make
/// one: the loser uses the winner's).
pub async fn save_acme_account(c: &mut Conn, directory_url: &str, credentials: &str) -> DbResult<String> {
    let ins = sqlx::query("INSERT INTO acme_accounts (directory_url, credentials, created_at) VALUES ($1, $2, $3)")
        .bind(directory_url.to_owned())
        .bind(credentials.to_owned())
        .bind(now_ms())
        .execute(&mut *c)
        .await;
    match ins {
        Ok(_) => Ok(credentials.to_owned()),
        Err(e) => {
            let e = DbError::from(e);
            match acme_account(c, directory_url).await? {
                Some(existing) => Ok(existing),
                None => Err(e),
            }
        }
    }
}
