//! Tenants: customer accounts that own resources.

use crate::api::packages::UsageLine;
use crate::{AccountName, PackageId, TenantId, Text, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: AccountName,
    pub display_name: Text,
    /// The admin or reseller who manages this tenant.
    pub owner_id: UserId,
    pub package_id: Option<PackageId>,
    pub status: TenantStatus,
    pub suspended_reason: Option<Text>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: AccountName,
    pub display_name: Text,
    /// Staff may hand the tenant to a reseller; for a reseller it is always themselves.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default)]
    pub package_id: Option<PackageId>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default)]
    pub display_name: Option<Text>,
    #[serde(default)]
    pub package_id: Option<PackageId>,
    /// Staff only.
    #[serde(default)]
    pub owner_id: Option<UserId>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    #[serde(default)]
    pub reason: Option<Text>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantUsage {
    pub tenant_id: TenantId,
    pub package_id: Option<PackageId>,
    pub lines: Vec<UsageLine>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    pub status: Option<TenantStatus>,
    pub owner_id: Option<UserId>,
    /// Case-insensitive substring of name or display name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
