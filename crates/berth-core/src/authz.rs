//! Authorization: a `Principal` (who is calling) asks for a `Permission` and
//! gets back a `Scope` (which tenants the call may touch) or `Denied`.
//!
//! Architecture invariant: a `Scope` can only be built here, from a principal
//! that passed the role check (or by `Scope::system` for the panel's own
//! background work). Every tenant-owned read and write in `berth-db` takes a
//! `&Scope`, so a handler that forgot to authorize does not compile.

use berth_proto::{Role, TenantId, TokenAccess, UserId};
use std::fmt;

/// Everything the API lets somebody do. Handlers name exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    TenantsRead,
    TenantsWrite,
    TenantsSuspend,
    TenantsDelete,
    UsersRead,
    UsersWrite,
    PackagesRead,
    PackagesWrite,
    SettingsRead,
    SettingsManage,
    AuditRead,
    AuditVerify,
    JobsRead,
    JobsWrite,
    JobsCreate,
    SchedulesManage,
    SitesRead,
    SitesWrite,
    /// Suspend and unsuspend sites (not for clients: they must not lift a
    /// suspension their provider set).
    SitesSuspend,
    /// Node configuration history, drift and rollback (staff).
    NodesManage,
    DatabasesRead,
    /// Databases and database users: create, change, rotate, delete.
    DatabasesWrite,
    DnsRead,
    /// DNS zones and their records: create, change, delete.
    DnsWrite,
    /// Read own profile, sessions and tokens.
    SelfRead,
    /// Change own profile, password, 2FA, sessions and tokens.
    SelfManage,
}

impl Permission {
    pub const ALL: [Permission; 26] = [
        Permission::TenantsRead,
        Permission::TenantsWrite,
        Permission::TenantsSuspend,
        Permission::TenantsDelete,
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::PackagesRead,
        Permission::PackagesWrite,
        Permission::SettingsRead,
        Permission::SettingsManage,
        Permission::AuditRead,
        Permission::AuditVerify,
        Permission::JobsRead,
        Permission::JobsWrite,
        Permission::JobsCreate,
        Permission::SchedulesManage,
        Permission::SitesRead,
        Permission::SitesWrite,
        Permission::SitesSuspend,
        Permission::NodesManage,
        Permission::DatabasesRead,
        Permission::DatabasesWrite,
        Permission::DnsRead,
        Permission::DnsWrite,
        Permission::SelfRead,
        Permission::SelfManage,
    ];

    /// Reads are allowed to read-only tokens; everything else is a write.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Permission::TenantsRead
                | Permission::UsersRead
                | Permission::PackagesRead
                | Permission::SettingsRead
                | Permission::AuditRead
                | Permission::AuditVerify
                | Permission::JobsRead
                | Permission::SitesRead
                | Permission::DatabasesRead
                | Permission::DnsRead
                | Permission::SelfRead
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TenantsRead => "tenants.read",
            Permission::TenantsWrite => "tenants.write",
            Permission::TenantsSuspend => "tenants.suspend",
            Permission::TenantsDelete => "tenants.delete",
            Permission::UsersRead => "users.read",
            Permission::UsersWrite => "users.write",
            Permission::PackagesRead => "packages.read",
            Permission::PackagesWrite => "packages.write",
            Permission::SettingsRead => "settings.read",
            Permission::SettingsManage => "settings.manage",
            Permission::AuditRead => "audit.read",
            Permission::AuditVerify => "audit.verify",
            Permission::JobsRead => "jobs.read",
            Permission::JobsWrite => "jobs.write",
            Permission::JobsCreate => "jobs.create",
            Permission::SchedulesManage => "schedules.manage",
            Permission::SitesRead => "sites.read",
            Permission::SitesWrite => "sites.write",
            Permission::SitesSuspend => "sites.suspend",
            Permission::NodesManage => "nodes.manage",
            Permission::DatabasesRead => "databases.read",
            Permission::DatabasesWrite => "databases.write",
            Permission::DnsRead => "dns.read",
            Permission::DnsWrite => "dns.write",
            Permission::SelfRead => "self.read",
            Permission::SelfManage => "self.manage",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role matrix. Deny by default: a permission not listed for a role is refused.
pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Superadmin => true,
        Role::Admin => !matches!(p, SettingsManage),
        Role::Reseller => matches!(
            p,
            TenantsRead
                | TenantsWrite
                | TenantsSuspend
                | TenantsDelete
                | UsersRead
                | UsersWrite
                | PackagesRead
                | PackagesWrite
                | AuditRead
                | JobsRead
                | JobsWrite
                | SitesRead
                | SitesWrite
                | SitesSuspend
                | DatabasesRead
                | DatabasesWrite
                | DnsRead
                | DnsWrite
                | SelfRead
                | SelfManage
        ),
        Role::Client => matches!(
            p,
            TenantsRead
                | UsersRead
                | PackagesRead
                | AuditRead
                | JobsRead
                | JobsWrite
                | SitesRead
                | SitesWrite
                | DatabasesRead
                | DatabasesWrite
                | DnsRead
                | DnsWrite
                | SelfRead
                | SelfManage
        ),
    }
}

/// May a user of role `actor` create or change users of role `target`?
/// Superadmins manage everyone, admins manage resellers and clients, resellers
/// manage clients (of their own tenants: the scope checks that part).
pub fn can_manage(actor: Role, target: Role) -> bool {
    match actor {
        Role::Superadmin => true,
        Role::Admin => matches!(target, Role::Reseller | Role::Client),
        Role::Reseller => target == Role::Client,
        Role::Client => false,
    }
}

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Session,
    Token(TokenAccess),
}

