//! Tenants' databases and database users. Every change is a job created in
//! the same transaction as the change and its audit row; the answer names
//! it. A password Berth generates is answered once and kept nowhere: the
//! panel stores only the server's hash of it (MariaDB) or its SCRAM
//! verifier (PostgreSQL).

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::{Permission, Scope, db_secrets};
use berth_db::audit::AuditEvent;
use berth_db::databases as dbs;
use berth_db::jobs::NewJob;
use berth_db::{Conn, packages, tenants, usage};
use berth_proto::api::Page;
use berth_proto::api::databases::{
    CreateDatabase, CreateDatabaseUser, Database, DatabaseChange, DatabaseQuery, DatabaseUser, DatabaseUserChange,
    DbEngine, DbEngineInfo, DbGrant, DbHost, DbIdent, JobsStarted, MAX_GRANTS, MAX_HOSTS, RotateDbPassword,
    UpdateDatabaseUser,
};
use berth_proto::api::nodes::NodeRole;
use berth_proto::api::packages::Resource;
use berth_proto::api::tenants::{Tenant, TenantStatus};
use berth_proto::{AccountName, ApiErrorBody, DatabaseId, DatabaseUserId, JobId, TenantId};
use serde_json::json;

fn ev(
    tenant: TenantId,
    action: &'static str,
    kind: &'static str,
    id: String,
    summary: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        tenant_id: Some(tenant),
        action,
        target_type: kind,
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
    run_at: i64,
) -> ApiResult<JobId> {
    let (job, _) = st
        .engine
        .enqueue_on(
            c,
            NewJob {
                queue: "databases".into(),
                kind: kind.into(),
                payload,
                priority: 0,
                max_attempts: 0,
                run_at,
                idempotency_key: None,
                tenant_id: Some(tenant),
                created_by: auth.map(|a| a.user.id),
            },
        )
        .await?;
    Ok(job.id)
}

async fn enqueue_user_apply(
    st: &SharedState,
    c: &mut Conn,
    auth: Option<&Authed>,
    user: DatabaseUserId,
    tenant: TenantId,
) -> ApiResult<JobId> {
    let job = enqueue(
        st,
        c,
        auth,
        "database_user.apply",
        json!({ "user_id": user }),
        tenant,
        berth_db::now_ms(),
    )
    .await?;
    dbs::set_user_job(c, user, job).await?;
    Ok(job)
}

/// Re-apply every database user of a tenant (suspension locks them, lifting
/// it unlocks them).
pub(crate) async fn reapply_tenant_users(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    tenant: TenantId,
) -> ApiResult<Vec<JobId>> {
    let mut jobs = Vec::new();
    for u in dbs::tenant_users(c, tenant).await? {
        jobs.push(enqueue_user_apply(st, c, Some(auth), u, tenant).await?);
    }
    Ok(jobs)
}

/// A tenant is being deleted: its users are dropped now, its databases
/// after `retention_ms` (setting `databases.retention_days`, read by the
/// caller before its transaction). The rows go in the caller's transaction.
pub(crate) async fn remove_tenant_databases(
    st: &SharedState,
    c: &mut Conn,
    auth: &Authed,
    tenant: TenantId,
    retention_ms: i64,
) -> ApiResult<Vec<JobId>> {
    let mut jobs = Vec::new();
    for u in dbs::tenant_users(c, tenant).await? {
        let user = dbs::get_user(c, &Scope::system(), u).await?;
        let (node, _) = dbs::user_node_and_secret(c, u).await?;
        let all = dbs::tenant_databases_on(c, tenant, user.engine, node).await?;
        let payload = json!({ "engine": user.engine, "name": user.name, "node_id": node, "tenant_databases": all });
        jobs.push(
            enqueue(
                st,
                c,
                Some(auth),
                "database_user.remove",
                payload,
                tenant,
                berth_db::now_ms(),
            )
            .await?,
        );
        dbs::delete_user(c, u).await?;
    }
    loop {
        // Rows go as they are handled: the first page until none is left.
        let (page, _) = dbs::list_databases(
            c,
            &Scope::system(),
            &DatabaseQuery {
                tenant_id: Some(tenant),
                limit: Some(berth_proto::api::MAX_LIMIT),
                ..Default::default()
            },
        )
        .await?;
        if page.is_empty() {
            break;
        }
        for d in page {
            let node = dbs::database_node(c, d.id).await?;
            let payload = json!({ "engine": d.engine, "name": d.name, "node_id": node });
            let at = berth_db::now_ms() + retention_ms;
            jobs.push(enqueue(st, c, Some(auth), "database.remove", payload, tenant, at).await?);
            dbs::delete_database(c, d.id).await?;
        }
    }
    Ok(jobs)
}

