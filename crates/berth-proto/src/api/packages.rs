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
}

impl Resource {
    pub const ALL: [Resource; 11] = [
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
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits of a package. `null` (absent) means unlimited; 0 means none allowed.
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
