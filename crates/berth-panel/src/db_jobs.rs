//! The job kinds that put tenants' databases and database users on their
//! servers: `database.apply`, `database.remove`, `database_user.apply`,
//! `database_user.remove`, and `databases.measure` (sizes, every hour).
//! They call the database's node: the in-process agent for `local`, an
//! enrolled agent over mutual TLS otherwise. Every request is idempotent,
//! so a retried job simply makes the same state true again.
//!
//! Job payloads carry ids and names only; a user's password hash is read
//! from the database by the job, never put in a payload or a log.

use crate::agents::Pki;
use berth_agent::dbs::{DbReply, DbRequest};
use berth_agent::node::LocalNode;
use berth_db::databases as dbs;
use berth_db::nodes;
use berth_jobs::{BoxFuture, JobHandler, StepCtx, StepError};
use berth_proto::api::databases::{DbEngine, DbIdent};
use berth_proto::api::tenants::TenantStatus;
use berth_proto::desired::{DbGrantSpec, DbSecret, DbUserSpec};
use berth_proto::{DatabaseId, DatabaseUserId, NodeId};
use serde_json::Value;
use std::sync::Arc;

pub(crate) fn db_err(e: berth_db::DbError) -> StepError {
    StepError::Retry(format!("database: {e}"))
}

pub(crate) fn field<T: serde::de::DeserializeOwned>(payload: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(payload.get(key).cloned().unwrap_or(Value::Null)).map_err(|e| format!("{key}: {e}"))
}

pub(crate) fn only(payload: &Value, keys: &[&str]) -> Result<(), String> {
    let obj = payload.as_object().ok_or("the payload must be an object")?;
    match obj.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown payload field {k}; this kind takes {}",
            keys.join(", ")
        )),
        None => Ok(()),
    }
}

/// Send one request to a database server's node.
pub(crate) async fn on_node(
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    ctx: &StepCtx,
    node: Option<NodeId>,
    req: DbRequest,
) -> Result<DbReply, StepError> {
    match node {
        None => {
            let n = local.as_ref().ok_or_else(|| {
                StepError::Permanent("this panel runs no local node: databases need an enrolled node".into())
            })?;
            n.databases().handle(req).await.map_err(|e| {
                if e.retryable() {
                    StepError::Retry(e.to_string())
                } else {
                    StepError::Permanent(e.to_string())
                }
            })
        }
        Some(id) => {
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let row = nodes::get_by_id(&mut c, id).await.map_err(db_err)?;
            drop(c);
            let rid = ctx.job().id.to_string();
            pki.call(&row, reqwest::Method::POST, "/v1/databases", Some(&req), Some(&rid))
                .await
                .map_err(agent_err)
        }
    }
}

pub struct DatabaseApply {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for DatabaseApply {
    fn kind(&self) -> &'static str {
        "database.apply"
    }
    fn description(&self) -> &'static str {
        "Creates a tenant's database on its server (nothing when it exists)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["database_id"])?;
        field::<DatabaseId>(payload, "database_id")?;
        Ok(vec!["create on server".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id: DatabaseId = field(ctx.payload(), "database_id").map_err(StepError::Permanent)?;
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let db = match dbs::get_database(&mut c, &berth_core::Scope::system(), id).await {
                Ok(d) => d,
                Err(berth_db::DbError::NotFound) => {
                    ctx.log("info", "the database was deleted meanwhile; nothing to create")
                        .await;
                    return Ok(None);
                }
                Err(e) => return Err(db_err(e)),
            };
            let node = dbs::database_node(&mut c, id).await.map_err(db_err)?;
            drop(c);
            let req = DbRequest::EnsureDatabase {
                engine: db.engine,
                name: db.name.clone(),
            };
            on_node(&self.node, &self.pki, ctx, node, req).await?;
            ctx.log(
                "info",
                format!("{} database {} exists on {}", db.engine, db.name, db.node),
            )
            .await;
            Ok(None)
        })
    }
}

