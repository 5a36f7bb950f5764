//! Roles and token access levels.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user is. Superadmin and admin run the install; a reseller sells to
/// tenants they own; a client belongs to exactly one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Superadmin,
    Admin,
    Reseller,
    Client,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Superadmin, Role::Admin, Role::Reseller, Role::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Superadmin => "superadmin",
            Role::Admin => "admin",
            Role::Reseller => "reseller",
            Role::Client => "client",
        }
    }

    /// Staff roles see every tenant.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Superadmin | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "superadmin" => Ok(Role::Superadmin),
            "admin" => Ok(Role::Admin),
            "reseller" => Ok(Role::Reseller),
            "client" => Ok(Role::Client),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// What an API token may do: `read` tokens can only call safe methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenAccess {
    Read,
    Full,
}

impl TokenAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAccess::Read => "read",
            TokenAccess::Full => "full",
        }
    }
}

impl FromStr for TokenAccess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(TokenAccess::Read),
            "full" => Ok(TokenAccess::Full),
            other => Err(format!("unknown token access {other:?}")),
        }
    }
}
