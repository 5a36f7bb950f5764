//! A tenant's usage of each limited resource, counted from the tables of the
//! modules that own them. A resource whose module does not exist yet has no
//! table to count, and is reported as untracked (`None`), never as a made-up 0.

use crate::{Conn, DbResult};
use berth_proto::api::packages::Resource;

/// Usage of `r` by a tenant, or `None` when nothing tracks it yet.
pub async fn tenant_used(c: &mut Conn, tenant: berth_proto::TenantId, r: Resource) -> DbResult<Option<i64>> {
    // Each module adds its counter here with its table (databases, mail…).
    match r {
        Resource::Sites => Ok(Some(crate::sites::counts(c, tenant).await?.0)),
        Resource::Domains => Ok(Some(crate::sites::counts(c, tenant).await?.1)),
        Resource::Databases => Ok(Some(crate::databases::count_databases(c, tenant).await?)),
        Resource::DatabaseUsers => Ok(Some(crate::databases::count_users(c, tenant).await?)),
        Resource::DnsZones => Ok(Some(crate::dns::count_zones(c, tenant).await?)),
        Resource::DatabaseMb => Ok(Some(
            crate::databases::total_size_bytes(c, tenant).await? / (1024 * 1024),
        )),
        Resource::Mailboxes
        | Resource::DiskMb
        | Resource::BandwidthGb
        | Resource::PhpWorkers
        | Resource::CronJobs
        | Resource::SshUsers
        | Resource::Tenants
        | Resource::PhpMemoryMb
        | Resource::PhpMaxExecutionS
        | Resource::PhpUploadMb => Ok(None),
    }
}
