//! Typed ids. Each is a UUID (v7, so ids sort by creation time) wrapped in its
//! own type so a tenant id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A node enrolled to the panel.
    NodeId
);
id_type!(
    /// A user (any role).
    UserId
);
id_type!(
    /// A tenant: a customer account that owns resources.
    TenantId
);
id_type!(
    /// A package (plan) of limits.
    PackageId
);
id_type!(
    /// An API token.
    TokenId
);
id_type!(
    /// A login session.
    SessionId
);
id_type!(
    /// A durable job.
    JobId
);
id_type!(
    /// A recurring job schedule.
    ScheduleId
);
id_type!(
    /// A website.
    SiteId
);
id_type!(
    /// A tenant's database on a database node.
    DatabaseId
);
id_type!(
    /// A tenant's database user (login role).
    DatabaseUserId
);
id_type!(
    /// A DNS zone a tenant holds.
    DnsZoneId
);
id_type!(
    /// One record of a DNS zone.
    DnsRecordId
);
id_type!(
    /// A TLS certificate of a site.
    CertificateId
);
id_type!(
    /// A request id that travels through logs, audit rows and (later) the agent.
    RequestId
);