pub struct DatabaseRemove {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for DatabaseRemove {
    fn kind(&self) -> &'static str {
        "database.remove"
    }
    fn description(&self) -> &'static str {
        "Drops a deleted database from its server (its data is gone)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["engine", "name", "node_id"])?;
        field::<DbEngine>(payload, "engine")?;
        field::<DbIdent>(payload, "name")?;
        field::<Option<NodeId>>(payload, "node_id")?;
        Ok(vec!["drop on server".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let p = ctx.payload();
            let engine: DbEngine = field(p, "engine").map_err(StepError::Permanent)?;
            let name: DbIdent = field(p, "name").map_err(StepError::Permanent)?;
            let node: Option<NodeId> = field(p, "node_id").map_err(StepError::Permanent)?;
            on_node(
                &self.node,
                &self.pki,
                ctx,
                node,
                DbRequest::DropDatabase {
                    engine,
                    name: name.clone(),
                },
            )
            .await?;
            ctx.log("info", format!("{engine} database {name} dropped")).await;
            Ok(None)
        })
    }
}

/// The desired state of a user, from the panel's database.
async fn user_spec(
    c: &mut berth_db::Conn,
    id: DatabaseUserId,
) -> Result<Option<(DbUserSpec, Option<NodeId>)>, StepError> {
    let user = match dbs::get_user(c, &berth_core::Scope::system(), id).await {
        Ok(u) => u,
        Err(berth_db::DbError::NotFound) => return Ok(None),
        Err(e) => return Err(db_err(e)),
    };
    let (node, secret) = dbs::user_node_and_secret(c, id).await.map_err(db_err)?;
    let secret = DbSecret::parse(&secret).map_err(|e| StepError::Permanent(format!("stored password hash: {e}")))?;
    let tenant = berth_db::tenants::get(c, &berth_core::Scope::system(), user.tenant_id)
        .await
        .map_err(db_err)?;
    let tenant_databases = dbs::tenant_databases_on(c, user.tenant_id, user.engine, node)
        .await
        .map_err(db_err)?;
    let spec = DbUserSpec {
        engine: user.engine,
        name: user.name,
        secret,
        hosts: user.hosts,
        grants: user
            .grants
            .into_iter()
            .map(|g| DbGrantSpec {
                database: g.database,
                access: g.access,
            })
            .collect(),
        tenant_databases,
        locked: user.locked || tenant.status == TenantStatus::Suspended,
    };
    Ok(Some((spec, node)))
}

pub struct DatabaseUserApply {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for DatabaseUserApply {
    fn kind(&self) -> &'static str {
        "database_user.apply"
    }
    fn description(&self) -> &'static str {
        "Puts a database user's password, grants, hosts and lock state on its server."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["user_id"])?;
        field::<DatabaseUserId>(payload, "user_id")?;
        Ok(vec!["apply on server".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id: DatabaseUserId = field(ctx.payload(), "user_id").map_err(StepError::Permanent)?;
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let Some((spec, node)) = user_spec(&mut c, id).await? else {
                ctx.log("info", "the user was deleted meanwhile; nothing to apply")
                    .await;
                return Ok(None);
            };
            drop(c);
            let summary = format!(
                "{} user {}: {} grant(s), {} remote host(s){}",
                spec.engine,
                spec.name,
                spec.grants.len(),
                spec.hosts.len(),
                if spec.locked { ", locked" } else { "" }
            );
            on_node(&self.node, &self.pki, ctx, node, DbRequest::ApplyUser { spec }).await?;
            ctx.log("info", summary).await;
            Ok(None)
        })
    }
}

pub struct DatabaseUserRemove {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
}

impl JobHandler for DatabaseUserRemove {
    fn kind(&self) -> &'static str {
        "database_user.remove"
    }
    fn description(&self) -> &'static str {
        "Drops a deleted database user from its server (its sessions end)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["engine", "name", "node_id", "tenant_databases"])?;
        field::<DbEngine>(payload, "engine")?;
        field::<DbIdent>(payload, "name")?;
        field::<Option<NodeId>>(payload, "node_id")?;
        field::<Vec<DbIdent>>(payload, "tenant_databases")?;
        Ok(vec!["drop on server".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let p = ctx.payload();
            let engine: DbEngine = field(p, "engine").map_err(StepError::Permanent)?;
            let name: DbIdent = field(p, "name").map_err(StepError::Permanent)?;
            let node: Option<NodeId> = field(p, "node_id").map_err(StepError::Permanent)?;
            let tenant_databases: Vec<DbIdent> = field(p, "tenant_databases").map_err(StepError::Permanent)?;
            let req = DbRequest::DropUser {
                engine,
                name: name.clone(),
                tenant_databases,
            };
            on_node(&self.node, &self.pki, ctx, node, req).await?;
            ctx.log("info", format!("{engine} user {name} dropped")).await;
            Ok(None)
        })
    }
}