/// The full name on the server: the tenant's prefix (its name with `-` as
/// `_`) unless the setting turns it off; within the engine's length limit.
fn full_name(tenant: &Tenant, name: &DbIdent, prefix: bool, max: usize, field: &'static str) -> ApiResult<DbIdent> {
    let full = if prefix {
        let p = tenant.name.as_str().replace('-', "_");
        if name.as_str().starts_with(&format!("{p}_")) {
            name.as_str().to_owned()
        } else {
            format!("{p}_{name}")
        }
    } else {
        name.as_str().to_owned()
    };
    if full.len() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("{full} is longer than {max} characters, this engine's limit"),
        ));
    }
    DbIdent::parse(&full).map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

async fn writable_tenant(c: &mut Conn, scope: &Scope, id: TenantId) -> ApiResult<Tenant> {
    let t = tenants::get(c, scope, id)
        .await
        .map_err(|_| ApiError::invalid_field("tenant_id", "no such tenant"))?;
    if t.status == TenantStatus::Suspended {
        return Err(ApiError::conflict("the tenant is suspended"));
    }
    Ok(t)
}

async fn check_quota(c: &mut Conn, tenant: &Tenant, r: Resource) -> ApiResult<()> {
    let Some(p) = tenant.package_id else { return Ok(()) };
    let limits = packages::get(c, &Scope::system(), p).await?.limits;
    let used = usage::tenant_used(c, tenant.id, r).await?.unwrap_or(0);
    berth_core::quota::check(&limits, r, used, 1)?;
    if r == Resource::Databases {
        // Over the size quota (as last measured), no new database.
        let mb = usage::tenant_used(c, tenant.id, Resource::DatabaseMb)
            .await?
            .unwrap_or(0);
        if let Some(limit) = limits.database_mb
            && mb >= limit
        {
            return Err(ApiError::conflict(format!(
                "the tenant's databases use {mb} MB of {limit} MB (database_mb): no new database"
            )));
        }
    }
    Ok(())
}

fn check_hosts(engine: DbEngine, hosts: &[DbHost]) -> ApiResult<()> {
    if hosts.len() > MAX_HOSTS {
        return Err(ApiError::invalid_field("hosts", format!("at most {MAX_HOSTS} hosts")));
    }
    match engine {
        DbEngine::Mariadb => {
            for h in hosts {
                berth_services::dbsql::mariadb::host(h).map_err(|e| ApiError::invalid_field("hosts", e))?;
            }
        }
        // Any address or network: each becomes a pg_hba.conf line.
        DbEngine::Postgres => {}
    }
    Ok(())
}

fn check_grants(grants: &[DbGrant]) -> ApiResult<()> {
    if grants.len() > MAX_GRANTS {
        return Err(ApiError::invalid_field(
            "grants",
            format!("at most {MAX_GRANTS} grants"),
        ));
    }
    Ok(())
}

