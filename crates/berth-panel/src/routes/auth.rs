//! Login, logout, and self-service password reset by email.

use crate::auth::secrets::{SESSION_PREFIX, one_time_code, random_token, sha256_hex};
use crate::auth::{Authed, SESSION_COOKIE, totp};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::middleware::RequestCtx;
use crate::routes::{audit, check_password_policy, hash};
use crate::state::SharedState;
use axum::Extension;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use berth_core::Permission;
use berth_db::audit::{AuditEvent, AuditMeta};
use berth_db::{auth as auth_db, tenants, users};
use berth_proto::api::auth::{
    Ack, CurrentSession, ForgotPasswordRequest, LoginRequest, LoginResponse, ResetPasswordRequest,
};
use berth_proto::api::tenants::TenantStatus;
use berth_proto::{ApiErrorBody, ErrorCode, Role, Timestamp};
use serde_json::json;

fn cookie(st_secure: bool, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let secure = if st_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

async fn secure_cookies(st: &SharedState) -> bool {
    st.settings.string("panel.public_url").await.starts_with("https://")
}

async fn throttled(c: &mut berth_db::Conn, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        if let Some(until) = auth_db::throttle_locked_until(c, k).await? {
            let mut e = ApiError::new(ErrorCode::RateLimited, "too many failed logins; try again later");
            e.retry_after_secs = Some((until - berth_db::now_ms()) / 1000 + 1);
            return Err(e);
        }
    }
    Ok(())
}

/// Log in with email and password (and a TOTP or recovery code when 2FA is
/// on). Answers with a bearer token and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, body = ApiErrorBody, description = "wrong credentials, or `totp_required`"),
        (status = 403, body = ApiErrorBody, description = "account disabled or tenant suspended"),
        (status = 429, body = ApiErrorBody, description = "throttled after repeated failures")))]
