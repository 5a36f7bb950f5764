//! Packages (plans): the limits a tenant lives inside, and the allocation a
//! reseller may sell from.

use crate::{PackageId, Text, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A countable or sized resource a package can limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Sites,
    Domains,
    Databases,
    Mailboxes,
    DnsZones,
    DiskMb,
    BandwidthGb,
    PhpWorkers,
    CronJobs,
    SshUsers,
    Tenants,
    PhpMemoryMb,
    PhpMaxExecutionS,
    PhpUploadMb,
    DatabaseUsers,
    DatabaseMb,
}

impl Resource {
    pub const ALL: [Resource; 16] = [
        Resource::Sites,
        Resource::Domains,
        Resource::Databases,
        Resource::Mailboxes,
        Resource::DnsZones,
        Resource::DiskMb,
        Resource::BandwidthGb,
        Resource::PhpWorkers,
        Resource::CronJobs,
        Resource::SshUsers,
        Resource::Tenants,
        Resource::PhpMemoryMb,
        Resource::PhpMaxExecutionS,
        Resource::PhpUploadMb,
        Resource::DatabaseUsers,
        Resource::DatabaseMb,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Sites => "sites",
            Resource::Domains => "domains",
            Resource::Databases => "databases",
            Resource::Mailboxes => "mailboxes",
            Resource::DnsZones => "dns_zones",
            Resource::DiskMb => "disk_mb",
            Resource::BandwidthGb => "bandwidth_gb",
            Resource::PhpWorkers => "php_workers",
            Resource::CronJobs => "cron_jobs",
            Resource::SshUsers => "ssh_users",
            Resource::Tenants => "tenants",
            Resource::PhpMemoryMb => "php_memory_mb",
            Resource::PhpMaxExecutionS => "php_max_execution_s",
            Resource::PhpUploadMb => "php_upload_mb",
            Resource::DatabaseUsers => "database_users",
            Resource::DatabaseMb => "database_mb",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits of a package. For counts `null` (absent) means unlimited and 0
/// none allowed; for the PHP settings `null` means Berth's default, and
/// `php_workers` is `pm.max_children` of each pool (null: 10).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default)]
    pub sites: Option<i64>,
    #[serde(default)]
    pub domains: Option<i64>,
    #[serde(default)]
    pub databases: Option<i64>,
    #[serde(default)]
    pub mailboxes: Option<i64>,
    #[serde(default)]
    pub dns_zones: Option<i64>,
    #[serde(default)]
    pub disk_mb: Option<i64>,
    #[serde(default)]
    pub bandwidth_gb: Option<i64>,
    #[serde(default)]
    pub php_workers: Option<i64>,
    #[serde(default)]
    pub cron_jobs: Option<i64>,
    #[serde(default)]
    pub ssh_users: Option<i64>,
    /// For reseller allocations: how many tenants the reseller may own.
    #[serde(default)]
    pub tenants: Option<i64>,
    /// PHP `memory_limit` of the tenant's pools, in MB (null: 256).
    #[serde(default)]
    pub php_memory_mb: Option<i64>,
    /// PHP `max_execution_time` in seconds (null: 60).
    #[serde(default)]
    pub php_max_execution_s: Option<i64>,
    /// PHP `upload_max_filesize` and `post_max_size`, in MB (null: 64).
    #[serde(default)]
    pub php_upload_mb: Option<i64>,
    /// Database users (MariaDB and PostgreSQL together).
    #[serde(default)]
    pub database_users: Option<i64>,
    /// Total size of the tenant's databases, in MB, as last measured: over
    /// it, no new database can be created.
    #[serde(default)]
    pub database_mb: Option<i64>,
}

impl Limits {
    pub fn get(&self, r: Resource) -> Option<i64> {
        match r {
            Resource::Sites => self.sites,
            Resource::Domains => self.domains,
            Resource::Databases => self.databases,
            Resource::Mailboxes => self.mailboxes,
            Resource::DnsZones => self.dns_zones,
            Resource::DiskMb => self.disk_mb,
            Resource::BandwidthGb => self.bandwidth_gb,
            Resource::PhpWorkers => self.php_workers,
            Resource::CronJobs => self.cron_jobs,
            Resource::SshUsers => self.ssh_users,
            Resource::Tenants => self.tenants,
            Resource::PhpMemoryMb => self.php_memory_mb,
            Resource::PhpMaxExecutionS => self.php_max_execution_s,
            Resource::PhpUploadMb => self.php_upload_mb,
            Resource::DatabaseUsers => self.database_users,
            Resource::DatabaseMb => self.database_mb,
        }
    }

    pub fn set(&mut self, r: Resource, v: Option<i64>) {
        let slot = match r {
            Resource::Sites => &mut self.sites,
            Resource::Domains => &mut self.domains,
            Resource::Databases => &mut self.databases,
            Resource::Mailboxes => &mut self.mailboxes,
            Resource::DnsZones => &mut self.dns_zones,
            Resource::DiskMb => &mut self.disk_mb,
            Resource::BandwidthGb => &mut self.bandwidth_gb,
            Resource::PhpWorkers => &mut self.php_workers,
            Resource::CronJobs => &mut self.cron_jobs,
            Resource::SshUsers => &mut self.ssh_users,
            Resource::Tenants => &mut self.tenants,
            Resource::PhpMemoryMb => &mut self.php_memory_mb,
            Resource::PhpMaxExecutionS => &mut self.php_max_execution_s,
            Resource::PhpUploadMb => &mut self.php_upload_mb,
            Resource::DatabaseUsers => &mut self.database_users,
            Resource::DatabaseMb => &mut self.database_mb,
        };
        *slot = v;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Package {
    pub id: PackageId,
    pub name: Text,
    /// `null` for packages of the install; the reseller's id for theirs.
    pub owner_id: Option<UserId>,
    pub limits: Limits,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePackage {
    pub name: Text,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePackage {
    #[serde(default)]
    pub name: Option<Text>,
    /// Replaces all limits when present.
    #[serde(default)]
    pub limits: Option<Limits>,
}

/// Usage of one resource against its limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UsageLine {
    pub resource: Resource,
    /// `null` while no module that creates this resource is installed, so
    /// nothing can be counted yet.
    pub used: Option<i64>,
    /// `null` means unlimited.
    pub limit: Option<i64>,
}
