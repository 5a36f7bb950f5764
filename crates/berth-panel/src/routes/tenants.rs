//! Tenants: create, read, update, suspend, delete, and usage against limits.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::{Permission, Scope, ScopeKind};
use berth_db::audit::AuditEvent;
use berth_db::{Conn, auth as auth_db, packages, tenants, usage, users};
use berth_proto::api::Page;
use berth_proto::api::packages::{Resource, UsageLine};
use berth_proto::api::tenants::{
    CreateTenant, SuspendRequest, Tenant, TenantQuery, TenantStatus, TenantUsage, UpdateTenant,
};
use berth_proto::{ApiErrorBody, PackageId, Role, TenantId, UserId};
use serde_json::json;

fn ev(t: &Tenant, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: Some(t.id),
        action,
        target_type: "tenant",
        target_id: Some(t.id.to_string()),
        summary,
    }
}

/// A tenant's package must be one of the install or one of its owner's,
/// and visible to the caller: otherwise one reseller's package (which they
/// may edit) would set the limits of another reseller's tenant.
async fn check_package(c: &mut Conn, scope: &Scope, id: PackageId, owner: UserId) -> ApiResult<()> {
    let p = packages::get(c, scope, id)
        .await
        .map_err(|_| ApiError::invalid_field("package_id", "no such package"))?;
    match p.owner_id {
        None if scope.is_all() => Ok(()),
        Some(o) if o == owner => Ok(()),
        _ => Err(ApiError::invalid_field(
            "package_id",
            "the package must belong to the install (staff) or to the tenant's owner",
        )),
    }
}

/// A reseller may own only as many tenants as their allocation allows.
async fn check_reseller_tenant_limit(c: &mut Conn, reseller: UserId) -> ApiResult<()> {
    let rec = users::get_unscoped(c, reseller).await?;
    if let Some(alloc) = rec.user.allocation_package_id {
        let p = packages::get(c, &Scope::system(), alloc).await?;
        let used = tenants::count_owned(c, reseller).await?;
        berth_core::quota::check(&p.limits, Resource::Tenants, used, 1)?;
    }
    Ok(())
}

