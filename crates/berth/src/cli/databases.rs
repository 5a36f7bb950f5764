//! `berth databases …` and `berth database-users …`. A database or user is
//! named by its id or its full name (with `--engine` when both engines have
//! one of that name). Changes answer with their job; `--wait` follows it.

use super::output::{Ctx, opt, opt_ts, page_footer, ts};
use super::table::{Table, print_fields};
use anyhow::{Context, bail};
use berth_proto::api::databases::{
    CreateDatabase, CreateDatabaseUser, Database, DatabaseQuery, DatabaseUser, DatabaseUserChange, DbAccess, DbEngine,
    DbGrant, DbHost, DbIdent, DbPassword, RotateDbPassword, UpdateDatabaseUser,
};
use berth_proto::{AccountName, DatabaseId, DatabaseUserId, JobId, TenantId};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum EngineArg {
    Mariadb,
    Postgres,
}

impl From<EngineArg> for DbEngine {
    fn from(e: EngineArg) -> DbEngine {
        match e {
            EngineArg::Mariadb => DbEngine::Mariadb,
            EngineArg::Postgres => DbEngine::Postgres,
        }
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum DatabasesCmd {
    /// List databases you can see.
    List {
        #[arg(long)]
        tenant: Option<TenantId>,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        /// Text in the name.
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one database (id or name).
    Show {
        database: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
    },
    /// Create a database; NAME gets the tenant's prefix (`shop` → `acme_shop`).
    Create {
        #[arg(value_parser = DbIdent::parse)]
        name: DbIdent,
        #[arg(long)]
        tenant: TenantId,
        #[arg(long, value_enum)]
        engine: EngineArg,
        /// An enrolled node with the db role (default: the panel's own).
        #[arg(long, value_parser = AccountName::parse)]
        node: Option<AccountName>,
        #[arg(long)]
        wait: bool,
    },
    /// Drop a database and its data.
    Delete {
        database: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        #[arg(long)]
        wait: bool,
    },
    /// Dump a database and download it (MariaDB: .sql.gz; PostgreSQL:
    /// pg_dump's custom format).
    Export {
        database: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        /// Where to write it (default: NAME.sql.gz or NAME.dump here).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Load a dump into a database (MariaDB: SQL, plain or gzip;
    /// PostgreSQL: pg_dump -Fc). Runs as a login limited to that database.
    Import {
        database: String,
        file: std::path::PathBuf,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        #[arg(long)]
        wait: bool,
    },
    /// The database engines a node manages, with their versions.
    Engines {
        /// An enrolled node (default: the panel's own).
        #[arg(long)]
        node: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum DatabaseUsersCmd {
    /// List database users you can see.
    List {
        #[arg(long)]
        tenant: Option<TenantId>,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        #[arg(long)]
        q: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show one user (id or name).
    Show {
        user: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
    },
    /// Create a user; the generated password is printed once.
    Create {
        #[arg(value_parser = DbIdent::parse)]
        name: DbIdent,
        #[arg(long)]
        tenant: TenantId,
        #[arg(long, value_enum)]
        engine: EngineArg,
        /// DATABASE=all or DATABASE=read_only (name or id; repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// A remote address or network allowed besides the server itself
        /// (repeatable; MariaDB only).
        #[arg(long = "host", value_parser = parse_host)]
        hosts: Vec<DbHost>,
        /// Read the password from this environment variable instead of
        /// generating one (never on the command line).
        #[arg(long)]
        password_env: Option<String>,
        #[arg(long, value_parser = AccountName::parse)]
        node: Option<AccountName>,
        #[arg(long)]
        wait: bool,
    },
    /// Replace a user's grants and/or remote hosts.
    Update {
        user: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Remove every grant.
        #[arg(long, conflicts_with = "grants")]
        no_grants: bool,
        #[arg(long = "host", value_parser = parse_host)]
        hosts: Vec<DbHost>,
        /// Remove every remote host.
        #[arg(long, conflicts_with = "hosts")]
        no_hosts: bool,
        #[arg(long)]
        wait: bool,
    },
    /// A new password (generated and printed once, or from --password-env).
    RotatePassword {
        user: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        #[arg(long)]
        password_env: Option<String>,
        #[arg(long)]
        wait: bool,
    },
    /// Drop a user from its server.
    Delete {
        user: String,
        #[arg(long, value_enum)]
        engine: Option<EngineArg>,
        #[arg(long)]
        wait: bool,
    },
}

fn parse_host(s: &str) -> Result<DbHost, String> {
    DbHost::try_from(s.to_owned()).map_err(|e| e.to_string())
}

fn password_from(env: Option<&str>) -> anyhow::Result<Option<DbPassword>> {
    let Some(var) = env else { return Ok(None) };
    let v = std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
    Ok(Some(DbPassword::try_from(v)?))
}

/// A database by id or by full name.
async fn find_database(ctx: &Ctx, what: &str, engine: Option<EngineArg>) -> anyhow::Result<Database> {
    if let Ok(id) = what.parse::<DatabaseId>() {
        return Ok(ctx.client.get_database(id).await?);
    }
    let page = ctx
        .client
        .list_databases(&DatabaseQuery {
            engine: engine.map(Into::into),
            q: Some(what.to_owned()),
            limit: Some(500),
            ..Default::default()
        })
        .await?;
    let mut hits: Vec<Database> = page.items.into_iter().filter(|d| d.name.as_str() == what).collect();
    match hits.len() {
        0 => bail!("no database named {what}"),
        1 => Ok(hits.remove(0)),
        _ => bail!("{what} exists on more than one engine or node: give --engine or its id"),
    }
}

async fn find_user(ctx: &Ctx, what: &str, engine: Option<EngineArg>) -> anyhow::Result<DatabaseUser> {
    if let Ok(id) = what.parse::<DatabaseUserId>() {
        return Ok(ctx.client.get_database_user(id).await?);
    }
    let page = ctx
        .client
        .list_database_users(&DatabaseQuery {
            engine: engine.map(Into::into),
            q: Some(what.to_owned()),
            limit: Some(500),
            ..Default::default()
        })
        .await?;
    let mut hits: Vec<DatabaseUser> = page.items.into_iter().filter(|d| d.name.as_str() == what).collect();
    match hits.len() {
        0 => bail!("no database user named {what}"),
        1 => Ok(hits.remove(0)),
        _ => bail!("{what} exists on more than one engine or node: give --engine or its id"),
    }
}

/// `DATABASE=ACCESS` flags into grants (databases by name or id).
async fn grants(ctx: &Ctx, flags: &[String], engine: Option<EngineArg>) -> anyhow::Result<Vec<DbGrant>> {
    let mut out = Vec::new();
    for g in flags {
        let Some((db, access)) = g.split_once('=') else {
            bail!("--grant takes DATABASE=all or DATABASE=read_only, not {g:?}");
        };
        let access = match access {
            "all" => DbAccess::All,
            "read_only" | "read-only" | "ro" => DbAccess::ReadOnly,
            o => bail!("--grant access must be all or read_only, not {o:?}"),
        };
        out.push(DbGrant {
            database_id: find_database(ctx, db, engine).await?.id,
            access,
        });
    }
    Ok(out)
}

async fn done(ctx: &Ctx, job: JobId, wait: bool) -> anyhow::Result<ExitCode> {
    if wait {
        return super::jobs::wait_for(ctx, job).await;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_databases(ctx: &Ctx, cmd: DatabasesCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        DatabasesCmd::List {
            tenant,
            engine,
            q,
            limit,
            offset,
        } => {
            let page = c
                .list_databases(&DatabaseQuery {
                    tenant_id: tenant,
                    engine: engine.map(Into::into),
                    q,
                    limit,
                    offset,
                })
                .await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "NAME", "ENGINE", "NODE", "SIZE", "TENANT", "CREATED"]);
                for d in &page.items {
                    t.row(vec![
                        d.id.to_string(),
                        d.name.to_string(),
                        d.engine.to_string(),
                        d.node.clone(),
                        d.size_bytes.map_or("-".into(), human_size),
                        d.tenant_id.to_string(),
                        ts(d.created_at),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
            Ok(ExitCode::SUCCESS)
        }
        DatabasesCmd::Show { database, engine } => {
            let d = find_database(ctx, &database, engine).await?;
            show_database(ctx, &d)?;
            Ok(ExitCode::SUCCESS)
        }
        DatabasesCmd::Create {
            name,
            tenant,
            engine,
            node,
            wait,
        } => {
            let ch = c
                .create_database(&CreateDatabase {
                    tenant_id: tenant,
                    engine: engine.into(),
                    name,
                    node,
                })
                .await?;
            ctx.emit(&ch, |ch| {
                print_fields(&[
                    ("database", ch.database.id.to_string()),
                    ("name", ch.database.name.to_string()),
                    ("engine", ch.database.engine.to_string()),
                    ("node", ch.database.node.clone()),
                    ("job", ch.job_id.to_string()),
                ]);
            })?;
            done(ctx, ch.job_id, wait).await
        }
        DatabasesCmd::Delete { database, engine, wait } => {
            let d = find_database(ctx, &database, engine).await?;
            let jobs = c.delete_database(d.id).await?;
            ctx.emit(&jobs, |j| {
                let ids: Vec<String> = j.job_ids.iter().map(ToString::to_string).collect();
                print_fields(&[("deleted", d.name.to_string()), ("jobs", ids.join(", "))]);
            })?;
            match jobs.job_ids.first() {
                Some(j) => done(ctx, *j, wait).await,
                None => Ok(ExitCode::SUCCESS),
            }
        }
        DatabasesCmd::Export { database, engine, out } => {
            let d = find_database(ctx, &database, engine).await?;
            let jobs = c.export_database(d.id).await?;
            let Some(job) = jobs.job_ids.first().copied() else {
                bail!("the panel started no export job");
            };
            let code = super::jobs::wait_for(ctx, job).await?;
            if code != ExitCode::SUCCESS {
                return Ok(code);
            }
            let ext = match d.engine {
                DbEngine::Mariadb => "sql.gz",
                DbEngine::Postgres => "dump",
            };
            let out = out.unwrap_or_else(|| format!("{}.{ext}", d.name).into());
            let n = c.download_export(d.id, job, &out).await?;
            eprintln!("wrote {} ({n} bytes)", out.display());
            Ok(ExitCode::SUCCESS)
        }
        DatabasesCmd::Import {
            database,
            file,
            engine,
            wait,
        } => {
            let d = find_database(ctx, &database, engine).await?;
            let jobs = c.import_database(d.id, &file).await?;
            ctx.emit(&jobs, |j| {
                let ids: Vec<String> = j.job_ids.iter().map(ToString::to_string).collect();
                print_fields(&[("database", d.name.to_string()), ("job", ids.join(", "))]);
            })?;
            match jobs.job_ids.first() {
                Some(j) => done(ctx, *j, wait).await,
                None => Ok(ExitCode::SUCCESS),
            }
        }
        DatabasesCmd::Engines { node } => {
            let list = c.database_engines(node.as_deref()).await?;
            ctx.emit(&list, |list| {
                let mut t = Table::new(&[
                    "ENGINE",
                    "VERSION",
                    "PORT",
                    "DATABASES",
                    "CONNECTIONS",
                    "DISK FREE",
                    "ERROR",
                ]);
                for e in list {
                    t.row(vec![
                        e.engine.to_string(),
                        opt(e.version.as_ref()),
                        e.port.to_string(),
                        opt(e.databases.as_ref()),
                        match (e.connections, e.max_connections) {
                            (Some(n), Some(m)) => format!("{n}/{m}"),
                            _ => "-".into(),
                        },
                        match (e.disk_free_mb, e.disk_total_mb) {
                            (Some(f), Some(t)) => format!("{f} of {t} MiB"),
                            _ => "-".into(),
                        },
                        opt(e.error.as_ref()),
                    ]);
                }
                t.print();
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn human_size(b: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if b >= MIB {
        format!("{:.1} MiB", b as f64 / MIB as f64)
    } else {
        format!("{} KiB", b / 1024)
    }
}

fn show_database(ctx: &Ctx, d: &Database) -> anyhow::Result<()> {
    ctx.emit(d, |d| {
        print_fields(&[
            ("id", d.id.to_string()),
            ("name", d.name.to_string()),
            ("engine", d.engine.to_string()),
            ("node", d.node.clone()),
            ("size", d.size_bytes.map_or("-".into(), human_size)),
            ("measured", opt_ts(d.size_at)),
            ("tenant", d.tenant_id.to_string()),
            ("last job", opt(d.last_job_id)),
            ("created", ts(d.created_at)),
        ]);
    })
}

fn user_report(ctx: &Ctx, ch: &DatabaseUserChange) -> anyhow::Result<()> {
    ctx.emit(ch, |ch| {
        let mut f = vec![
            ("user", ch.user.id.to_string()),
            ("name", ch.user.name.to_string()),
            ("engine", ch.user.engine.to_string()),
            ("job", ch.job_id.to_string()),
        ];
        if let Some(p) = &ch.password {
            f.push(("password", format!("{p}   (shown once: store it now)")));
        }
        print_fields(&f);
    })
}

fn show_user(ctx: &Ctx, u: &DatabaseUser) -> anyhow::Result<()> {
    ctx.emit(u, |u| {
        let grants: Vec<String> = u
            .grants
            .iter()
            .map(|g| format!("{} ({})", g.database, g.access.as_str()))
            .collect();
        let hosts: Vec<String> = u.hosts.iter().map(ToString::to_string).collect();
        print_fields(&[
            ("id", u.id.to_string()),
            ("name", u.name.to_string()),
            ("engine", u.engine.to_string()),
            ("node", u.node.clone()),
            (
                "grants",
                if grants.is_empty() {
                    "-".into()
                } else {
                    grants.join(", ")
                },
            ),
            (
                "remote hosts",
                if hosts.is_empty() {
                    "- (local only)".into()
                } else {
                    hosts.join(", ")
                },
            ),
            ("locked", u.locked.to_string()),
            ("password changed", ts(u.password_changed_at)),
            ("tenant", u.tenant_id.to_string()),
            ("last job", opt(u.last_job_id)),
            ("created", ts(u.created_at)),
        ]);
    })
}

pub async fn run_users(ctx: &Ctx, cmd: DatabaseUsersCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        DatabaseUsersCmd::List {
            tenant,
            engine,
            q,
            limit,
            offset,
        } => {
            let page = c
                .list_database_users(&DatabaseQuery {
                    tenant_id: tenant,
                    engine: engine.map(Into::into),
                    q,
                    limit,
                    offset,
                })
                .await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "NAME", "ENGINE", "NODE", "GRANTS", "LOCKED", "TENANT"]);
                for u in &page.items {
                    t.row(vec![
                        u.id.to_string(),
                        u.name.to_string(),
                        u.engine.to_string(),
                        u.node.clone(),
                        u.grants.len().to_string(),
                        u.locked.to_string(),
                        u.tenant_id.to_string(),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
            Ok(ExitCode::SUCCESS)
        }
        DatabaseUsersCmd::Show { user, engine } => {
            show_user(ctx, &find_user(ctx, &user, engine).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        DatabaseUsersCmd::Create {
            name,
            tenant,
            engine,
            grants: g,
            hosts,
            password_env,
            node,
            wait,
        } => {
            let req = CreateDatabaseUser {
                tenant_id: tenant,
                engine: engine.into(),
                name,
                password: password_from(password_env.as_deref())?,
                grants: grants(ctx, &g, Some(engine)).await?,
                hosts,
                node,
            };
            let ch = c.create_database_user(&req).await?;
            user_report(ctx, &ch)?;
            done(ctx, ch.job_id, wait).await
        }
        DatabaseUsersCmd::Update {
            user,
            engine,
            grants: g,
            no_grants,
            hosts,
            no_hosts,
            wait,
        } => {
            let u = find_user(ctx, &user, engine).await?;
            let eng = Some(match u.engine {
                DbEngine::Mariadb => EngineArg::Mariadb,
                DbEngine::Postgres => EngineArg::Postgres,
            });
            let req = UpdateDatabaseUser {
                grants: if no_grants || !g.is_empty() {
                    Some(grants(ctx, &g, eng).await?)
                } else {
                    None
                },
                hosts: (no_hosts || !hosts.is_empty()).then_some(hosts),
            };
            if req.grants.is_none() && req.hosts.is_none() {
                bail!("nothing to change: give --grant/--no-grants or --host/--no-hosts");
            }
            let ch = c.update_database_user(u.id, &req).await?;
            user_report(ctx, &ch)?;
            done(ctx, ch.job_id, wait).await
        }
        DatabaseUsersCmd::RotatePassword {
            user,
            engine,
            password_env,
            wait,
        } => {
            let u = find_user(ctx, &user, engine).await?;
            let req = RotateDbPassword {
                password: password_from(password_env.as_deref())?,
            };
            let ch = c.rotate_database_password(u.id, &req).await?;
            user_report(ctx, &ch)?;
            done(ctx, ch.job_id, wait).await
        }
        DatabaseUsersCmd::Delete { user, engine, wait } => {
            let u = find_user(ctx, &user, engine).await?;
            let jobs = c.delete_database_user(u.id).await?;
            ctx.emit(&jobs, |j| {
                let ids: Vec<String> = j.job_ids.iter().map(ToString::to_string).collect();
                print_fields(&[("deleted", u.name.to_string()), ("jobs", ids.join(", "))]);
            })?;
            match jobs.job_ids.first() {
                Some(j) => done(ctx, *j, wait).await,
                None => Ok(ExitCode::SUCCESS),
            }
        }
    }
}
