//! The caller's API tokens.

use crate::auth::Authed;
use crate::auth::secrets::{TOKEN_PREFIX, random_token, sha256_hex};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::audit;
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::Permission;
use berth_db::audit::AuditEvent;
use berth_db::auth as auth_db;
use berth_proto::api::tokens::{ApiToken, CreateToken, CreatedToken};
use berth_proto::{ApiErrorBody, TokenId};
use serde_json::json;

/// My API tokens (secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<ApiToken>)), security(("bearer" = [])))]
pub async fn list_tokens(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Vec<ApiToken>>> {
    auth.authorize(Permission::SelfRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(auth_db::list_tokens(&mut c, auth.user.id).await?))
}

/// Create an API token acting as me; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_token(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateToken>,
) -> ApiResult<(StatusCode, Reply<CreatedToken>)> {
    auth.authorize(Permission::SelfManage)?;
    // A token must not mint tokens: a stolen short-lived or IP-bound token
    // could otherwise make itself a permanent, unrestricted one.
    if auth.session_id.is_none() {
        return Err(ApiError::forbidden(
            "API tokens are created from a login session, not with another token",
        ));
    }
    let expires_at = match req.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(berth_db::now_ms() + i64::from(d) * 86_400_000),
        Some(_) => return Err(ApiError::invalid_field("expires_in_days", "must be from 1 to 3650")),
    };
    if req.ip_allowlist.len() > 64 {
        return Err(ApiError::invalid_field("ip_allowlist", "at most 64 networks"));
    }
    let secret = random_token(TOKEN_PREFIX);
    let prefix: String = secret.chars().take(10).collect();
    let mut tx = st.db.begin().await?;
    let token = auth_db::create_token(
        &mut tx,
        auth_db::NewToken {
            user_id: auth.user.id,
            name: &req.name,
            token_hash: &sha256_hex(&secret),
            prefix: &prefix,
            access: req.access,
            expires_at,
            ip_allowlist: &req.ip_allowlist,
        },
    )
    .await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: auth.user.tenant_id,
            action: "token.create",
            target_type: "token",
            target_id: Some(token.id.to_string()),
            summary: json!({ "name": token.name, "access": token.access, "expires_at": token.expires_at,
                "ip_allowlist": token.ip_allowlist }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok((StatusCode::CREATED, Reply(CreatedToken { token, secret })))
}

/// Revoke one of my tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = TokenId, Path, description = "token id")),
    responses((status = 204), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_token(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<TokenId>,
) -> ApiResult<StatusCode> {
    auth.authorize(Permission::SelfManage)?;
    let mut tx = st.db.begin().await?;
    auth_db::delete_token(&mut tx, auth.user.id, id).await?;
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: auth.user.tenant_id,
            action: "token.delete",
            target_type: "token",
            target_id: Some(id.to_string()),
            summary: json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
