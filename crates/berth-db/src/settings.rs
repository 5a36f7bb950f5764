//! Stored setting values. The registry of keys, types and defaults lives in
//! `berth_core::settings`; this module only stores what was changed.

use crate::row::{oparse, s, ts};
use crate::{Conn, DbResult, now_ms};
use berth_proto::{Timestamp, UserId};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct StoredSetting {
    pub value: serde_json::Value,
    pub updated_at: Timestamp,
    pub updated_by: Option<UserId>,
}

pub async fn all(c: &mut Conn) -> DbResult<HashMap<String, StoredSetting>> {
    let rows = sqlx::query("SELECT setting_key, value, updated_at, updated_by FROM settings")
        .fetch_all(&mut *c)
        .await?;
    let mut out = HashMap::new();
    for r in &rows {
        out.insert(
            s(r, "setting_key")?,
            StoredSetting {
                value: crate::row::json(r, "value")?,
                updated_at: ts(r, "updated_at")?,
                updated_by: oparse(r, "updated_by")?,
            },
        );
    }
    Ok(out)
}

pub async fn get(c: &mut Conn, key: &str) -> DbResult<Option<serde_json::Value>> {
    let row = sqlx::query("SELECT value FROM settings WHERE setting_key = $1")
        .bind(key.to_owned())
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(|r| crate::row::json(r, "value")).transpose()
}

pub async fn put(c: &mut Conn, key: &str, value: &serde_json::Value, by: Option<UserId>) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO settings (setting_key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (setting_key) DO UPDATE SET value = $2, updated_at = $3, updated_by = $4",
    )
    .bind(key.to_owned())
    .bind(value.to_string())
    .bind(now_ms())
    .bind(by.map(|u| u.to_string()))
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, key: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM settings WHERE setting_key = $1")
        .bind(key.to_owned())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The effective value of a registered key: the stored one, else the default
/// from `berth_core::settings::REGISTRY`. An unregistered key is a bug.
pub async fn effective(c: &mut Conn, key: &str) -> DbResult<serde_json::Value> {
    let def = berth_core::settings::find(key).ok_or_else(|| crate::corrupt(format!("unregistered setting {key}")))?;
    Ok(match get(c, key).await? {
        // A stored value that no longer passes its rule (rules tightened
        // after it was written) falls back to the default.
        Some(v) if (def.validate)(&v).is_ok() => v,
        _ => (def.default)(),
    })
}

pub async fn effective_i64(c: &mut Conn, key: &str) -> DbResult<i64> {
    let v = effective(c, key).await?;
    v.as_i64()
        .ok_or_else(|| crate::corrupt(format!("{key} is not a whole number")))
}

pub async fn effective_f64(c: &mut Conn, key: &str) -> DbResult<f64> {
    let v = effective(c, key).await?;
    v.as_f64()
        .ok_or_else(|| crate::corrupt(format!("{key} is not a number")))
}

pub async fn effective_str(c: &mut Conn, key: &str) -> DbResult<String> {
    let v = effective(c, key).await?;
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| crate::corrupt(format!("{key} is not a string")))
}

pub async fn effective_bool(c: &mut Conn, key: &str) -> DbResult<bool> {
    let v = effective(c, key).await?;
    v.as_bool()
        .ok_or_else(|| crate::corrupt(format!("{key} is not a boolean")))
}