/// An authenticated caller. Built by the panel's authentication layer only
/// after the session or token was verified against the database.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    /// Clients: their tenant.
    pub tenant_id: Option<TenantId>,
    pub credential: Credential,
}

/// Why a permission was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("your role does not allow {0}")]
    Role(Permission),
    #[error("this token is read-only")]
    ReadOnlyToken,
    #[error("this client account is not attached to a tenant")]
    NoTenant,
}

impl Principal {
    /// The only way to get a `Scope` for a request.
    pub fn authorize(&self, p: Permission) -> Result<Scope, Denied> {
        if !role_allows(self.role, p) {
            return Err(Denied::Role(p));
        }
        if self.credential == Credential::Token(TokenAccess::Read) && !p.is_read() {
            return Err(Denied::ReadOnlyToken);
        }
        let kind = match self.role {
            Role::Superadmin | Role::Admin => ScopeKind::All,
            Role::Reseller => ScopeKind::Reseller(self.user_id),
            Role::Client => ScopeKind::Tenant(self.tenant_id.ok_or(Denied::NoTenant)?),
        };
        Ok(Scope {
            kind,
            actor: Some(self.user_id),
            role: Some(self.role),
        })
    }
}

/// Which tenants a call may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// Staff: every tenant.
    All,
    /// A reseller: the tenants whose owner is this user.
    Reseller(UserId),
    /// A client: exactly this tenant.
    Tenant(TenantId),
}

/// Proof that a caller was authorized, and the limit of what it may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    kind: ScopeKind,
    actor: Option<UserId>,
    role: Option<Role>,
}

impl Scope {
    /// For the panel's own background work (job engine, bootstrap). Never
    /// built from a request.
    pub fn system() -> Scope {
        Scope {
            kind: ScopeKind::All,
            actor: None,
            role: None,
        }
    }

    pub fn kind(&self) -> ScopeKind {
        self.kind
    }

    /// The user acting, for audit rows; `None` for the system.
    pub fn actor(&self) -> Option<UserId> {
        self.actor
    }

    pub fn role(&self) -> Option<Role> {
        self.role
    }

    pub fn is_all(&self) -> bool {
        self.kind == ScopeKind::All
    }

    /// Whether a tenant with this id and owner is inside the scope.
    pub fn covers(&self, tenant: TenantId, owner: UserId) -> bool {
        match self.kind {
            ScopeKind::All => true,
            ScopeKind::Reseller(r) => owner == r,
            ScopeKind::Tenant(t) => tenant == t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, cred: Credential) -> Principal {
        Principal {
            user_id: UserId::new(),
            role,
            tenant_id: (role == Role::Client).then(TenantId::new),
            credential: cred,
        }
    }

    #[test]
    fn only_superadmin_manages_settings() {
        for role in Role::ALL {
            let allowed = who(role, Credential::Session)
                .authorize(Permission::SettingsManage)
                .is_ok();
            assert_eq!(allowed, role == Role::Superadmin, "{role}");
        }
    }

    #[test]
    fn clients_cannot_write_tenants_users_or_packages() {
        let c = who(Role::Client, Credential::Session);
        for p in [
            Permission::TenantsWrite,
            Permission::TenantsSuspend,
            Permission::UsersWrite,
            Permission::PackagesWrite,
            Permission::SettingsRead,
            Permission::JobsCreate,
            Permission::AuditVerify,
            Permission::SitesSuspend,
        ] {
            assert_eq!(c.authorize(p), Err(Denied::Role(p)));
        }
    }

    #[test]
    fn read_only_tokens_only_read() {
        let t = who(Role::Superadmin, Credential::Token(TokenAccess::Read));
        for p in Permission::ALL {
            assert_eq!(t.authorize(p).is_ok(), p.is_read(), "{p}");
        }
    }

    #[test]
    fn scopes_follow_roles() {
        let r = who(Role::Reseller, Credential::Session);
        let s = r.authorize(Permission::TenantsRead).unwrap();
        assert_eq!(s.kind(), ScopeKind::Reseller(r.user_id));
        assert!(s.covers(TenantId::new(), r.user_id));
        assert!(!s.covers(TenantId::new(), UserId::new()));

        let c = who(Role::Client, Credential::Session);
        let s = c.authorize(Permission::TenantsRead).unwrap();
        let own = c.tenant_id.unwrap();
        assert!(s.covers(own, UserId::new()));
        assert!(!s.covers(TenantId::new(), UserId::new()));
    }

    #[test]
    fn role_hierarchy() {
        assert!(can_manage(Role::Superadmin, Role::Superadmin));
        assert!(!can_manage(Role::Admin, Role::Admin));
        assert!(!can_manage(Role::Admin, Role::Superadmin));
        assert!(can_manage(Role::Admin, Role::Reseller));
        assert!(can_manage(Role::Reseller, Role::Client));
        assert!(!can_manage(Role::Reseller, Role::Reseller));
        assert!(!can_manage(Role::Client, Role::Client));
    }

    #[test]
    fn client_without_tenant_gets_nothing() {
        let mut c = who(Role::Client, Credential::Session);
        c.tenant_id = None;
        assert_eq!(c.authorize(Permission::TenantsRead), Err(Denied::NoTenant));
    }
}
