//! Pure domain logic of Berth: who may do what (roles, permissions, tenant
//! `Scope`), package limits, the password policy, the audit hash chain, the
//! settings registry, retry backoff and cron schedules.
//!
//! No IO here: every function is deterministic given its inputs, so all of it
//! is unit-tested beside the code.

pub mod audit_chain;
pub mod authz;
pub mod backoff;
pub mod db_secrets;
pub mod dns_zone;
pub mod dns_zonefile;
pub mod mail_auth;
pub mod password_policy;
pub mod quota;
pub mod schedule;
pub mod settings;
pub mod system_names;

pub use authz::{Credential, Denied, Permission, Principal, Scope, ScopeKind};
