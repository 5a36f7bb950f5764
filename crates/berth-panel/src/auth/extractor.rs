//! `Authed`: the extractor every non-public handler takes. It resolves the
//! caller from `Authorization: Bearer …` (a session or API token) or from the
//! session cookie (then writes need `X-CSRF-Token`), and refuses disabled
//! accounts, suspended tenants, expired or IP-restricted tokens.

use crate::error::{ApiError, ApiResult};
use crate::middleware::RequestCtx;
use crate::state::SharedState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use berth_core::authz::Credential;
use berth_core::{Permission, Principal, Scope};
use berth_db::audit::AuditMeta;
use berth_db::{auth as auth_db, tenants, users};
use berth_proto::api::tenants::TenantStatus;
use berth_proto::api::users::User;
use berth_proto::{ErrorCode, Role, SessionId, TokenId};
use std::net::IpAddr;

use super::secrets::{SESSION_PREFIX, TOKEN_PREFIX, ct_eq, sha256_hex};

pub const SESSION_COOKIE: &str = "berth_session";

/// An authenticated caller.
pub struct Authed {
    pub principal: Principal,
    pub user: User,
    pub session_id: Option<SessionId>,
    pub token_id: Option<TokenId>,
    pub ctx: RequestCtx,
    /// The session's CSRF token, for a session sent as the cookie.
    pub csrf_token: Option<String>,
    /// Their role must use 2FA and they have not set it up: only their own
    /// profile (to set it up) is open to them.
    pub must_enroll_totp: bool,
}

impl Authed {
    /// The one door to a `Scope`.
    pub fn authorize(&self, p: Permission) -> ApiResult<Scope> {
        if self.must_enroll_totp && !matches!(p, Permission::SelfManage | Permission::SelfRead) {
            return Err(ApiError::forbidden(
                "your role must use two-factor authentication: set it up first (POST /api/v1/me/totp/setup)",
            ));
        }
        Ok(self.principal.authorize(p)?)
    }

    pub fn audit_meta(&self) -> AuditMeta {
        AuditMeta {
            actor_id: Some(self.user.id),
            actor_role: Some(self.user.role),
            request_id: Some(self.ctx.request_id),
            ip: Some(self.ctx.ip.to_string()),
        }
    }

    pub fn ip(&self) -> IpAddr {
        self.ctx.ip
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

pub(crate) fn session_cookie(parts: &axum::http::HeaderMap) -> Option<String> {
    for v in parts.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == SESSION_COOKIE
            {
                return Some(val.to_owned());
            }
        }
    }
    None
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<SharedState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let ctx = parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| ApiError::internal("request context missing"))?;
        let (secret, from_cookie) = match bearer(parts) {
            Some(b) => (b.to_owned(), false),
            None => match session_cookie(&parts.headers) {
                Some(c) => (c, true),
                None => return Err(ApiError::unauthenticated("authentication required")),
            },
        };
        let mut c = state.db.conn().await?;
        let hash = sha256_hex(&secret);
        let mut csrf_token = None;
        let (user_id, credential, session_id, token_id) = if secret.starts_with(SESSION_PREFIX) {
            let idle = state.settings.i64("auth.session.idle_minutes").await;
            let cutoff = berth_db::now_ms() - idle * 60_000;
            let s = auth_db::find_session(&mut c, &hash, cutoff)
                .await?
                .ok_or_else(|| ApiError::unauthenticated("the session has expired or was ended; log in again"))?;
            if from_cookie && !is_safe(&parts.method) {
                let sent = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !ct_eq(sent, &s.csrf_token) {
                    return Err(ApiError::new(
                        ErrorCode::CsrfFailed,
                        "missing or wrong X-CSRF-Token header for a cookie-authenticated write",
                    ));
                }
            }
            auth_db::touch_session(&mut c, s.id).await?;
            csrf_token = from_cookie.then(|| s.csrf_token.clone());
            (s.user_id, Credential::Session, Some(s.id), None)
        } else if secret.starts_with(TOKEN_PREFIX) && !from_cookie {
            let t = auth_db::find_token(&mut c, &hash)
                .await?
                .ok_or_else(|| ApiError::unauthenticated("unknown or expired API token"))?;
            let allow = &t.token.ip_allowlist;
            if !allow.is_empty() && !allow.iter().any(|n| n.contains(&ctx.ip)) {
                return Err(ApiError::forbidden("this API token may not be used from your address"));
            }
            auth_db::touch_token(&mut c, t.token.id).await?;
            (t.user_id, Credential::Token(t.token.access), None, Some(t.token.id))
        } else {
            return Err(ApiError::unauthenticated("unrecognised credentials"));
        };

        let rec = match users::get_unscoped(&mut c, user_id).await {
            Ok(r) => r,
            Err(berth_db::DbError::NotFound) => return Err(ApiError::unauthenticated("the account no longer exists")),
            Err(e) => return Err(e.into()),
        };
        let user = rec.user;
        if user.disabled {
            return Err(ApiError::new(ErrorCode::Suspended, "this account is disabled"));
        }
        if user.role == Role::Client {
            let tenant = user
                .tenant_id
                .ok_or_else(|| ApiError::forbidden("client account without a tenant"))?;
            if tenants::status_unscoped(&mut c, tenant).await? != Some(TenantStatus::Active) {
                return Err(ApiError::new(
                    ErrorCode::Suspended,
                    "this account's tenant is suspended",
                ));
            }
        }
        drop(c);
        let required = state.settings.get("auth.totp.required_roles").await;
        let must_enroll_totp = !user.totp_enabled
            && required
                .as_array()
                .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(user.role.as_str())));
        Ok(Authed {
            principal: Principal {
                user_id: user.id,
                role: user.role,
                tenant_id: user.tenant_id,
                credential,
            },
            user,
            session_id,
            token_id,
            ctx,
            csrf_token,
            must_enroll_totp,
        })
    }
}
