//! Users of every role.

use crate::{Email, PackageId, Password, Role, TenantId, Text, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: Text,
    pub role: Role,
    /// Set for clients: the one tenant they belong to.
    pub tenant_id: Option<TenantId>,
    /// Set for resellers: the package that caps what they may sell.
    pub allocation_package_id: Option<PackageId>,
    pub totp_enabled: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: Email,
    pub name: Text,
    pub role: Role,
    /// Required for clients, refused for other roles.
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    /// Resellers only: the package that caps their allocation.
    #[serde(default)]
    pub allocation_package_id: Option<PackageId>,
    /// When absent a strong password is generated and returned once.
    #[serde(default)]
    pub password: Option<Password>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedUser {
    pub user: User,
    /// Present only when the password was generated; shown once.
    pub generated_password: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub name: Option<Text>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub allocation_package_id: Option<PackageId>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// When absent a strong password is generated and returned once.
    #[serde(default)]
    pub password: Option<Password>,
    /// Also end every session of the user (default true).
    #[serde(default)]
    pub revoke_sessions: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetPasswordResponse {
    pub generated_password: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub tenant_id: Option<TenantId>,
    /// Case-insensitive substring of email or name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
