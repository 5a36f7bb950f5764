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

/// The effective value of a registered key (`berth_core::settings::effective`
/// over what is stored). An unregistered key is a bug.
pub async fn effective(c: &mut Conn, key: &str) -> DbResult<serde_json::Value> {
    let stored = get(c, key).await?;
    berth_core::settings::effective(key, stored.as_ref())
        .ok_or_else(|| crate::corrupt(format!("unregistered setting {key}")))
}

pub async fn effective_i64(c: &mut Conn, key: &str) -> DbResult<i64> {
    let v = effective(c, key).await?;
    v.as_i64()
        .ok_or_else(|| crate::corrupt(format!("{key} is not a whole number")))
}
