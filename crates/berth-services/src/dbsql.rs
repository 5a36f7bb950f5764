//! The SQL scripts the agent sends to a database server's admin client
//! (`mariadb`, `psql`) on stdin: desired state in, script out.
//!
//! Every name is a `DbIdent` (`[a-z][a-z0-9_]*`) and is quoted as an
//! identifier anyway; secrets are `DbSecret`s (hex/base64 only); hosts are
//! parsed addresses. Nothing a tenant typed can end a literal or start a
//! statement or a client command. Scripts are idempotent: running one twice
//! leaves the server as running it once.

use berth_proto::api::databases::{DbAccess, DbHost, DbIdent};
use berth_proto::desired::DbUserSpec;
use std::fmt::Write;

/// MariaDB.
pub mod mariadb {
    use super::*;

    /// Where a user may always connect from: the socket (`localhost`) and
    /// loopback over TCP (with `skip-name-resolve` that is `127.0.0.1`/`::1`).
    pub const LOCAL_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

    fn ident(n: &DbIdent) -> String {
        format!("`{n}`")
    }

    /// A database name in GRANT/REVOKE, where `_` and `%` are wildcards:
    /// `acme_shop` would also match `acmeXshop`.
    fn grant_db(n: &DbIdent) -> String {
        format!("`{}`", n.as_str().replace('_', "\\_"))
    }

    /// MariaDB's form of an allowed host: an address, or an IPv4 network
    /// as `address/netmask`. IPv6 networks have no form (MariaDB matches
    /// IPv6 hosts only whole).
    pub fn host(h: &DbHost) -> Result<String, String> {
        match h.0 {
            ipnet::IpNet::V4(n) if n.prefix_len() == 32 => Ok(n.addr().to_string()),
            ipnet::IpNet::V4(n) => Ok(format!("{}/{}", n.network(), n.netmask())),
            ipnet::IpNet::V6(n) if n.prefix_len() == 128 => Ok(n.addr().to_string()),
            ipnet::IpNet::V6(n) => Err(format!(
                "{n}: MariaDB cannot match an IPv6 network, only single IPv6 addresses"
            )),
        }
    }

