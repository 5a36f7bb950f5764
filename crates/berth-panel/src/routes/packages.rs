//! Packages (plans). Staff packages belong to the install; a reseller's
//! packages are theirs and must fit inside their own allocation.

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
use berth_db::{Conn, packages, users};
use berth_proto::api::packages::{CreatePackage, Limits, Package, UpdatePackage};
use berth_proto::api::{Page, PageQuery};
use berth_proto::{ApiErrorBody, ErrorCode, PackageId, UserId};
use serde_json::json;

fn ev(p: &Package, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: None,
        action,
        target_type: "package",
        target_id: Some(p.id.to_string()),
        summary,
    }
}

/// Limits must be sane, and a reseller's must fit their allocation.
async fn check_limits(c: &mut Conn, scope: &Scope, limits: &Limits) -> ApiResult<()> {
    berth_core::quota::validate(limits).map_err(|m| ApiError::invalid_field("limits", m))?;
    if let ScopeKind::Reseller(me) = scope.kind() {
        let rec = users::get_unscoped(c, me).await?;
        if let Some(alloc) = rec.user.allocation_package_id {
            let a = packages::get(c, &Scope::system(), alloc).await?;
            let over = berth_core::quota::exceeds_allocation(limits, &a.limits);
            if !over.is_empty() {
                let names: Vec<&str> = over.iter().map(|r| r.as_str()).collect();
                return Err(ApiError::new(
                    ErrorCode::LimitExceeded,
                    format!("these limits exceed your allocation: {}", names.join(", ")),
                )
                .with_details(json!({ "limits": over, "allocation": a.limits })));
            }
        }
    }
    Ok(())
}

/// A package the caller may change: staff any; a reseller only their own.
async fn writable(c: &mut Conn, scope: &Scope, id: PackageId) -> ApiResult<Package> {
    let p = packages::get(c, scope, id).await?;
    if let ScopeKind::Reseller(me) = scope.kind()
        && p.owner_id != Some(me)
    {
        return Err(ApiError::forbidden(
            "this package is your allocation; only staff change it",
        ));
    }
    Ok(p)
}

/// List packages I can see.
#[utoipa::path(get, path = "/api/v1/packages", tag = "packages", params(PageQuery),
    responses((status = 200, body = Page<Package>)), security(("bearer" = [])))]
pub async fn list_packages(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<PageQuery>,
) -> ApiResult<Reply<Page<Package>>> {
    let scope = auth.authorize(Permission::PackagesRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = packages::list(&mut c, &scope, q.limit, q.offset).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a package.
#[utoipa::path(post, path = "/api/v1/packages", tag = "packages", request_body = CreatePackage,
    responses((status = 201, body = Package), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_package(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreatePackage>,
) -> ApiResult<(StatusCode, Reply<Package>)> {
    let scope = auth.authorize(Permission::PackagesWrite)?;
    let owner: Option<UserId> = match scope.kind() {
        ScopeKind::All => None,
        ScopeKind::Reseller(me) => Some(me),
        ScopeKind::Tenant(_) => return Err(ApiError::forbidden("clients cannot create packages")),
    };
    let mut tx = st.db.begin().await?;
    check_limits(&mut tx, &scope, &req.limits).await?;
    let p = packages::insert(&mut tx, &req.name, owner, &req.limits).await?;
    audit(
        &mut tx,
        &auth,
        ev(&p, "package.create", json!({ "name": p.name, "limits": p.limits })),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok((StatusCode::CREATED, Reply(p)))
}

/// One package.
#[utoipa::path(get, path = "/api/v1/packages/{id}", tag = "packages", params(("id" = PackageId, Path)),
    responses((status = 200, body = Package), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_package(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<PackageId>,
) -> ApiResult<Reply<Package>> {
    let scope = auth.authorize(Permission::PackagesRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(packages::get(&mut c, &scope, id).await?))
}

/// Rename a package or replace its limits.
#[utoipa::path(patch, path = "/api/v1/packages/{id}", tag = "packages", params(("id" = PackageId, Path)),
    request_body = UpdatePackage,
    responses((status = 200, body = Package), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update_package(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<PackageId>,
    Json(req): Json<UpdatePackage>,
) -> ApiResult<Reply<Package>> {
    let scope = auth.authorize(Permission::PackagesWrite)?;
    let mut tx = st.db.begin().await?;
    let before = writable(&mut tx, &scope, id).await?;
    if let Some(l) = &req.limits {
        check_limits(&mut tx, &scope, l).await?;
    }
    packages::update(&mut tx, id, req.name.as_ref(), req.limits.as_ref()).await?;
    let after = packages::get(&mut tx, &Scope::system(), id).await?;
    // PHP settings live in the tenants' pools: put the new ones there.
    let php = |l: &berth_proto::api::packages::Limits| {
        (l.php_workers, l.php_memory_mb, l.php_max_execution_s, l.php_upload_mb)
    };
    let mut jobs = 0;
    if php(&before.limits) != php(&after.limits) {
        for t in berth_db::tenants::with_package(&mut tx, id).await? {
            jobs += crate::routes::sites::enqueue_for_tenant(&st, &mut tx, &auth, "site.apply", t)
                .await?
                .len();
        }
    }
    audit(
        &mut tx,
        &auth,
        ev(
            &after,
            "package.update",
            json!({
                "name": [before.name, after.name], "limits": [before.limits, after.limits],
                "site_jobs": jobs
            }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(after))
}

/// Delete a package no tenant or reseller uses.
#[utoipa::path(delete, path = "/api/v1/packages/{id}", tag = "packages", params(("id" = PackageId, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_package(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<PackageId>,
) -> ApiResult<StatusCode> {
    let scope = auth.authorize(Permission::PackagesWrite)?;
    let mut tx = st.db.begin().await?;
    let p = writable(&mut tx, &scope, id).await?;
    if packages::in_use(&mut tx, id).await? {
        return Err(ApiError::conflict(
            "the package is in use by a tenant or as a reseller allocation",
        ));
    }
    packages::delete(&mut tx, id).await?;
    audit(&mut tx, &auth, ev(&p, "package.delete", json!({ "name": p.name }))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