/// Password → what the server stores; generated when none is given.
fn secret_for(engine: DbEngine, given: Option<&str>) -> (String, Option<String>) {
    let generated = given
        .is_none()
        .then(|| db_secrets::generate_password(&rand::random::<[u8; 24]>()));
    let password = given
        .map(str::to_owned)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let secret = match engine {
        DbEngine::Mariadb => db_secrets::mariadb_native_hash(&password),
        DbEngine::Postgres => {
            db_secrets::scram_sha256_verifier(&password, &rand::random::<[u8; 16]>(), db_secrets::SCRAM_ITERATIONS)
        }
    };
    (secret, generated)
}

/// Databases in my scope.
#[utoipa::path(get, path = "/api/v1/databases", tag = "databases", params(DatabaseQuery),
    responses((status = 200, body = Page<Database>)), security(("bearer" = [])))]
pub async fn list_databases(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<DatabaseQuery>,
) -> ApiResult<Reply<Page<Database>>> {
    let scope = auth.authorize(Permission::DatabasesRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = dbs::list_databases(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a database (named with the tenant's prefix); a `database.apply`
/// job creates it on its server.
#[utoipa::path(post, path = "/api/v1/databases", tag = "databases", request_body = CreateDatabase,
    responses((status = 201, body = DatabaseChange),
        (status = 409, body = ApiErrorBody, description = "name taken, limit reached or tenant suspended"),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_database(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateDatabase>,
) -> ApiResult<(StatusCode, Reply<DatabaseChange>)> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    let prefix = st.settings.boolean("databases.tenant_prefix").await; // before the transaction
    let mut tx = st.db.begin().await?;
    let node = crate::routes::node_for(&st, &mut tx, req.node.as_ref(), NodeRole::Db).await?;
    let tenant = writable_tenant(&mut tx, &scope, req.tenant_id).await?;
    let name = full_name(&tenant, &req.name, prefix, req.engine.max_database_len(), "name")?;
    check_quota(&mut tx, &tenant, Resource::Databases).await?;
    let db = dbs::insert_database(&mut tx, tenant.id, req.engine, &name, node).await?;
    let job_id = enqueue(
        &st,
        &mut tx,
        Some(&auth),
        "database.apply",
        json!({ "database_id": db.id }),
        tenant.id,
        berth_db::now_ms(),
    )
    .await?;
    dbs::set_database_job(&mut tx, db.id, job_id).await?;
    let db = dbs::get_database(&mut tx, &scope, db.id).await?;
    let summary = json!({ "engine": db.engine, "name": db.name, "node": db.node, "job_id": job_id });
    audit(
        &mut tx,
        &auth,
        ev(tenant.id, "database.create", "database", db.id.to_string(), summary),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::CREATED, Reply(DatabaseChange { database: db, job_id })))
}

#[utoipa::path(get, path = "/api/v1/databases/{id}", tag = "databases", params(("id" = DatabaseId, Path)),
    responses((status = 200, body = Database), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_database(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseId>,
) -> ApiResult<Reply<Database>> {
    let scope = auth.authorize(Permission::DatabasesRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(dbs::get_database(&mut c, &scope, id).await?))
}

/// Delete a database and its data. Users keep existing; their grants on it
/// go (each is re-applied by a job).
#[utoipa::path(delete, path = "/api/v1/databases/{id}", tag = "databases", params(("id" = DatabaseId, Path)),
    responses((status = 202, body = JobsStarted), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_database(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseId>,
) -> ApiResult<(StatusCode, Reply<JobsStarted>)> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    let mut tx = st.db.begin().await?;
    let db = dbs::get_database(&mut tx, &scope, id).await?;
    let node = dbs::database_node(&mut tx, id).await?;
    let users = dbs::users_of_database(&mut tx, id).await?;
    dbs::delete_database(&mut tx, id).await?;
    let mut jobs = vec![
        enqueue(
            &st,
            &mut tx,
            Some(&auth),
            "database.remove",
            json!({ "engine": db.engine, "name": db.name, "node_id": node }),
            db.tenant_id,
            berth_db::now_ms(),
        )
        .await?,
    ];
    // MariaDB keeps grants of a dropped database (a new one of the same
    // name would inherit them): the users' grants are re-applied.
    for u in users {
        jobs.push(enqueue_user_apply(&st, &mut tx, Some(&auth), u, db.tenant_id).await?);
    }
    let summary = json!({ "engine": db.engine, "name": db.name, "node": db.node, "jobs": jobs });
    audit(
        &mut tx,
        &auth,
        ev(db.tenant_id, "database.delete", "database", id.to_string(), summary),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::ACCEPTED, Reply(JobsStarted { job_ids: jobs })))
}

/// Database users in my scope.
#[utoipa::path(get, path = "/api/v1/database-users", operation_id = "list_database_users", tag = "databases", params(DatabaseQuery),
    responses((status = 200, body = Page<DatabaseUser>)), security(("bearer" = [])))]
pub async fn list_users(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<DatabaseQuery>,
) -> ApiResult<Reply<Page<DatabaseUser>>> {
    let scope = auth.authorize(Permission::DatabasesRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = dbs::list_users(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a database user with grants on the tenant's databases. Without a
/// `password`, Berth generates one and answers it this once.
#[utoipa::path(post, path = "/api/v1/database-users", operation_id = "create_database_user", tag = "databases", request_body = CreateDatabaseUser,
    responses((status = 201, body = DatabaseUserChange),
        (status = 409, body = ApiErrorBody, description = "name taken, limit reached, tenant suspended or a grant on another tenant's database"),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_user(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateDatabaseUser>,
) -> ApiResult<(StatusCode, Reply<DatabaseUserChange>)> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    check_hosts(req.engine, &req.hosts)?;
    check_grants(&req.grants)?;
    let prefix = st.settings.boolean("databases.tenant_prefix").await;
    // Hashing (PBKDF2 for SCRAM) before the write transaction holds the lock.
    let (secret, generated) = secret_for(req.engine, req.password.as_ref().map(|p| p.expose()));
    let mut tx = st.db.begin().await?;
    let node = crate::routes::node_for(&st, &mut tx, req.node.as_ref(), NodeRole::Db).await?;
    let tenant = writable_tenant(&mut tx, &scope, req.tenant_id).await?;
    let name = full_name(&tenant, &req.name, prefix, req.engine.max_user_len(), "name")?;
    check_quota(&mut tx, &tenant, Resource::DatabaseUsers).await?;
    let mut hosts = req.hosts.clone();
    hosts.sort();
    hosts.dedup();
    let id = dbs::insert_user(&mut tx, tenant.id, req.engine, &name, node, &secret, &hosts, false).await?;
    dbs::set_grants(&mut tx, id, &req.grants).await?;
    let job_id = enqueue_user_apply(&st, &mut tx, Some(&auth), id, tenant.id).await?;
    let user = dbs::get_user(&mut tx, &scope, id).await?;
    let summary = json!({ "engine": user.engine, "name": user.name, "node": user.node, "grants": user.grants,
        "hosts": user.hosts, "password": if generated.is_some() { "generated" } else { "given" }, "job_id": job_id });
    audit(
        &mut tx,
        &auth,
        ev(
            tenant.id,
            "database_user.create",
            "database_user",
            id.to_string(),
            summary,
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((
        StatusCode::CREATED,
        Reply(DatabaseUserChange {
            user,
            job_id,
            password: generated,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/database-users/{id}", operation_id = "get_database_user", tag = "databases", params(("id" = DatabaseUserId, Path)),
    responses((status = 200, body = DatabaseUser), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_user(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseUserId>,
) -> ApiResult<Reply<DatabaseUser>> {
    let scope = auth.authorize(Permission::DatabasesRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(dbs::get_user(&mut c, &scope, id).await?))
}

/// Replace a user's grants and/or remote hosts.
#[utoipa::path(patch, path = "/api/v1/database-users/{id}", operation_id = "update_database_user", tag = "databases", params(("id" = DatabaseUserId, Path)),
    request_body = UpdateDatabaseUser,
    responses((status = 200, body = DatabaseUserChange), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn update_user(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseUserId>,
    Json(req): Json<UpdateDatabaseUser>,
) -> ApiResult<Reply<DatabaseUserChange>> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    let mut tx = st.db.begin().await?;
    let before = dbs::get_user(&mut tx, &scope, id).await?;
    writable_tenant(&mut tx, &scope, before.tenant_id).await?;
    if let Some(h) = &req.hosts {
        check_hosts(before.engine, h)?;
        let mut h = h.clone();
        h.sort();
        h.dedup();
        dbs::set_hosts(&mut tx, id, &h).await?;
    }
    if let Some(g) = &req.grants {
        check_grants(g)?;
        dbs::set_grants(&mut tx, id, g).await?;
    }
    let job_id = enqueue_user_apply(&st, &mut tx, Some(&auth), id, before.tenant_id).await?;
    let after = dbs::get_user(&mut tx, &scope, id).await?;
    let summary =
        json!({ "grants": [before.grants, after.grants], "hosts": [before.hosts, after.hosts], "job_id": job_id });
    audit(
        &mut tx,
        &auth,
        ev(
            after.tenant_id,
            "database_user.update",
            "database_user",
            id.to_string(),
            summary,
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(DatabaseUserChange {
        user: after,
        job_id,
        password: None,
    }))
}

/// A new password (generated and answered once, or the one given); the
/// old one stops working when the job has run.
#[utoipa::path(post, path = "/api/v1/database-users/{id}/rotate-password", tag = "databases",
    params(("id" = DatabaseUserId, Path)), request_body = RotateDbPassword,
    responses((status = 200, body = DatabaseUserChange), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn rotate_password(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseUserId>,
    Json(req): Json<RotateDbPassword>,
) -> ApiResult<Reply<DatabaseUserChange>> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    let engine = {
        let mut c = st.db.conn().await?;
        dbs::get_user(&mut c, &scope, id).await?.engine
    };
    let (secret, generated) = secret_for(engine, req.password.as_ref().map(|p| p.expose()));
    let mut tx = st.db.begin().await?;
    let before = dbs::get_user(&mut tx, &scope, id).await?;
    writable_tenant(&mut tx, &scope, before.tenant_id).await?;
    dbs::set_secret(&mut tx, id, &secret).await?;
    let job_id = enqueue_user_apply(&st, &mut tx, Some(&auth), id, before.tenant_id).await?;
    let user = dbs::get_user(&mut tx, &scope, id).await?;
    let summary = json!({ "name": user.name, "password": if generated.is_some() { "generated" } else { "given" }, "job_id": job_id });
    audit(
        &mut tx,
        &auth,
        ev(
            user.tenant_id,
            "database_user.rotate_password",
            "database_user",
            id.to_string(),
            summary,
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(DatabaseUserChange {
        user,
        job_id,
        password: generated,
    }))
}

/// Delete a database user: it is dropped from its server and its sessions end.
#[utoipa::path(delete, path = "/api/v1/database-users/{id}", operation_id = "delete_database_user", tag = "databases", params(("id" = DatabaseUserId, Path)),
    responses((status = 202, body = JobsStarted), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_user(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseUserId>,
) -> ApiResult<(StatusCode, Reply<JobsStarted>)> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    let mut tx = st.db.begin().await?;
    let user = dbs::get_user(&mut tx, &scope, id).await?;
    let (node, _) = dbs::user_node_and_secret(&mut tx, id).await?;
    let all = dbs::tenant_databases_on(&mut tx, user.tenant_id, user.engine, node).await?;
    dbs::delete_user(&mut tx, id).await?;
    let payload = json!({ "engine": user.engine, "name": user.name, "node_id": node, "tenant_databases": all });
    let job = enqueue(
        &st,
        &mut tx,
        Some(&auth),
        "database_user.remove",
        payload,
        user.tenant_id,
        berth_db::now_ms(),
    )
    .await?;
    let summary = json!({ "engine": user.engine, "name": user.name, "job_id": job });
    audit(
        &mut tx,
        &auth,
        ev(
            user.tenant_id,
            "database_user.delete",
            "database_user",
            id.to_string(),
            summary,
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::ACCEPTED, Reply(JobsStarted { job_ids: vec![job] })))
}

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnginesQuery {
    /// An enrolled node's name; the local node when left out.
    #[param(value_type = Option<String>)]
    pub node: Option<AccountName>,
}

/// The database engines a node manages, with their versions (asked now).
#[utoipa::path(get, path = "/api/v1/database-engines", tag = "databases", params(EnginesQuery),
    responses((status = 200, body = Vec<DbEngineInfo>), (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn engines(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<EnginesQuery>,
) -> ApiResult<Reply<Vec<DbEngineInfo>>> {
    auth.authorize(Permission::DatabasesRead)?;
    let node = {
        let mut c = st.db.conn().await?;
        crate::routes::node_for(&st, &mut c, q.node.as_ref(), NodeRole::Db).await?
    };
    match node {
        None => {
            let n = st
                .node
                .as_ref()
                .ok_or_else(|| ApiError::invalid_field("node", "no local node"))?;
            Ok(Reply(n.databases().info().await))
        }
        Some(id) => {
            let row = {
                let mut c = st.db.conn().await?;
                berth_db::nodes::get_by_id(&mut c, id).await?
            };
            let reply: berth_agent::dbs::DbReply = st
                .pki
                .call(
                    &row,
                    reqwest::Method::POST,
                    "/v1/databases",
                    Some(&berth_agent::dbs::DbRequest::Info),
                    None,
                )
                .await
                .map_err(|e| ApiError::new(berth_proto::ErrorCode::Unavailable, e.to_string()))?;
            Ok(Reply(reply.engines))
        }
    }
}

/// The panel's dump directory (exports and uploads, for databases on any
/// node: an enrolled node's dump travels over the RPC).
fn dumps(st: &SharedState) -> ApiResult<std::path::PathBuf> {
    crate::state::dump_dir(&st.config, st.node.as_deref())
        .ok_or_else(|| ApiError::invalid("this panel has no dump directory"))
}

/// Dump a database; when the job has succeeded, download the file from
/// `GET /api/v1/databases/{id}/export/{job_id}` (for a day).
#[utoipa::path(post, path = "/api/v1/databases/{id}/export", tag = "databases", params(("id" = DatabaseId, Path)),
    responses((status = 202, body = JobsStarted), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn export_database(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseId>,
) -> ApiResult<(StatusCode, Reply<JobsStarted>)> {
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    dumps(&st)?;
    let mut tx = st.db.begin().await?;
    let db = dbs::get_database(&mut tx, &scope, id).await?;
    let job = enqueue(
        &st,
        &mut tx,
        Some(&auth),
        "database.export",
        json!({ "database_id": id }),
        db.tenant_id,
        berth_db::now_ms(),
    )
    .await?;
    audit(
        &mut tx,
        &auth,
        ev(
            db.tenant_id,
            "database.export",
            "database",
            id.to_string(),
            json!({ "name": db.name, "job_id": job }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((StatusCode::ACCEPTED, Reply(JobsStarted { job_ids: vec![job] })))
}

/// Download the file of a succeeded export job (`.sql.gz` for MariaDB,
/// `pg_dump -Fc` for PostgreSQL).
#[utoipa::path(get, path = "/api/v1/databases/{id}/export/{job_id}", tag = "databases",
    params(("id" = DatabaseId, Path), ("job_id" = JobId, Path)),
    responses((status = 200, description = "the dump", content_type = "application/octet-stream"),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "the export has not finished")),
    security(("bearer" = [])))]
pub async fn download_export(
    State(st): State<SharedState>,
    auth: Authed,
    Path((id, job_id)): Path<(DatabaseId, JobId)>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let scope = auth.authorize(Permission::DatabasesRead)?;
    let dir = dumps(&st)?;
    let (db, job) = {
        let mut c = st.db.conn().await?;
        let db = dbs::get_database(&mut c, &scope, id).await?;
        let job = berth_db::jobs::get(&mut c, &scope, job_id).await?;
        (db, job)
    };
    if job.kind != "database.export" || job.payload["database_id"] != json!(id) {
        return Err(ApiError::not_found("export"));
    }
    if job.state != berth_proto::api::jobs::JobState::Succeeded {
        return Err(ApiError::conflict(format!("the export job is {}", job.state.as_str())));
    }
    let format = berth_agent::dbs::DumpFormat::of(db.engine);
    let path = crate::db_jobs::export_file(&dir, job_id, format);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("export file (kept for a day)"))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or_default();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let name = format!("{}.{}", db.name, format.extension());
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (axum::http::header::CONTENT_LENGTH, len.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Import a dump into a database: the request body is the file (plain or
/// gzip SQL for MariaDB, `pg_dump -Fc` for PostgreSQL), at most
/// `databases.import_max_mb`. It runs as a login limited to this database.
#[utoipa::path(post, path = "/api/v1/databases/{id}/import", tag = "databases", params(("id" = DatabaseId, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = JobsStarted), (status = 404, body = ApiErrorBody), (status = 413, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn import_database(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<DatabaseId>,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Reply<JobsStarted>)> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let scope = auth.authorize(Permission::DatabasesWrite)?;
    let dir = dumps(&st)?;
    {
        let mut c = st.db.conn().await?;
        let db = dbs::get_database(&mut c, &scope, id).await?;
        writable_tenant(&mut c, &scope, db.tenant_id).await?;
    }
    let max = st.settings.i64("databases.import_max_mb").await.max(1) as u64 * 1024 * 1024;
    let upload = format!("import-{}", uuid::Uuid::new_v4());
    let path = dir.join(&upload);
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(ApiError::internal)?;
        tokio::fs::File::from_std(f)
    };
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    let fail = |e: ApiError| {
        let _ = std::fs::remove_file(&path);
        e
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| fail(ApiError::invalid(format!("reading the upload: {e}"))))?;
        total += chunk.len() as u64;
        if total > max {
            return Err(fail(ApiError::new(
                berth_proto::ErrorCode::PayloadTooLarge,
                format!(
                    "the dump is larger than databases.import_max_mb ({} MB)",
                    max / 1024 / 1024
                ),
            )));
        }
        file.write_all(&chunk).await.map_err(|e| fail(ApiError::internal(e)))?;
    }
    file.flush().await.map_err(|e| fail(ApiError::internal(e)))?;
    if total == 0 {
        return Err(fail(ApiError::invalid("the body must be the dump file")));
    }
    let mut tx = st.db.begin().await.map_err(|e| fail(e.into()))?;
    let db = dbs::get_database(&mut tx, &scope, id)
        .await
        .map_err(|e| fail(e.into()))?;
    let job = enqueue(
        &st,
        &mut tx,
        Some(&auth),
        "database.import",
        json!({ "database_id": id, "upload": upload }),
        db.tenant_id,
        berth_db::now_ms(),
    )
    .await
    .map_err(fail)?;
    audit(
        &mut tx,
        &auth,
        ev(
            db.tenant_id,
            "database.import",
            "database",
            id.to_string(),
            json!({ "name": db.name, "bytes": total, "job_id": job }),
        ),
    )
    .await
    .map_err(fail)?;
    tx.commit().await.map_err(|e| fail(berth_db::DbError::from(e).into()))?;
    st.engine.wake();
    Ok((StatusCode::ACCEPTED, Reply(JobsStarted { job_ids: vec![job] })))
}