/// List tenants in my scope.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(TenantQuery),
    responses((status = 200, body = Page<Tenant>), (status = 401, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn list_tenants(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<TenantQuery>,
) -> ApiResult<Reply<Page<Tenant>>> {
    let scope = auth.authorize(Permission::TenantsRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = tenants::list(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a tenant. Staff may give it to a reseller (`owner_id`); a
/// reseller's tenants are always their own and count against their allocation.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateTenant>,
) -> ApiResult<(StatusCode, Reply<Tenant>)> {
    let scope = auth.authorize(Permission::TenantsWrite)?;
    if berth_core::system_names::is_reserved(req.name.as_str()) {
        return Err(ApiError::invalid_field(
            "name",
            format!("{} is reserved for a system account", req.name),
        ));
    }
    let mut tx = st.db.begin().await?;
    let owner = match scope.kind() {
        ScopeKind::All => match req.owner_id {
            None => auth.user.id,
            Some(o) => {
                let rec = users::get_unscoped(&mut tx, o)
                    .await
                    .map_err(|_| ApiError::invalid_field("owner_id", "no such user"))?;
                if !matches!(rec.user.role, Role::Reseller | Role::Admin | Role::Superadmin) {
                    return Err(ApiError::invalid_field(
                        "owner_id",
                        "the owner must be an admin or a reseller",
                    ));
                }
                o
            }
        },
        ScopeKind::Reseller(me) => {
            if req.owner_id.is_some_and(|o| o != me) {
                return Err(ApiError::invalid_field(
                    "owner_id",
                    "resellers create tenants for themselves",
                ));
            }
            me
        }
        ScopeKind::Tenant(_) => return Err(ApiError::forbidden("clients cannot create tenants")),
    };
    let owner_role = users::get_unscoped(&mut tx, owner).await?.user.role;
    if owner_role == Role::Reseller {
        check_reseller_tenant_limit(&mut tx, owner).await?;
    }
    if let Some(p) = req.package_id {
        check_package(&mut tx, &scope, p, owner).await?;
    }
    let t = tenants::insert(
        &mut tx,
        tenants::NewTenant {
            name: req.name,
            display_name: req.display_name,
            owner_id: owner,
            package_id: req.package_id,
        },
    )
    .await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &t,
            "tenant.create",
            json!({ "name": t.name, "owner_id": t.owner_id, "package_id": t.package_id }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok((StatusCode::CREATED, Reply(t)))
}

/// One tenant (404 when outside my scope).
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = TenantId, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_tenant(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TenantId>,
) -> ApiResult<Reply<Tenant>> {
    let scope = auth.authorize(Permission::TenantsRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(tenants::get(&mut c, &scope, id).await?))
}

/// Change a tenant's display name, package, or (staff) owner.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = TenantId, Path)),
    request_body = UpdateTenant,
    responses((status = 200, body = Tenant), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update_tenant(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TenantId>,
    Json(req): Json<UpdateTenant>,
) -> ApiResult<Reply<Tenant>> {
    let scope = auth.authorize(Permission::TenantsWrite)?;
    let mut tx = st.db.begin().await?;
    let before = tenants::get(&mut tx, &scope, id).await?;
    let new_owner = req.owner_id.unwrap_or(before.owner_id);
    if let Some(p) = req.package_id.or(before.package_id) {
        // Also when only the owner changes: the kept package must fit it.
        check_package(&mut tx, &Scope::system(), p, new_owner).await?;
        if let Some(p) = req.package_id {
            check_package(&mut tx, &scope, p, new_owner).await?;
        }
    }
    if let Some(o) = req.owner_id {
        if !scope.is_all() {
            return Err(ApiError::forbidden("only staff can move a tenant to another owner"));
        }
        let rec = users::get_unscoped(&mut tx, o)
            .await
            .map_err(|_| ApiError::invalid_field("owner_id", "no such user"))?;
        if !matches!(rec.user.role, Role::Reseller | Role::Admin | Role::Superadmin) {
            return Err(ApiError::invalid_field(
                "owner_id",
                "the owner must be an admin or a reseller",
            ));
        }
        if rec.user.role == Role::Reseller && o != before.owner_id {
            check_reseller_tenant_limit(&mut tx, o).await?;
        }
    }
    tenants::update(
        &mut tx,
        id,
        req.display_name.as_ref(),
        req.package_id.map(Some),
        req.owner_id,
    )
    .await?;
    let after = tenants::get(&mut tx, &Scope::system(), id).await?;
    // Another package may mean other PHP limits for the tenant's pools.
    if after.package_id != before.package_id {
        crate::routes::sites::enqueue_for_tenant(&st, &mut tx, &auth, "site.apply", id).await?;
    }
    audit(
        &mut tx,
        &auth,
        ev(
            &after,
            "tenant.update",
            json!({
                "display_name": [before.display_name, after.display_name],
                "package_id": [before.package_id, after.package_id],
                "owner_id": [before.owner_id, after.owner_id],
            }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(after))
}

/// Delete a tenant and its users.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = TenantId, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_tenant(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TenantId>,
) -> ApiResult<StatusCode> {
    let scope = auth.authorize(Permission::TenantsDelete)?;
    // Settings before the transaction (a cache miss takes a connection).
    let retention_ms = st.settings.i64("databases.retention_days").await.clamp(0, 365) * 86_400_000;
    let mut tx = st.db.begin().await?;
    let t = tenants::get(&mut tx, &scope, id).await?;
    // Its sites go too: each is taken off its node by a job.
    let jobs = crate::routes::sites::enqueue_for_tenant(&st, &mut tx, &auth, "site.remove", id).await?;
    // Its database users are dropped now, its databases after the retention.
    let db_jobs = crate::routes::databases::remove_tenant_databases(&st, &mut tx, &auth, id, retention_ms).await?;
    // Its zones stop being served.
    let dns_jobs = crate::routes::dns::remove_tenant_zones(&st, &mut tx, &auth, id).await?;
    let removed_users = users::delete_by_tenant(&mut tx, id).await?;
    tenants::delete(&mut tx, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &t,
            "tenant.delete",
            json!({ "name": t.name, "users_removed": removed_users, "site_jobs": jobs, "database_jobs": db_jobs,
                "dns_jobs": dns_jobs, "databases_dropped_after_days": retention_ms / 86_400_000 }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend a tenant: its users are logged out and cannot log in.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/suspend", tag = "tenants", params(("id" = TenantId, Path)),
    request_body = SuspendRequest,
    responses((status = 200, body = Tenant), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn suspend_tenant(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TenantId>,
    Json(req): Json<SuspendRequest>,
) -> ApiResult<Reply<Tenant>> {
    let scope = auth.authorize(Permission::TenantsSuspend)?;
    let mut tx = st.db.begin().await?;
    tenants::get(&mut tx, &scope, id).await?;
    tenants::set_status(&mut tx, id, TenantStatus::Suspended, req.reason.as_ref()).await?;
    let ended = auth_db::delete_tenant_sessions(&mut tx, id).await?;
    // Every site of the tenant serves the suspension page; its database
    // users are locked.
    let jobs = crate::routes::sites::enqueue_for_tenant(&st, &mut tx, &auth, "site.apply", id).await?;
    let db_jobs = crate::routes::databases::reapply_tenant_users(&st, &mut tx, &auth, id).await?;
    let t = tenants::get(&mut tx, &scope, id).await?;
    let summary = json!({ "reason": req.reason, "sessions_ended": ended, "site_jobs": jobs, "database_jobs": db_jobs });
    audit(&mut tx, &auth, ev(&t, "tenant.suspend", summary)).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(t))
}

/// Lift a suspension.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/unsuspend", tag = "tenants", params(("id" = TenantId, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn unsuspend_tenant(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TenantId>,
) -> ApiResult<Reply<Tenant>> {
    let scope = auth.authorize(Permission::TenantsSuspend)?;
    let mut tx = st.db.begin().await?;
    tenants::get(&mut tx, &scope, id).await?;
    tenants::set_status(&mut tx, id, TenantStatus::Active, None).await?;
    let jobs = crate::routes::sites::enqueue_for_tenant(&st, &mut tx, &auth, "site.apply", id).await?;
    let db_jobs = crate::routes::databases::reapply_tenant_users(&st, &mut tx, &auth, id).await?;
    let t = tenants::get(&mut tx, &scope, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &t,
            "tenant.unsuspend",
            json!({ "site_jobs": jobs, "database_jobs": db_jobs }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(t))
}

/// Usage of each limited resource against the tenant's package.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/usage", tag = "tenants", params(("id" = TenantId, Path)),
    responses((status = 200, body = TenantUsage), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn tenant_usage(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TenantId>,
) -> ApiResult<Reply<TenantUsage>> {
    let scope = auth.authorize(Permission::TenantsRead)?;
    let mut c = st.db.conn().await?;
    let t = tenants::get(&mut c, &scope, id).await?;
    let limits = match t.package_id {
        Some(p) => packages::get(&mut c, &Scope::system(), p).await?.limits,
        None => Default::default(),
    };
    let mut lines = Vec::new();
    for r in Resource::ALL.into_iter().filter(|r| *r != Resource::Tenants) {
        lines.push(UsageLine {
            resource: r,
            used: usage::tenant_used(&mut c, id, r).await?,
            limit: limits.get(r),
        });
    }
    Ok(Reply(TenantUsage {
        tenant_id: id,
        package_id: t.package_id,
        lines,
    }))
}