    /// Every host a user's accounts should exist for.
    pub fn hosts(spec: &DbUserSpec) -> Result<Vec<String>, String> {
        let mut out: Vec<String> = LOCAL_HOSTS.iter().map(|h| (*h).to_owned()).collect();
        for h in &spec.hosts {
            let m = host(h)?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        Ok(out)
    }

    pub fn create_database(name: &DbIdent) -> String {
        format!(
            "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n",
            ident(name)
        )
    }

    pub fn drop_database(name: &DbIdent) -> String {
        format!("DROP DATABASE IF EXISTS {};\n", ident(name))
    }

    /// The hosts a user has accounts for now (one per line in the output).
    pub fn user_hosts_query(name: &DbIdent) -> String {
        format!("SELECT Host FROM mysql.user WHERE User = '{name}' ORDER BY Host;\n")
    }

    /// Make `spec` true, given the hosts the user has accounts for now
    /// (from `user_hosts_query`): accounts for other hosts are dropped.
    pub fn apply_user(spec: &DbUserSpec, existing: &[String]) -> Result<String, String> {
        let wanted = hosts(spec)?;
        let u = &spec.name;
        let secret = spec.secret.as_str();
        let lock = if spec.locked { "LOCK" } else { "UNLOCK" };
        let mut s = String::new();
        for h in existing.iter().filter(|h| !wanted.contains(h)) {
            // `existing` comes from the server; only plain host forms are
            // ever created by Berth, anything else is refused here.
            if !h.bytes().all(|b| b.is_ascii_alphanumeric() || b".:/%_-".contains(&b)) {
                return Err(format!("unexpected host {h:?} for user {u}"));
            }
            let _ = writeln!(s, "DROP USER IF EXISTS '{u}'@'{h}';");
        }
        for h in &wanted {
            let _ = writeln!(
                s,
                "CREATE USER IF NOT EXISTS '{u}'@'{h}' IDENTIFIED BY PASSWORD '{secret}';"
            );
            let _ = writeln!(
                s,
                "ALTER USER '{u}'@'{h}' IDENTIFIED BY PASSWORD '{secret}' ACCOUNT {lock};"
            );
            let _ = writeln!(s, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{u}'@'{h}';");
            for g in &spec.grants {
                let what = match g.access {
                    DbAccess::All => "ALL PRIVILEGES",
                    DbAccess::ReadOnly => "SELECT, SHOW VIEW",
                };
                let _ = writeln!(s, "GRANT {what} ON {}.* TO '{u}'@'{h}';", grant_db(&g.database));
            }
        }
        Ok(s)
    }

    pub fn drop_user(name: &DbIdent, existing: &[String]) -> Result<String, String> {
        let mut s = String::new();
        for h in existing {
            if !h.bytes().all(|b| b.is_ascii_alphanumeric() || b".:/%_-".contains(&b)) {
                return Err(format!("unexpected host {h:?} for user {name}"));
            }
            let _ = writeln!(s, "DROP USER IF EXISTS '{name}'@'{h}';");
        }
        Ok(s)
    }

    /// Name and bytes of every database (one per line, tab-separated).
    pub const SIZES: &str = "SELECT s.SCHEMA_NAME, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) \
        FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME \
        GROUP BY s.SCHEMA_NAME;\n";

    /// Version, max_connections, sessions, databases, data directory
    /// (one tab-separated line).
    pub const VERSION: &str = "SELECT VERSION(), @@max_connections, \
        (SELECT COUNT(*) FROM information_schema.PROCESSLIST), \
        (SELECT COUNT(*) FROM information_schema.SCHEMATA \
        WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')), \
        @@datadir;\n";
}

/// PostgreSQL. Each database is owned by a NOLOGIN role `<name>_owner`;
/// a user with all privileges is a member of it and works as it in that
/// database (`SET role` per database), so every object has one owner
/// whichever user made it, and read-only users can be granted on it.
pub mod postgres {
    use super::*;

    fn ident(n: &str) -> String {
        format!("\"{n}\"")
    }

    pub fn owner_role(db: &DbIdent) -> String {
        format!("{db}_owner")
    }

    pub fn create_database(name: &DbIdent) -> String {
        let owner = owner_role(name);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "DO $berth$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{owner}') THEN \
             CREATE ROLE {} NOLOGIN; END IF; END $berth$;",
            ident(&owner)
        );
        // CREATE DATABASE cannot run inside a function or transaction.
        let _ = writeln!(
            s,
            "SELECT 'CREATE DATABASE {} OWNER {} ENCODING ''UTF8'' TEMPLATE template0' \
             WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')\\gexec",
            ident(name.as_str()),
            ident(&owner)
        );
        let _ = writeln!(s, "REVOKE ALL ON DATABASE {} FROM PUBLIC;", ident(name.as_str()));
        let _ = writeln!(
            s,
            "GRANT CONNECT, TEMPORARY ON DATABASE {} TO {};",
            ident(name.as_str()),
            ident(&owner)
        );
        s
    }

    pub fn drop_database(name: &DbIdent) -> String {
        format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE);\nDROP ROLE IF EXISTS {};\n",
            ident(name.as_str()),
            ident(&owner_role(name))
        )
    }

    /// Statements (in database `db`) that take every privilege `user` may
    /// have on objects there.
    fn revoke_inside(s: &mut String, db: &DbIdent, user: &str) {
        let owner = ident(&owner_role(db));
        let _ = writeln!(s, "\\connect {db}");
        let _ = writeln!(s, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {user};");
        let _ = writeln!(s, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {user};");
        let _ = writeln!(s, "REVOKE ALL ON SCHEMA public FROM {user};");
        let _ = writeln!(
            s,
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public REVOKE ALL ON TABLES FROM {user};"
        );
        let _ = writeln!(
            s,
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {user};"
        );
    }

    pub fn apply_user(spec: &DbUserSpec) -> String {
        let name = spec.name.as_str();
        let u = ident(name);
        let login = if spec.locked { "NOLOGIN" } else { "LOGIN" };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "DO $berth$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN \
             CREATE ROLE {u} NOLOGIN; END IF; END $berth$;"
        );
        let _ = writeln!(
            s,
            "ALTER ROLE {u} WITH {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT \
             PASSWORD '{}';",
            spec.secret.as_str()
        );
        if spec.locked {
            let _ = writeln!(
                s,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{name}';"
            );
        }
        for db in &spec.tenant_databases {
            let d = ident(db.as_str());
            let owner = ident(&owner_role(db));
            match spec.grants.iter().find(|g| &g.database == db).map(|g| g.access) {
                Some(DbAccess::All) => {
                    let _ = writeln!(s, "GRANT {owner} TO {u};");
                    let _ = writeln!(s, "ALTER ROLE {u} IN DATABASE {d} SET role = '{}';", owner_role(db));
                    let _ = writeln!(s, "GRANT CONNECT, TEMPORARY ON DATABASE {d} TO {u};");
                }
                Some(DbAccess::ReadOnly) => {
                    let _ = writeln!(s, "REVOKE {owner} FROM {u};");
                    let _ = writeln!(s, "ALTER ROLE {u} IN DATABASE {d} RESET role;");
                    let _ = writeln!(s, "REVOKE TEMPORARY ON DATABASE {d} FROM {u};");
                    let _ = writeln!(s, "GRANT CONNECT ON DATABASE {d} TO {u};");
                    revoke_inside(&mut s, db, &u);
                    let _ = writeln!(s, "GRANT USAGE ON SCHEMA public TO {u};");
                    let _ = writeln!(s, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {u};");
                    let _ = writeln!(s, "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {u};");
                    let _ = writeln!(
                        s,
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {u};"
                    );
                    let _ = writeln!(
                        s,
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON SEQUENCES TO {u};"
                    );
                    let _ = writeln!(s, "\\connect postgres");
                }
                None => {
                    revoke_db(&mut s, db, &u);
                }
            }
        }
        s
    }

    fn revoke_db(s: &mut String, db: &DbIdent, u: &str) {
        let d = ident(db.as_str());
        let owner = ident(&owner_role(db));
        let _ = writeln!(s, "REVOKE {owner} FROM {u};");
        let _ = writeln!(s, "ALTER ROLE {u} IN DATABASE {d} RESET role;");
        let _ = writeln!(s, "REVOKE ALL ON DATABASE {d} FROM {u};");
        revoke_inside(s, db, u);
        let _ = writeln!(s, "\\connect postgres");
    }

    /// The databases where role `name` has any footprint: a privilege on
    /// the database, a per-database setting, membership of its owner role,
    /// or objects/privileges inside it (pg_shdepend). Only those need
    /// revoking, so applying a user costs what it has, not what the tenant
    /// has (without this, 500 users × 500 databases meant 250,000 connects).
    pub fn footprint_query(name: &DbIdent) -> String {
        format!(
            "SELECT d.datname FROM pg_database d, pg_roles r WHERE r.rolname = '{name}' AND ( \
             EXISTS (SELECT 1 FROM aclexplode(d.datacl) a WHERE a.grantee = r.oid) \
             OR EXISTS (SELECT 1 FROM pg_db_role_setting t WHERE t.setdatabase = d.oid AND t.setrole = r.oid) \
             OR EXISTS (SELECT 1 FROM pg_shdepend h WHERE h.dbid = d.oid AND h.refobjid = r.oid) \
             OR EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles o ON o.oid = m.roleid \
             WHERE m.member = r.oid AND o.rolname = d.datname || '_owner')) ORDER BY 1;\n"
        )
    }

    /// Revoke everything the user has in its tenant's databases (a role
    /// that owns objects or holds privileges cannot be dropped), end its
    /// sessions, drop it. `tenant_databases`: those where it has a footprint.
    pub fn drop_user(name: &DbIdent, tenant_databases: &[DbIdent]) -> String {
        let u = ident(name.as_str());
        let mut s = String::new();
        let _ = writeln!(
            s,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{name}';"
        );
        // Only when the role exists: REVOKE on a missing role is an error.
        let _ = writeln!(
            s,
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') AS present \\gset"
        );
        let _ = writeln!(s, "\\if :present");
        for db in tenant_databases {
            let d = ident(db.as_str());
            let owner = ident(&owner_role(db));
            let _ = writeln!(s, "REVOKE {owner} FROM {u};");
            let _ = writeln!(s, "ALTER ROLE {u} IN DATABASE {d} RESET role;");
            let _ = writeln!(s, "REVOKE ALL ON DATABASE {d} FROM {u};");
            // Objects the user made as itself (after `RESET role`) go to
            // the database's owner; its privileges there go away.
            let _ = writeln!(s, "\\connect {db}");
            let _ = writeln!(s, "REASSIGN OWNED BY {u} TO {owner};");
            let _ = writeln!(s, "DROP OWNED BY {u};");
            let _ = writeln!(s, "\\connect postgres");
        }
        let _ = writeln!(s, "DROP ROLE IF EXISTS {u};");
        let _ = writeln!(s, "\\endif");
        s
    }

    /// `pg_hba.conf` lines Berth owns sit between these markers; nothing
    /// outside them is touched.
    pub const HBA_BEGIN: &str = "# BEGIN berth: remote access of tenants' database users (managed; edits are replaced)";
    pub const HBA_END: &str = "# END berth";

    /// `content` (a pg_hba.conf) with `user`'s remote-access lines replaced
    /// by one `host … scram-sha-256` line per network in `hosts` (none:
    /// removed). Berth's block goes first so an operator's broader `reject`
    /// further down cannot shadow what the panel allowed; it only holds
    /// lines naming one Berth user each, so it never widens anyone else's
    /// access. Lines are kept sorted, so the result does not depend on the
    /// order users were applied in.
    pub fn hba_with(content: &str, user: &DbIdent, hosts: &[DbHost]) -> String {
        let lines: Vec<&str> = content.lines().collect();
        let begin = lines.iter().position(|l| l.trim_end() == HBA_BEGIN);
        let end = begin.and_then(|b| lines[b..].iter().position(|l| l.trim_end() == HBA_END).map(|e| b + e));
        let quoted = ident(user.as_str());
        let mut block: Vec<String> = match (begin, end) {
            (Some(b), Some(e)) => lines[b + 1..e]
                .iter()
                .filter(|l| l.split_whitespace().nth(2) != Some(quoted.as_str()))
                .map(|l| (*l).to_owned())
                .collect(),
            _ => Vec::new(),
        };
        for h in hosts {
            block.push(format!("host all {quoted} {} scram-sha-256", h.0));
        }
        block.sort();
        block.dedup();
        let (before, after): (&[&str], &[&str]) = match (begin, end) {
            (Some(b), Some(e)) => (&lines[..b], &lines[e + 1..]),
            _ => (&[], &lines[..]),
        };
        let mut out = String::new();
        for l in before {
            let _ = writeln!(out, "{l}");
        }
        if !block.is_empty() {
            let _ = writeln!(out, "{HBA_BEGIN}");
            for l in &block {
                let _ = writeln!(out, "{l}");
            }
            let _ = writeln!(out, "{HBA_END}");
        }
        for l in after {
            let _ = writeln!(out, "{l}");
        }
        out
    }

    /// Where the server's pg_hba.conf is.
    pub const HBA_FILE: &str = "SHOW hba_file;\n";

    /// Problems the server finds in its pg_hba.conf as it is on disk now.
    pub const HBA_ERRORS: &str =
        "SELECT line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL;\n";

    pub const RELOAD: &str = "SELECT pg_reload_conf();\n";

    /// The databases that exist (one name per line).
    pub const DATABASES: &str = "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname;\n";

    /// Name and bytes of every database (one per line, tab-separated).
    pub const SIZES: &str = "SELECT datname, pg_database_size(oid) FROM pg_database WHERE NOT datistemplate;\n";

    /// Version, max_connections, sessions, databases, data directory
    /// (one tab-separated line).
    pub const VERSION: &str = "SELECT current_setting('server_version'), current_setting('max_connections'), \
        (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
        (SELECT count(*) FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'), \
        current_setting('data_directory');\n";
}

#[cfg(test)]
mod tests {
    use super::postgres::{HBA_BEGIN, HBA_END, hba_with};
    use berth_proto::api::databases::{DbHost, DbIdent};

    fn id(s: &str) -> DbIdent {
        DbIdent::try_from(s.to_owned()).expect("ident")
    }

    fn host(s: &str) -> DbHost {
        DbHost::try_from(s.to_owned()).expect("host")
    }

    const DEBIAN: &str = "local   all             postgres                                peer\n\
                          host    all             all             127.0.0.1/32            scram-sha-256\n";

    #[test]
    fn hba_block_is_added_first_replaced_per_user_and_removed_when_empty() {
        let one = hba_with(DEBIAN, &id("acme_app"), &[host("10.1.0.0/16"), host("203.0.113.7")]);
        assert_eq!(
            one,
            format!(
                "{HBA_BEGIN}\nhost all \"acme_app\" 10.1.0.0/16 scram-sha-256\n\
                 host all \"acme_app\" 203.0.113.7/32 scram-sha-256\n{HBA_END}\n{DEBIAN}"
            )
        );
        // Another user joins; the first one's lines stay.
        let two = hba_with(&one, &id("beta_db"), &[host("2001:db8::/32")]);
        assert!(two.contains("host all \"acme_app\" 10.1.0.0/16"), "{two}");
        assert!(
            two.contains("host all \"beta_db\" 2001:db8::/32 scram-sha-256"),
            "{two}"
        );
        // Re-applying is a no-op; order of application does not matter.
        assert_eq!(hba_with(&two, &id("beta_db"), &[host("2001:db8::/32")]), two);
        let other_order = hba_with(
            &hba_with(DEBIAN, &id("beta_db"), &[host("2001:db8::/32")]),
            &id("acme_app"),
            &[host("203.0.113.7"), host("10.1.0.0/16")],
        );
        assert_eq!(other_order, two);
        // A user whose name is a prefix of another's keeps its own lines only.
        let three = hba_with(&two, &id("acme"), &[host("192.0.2.1")]);
        let cleared = hba_with(&three, &id("acme"), &[]);
        assert_eq!(cleared, two);
        // Everyone removed: the file is what it was.
        let none = hba_with(&hba_with(&two, &id("acme_app"), &[]), &id("beta_db"), &[]);
        assert_eq!(none, DEBIAN);
    }

    #[test]
    fn hba_lines_outside_the_block_are_never_touched() {
        let operator = format!(
            "# mine\n{HBA_BEGIN}\nhost all \"x_y\" 10.0.0.0/8 scram-sha-256\n{HBA_END}\nhost all all 0.0.0.0/0 reject\n"
        );
        let out = hba_with(&operator, &id("x_y"), &[host("10.2.0.0/16")]);
        assert!(out.starts_with("# mine\n"), "{out}");
        assert!(out.ends_with("host all all 0.0.0.0/0 reject\n"), "{out}");
        assert!(!out.contains("10.0.0.0/8"), "{out}");
        // A user named like a column value in an operator's line is not matched.
        let theirs = "host all \"x_y\" 10.9.0.0/16 md5\n";
        assert_eq!(hba_with(theirs, &id("x_y"), &[]), theirs);
    }
}
