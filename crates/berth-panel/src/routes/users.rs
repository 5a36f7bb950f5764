//! Users: staff create admins and resellers, resellers create clients of
//! their tenants. Who may touch whom follows `berth_core::authz::can_manage`.

use crate::auth::Authed;
use crate::auth::secrets::generate_password;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, check_password_policy, hash, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::authz::can_manage;
use berth_core::{Permission, Scope};
use berth_db::audit::AuditEvent;
use berth_db::users::UserRecord;
use berth_db::{Conn, auth as auth_db, packages, tenants, users};
use berth_proto::api::Page;
use berth_proto::api::auth::Ack;
use berth_proto::api::users::{
    CreateUser, CreatedUser, SetPasswordRequest, SetPasswordResponse, UpdateUser, User, UserQuery,
};
use berth_proto::{ApiErrorBody, Role, UserId};
use serde_json::json;

fn ev(u: &User, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: u.tenant_id,
        action,
        target_type: "user",
        target_id: Some(u.id.to_string()),
        summary,
    }
}

/// Load a user in scope that the caller may manage.
async fn managed(c: &mut Conn, scope: &Scope, auth: &Authed, id: UserId) -> ApiResult<UserRecord> {
    let rec = users::get(c, scope, id).await?;
    if !can_manage(auth.user.role, rec.user.role) {
        return Err(ApiError::forbidden(format!(
            "a {} cannot change a {} account",
            auth.user.role, rec.user.role
        )));
    }
    Ok(rec)
}

/// A reseller's allocation must be a package of the install (not some
/// reseller's own) that the caller can see.
async fn check_allocation(c: &mut Conn, scope: &Scope, p: berth_proto::PackageId) -> ApiResult<()> {
    let pkg = packages::get(c, scope, p)
        .await
        .map_err(|_| ApiError::invalid_field("allocation_package_id", "no such package"))?;
    if pkg.owner_id.is_some() {
        return Err(ApiError::invalid_field(
            "allocation_package_id",
            "an allocation must be a package of the install",
        ));
    }
    Ok(())
}

/// Never leave the install without an active superadmin.
async fn keep_a_superadmin(c: &mut Conn, target: &User) -> ApiResult<()> {
    if target.role == Role::Superadmin && !target.disabled && users::count_role(c, Role::Superadmin).await? <= 1 {
        return Err(ApiError::conflict("this is the last active superadmin"));
    }
    Ok(())
}

/// The given password (checked against the policy), or a generated one that
/// is also returned to be shown once.
async fn password_or_generated(
    st: &SharedState,
    given: Option<&berth_proto::Password>,
    email: &str,
) -> ApiResult<(String, Option<String>)> {
    match given {
        Some(p) => {
            check_password_policy(st, p.expose(), email).await?;
            Ok((p.expose().to_owned(), None))
        }
        None => {
            let p = generate_password();
            Ok((p.clone(), Some(p)))
        }
    }
}