pub struct DatabasesMeasure {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
    pub dumps: Option<std::path::PathBuf>,
}

impl JobHandler for DatabasesMeasure {
    fn kind(&self) -> &'static str {
        "databases.measure"
    }
    fn description(&self) -> &'static str {
        "Reads the size of every tenant database from its server (for usage and the size quota)."
    }
    fn steps(&self, _payload: &Value) -> Result<Vec<String>, String> {
        Ok(vec!["measure".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let servers = dbs::servers(&mut c).await.map_err(db_err)?;
            drop(c);
            let mut measured = 0;
            let mut failed = Vec::new();
            for (engine, node) in servers {
                match on_node(&self.node, &self.pki, ctx, node, DbRequest::Sizes { engine }).await {
                    Ok(r) => {
                        let mut c = ctx.db().conn().await.map_err(db_err)?;
                        dbs::set_sizes(&mut c, engine, node, &r.sizes).await.map_err(db_err)?;
                        measured += r.sizes.len();
                    }
                    // One unreachable server must not keep the others
                    // unmeasured; it is named in the log.
                    Err(e) => failed.push(format!("{engine} on {}: {e}", dbs::node_key(node))),
                }
            }
            for f in &failed {
                ctx.log("warn", f).await;
            }
            // Exports are downloadable for a day; stale uploads go too.
            if let Ok(dir) = dump_dir(&self.dumps) {
                let day = std::time::Duration::from_secs(86_400);
                let mut removed = 0;
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let old = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok());
                    if old.is_some_and(|a| a > day) && std::fs::remove_file(e.path()).is_ok() {
                        removed += 1;
                    }
                }
                if removed > 0 {
                    ctx.log("info", format!("removed {removed} dump file(s) older than a day"))
                        .await;
                }
            }
            ctx.log("info", format!("measured {measured} database(s)")).await;
            Ok(Some(serde_json::json!({ "measured": measured, "failed": failed })))
        })
    }
}

/// The panel's dump directory (exports to download and uploaded imports
/// live there; an enrolled node's dump travels over the RPC).
fn dump_dir(dumps: &Option<std::path::PathBuf>) -> Result<std::path::PathBuf, StepError> {
    dumps
        .clone()
        .ok_or_else(|| StepError::Permanent("this panel has no dump directory".into()))
}

pub(crate) fn agent_err(e: crate::agents::AgentError) -> StepError {
    if e.retryable() {
        StepError::Retry(e.to_string())
    } else {
        StepError::Permanent(e.to_string())
    }
}

fn op_err(e: berth_agent::dbs::DbOpError) -> StepError {
    if e.retryable() {
        StepError::Retry(e.to_string())
    } else {
        StepError::Permanent(e.to_string())
    }
}

/// The file a finished export job wrote (its step artifact names it).
pub fn export_file(
    dir: &std::path::Path,
    job: berth_proto::JobId,
    format: berth_agent::dbs::DumpFormat,
) -> std::path::PathBuf {
    dir.join(format!("export-{job}.{}", format.extension()))
}

pub struct DatabaseExport {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
    pub dumps: Option<std::path::PathBuf>,
}

