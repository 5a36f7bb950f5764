//! System settings: namespaced typed keys with registered defaults.

use crate::{SettingKey, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettingType {
    String,
    Number,
    Boolean,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Setting {
    pub key: SettingKey,
    pub value_type: SettingType,
    /// The effective value (the stored one, else the default).
    pub value: serde_json::Value,
    pub default: serde_json::Value,
    pub description: String,
    /// True when a stored value overrides the default.
    pub is_set: bool,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSetting {
    /// The new value; `null` resets the key to its default.
    pub value: serde_json::Value,
}