/// List users in my scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = Page<User>)), security(("bearer" = [])))]
pub async fn list_users(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<UserQuery>,
) -> ApiResult<Reply<Page<User>>> {
    let scope = auth.authorize(Permission::UsersRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = users::list(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Create a user. Without a password one is generated and shown once.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_user(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateUser>,
) -> ApiResult<(StatusCode, Reply<CreatedUser>)> {
    let scope = auth.authorize(Permission::UsersWrite)?;
    if !can_manage(auth.user.role, req.role) {
        return Err(ApiError::forbidden(format!(
            "a {} cannot create a {} account",
            auth.user.role, req.role
        )));
    }
    match (req.role, req.tenant_id) {
        (Role::Client, None) => return Err(ApiError::invalid_field("tenant_id", "clients belong to a tenant")),
        (Role::Client, Some(_)) => {}
        (_, Some(_)) => return Err(ApiError::invalid_field("tenant_id", "only clients belong to a tenant")),
        (_, None) => {}
    }
    if req.allocation_package_id.is_some() && req.role != Role::Reseller {
        return Err(ApiError::invalid_field(
            "allocation_package_id",
            "only resellers have an allocation",
        ));
    }
    let (password, generated) = password_or_generated(&st, req.password.as_ref(), req.email.as_str()).await?;
    let h = hash(&st, &password).await?;
    let mut tx = st.db.begin().await?;
    if let Some(t) = req.tenant_id {
        // A tenant outside my scope is "no such tenant", like any other id.
        tenants::get(&mut tx, &scope, t)
            .await
            .map_err(|_| ApiError::invalid_field("tenant_id", "no such tenant"))?;
    }
    if let Some(p) = req.allocation_package_id {
        check_allocation(&mut tx, &scope, p).await?;
    }
    let user = users::insert(
        &mut tx,
        users::NewUser {
            email: req.email,
            name: req.name,
            role: req.role,
            tenant_id: req.tenant_id,
            allocation_package_id: req.allocation_package_id,
            password_hash: h,
        },
    )
    .await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &user,
            "user.create",
            json!({ "email": user.email, "role": user.role,
        "tenant_id": user.tenant_id, "password_generated": generated.is_some() }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok((
        StatusCode::CREATED,
        Reply(CreatedUser {
            user,
            generated_password: generated,
        }),
    ))
}

/// One user (404 when outside my scope).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_user(State(st): State<SharedState>, auth: Authed, Path(id): Path<UserId>) -> ApiResult<Reply<User>> {
    let scope = auth.authorize(Permission::UsersRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(users::get(&mut c, &scope, id).await?.user))
}

/// Rename, disable or enable a user, or change a reseller's allocation.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update_user(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<UserId>,
    Json(req): Json<UpdateUser>,
) -> ApiResult<Reply<User>> {
    let scope = auth.authorize(Permission::UsersWrite)?;
    let mut tx = st.db.begin().await?;
    let before = if id == auth.user.id {
        // Anyone may rename themselves; nobody disables or re-allocates themselves.
        if req.disabled.is_some() || req.allocation_package_id.is_some() {
            return Err(ApiError::forbidden(
                "you cannot disable or re-allocate your own account",
            ));
        }
        users::get(&mut tx, &scope, id).await?
    } else {
        managed(&mut tx, &scope, &auth, id).await?
    };
    if req.disabled == Some(true) {
        keep_a_superadmin(&mut tx, &before.user).await?;
    }
    if let Some(p) = req.allocation_package_id {
        if !scope.is_all() {
            return Err(ApiError::forbidden("only staff set allocations"));
        }
        if before.user.role != Role::Reseller {
            return Err(ApiError::invalid_field(
                "allocation_package_id",
                "only resellers have an allocation",
            ));
        }
        check_allocation(&mut tx, &scope, p).await?;
    }
    users::update_profile(
        &mut tx,
        id,
        req.name.as_ref(),
        req.disabled,
        req.allocation_package_id.map(Some),
    )
    .await?;
    if req.disabled == Some(true) {
        auth_db::delete_user_sessions(&mut tx, id, None).await?;
    }
    let after = users::get_unscoped(&mut tx, id).await?.user;
    audit(
        &mut tx,
        &auth,
        ev(
            &after,
            "user.update",
            json!({
                "name": [before.user.name, after.name],
                "disabled": [before.user.disabled, after.disabled],
                "allocation_package_id": [before.user.allocation_package_id, after.allocation_package_id],
            }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(after))
}

/// Delete a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_user(State(st): State<SharedState>, auth: Authed, Path(id): Path<UserId>) -> ApiResult<StatusCode> {
    let scope = auth.authorize(Permission::UsersWrite)?;
    if id == auth.user.id {
        return Err(ApiError::forbidden("you cannot delete your own account"));
    }
    let mut tx = st.db.begin().await?;
    let rec = managed(&mut tx, &scope, &auth, id).await?;
    keep_a_superadmin(&mut tx, &rec.user).await?;
    if tenants::count_owned(&mut tx, id).await? > 0 {
        return Err(ApiError::conflict("this user owns tenants; move or delete them first"));
    }
    users::delete(&mut tx, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &rec.user,
            "user.delete",
            json!({ "email": rec.user.email, "role": rec.user.role }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's password (generated when absent) and end their sessions.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = UserId, Path)),
    request_body = SetPasswordRequest,
    responses((status = 200, body = SetPasswordResponse), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn set_user_password(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<UserId>,
    Json(req): Json<SetPasswordRequest>,
) -> ApiResult<Reply<SetPasswordResponse>> {
    let scope = auth.authorize(Permission::UsersWrite)?;
    let mut c = st.db.conn().await?;
    let rec = managed(&mut c, &scope, &auth, id).await?;
    drop(c);
    let (password, generated) = password_or_generated(&st, req.password.as_ref(), rec.user.email.as_str()).await?;
    let h = hash(&st, &password).await?;
    let mut tx = st.db.begin().await?;
    users::set_password_hash(&mut tx, id, &h).await?;
    let ended = if req.revoke_sessions.unwrap_or(true) {
        auth_db::delete_user_sessions(&mut tx, id, None).await?
    } else {
        0
    };
    audit(
        &mut tx,
        &auth,
        ev(
            &rec.user,
            "user.password_set",
            json!({ "generated": generated.is_some(), "sessions_ended": ended }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(SetPasswordResponse {
        generated_password: generated,
    }))
}

/// Turn off a user's two-factor authentication (they lost their device).
#[utoipa::path(post, path = "/api/v1/users/{id}/totp/reset", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = Ack), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn reset_user_totp(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<UserId>,
) -> ApiResult<Reply<Ack>> {
    let scope = auth.authorize(Permission::UsersWrite)?;
    let mut tx = st.db.begin().await?;
    let rec = managed(&mut tx, &scope, &auth, id).await?;
    users::set_totp(&mut tx, id, None, None).await?;
    auth_db::replace_recovery_codes(&mut tx, id, &[]).await?;
    audit(&mut tx, &auth, ev(&rec.user, "user.totp_reset", json!({}))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(Ack {
        message: "two-factor authentication is off for this user".into(),
    }))
}
