//! Built-in job kinds: the engine's own proofs (no-op, sleep, fail-N-times,
//! used by tests and benchmarks) and the panel's maintenance work.

use crate::handler::{BoxFuture, JobHandler, Registry, StepCtx, StepError};
use serde_json::{Value, json};

pub fn register(r: &mut Registry) {
    r.register(Noop);
    r.register(Sleep);
    r.register(FailN);
    r.register(PruneSessions);
    r.register(AuditVerify);
}

fn no_fields(payload: &Value) -> Result<(), String> {
    match payload {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        _ => Err("this job takes no payload".into()),
    }
}

fn uint(payload: &Value, key: &str, default: u64, max: u64) -> Result<u64, String> {
    match payload.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if n <= max => Ok(n),
            _ => Err(format!("{key} must be a whole number from 0 to {max}")),
        },
    }
}

fn only_keys(payload: &Value, allowed: &[&str]) -> Result<(), String> {
    match payload {
        Value::Null => Ok(()),
        Value::Object(m) => match m.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("unknown field {k:?}")),
            None => Ok(()),
        },
        _ => Err("the payload must be an object".into()),
    }
}

/// Does nothing, successfully. Measures the engine's own overhead.
pub struct Noop;

impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "builtin.noop"
    }
    fn description(&self) -> &'static str {
        "Does nothing; measures the job engine itself."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        no_fields(payload)?;
        Ok(vec!["noop".into()])
    }
    fn run_step<'a>(&'a self, _ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Sleeps `ms` milliseconds (at most 10 minutes), stopping early on cancel.
pub struct Sleep;

impl JobHandler for Sleep {
    fn kind(&self) -> &'static str {
        "builtin.sleep"
    }
    fn description(&self) -> &'static str {
        "Sleeps {\"ms\": N} milliseconds; stops early when cancelled."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only_keys(payload, &["ms"])?;
        uint(payload, "ms", 1000, 600_000)?;
        Ok(vec!["sleep".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let ms = uint(ctx.payload(), "ms", 1000, 600_000).map_err(StepError::Permanent)?;
            let mut cancel = ctx.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(ms)) => Ok(Some(json!({ "slept_ms": ms }))),
                _ = cancel.wait_for(|c| *c) => Err(StepError::Retry("cancelled while sleeping".into())),
            }
        })
    }
}

/// `steps` steps; step `fail_at_step` fails on the first `fail_times`
/// attempts. Each step logs that it ran, so tests can prove succeeded steps
/// are not run again when the job resumes.
pub struct FailN;

impl JobHandler for FailN {
    fn kind(&self) -> &'static str {
        "builtin.fail_n"
    }
    fn description(&self) -> &'static str {
        "Test job: {\"steps\": K, \"fail_at_step\": S, \"fail_times\": N} fails step S on its first N attempts."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        only_keys(payload, &["steps", "fail_at_step", "fail_times"])?;
        let steps = uint(payload, "steps", 1, 20)?.max(1);
        let at = uint(payload, "fail_at_step", 0, 19)?;
        uint(payload, "fail_times", 1, 100)?;
        if at >= steps {
            return Err("fail_at_step must be less than steps".into());
        }
        Ok((0..steps).map(|i| format!("step-{i}")).collect())
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let p = ctx.payload();
            let at = uint(p, "fail_at_step", 0, 19).map_err(StepError::Permanent)? as usize;
            let times = uint(p, "fail_times", 1, 100).map_err(StepError::Permanent)? as i64;
            ctx.log("info", format!("ran step {idx} on attempt {}", ctx.attempt()))
                .await;
            if idx == at && ctx.attempt() <= times {
                return Err(StepError::Retry(format!(
                    "planned failure {} of {times}",
                    ctx.attempt()
                )));
            }
            Ok(Some(json!({ "step": idx, "attempt": ctx.attempt() })))
        })
    }
}

/// Deletes expired and idle login sessions.
pub struct PruneSessions;

impl JobHandler for PruneSessions {
    fn kind(&self) -> &'static str {
        "maintenance.prune_sessions"
    }
    fn description(&self) -> &'static str {
        "Deletes expired and idle login sessions."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        no_fields(payload)?;
        Ok(vec!["prune".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let db_err = |e: berth_db::DbError| StepError::Retry(format!("database: {e}"));
            let mut c = ctx.db().conn().await.map_err(db_err)?;
            let idle = berth_db::settings::effective_i64(&mut c, "auth.session.idle_minutes")
                .await
                .map_err(db_err)?;
            let cutoff = berth_db::now_ms() - idle * 60_000;
            let n = berth_db::auth::prune_sessions(&mut c, cutoff).await.map_err(db_err)?;
            ctx.log("info", format!("removed {n} expired session(s)")).await;
            Ok(Some(json!({ "removed": n })))
        })
    }
}

/// Recomputes the audit hash chain; fails loudly when it is broken.
pub struct AuditVerify;

impl JobHandler for AuditVerify {
    fn kind(&self) -> &'static str {
        "maintenance.audit_verify"
    }
    fn description(&self) -> &'static str {
        "Verifies the audit log's hash chain; the job fails if any entry was changed or removed."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        no_fields(payload)?;
        Ok(vec!["verify".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let mut c = ctx
                .db()
                .conn()
                .await
                .map_err(|e| StepError::Retry(format!("database: {e}")))?;
            let r = berth_db::audit::verify(&mut c)
                .await
                .map_err(|e| StepError::Retry(format!("database: {e}")))?;
            ctx.log(if r.ok { "info" } else { "error" }, &r.message).await;
            if r.ok {
                Ok(Some(json!({ "checked": r.checked })))
            } else {
                Err(StepError::Permanent(r.message))
            }
        })
    }
}
