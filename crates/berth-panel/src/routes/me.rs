//! The caller's own account: profile, password, sessions, two-factor.

use crate::auth::secrets::{one_time_code, sha256_hex};
use crate::auth::{Authed, totp};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::{audit, check_password_policy, hash};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::Permission;
use berth_db::audit::AuditEvent;
use berth_db::{auth as auth_db, users};
use berth_proto::api::auth::{
    Ack, ChangePasswordRequest, PasswordConfirm, RecoveryCodes, SessionInfo, TotpEnableRequest, TotpSetupResponse,
};
use berth_proto::api::users::User;
use berth_proto::{ApiErrorBody, SessionId};
use serde_json::json;

fn event(a: &Authed, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: a.user.tenant_id,
        action,
        target_type: "user",
        target_id: Some(a.user.id.to_string()),
        summary,
    }
}

async fn confirm_password(st: &SharedState, a: &Authed, password: &str) -> ApiResult<()> {
    let mut c = st.db.conn().await?;
    let rec = users::get_unscoped(&mut c, a.user.id).await?;
    drop(c);
    if st.verify_password(password, &rec.password_hash).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden("the current password is wrong"))
    }
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = User), (status = 401, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_me(auth: Authed) -> ApiResult<Reply<User>> {
    auth.authorize(Permission::SelfRead)?;
    Ok(Reply(auth.user))
}

/// Change my password (ends my other sessions).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = ChangePasswordRequest,
    responses((status = 200, body = Ack), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<Reply<Ack>> {
    auth.authorize(Permission::SelfManage)?;
    confirm_password(&st, &auth, req.current_password.expose()).await?;
    check_password_policy(&st, req.new_password.expose(), auth.user.email.as_str()).await?;
    let h = hash(&st, req.new_password.expose()).await?;
    let mut tx = st.db.begin().await?;
    users::set_password_hash(&mut tx, auth.user.id, &h).await?;
    let ended = auth_db::delete_user_sessions(&mut tx, auth.user.id, auth.session_id).await?;
    audit(
        &mut tx,
        &auth,
        event(&auth, "user.password_change", json!({ "other_sessions_ended": ended })),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(Ack {
        message: format!("password changed; {ended} other session(s) ended"),
    }))
}

/// My active sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me",
    responses((status = 200, body = Vec<SessionInfo>)), security(("bearer" = [])))]
pub async fn list_sessions(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Vec<SessionInfo>>> {
    auth.authorize(Permission::SelfRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(
        auth_db::list_sessions(&mut c, auth.user.id, auth.session_id).await?,
    ))
}

/// End one of my sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me",
    params(("id" = SessionId, Path, description = "session id")),
    responses((status = 204), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn revoke_session(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<SessionId>,
) -> ApiResult<StatusCode> {
    auth.authorize(Permission::SelfManage)?;
    let mut tx = st.db.begin().await?;
    auth_db::delete_session(&mut tx, auth.user.id, id).await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: auth.user.tenant_id,
            action: "auth.session_revoke",
            target_type: "session",
            target_id: Some(id.to_string()),
            summary: json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start two-factor setup: a new secret to put in an authenticator app. 2FA
/// is on only after `enable` proves the app works.
#[utoipa::path(post, path = "/api/v1/me/totp/setup", tag = "me",
    responses((status = 200, body = TotpSetupResponse), (status = 409, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn totp_setup(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<TotpSetupResponse>> {
    auth.authorize(Permission::SelfManage)?;
    if auth.user.totp_enabled {
        return Err(ApiError::conflict(
            "two-factor authentication is already on; disable it first",
        ));
    }
    let secret = totp::new_secret();
    let url = totp::url(&secret, auth.user.email.as_str()).map_err(ApiError::internal)?;
    let mut c = st.db.conn().await?;
    users::set_totp_pending(&mut c, auth.user.id, Some(&secret)).await?;
    Ok(Reply(TotpSetupResponse {
        secret,
        otpauth_url: url,
    }))
}

/// Turn two-factor on with a current code; answers the recovery codes, once.
#[utoipa::path(post, path = "/api/v1/me/totp/enable", tag = "me", request_body = TotpEnableRequest,
    responses((status = 200, body = RecoveryCodes), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn totp_enable(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<TotpEnableRequest>,
) -> ApiResult<Reply<RecoveryCodes>> {
    auth.authorize(Permission::SelfManage)?;
    let mut c = st.db.conn().await?;
    let rec = users::get_unscoped(&mut c, auth.user.id).await?;
    drop(c);
    if rec.user.totp_enabled {
        return Err(ApiError::conflict("two-factor authentication is already on"));
    }
    let pending = rec
        .totp_pending_secret
        .ok_or_else(|| ApiError::conflict("start with POST /api/v1/me/totp/setup"))?;
    let step = totp::matching_step(&pending, req.code.as_str(), totp::now_secs())
        .ok_or_else(|| ApiError::invalid_field("code", "the code does not match; check the app's clock"))?;
    let codes: Vec<String> = (0..10).map(|_| one_time_code(4)).collect();
    let hashes: Vec<String> = codes.iter().map(|c| sha256_hex(c)).collect();
    let mut tx = st.db.begin().await?;
    users::set_totp(&mut tx, auth.user.id, Some(&pending), Some(step)).await?;
    auth_db::replace_recovery_codes(&mut tx, auth.user.id, &hashes).await?;
    audit(&mut tx, &auth, event(&auth, "user.totp_enable", json!({}))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(RecoveryCodes { recovery_codes: codes }))
}

/// Turn two-factor off (needs the password).
#[utoipa::path(post, path = "/api/v1/me/totp/disable", tag = "me", request_body = PasswordConfirm,
    responses((status = 200, body = Ack), (status = 403, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn totp_disable(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<PasswordConfirm>,
) -> ApiResult<Reply<Ack>> {
    auth.authorize(Permission::SelfManage)?;
    confirm_password(&st, &auth, req.password.expose()).await?;
    let mut tx = st.db.begin().await?;
    users::set_totp(&mut tx, auth.user.id, None, None).await?;
    auth_db::replace_recovery_codes(&mut tx, auth.user.id, &[]).await?;
    audit(&mut tx, &auth, event(&auth, "user.totp_disable", json!({}))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(Ack {
        message: "two-factor authentication is off".into(),
    }))
}
