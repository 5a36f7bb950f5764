//! The agent's database operations against real MariaDB and PostgreSQL
//! servers (private data dirs, loopback ports), checked with the real
//! `mariadb` and `psql` clients logging in as the created users. Root only.

use berth_agent::dbs::{DbServers, DbServersConfig, MariadbAdmin, PostgresAdmin};
use berth_core::db_secrets;
use berth_proto::api::databases::{DbAccess, DbEngine, DbHost, DbIdent};
use berth_proto::desired::{DbGrantSpec, DbSecret, DbUserSpec};
use berth_testkit::servers::{MariaDbServer, PostgresServer};

fn id(s: &str) -> DbIdent {
    DbIdent::parse(s).expect("a valid name")
}

fn secret(engine: DbEngine, password: &str) -> DbSecret {
    let s = match engine {
        DbEngine::Mariadb => db_secrets::mariadb_native_hash(password),
        DbEngine::Postgres => {
            let salt: [u8; 16] = rand::random();
            db_secrets::scram_sha256_verifier(password, &salt, db_secrets::SCRAM_ITERATIONS)
        }
    };
    DbSecret::parse(&s).expect("a valid secret")
}

fn user(engine: DbEngine, name: &str, password: &str, grants: &[(&str, DbAccess)], all: &[&str]) -> DbUserSpec {
    DbUserSpec {
        engine,
        name: id(name),
        secret: secret(engine, password),
        hosts: vec![],
        grants: grants
            .iter()
            .map(|(d, a)| DbGrantSpec {
                database: id(d),
                access: *a,
            })
            .collect(),
        tenant_databases: all.iter().map(|d| id(d)).collect(),
        locked: false,
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn mariadb_users_grants_rotation_lock_and_drop() -> anyhow::Result<()> {
    anyhow::ensure!(is_root(), "this test runs as root (database servers, runuser)");
    let srv = MariaDbServer::start()?;
    let dbs = DbServers::new(DbServersConfig {
        mariadb: Some(MariadbAdmin {
            client: "/usr/bin/mariadb".into(),
            dump: "/usr/bin/mariadb-dump".into(),
            socket: srv.socket.clone(),
            port: srv.port,
        }),
        postgres: None,
        dump_dir: None,
    });
    let info = dbs.info().await;
    assert!(
        info[0].version.as_deref().is_some_and(|v| v.contains("MariaDB")),
        "{info:?}"
    );
    let e = DbEngine::Mariadb;
    for d in ["acme_shop", "acme_stats", "other_x"] {
        dbs.ensure_database(e, &id(d)).await?;
        dbs.ensure_database(e, &id(d)).await?; // idempotent
    }
    // Capacity as the server reports it.
    let info = dbs.info().await;
    let i = &info[0];
    assert!(i.databases.is_some_and(|n| n >= 3), "{i:?}");
    assert!(i.max_connections.is_some_and(|n| n > 0), "{i:?}");
    assert!(i.connections.is_some_and(|n| n >= 1), "{i:?}");
    assert!(i.data_dir.as_deref().is_some_and(|d| d.starts_with('/')), "{i:?}");
    assert!(
        i.disk_total_mb.is_some_and(|t| t > 0) && i.disk_free_mb.is_some(),
        "{i:?}"
    );
    // A database whose name differs from acme_shop only where the `_` is:
    // an unescaped grant would cover it.
    dbs.ensure_database(e, &id("acmexshop")).await?;
    let all = ["acme_shop", "acme_stats"];
    let spec = user(
        e,
        "acme_app",
        "First-Password-1",
        &[("acme_shop", DbAccess::All), ("acme_stats", DbAccess::ReadOnly)],
        &all,
    );
    dbs.apply_user(&spec).await?;
    dbs.apply_user(&spec).await?;
    let (ok, _, err) = srv.client(
        "acme_app",
        "First-Password-1",
        Some("acme_shop"),
        "CREATE TABLE t (v INT); INSERT INTO t VALUES (42); SELECT v FROM t",
    );
    assert!(ok, "{err}");
    let (ok, out, _) = srv.client("acme_app", "First-Password-1", Some("acme_shop"), "SELECT v FROM t");
    assert!(ok && out.trim() == "42", "{out}");
    // Read-only: select works, writes do not.
    srv.root("CREATE TABLE acme_stats.s (v INT); INSERT INTO acme_stats.s VALUES (7)");
    let (ok, out, _) = srv.client("acme_app", "First-Password-1", Some("acme_stats"), "SELECT v FROM s");
    assert!(ok && out.trim() == "7");
    let (ok, _, err) = srv.client(
        "acme_app",
        "First-Password-1",
        Some("acme_stats"),
        "INSERT INTO s VALUES (8)",
    );
    assert!(!ok && err.contains("denied"), "{err}");
    // Another tenant's database, the look-alike and the system schema.
    for other in ["other_x", "acmexshop", "mysql"] {
        let (ok, _, err) = srv.client("acme_app", "First-Password-1", Some(other), "SELECT 1");
        assert!(!ok && err.contains("denied"), "{other}: {err}");
    }
    // Rotation: the old password fails, the new one works.
    let rotated = DbUserSpec {
        secret: secret(e, "Second-Password-2"),
        ..spec.clone()
    };
    dbs.apply_user(&rotated).await?;
    assert!(!srv.client("acme_app", "First-Password-1", None, "SELECT 1").0);
    assert!(srv.client("acme_app", "Second-Password-2", None, "SELECT 1").0);
    // Grants replaced: read-only on shop, nothing on stats.
    let fewer = DbUserSpec {
        grants: vec![DbGrantSpec {
            database: id("acme_shop"),
            access: DbAccess::ReadOnly,
        }],
        ..rotated.clone()
    };
    dbs.apply_user(&fewer).await?;
    assert!(
        srv.client("acme_app", "Second-Password-2", Some("acme_shop"), "SELECT v FROM t")
            .0
    );
    assert!(
        !srv.client(
            "acme_app",
            "Second-Password-2",
            Some("acme_shop"),
            "INSERT INTO t VALUES (1)"
        )
        .0
    );
    assert!(
        !srv.client("acme_app", "Second-Password-2", Some("acme_stats"), "SELECT 1")
            .0
    );
    // Locked (suspension) and back.
    dbs.apply_user(&DbUserSpec {
        locked: true,
        ..fewer.clone()
    })
    .await?;
    let (ok, _, err) = srv.client("acme_app", "Second-Password-2", None, "SELECT 1");
    assert!(!ok && err.to_lowercase().contains("lock"), "{err}");
    dbs.apply_user(&fewer).await?;
    assert!(srv.client("acme_app", "Second-Password-2", None, "SELECT 1").0);
    // Sizes.
    let sizes = dbs.sizes(e).await?;
    assert!(sizes.iter().any(|(n, b)| n == "acme_shop" && *b > 0), "{sizes:?}");
    // Export, then import into a fresh database: the data round-trips.
    let dir = tempfile::tempdir()?;
    let dump = dir.path().join("shop.sql.gz");
    let bytes = dbs.export(e, &id("acme_shop"), &dump).await?;
    assert!(bytes > 100, "{bytes}");
    dbs.ensure_database(e, &id("acme_copy")).await?;
    dbs.import(e, &id("acme_copy"), &dump).await?;
    let (_, out, _) = srv.root("SELECT v FROM acme_copy.t");
    assert_eq!(out.trim(), "42");
    // Hostile dumps: each refused or without effect beyond that database.
    let pwned = dir.path().join("pwned");
    for (what, sql) in [
        (
            "shell escape",
            format!("CREATE TABLE ok1 (v INT);\n\\! touch {}\n", pwned.display()),
        ),
        ("system", format!("system touch {}\n", pwned.display())),
        (
            "grant",
            "GRANT ALL PRIVILEGES ON *.* TO 'acme_app'@'localhost';\n".to_owned(),
        ),
        ("create user", "CREATE USER 'evil'@'%' IDENTIFIED BY 'x';\n".to_owned()),
        ("other database", "CREATE TABLE other_x.planted (v INT);\n".to_owned()),
        (
            "local infile",
            "CREATE TABLE f (l TEXT); LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE f;\n".to_owned(),
        ),
        ("source", "source /etc/passwd\n".to_owned()),
    ] {
        let f = dir.path().join("hostile.sql");
        std::fs::write(&f, sql)?;
        let r = dbs.import(e, &id("acme_copy"), &f).await;
        assert!(r.is_err(), "{what}: accepted");
    }
    assert!(!pwned.exists(), "a dump ran a shell command");
    let (_, evil, _) = srv.root("SELECT COUNT(*) FROM mysql.user WHERE User IN ('evil') OR User LIKE 'berth_imp_%'");
    assert_eq!(evil.trim(), "0", "no user was created and the import logins are gone");
    let (_, planted, _) = srv.root("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'other_x'");
    assert_eq!(planted.trim(), "0");
    let (_, passwd, _) = srv
        .root("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'acme_copy' AND TABLE_NAME = 'f'");
    if passwd.trim() == "1" {
        let (_, rows, _) = srv.root("SELECT COUNT(*) FROM acme_copy.f");
        assert_eq!(rows.trim(), "0", "a client-side file was read into the table");
    }
    // Drop: the user cannot connect, the database is gone.
    dbs.drop_user(e, &id("acme_app"), &[]).await?;
    dbs.drop_user(e, &id("acme_app"), &[]).await?;
    assert!(!srv.client("acme_app", "Second-Password-2", None, "SELECT 1").0);
    dbs.drop_database(e, &id("acme_shop")).await?;
    let (_, out, _) = srv.root("SHOW DATABASES");
    assert!(!out.lines().any(|l| l == "acme_shop"), "{out}");
    // Passwords never reached a command line or the server's logs in clear.
    let (_, users, _) = srv.root("SELECT COUNT(*) FROM mysql.user WHERE User = 'acme_app'");
    assert_eq!(users.trim(), "0");
    Ok(())
}

#[tokio::test]
async fn postgres_users_grants_rotation_lock_and_drop() -> anyhow::Result<()> {
    anyhow::ensure!(is_root(), "this test runs as root (database servers, runuser)");
    let srv = PostgresServer::start()?;
    let dbs = DbServers::new(DbServersConfig {
        mariadb: None,
        dump_dir: None,
        postgres: Some(PostgresAdmin {
            psql: "/usr/bin/psql".into(),
            pg_dump: "/usr/bin/pg_dump".into(),
            pg_restore: "/usr/bin/pg_restore".into(),
            socket_dir: srv.socket_dir.clone(),
            port: srv.port,
            os_user: "postgres".into(),
        }),
    });
    let info = dbs.info().await;
    assert!(info[0].version.is_some(), "{info:?}");
    let e = DbEngine::Postgres;
    for d in ["acme_shop", "acme_stats", "other_x"] {
        dbs.ensure_database(e, &id(d)).await?;
        dbs.ensure_database(e, &id(d)).await?;
    }
    // Capacity as the server reports it.
    let info = dbs.info().await;
    let i = &info[0];
    assert!(i.databases.is_some_and(|n| n >= 3), "{i:?}");
    assert!(i.max_connections.is_some_and(|n| n > 0), "{i:?}");
    assert!(i.connections.is_some_and(|n| n >= 1), "{i:?}");
    assert!(i.data_dir.as_deref().is_some_and(|d| d.starts_with('/')), "{i:?}");
    assert!(
        i.disk_total_mb.is_some_and(|t| t > 0) && i.disk_free_mb.is_some(),
        "{i:?}"
    );
    let all = ["acme_shop", "acme_stats"];
    let spec = user(
        e,
        "acme_app",
        "First-Password-1",
        &[("acme_shop", DbAccess::All), ("acme_stats", DbAccess::ReadOnly)],
        &all,
    );
    dbs.apply_user(&spec).await?;
    dbs.apply_user(&spec).await?;
    // A second user with all privileges sees the first one's tables.
    let spec2 = user(e, "acme_web", "Web-Password-3", &[("acme_shop", DbAccess::All)], &all);
    dbs.apply_user(&spec2).await?;
    let (ok, _, err) = srv.client(
        "acme_app",
        "First-Password-1",
        "acme_shop",
        "CREATE TABLE t (v int); INSERT INTO t VALUES (42)",
    );
    assert!(ok, "{err}");
    let (ok, out, err) = srv.client("acme_web", "Web-Password-3", "acme_shop", "SELECT v FROM t");
    assert!(ok && out.trim() == "42", "{out} {err}");
    let (_, owner, _) = srv.root("acme_shop", "SELECT tableowner FROM pg_tables WHERE tablename = 't'");
    assert_eq!(owner.trim(), "acme_shop_owner");
    // Read-only, also for tables made after the grant.
    srv.client("acme_app", "First-Password-1", "acme_shop", "SELECT 1");
    let (ok, _, err) = srv.root(
        "acme_stats",
        "SET ROLE acme_stats_owner; CREATE TABLE s (v int); INSERT INTO s VALUES (7)",
    );
    assert!(ok, "{err}");
    let (ok, out, err) = srv.client("acme_app", "First-Password-1", "acme_stats", "SELECT v FROM s");
    assert!(ok && out.trim() == "7", "{out} {err}");
    let (ok, _, err) = srv.client("acme_app", "First-Password-1", "acme_stats", "INSERT INTO s VALUES (8)");
    assert!(!ok && err.contains("permission denied"), "{err}");
    let (ok, _, _) = srv.client("acme_app", "First-Password-1", "acme_stats", "CREATE TABLE x (v int)");
    assert!(!ok);
    // Another tenant's database.
    let (ok, _, err) = srv.client("acme_app", "First-Password-1", "other_x", "SELECT 1");
    assert!(!ok && err.contains("permission denied"), "{err}");
    // No escalation: not a superuser, cannot create roles or databases.
    let (ok, _, _) = srv.client(
        "acme_app",
        "First-Password-1",
        "acme_shop",
        "CREATE ROLE evil LOGIN SUPERUSER",
    );
    assert!(!ok);
    // Rotation.
    let rotated = DbUserSpec {
        secret: secret(e, "Second-Password-2"),
        ..spec.clone()
    };
    dbs.apply_user(&rotated).await?;
    assert!(!srv.client("acme_app", "First-Password-1", "acme_shop", "SELECT 1").0);
    assert!(srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1").0);
    // Grants replaced: nothing on stats any more.
    let fewer = DbUserSpec {
        grants: vec![DbGrantSpec {
            database: id("acme_shop"),
            access: DbAccess::All,
        }],
        ..rotated.clone()
    };
    dbs.apply_user(&fewer).await?;
    assert!(
        !srv.client("acme_app", "Second-Password-2", "acme_stats", "SELECT v FROM s")
            .0
    );
    // Locked and back.
    dbs.apply_user(&DbUserSpec {
        locked: true,
        ..fewer.clone()
    })
    .await?;
    let (ok, _, err) = srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1");
    assert!(!ok && err.contains("not permitted to log in"), "{err}");
    dbs.apply_user(&fewer).await?;
    assert!(srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1").0);
    // Remote access: with TCP closed to everyone (as it is from any other
    // network by default), only a user whose hosts allow it gets in.
    let hba = srv.data_dir().join("pg_hba.conf");
    let original = std::fs::read_to_string(&hba)?;
    let closed: String = original
        .lines()
        .map(|l| match l.strip_suffix("scram-sha-256") {
            Some(head) if l.starts_with("host") => format!("{head}reject\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&hba, &closed)?;
    srv.root("postgres", "SELECT pg_reload_conf()");
    let (ok, _, err) = srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1");
    assert!(!ok && err.contains("rejects connection"), "{err}");
    let remote = DbUserSpec {
        hosts: vec![
            DbHost::try_from("127.0.0.1".to_owned())?,
            DbHost::try_from("10.9.0.0/16".to_owned())?,
        ],
        ..fewer.clone()
    };
    dbs.apply_user(&remote).await?;
    dbs.apply_user(&remote).await?;
    let (ok, _, err) = srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1");
    assert!(ok, "{err}");
    let now = std::fs::read_to_string(&hba)?;
    assert!(now.contains("host all \"acme_app\" 10.9.0.0/16 scram-sha-256"), "{now}");
    assert!(now.ends_with(&closed), "the rest of the file is as it was:\n{now}");
    {
        use std::os::unix::fs::MetadataExt;
        assert_ne!(std::fs::metadata(&hba)?.uid(), 0, "the file stays the postgres user's");
    }
    let (_, rules, _) = srv.root(
        "postgres",
        "SELECT count(*) FROM pg_hba_file_rules WHERE 'acme_app' = ANY(user_name)",
    );
    assert_eq!(rules.trim(), "2", "loaded by the server");
    // Hosts removed: out again.
    dbs.apply_user(&fewer).await?;
    assert!(!srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1").0);
    assert_eq!(std::fs::read_to_string(&hba)?, closed);
    // TCP open again (the rest of the test uses it), with the user's lines
    // in place: dropping the user removes them (checked at the end).
    std::fs::write(
        &hba,
        berth_services::dbsql::postgres::hba_with(&original, &remote.name, &remote.hosts),
    )?;
    srv.root("postgres", "SELECT pg_reload_conf()");
    let sizes = dbs.sizes(e).await?;
    assert!(sizes.iter().any(|(n, b)| n == "acme_shop" && *b > 0), "{sizes:?}");
    // Export (custom format), import into a fresh database: the data and
    // the owner role's ownership round-trip.
    let dir = tempfile::tempdir()?;
    let dump = dir.path().join("shop.dump");
    assert!(dbs.export(e, &id("acme_shop"), &dump).await? > 100);
    dbs.ensure_database(e, &id("acme_copy")).await?;
    dbs.import(e, &id("acme_copy"), &dump).await?;
    let (_, out, _) = srv.root("acme_copy", "SELECT v FROM t");
    assert_eq!(out.trim(), "42");
    let (_, owner, _) = srv.root("acme_copy", "SELECT tableowner FROM pg_tables WHERE tablename = 't'");
    assert_eq!(owner.trim(), "acme_copy_owner");
    // Plain SQL (psql would run its \! escapes) is refused before anything runs.
    let pwned = dir.path().join("pwned");
    let f = dir.path().join("hostile.sql");
    std::fs::write(&f, format!("CREATE TABLE x (v int);\n\\! touch {}\n", pwned.display()))?;
    assert!(dbs.import(e, &id("acme_copy"), &f).await.is_err());
    assert!(!pwned.exists());
    let (_, x, _) = srv.root("acme_copy", "SELECT count(*) FROM pg_tables WHERE tablename = 'x'");
    assert_eq!(x.trim(), "0");
    let (_, left, _) = srv.root(
        "postgres",
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'berth_imp_%'",
    );
    assert_eq!(left.trim(), "0", "the import login is gone");
    dbs.drop_database(e, &id("acme_copy")).await?;
    // Drop the user (it holds privileges in two databases), then a database.
    dbs.drop_user(e, &id("acme_app"), &[id("acme_shop"), id("acme_stats")])
        .await?;
    dbs.drop_user(e, &id("acme_app"), &[id("acme_shop"), id("acme_stats")])
        .await?;
    assert!(!srv.client("acme_app", "Second-Password-2", "acme_shop", "SELECT 1").0);
    // A user that made a table as itself (after RESET role) can still be
    // dropped: the table goes to the database's owner role.
    let (ok, _, err) = srv.client(
        "acme_web",
        "Web-Password-3",
        "acme_shop",
        "RESET role; CREATE TABLE mine (v int)",
    );
    assert!(ok, "{err}");
    dbs.drop_user(e, &id("acme_web"), &[id("acme_shop"), id("acme_stats")])
        .await?;
    let (_, owner, _) = srv.root("acme_shop", "SELECT tableowner FROM pg_tables WHERE tablename = 'mine'");
    assert_eq!(owner.trim(), "acme_shop_owner");
    dbs.drop_database(e, &id("acme_shop")).await?;
    dbs.drop_database(e, &id("acme_shop")).await?;
    let (_, out, _) = srv.root("postgres", "SELECT datname FROM pg_database");
    assert!(!out.lines().any(|l| l == "acme_shop"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&hba)?,
        original,
        "the dropped user's lines are gone"
    );
    let (_, roles, _) = srv.root("postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'acme%'");
    assert_eq!(roles.trim(), "1", "only acme_stats_owner is left");
    Ok(())
}
