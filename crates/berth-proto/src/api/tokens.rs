//! Scoped API tokens.

use crate::{Text, Timestamp, TokenAccess, TokenId};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: Text,
    pub access: TokenAccess,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub expires_at: Option<Timestamp>,
    /// When not empty, the token works only from these networks.
    #[schema(value_type = Vec<String>)]
    pub ip_allowlist: Vec<IpNet>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: Text,
    pub access: TokenAccess,
    /// Days until it stops working (1 to 3650); absent means no expiry.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub ip_allowlist: Vec<IpNet>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The secret: shown once, stored only as a hash.
    pub secret: String,
}