impl JobHandler for DatabaseExport {
    fn kind(&self) -> &'static str {
        "database.export"
    }
    fn description(&self) -> &'static str {
        "Dumps a database into a compressed file the tenant downloads (kept 24 hours)."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["database_id"])?;
        field::<DatabaseId>(payload, "database_id")?;
        Ok(vec!["dump".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id: DatabaseId = field(ctx.payload(), "database_id").map_err(StepError::Permanent)?;
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let db = dbs::get_database(&mut c, &berth_core::Scope::system(), id)
                .await
                .map_err(|e| match e {
                    berth_db::DbError::NotFound => StepError::Permanent("the database was deleted".into()),
                    e => db_err(e),
                })?;
            let node_id = dbs::database_node(&mut c, id).await.map_err(db_err)?;
            let format = berth_agent::dbs::DumpFormat::of(db.engine);
            let file = export_file(&dump_dir(&self.dumps)?, ctx.job().id, format);
            let bytes = match node_id {
                None => {
                    drop(c);
                    let node = self
                        .node
                        .as_ref()
                        .ok_or_else(|| StepError::Permanent("this panel runs no local node".into()))?;
                    node.databases()
                        .export(db.engine, &db.name, &file)
                        .await
                        .map_err(op_err)?
                }
                Some(n) => {
                    let row = nodes::get_by_id(&mut c, n).await.map_err(db_err)?;
                    drop(c);
                    let req = berth_agent::rpc::DatabaseRef {
                        engine: db.engine,
                        name: db.name.clone(),
                    };
                    let rid = ctx.job().id.to_string();
                    let r = self
                        .pki
                        .call_download(&row, "/v1/databases/export", &req, Some(&rid), &file)
                        .await;
                    if r.is_err() {
                        let _ = std::fs::remove_file(&file);
                    }
                    r.map_err(agent_err)?
                }
            };
            ctx.log("info", format!("{} {} dumped: {bytes} bytes", db.engine, db.name))
                .await;
            Ok(Some(
                serde_json::json!({ "bytes": bytes, "format": format, "database_id": id }),
            ))
        })
    }
}

/// An uploaded import's file name: `import-<uuid>` (never a path).
pub fn upload_name_ok(name: &str) -> bool {
    name.strip_prefix("import-")
        .is_some_and(|u| uuid::Uuid::parse_str(u).is_ok())
}

pub struct DatabaseImport {
    pub node: Option<Arc<LocalNode>>,
    pub pki: Arc<Pki>,
    pub dumps: Option<std::path::PathBuf>,
}

impl JobHandler for DatabaseImport {
    fn kind(&self) -> &'static str {
        "database.import"
    }
    fn description(&self) -> &'static str {
        "Loads an uploaded dump into a database, as a login limited to that database."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only(payload, &["database_id", "upload"])?;
        field::<DatabaseId>(payload, "database_id")?;
        let up: String = field(payload, "upload")?;
        if !upload_name_ok(&up) {
            return Err("upload must be an upload's name".into());
        }
        Ok(vec!["import".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let id: DatabaseId = field(ctx.payload(), "database_id").map_err(StepError::Permanent)?;
            let up: String = field(ctx.payload(), "upload").map_err(StepError::Permanent)?;
            if !upload_name_ok(&up) {
                return Err(StepError::Permanent("upload must be an upload's name".into()));
            }
            let file = dump_dir(&self.dumps)?.join(&up);
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let db = dbs::get_database(&mut c, &berth_core::Scope::system(), id)
                .await
                .map_err(|e| match e {
                    berth_db::DbError::NotFound => StepError::Permanent("the database was deleted".into()),
                    e => db_err(e),
                })?;
            let node_id = dbs::database_node(&mut c, id).await.map_err(db_err)?;
            let r = match node_id {
                None => {
                    drop(c);
                    match self.node.as_ref() {
                        Some(node) => node
                            .databases()
                            .import(db.engine, &db.name, &file)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string()),
                        None => Err("this panel runs no local node".into()),
                    }
                }
                Some(n) => {
                    let row = nodes::get_by_id(&mut c, n).await.map_err(db_err)?;
                    drop(c);
                    let rid = ctx.job().id.to_string();
                    let path = format!("/v1/databases/import/{}/{}", db.engine, db.name);
                    self.pki
                        .call_upload::<Value>(&row, &path, &file, Some(&rid))
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
            };
            // A failed import is not retried with the same dump: the file goes.
            let _ = std::fs::remove_file(&file);
            match r {
                Ok(()) => {
                    ctx.log("info", format!("dump imported into {} {}", db.engine, db.name))
                        .await;
                    Ok(None)
                }
                Err(e) => {
                    ctx.log("error", &e).await;
                    Err(StepError::Permanent(e))
                }
            }
        })
    }
}
