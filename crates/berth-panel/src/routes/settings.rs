//! System settings: every registered key with its effective value.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::audit;
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use berth_core::Permission;
use berth_core::settings::{REGISTRY, SettingDef};
use berth_db::audit::AuditEvent;
use berth_db::settings::StoredSetting;
use berth_proto::api::settings::{Setting, UpdateSetting};
use berth_proto::{ApiErrorBody, SettingKey};
use serde_json::json;

fn view(def: &SettingDef, stored: Option<&StoredSetting>) -> ApiResult<Setting> {
    let default = (def.default)();
    Ok(Setting {
        key: SettingKey::parse(def.key)?,
        value_type: def.value_type,
        value: stored.map(|s| s.value.clone()).unwrap_or_else(|| default.clone()),
        default,
        description: def.description.to_owned(),
        is_set: stored.is_some(),
        updated_at: stored.map(|s| s.updated_at),
        updated_by: stored.and_then(|s| s.updated_by),
    })
}

/// Every setting.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, body = Vec<Setting>)), security(("bearer" = [])))]
pub async fn list_settings(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Vec<Setting>>> {
    auth.authorize(Permission::SettingsRead)?;
    let mut c = st.db.conn().await?;
    let stored = berth_db::settings::all(&mut c).await?;
    REGISTRY
        .iter()
        .map(|d| view(d, stored.get(d.key)))
        .collect::<ApiResult<_>>()
        .map(Reply)
}

/// One setting.
#[utoipa::path(get, path = "/api/v1/settings/{key}", tag = "settings", params(("key" = String, Path)),
    responses((status = 200, body = Setting), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_setting(
    State(st): State<SharedState>,
    auth: Authed,
    Path(key): Path<String>,
) -> ApiResult<Reply<Setting>> {
    auth.authorize(Permission::SettingsRead)?;
    let def = berth_core::settings::find(&key).ok_or_else(|| ApiError::not_found("setting"))?;
    let mut c = st.db.conn().await?;
    let stored = berth_db::settings::all(&mut c).await?;
    Ok(Reply(view(def, stored.get(def.key))?))
}

/// Change a setting (`null` resets it to the default). Superadmins only.
#[utoipa::path(put, path = "/api/v1/settings/{key}", tag = "settings", params(("key" = String, Path)),
    request_body = UpdateSetting,
    responses((status = 200, body = Setting), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn put_setting(
    State(st): State<SharedState>,
    auth: Authed,
    Path(key): Path<String>,
    Json(req): Json<UpdateSetting>,
) -> ApiResult<Reply<Setting>> {
    auth.authorize(Permission::SettingsManage)?;
    let def = berth_core::settings::find(&key).ok_or_else(|| ApiError::not_found("setting"))?;
    let mut tx = st.db.begin().await?;
    let old = berth_db::settings::get(&mut tx, def.key).await?;
    if req.value.is_null() {
        berth_db::settings::delete(&mut tx, def.key).await?;
    } else {
        berth_core::settings::validate(def.key, &req.value).map_err(|m| ApiError::invalid_field("value", m))?;
        berth_db::settings::put(&mut tx, def.key, &req.value, Some(auth.user.id)).await?;
    }
    audit(
        &mut tx,
        &auth,
        AuditEvent {
            tenant_id: None,
            action: "setting.update",
            target_type: "setting",
            target_id: Some(def.key.to_owned()),
            summary: json!({ "old": old, "new": req.value }),
        },
    )
    .await?;
    let stored = berth_db::settings::all(&mut tx).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.settings.invalidate().await;
    Ok(Reply(view(def, stored.get(def.key))?))
}