pub async fn login(
    State(st): State<SharedState>,
    Extension(ctx): Extension<RequestCtx>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let acct_key = format!("acct:{}", req.email);
    let ip_key = format!("ip:{}", ctx.ip);
    let mut c = st.db.conn().await?;
    throttled(&mut c, &[acct_key.clone(), ip_key.clone()]).await?;
    // Count the attempt before checking it, and forgive it on success: many
    // parallel guesses then cannot all pass the check above before the first
    // failure is recorded.
    let max_acct = st.settings.i64("auth.login.max_failures_per_account").await;
    let max_ip = st.settings.i64("auth.login.max_failures_per_ip").await;
    let lock_ms = st.settings.i64("auth.login.lockout_minutes").await * 60_000;
    auth_db::throttle_fail(&mut c, &acct_key, max_acct, lock_ms).await?;
    auth_db::throttle_fail(&mut c, &ip_key, max_ip, lock_ms).await?;
    let found = users::find_by_email(&mut c, &req.email).await?;
    drop(c);
    let forgive = || async {
        let mut c = st.db.conn().await?;
        auth_db::throttle_forgive(&mut c, &acct_key).await?;
        auth_db::throttle_forgive(&mut c, &ip_key).await?;
        Ok::<_, ApiError>(())
    };
    let phc = found
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| st.dummy_hash.clone());
    let password_ok = st.verify_password(req.password.expose(), &phc).await?;
    let meta = AuditMeta {
        actor_id: found.as_ref().map(|u| u.user.id),
        actor_role: found.as_ref().map(|u| u.user.role),
        request_id: Some(ctx.request_id),
        ip: Some(ctx.ip.to_string()),
    };

    let fail = |reason: &'static str| {
        let st = st.clone();
        let meta = meta.clone();
        let email = req.email.to_string();
        async move {
            // The attempt was counted already; only the audit row is left.
            let mut tx = st.db.begin().await?;
            berth_db::audit::append(
                &mut tx,
                &meta,
                AuditEvent {
                    tenant_id: None,
                    action: "auth.login_failed",
                    target_type: "user",
                    target_id: meta.actor_id.map(|u| u.to_string()),
                    summary: json!({ "email": email, "reason": reason }),
                },
            )
            .await?;
            tx.commit().await.map_err(berth_db::DbError::from)?;
            Ok::<_, ApiError>(ApiError::unauthenticated("wrong email or password"))
        }
    };

    let Some(rec) = found.filter(|_| password_ok) else {
        return Err(fail("bad_password").await?);
    };
    let user = rec.user.clone();
    if user.disabled {
        return Err(ApiError::new(ErrorCode::Suspended, "this account is disabled"));
    }
    let mut c = st.db.conn().await?;
    if user.role == Role::Client {
        let ok = match user.tenant_id {
            Some(t) => tenants::status_unscoped(&mut c, t).await? == Some(TenantStatus::Active),
            None => false,
        };
        if !ok {
            return Err(ApiError::new(
                ErrorCode::Suspended,
                "this account's tenant is suspended",
            ));
        }
    }
    if user.totp_enabled {
        let Some(code) = req.totp.as_ref() else {
            // The password was right: asking for the code is no failure.
            drop(c);
            forgive().await?;
            return Err(ApiError::new(
                ErrorCode::TotpRequired,
                "enter the code from your authenticator app",
            ));
        };
        let secret = rec.totp_secret.clone().unwrap_or_default();
        let ok = match totp::matching_step(&secret, code.as_str(), totp::now_secs()) {
            Some(step) => users::advance_totp_step(&mut c, user.id, step).await?,
            None => auth_db::consume_recovery_code(&mut c, user.id, &sha256_hex(code.as_str())).await?,
        };
        if !ok {
            drop(c);
            let e = fail("bad_totp").await?;
            return Err(ApiError::new(ErrorCode::Unauthenticated, "wrong or already used code")
                .with_details(json!({ "hint": e.message })));
        }
    }
    drop(c);

    let token = random_token(SESSION_PREFIX);
    let csrf = random_token("");
    let ttl_min = st.settings.i64("auth.session.ttl_minutes").await;
    let expires = berth_db::now_ms() + ttl_min * 60_000;
    let mut tx = st.db.begin().await?;
    auth_db::throttle_clear(&mut tx, &acct_key).await?;
    auth_db::throttle_forgive(&mut tx, &ip_key).await?;
    let session = auth_db::create_session(
        &mut tx,
        auth_db::NewSession {
            token_hash: &sha256_hex(&token),
            user_id: user.id,
            csrf_token: &csrf,
            ip: Some(ctx.ip.to_string()),
            user_agent: ctx.user_agent.clone(),
            expires_at: expires,
        },
    )
    .await?;
    users::touch_login(&mut tx, user.id).await?;
    berth_db::audit::append(
        &mut tx,
        &meta,
        AuditEvent {
            tenant_id: user.tenant_id,
            action: "auth.login",
            target_type: "session",
            target_id: Some(session.to_string()),
            summary: json!({ "user_agent": ctx.user_agent }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;

    let mut headers = HeaderMap::new();
    if let Some(v) = cookie(secure_cookies(&st).await, &token, ttl_min * 60) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((
        headers,
        Reply(LoginResponse {
            user,
            token,
            csrf_token: csrf,
            expires_at: Timestamp(expires),
        }),
    ))
}

/// The signed-in user and this session's CSRF token: how a browser tab
/// that did not log in itself (a new tab, a reload) learns it.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth",
    responses((status = 200, body = CurrentSession), (status = 401, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn current_session(auth: Authed) -> ApiResult<Reply<CurrentSession>> {
    auth.authorize(Permission::SelfRead)?;
    Ok(Reply(CurrentSession {
        csrf_token: auth.csrf_token.clone(),
        user: auth.user,
    }))
}

/// End this session (the cookie is cleared too).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn logout(State(st): State<SharedState>, auth: Authed) -> ApiResult<impl IntoResponse> {
    auth.authorize(Permission::SelfManage)?;
    let mut tx = st.db.begin().await?;
    if let Some(s) = auth.session_id {
        auth_db::delete_session(&mut tx, auth.user.id, s).await?;
        audit(
            &mut tx,
            &auth,
            AuditEvent {
                tenant_id: auth.user.tenant_id,
                action: "auth.logout",
                target_type: "session",
                target_id: Some(s.to_string()),
                summary: json!({}),
            },
        )
        .await?;
    }
    tx.commit().await.map_err(berth_db::DbError::from)?;
    let mut headers = HeaderMap::new();
    if let Some(v) = cookie(secure_cookies(&st).await, "", 0) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// End every session of the caller, this one included.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth",
    responses((status = 200, body = Ack), (status = 401, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn logout_all(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Ack>> {
    auth.authorize(Permission::SelfManage)?;
    let mut tx = st.db.begin().await?;
    let n = auth_db::delete_user_sessions(&mut tx, auth.user.id, None).await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: auth.user.tenant_id,
            action: "auth.logout_all",
            target_type: "user",
            target_id: Some(auth.user.id.to_string()),
            summary: json!({ "sessions_ended": n }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(Ack {
        message: format!("{n} session(s) ended"),
    }))
}

/// Ask for a password-reset email. Always answers 202, whether or not the
/// address has an account, so it cannot be used to find accounts.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202, body = Ack), (status = 422, body = ApiErrorBody)))]
pub async fn forgot_password(
    State(st): State<SharedState>,
    Extension(ctx): Extension<RequestCtx>,
    Json(req): Json<ForgotPasswordRequest>,
) -> ApiResult<impl IntoResponse> {
    let ack = (
        StatusCode::ACCEPTED,
        Reply(Ack {
            message: "if the address has an account, a reset link was sent".into(),
        }),
    );
    let ip_key = format!("reset-ip:{}", ctx.ip);
    let mut c = st.db.conn().await?;
    if auth_db::throttle_locked_until(&mut c, &ip_key).await?.is_some() {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many reset requests; try again later",
        ));
    }
    // Each request counts against the IP, so the endpoint cannot be used to
    // flood an inbox.
    let max_ip = st.settings.i64("auth.login.max_failures_per_ip").await;
    let lock_ms = st.settings.i64("auth.login.lockout_minutes").await * 60_000;
    auth_db::throttle_fail(&mut c, &ip_key, max_ip, lock_ms).await?;
    let Some(rec) = users::find_by_email(&mut c, &req.email).await? else {
        return Ok(ack);
    };
    drop(c);
    if rec.user.disabled {
        return Ok(ack);
    }
    // The rest (a write, an audit row, the SMTP conversation) runs after we
    // answer, so a known address does not take longer than an unknown one.
    tokio::spawn(async move {
        if let Err(e) = send_reset(st, rec, ctx).await {
            tracing::error!(error = %e.message, "password reset mail not sent");
        }
    });
    Ok(ack)
}

async fn send_reset(st: SharedState, rec: users::UserRecord, ctx: RequestCtx) -> ApiResult<()> {
    let Some(mailer) = crate::mail::Mailer::from_settings(&st).await else {
        tracing::warn!("password reset asked but no SMTP relay is configured (smtp.host)");
        return Ok(());
    };
    let code = one_time_code(6);
    let ttl = st.settings.i64("auth.password_reset.ttl_minutes").await;
    let mut tx = st.db.begin().await?;
    auth_db::create_reset(
        &mut tx,
        rec.user.id,
        &sha256_hex(&code),
        berth_db::now_ms() + ttl * 60_000,
    )
    .await?;
    berth_db::audit::append(
        &mut tx,
        &AuditMeta {
            actor_id: None,
            actor_role: None,
            request_id: Some(ctx.request_id),
            ip: Some(ctx.ip.to_string()),
        },
        AuditEvent {
            tenant_id: rec.user.tenant_id,
            action: "auth.password_reset_requested",
            target_type: "user",
            target_id: Some(rec.user.id.to_string()),
            summary: json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    mailer
        .send_reset(&st, &rec.user.email, &code, ttl)
        .await
        .map_err(|e| ApiError::internal(format!("sending the reset mail: {e}")))
}

/// Set a new password with the code from a reset email. Ends all sessions.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 200, body = Ack), (status = 401, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
pub async fn reset_password(
    State(st): State<SharedState>,
    Extension(ctx): Extension<RequestCtx>,
    Json(req): Json<ResetPasswordRequest>,
) -> ApiResult<Reply<Ack>> {
    let hashv = sha256_hex(req.token.as_str());
    // Check the policy before using up the code.
    let mut c = st.db.conn().await?;
    let ip_key = format!("reset-ip:{}", ctx.ip);
    throttled(&mut c, std::slice::from_ref(&ip_key)).await?;
    drop(c);
    let mut tx = st.db.begin().await?;
    let Some(user_id) = auth_db::consume_reset(&mut tx, &hashv).await? else {
        drop(tx);
        let max_ip = st.settings.i64("auth.login.max_failures_per_ip").await;
        let lock_ms = st.settings.i64("auth.login.lockout_minutes").await * 60_000;
        let mut c = st.db.conn().await?;
        auth_db::throttle_fail(&mut c, &ip_key, max_ip, lock_ms).await?;
        return Err(ApiError::unauthenticated("the reset code is wrong, used or expired"));
    };
    let rec = users::get_unscoped(&mut tx, user_id).await?;
    check_password_policy(&st, req.new_password.expose(), rec.user.email.as_str()).await?;
    let h = hash(&st, req.new_password.expose()).await?;
    users::set_password_hash(&mut tx, user_id, &h).await?;
    let ended = auth_db::delete_user_sessions(&mut tx, user_id, None).await?;
    berth_db::audit::append(
        &mut tx,
        &AuditMeta {
            actor_id: Some(user_id),
            actor_role: Some(rec.user.role),
            request_id: Some(ctx.request_id),
            ip: Some(ctx.ip.to_string()),
        },
        AuditEvent {
            tenant_id: rec.user.tenant_id,
            action: "auth.password_reset",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            summary: json!({ "sessions_ended": ended }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(Ack {
        message: "password changed; log in with the new password".into(),
    }))
}
