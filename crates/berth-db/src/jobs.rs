//! SQL of the durable job engine (the engine itself is `berth-jobs`).
//!
//! Every write a worker makes to a job it holds is conditioned on
//! `locked_by = <worker>` and `state = 'running'`: a worker that lost its
//! lease (and whose job another worker took over) cannot record anything.

use crate::row::{i, oi, ojson, oparse, os, ots, parse, s, ts};
use crate::{Backend, Conn, DbError, DbResult, Sql, now_ms};
use berth_core::{Scope, ScopeKind};
use berth_proto::api::jobs::{Job, JobLogLine, JobQuery, JobState, JobStep};
use berth_proto::{JobId, TenantId, UserId};
use sqlx::any::AnyRow;

macro_rules! cols {
    () => {
        "j.id, j.queue, j.kind, j.payload, j.priority, j.state, j.attempts, j.max_attempts, j.run_at, \
         j.idempotency_key, j.tenant_id, j.created_by, j.last_error, j.cancel_requested, j.created_at, \
         j.updated_at, j.started_at, j.finished_at"
    };
}

macro_rules! ret_cols {
    () => {
        "id, queue, kind, payload, priority, state, attempts, max_attempts, run_at, idempotency_key, tenant_id, \
         created_by, last_error, cancel_requested, created_at, updated_at, started_at, finished_at"
    };
}

fn decode(r: &AnyRow) -> DbResult<Job> {
    Ok(Job {
        id: parse(r, "id")?,
        queue: s(r, "queue")?,
        kind: s(r, "kind")?,
        payload: crate::row::json(r, "payload")?,
        priority: i(r, "priority")?,
        state: parse(r, "state")?,
        attempts: i(r, "attempts")?,
        max_attempts: i(r, "max_attempts")?,
        run_at: ts(r, "run_at")?,
        idempotency_key: os(r, "idempotency_key")?,
        tenant_id: oparse(r, "tenant_id")?,
        created_by: oparse(r, "created_by")?,
        last_error: os(r, "last_error")?,
        cancel_requested: i(r, "cancel_requested")? != 0,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        started_at: ots(r, "started_at")?,
        finished_at: ots(r, "finished_at")?,
        steps: Vec::new(),
    })
}

fn scope_filter(q: &mut Sql, scope: &Scope) {
    match scope.kind() {
        ScopeKind::All => {}
        ScopeKind::Reseller(r) => {
            q.push(" AND j.tenant_id IN (SELECT id FROM tenants WHERE owner_id = ")
                .bind(r.to_string())
                .push(")");
        }
        ScopeKind::Tenant(t) => {
            q.push(" AND j.tenant_id = ").bind(t.to_string());
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewJob {
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub priority: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub idempotency_key: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub created_by: Option<UserId>,
}

/// Insert a job. With an idempotency key that exists already, nothing is
/// inserted and the existing job is returned with `false`.
pub async fn insert(c: &mut Conn, n: NewJob) -> DbResult<(Job, bool)> {
    let id = JobId::new();
    let now = now_ms();
    let inserted = sqlx::query(concat!(
        "INSERT INTO jobs (id, queue, kind, payload, priority, state, attempts, max_attempts, run_at, ",
        "idempotency_key, tenant_id, created_by, cancel_requested, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $9, $10, 0, $11, $11) ",
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING ",
        ret_cols!()
    ))
    .bind(id.to_string())
    .bind(n.queue)
    .bind(n.kind)
    .bind(n.payload.to_string())
    .bind(n.priority)
    .bind(n.max_attempts)
    .bind(n.run_at)
    .bind(n.idempotency_key.clone())
    .bind(n.tenant_id.map(|t| t.to_string()))
    .bind(n.created_by.map(|u| u.to_string()))
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    match inserted {
        // A new job has no steps yet: no second read needed.
        Some(row) => Ok((decode(&row)?, true)),
        None => {
            let key = n.idempotency_key.unwrap_or_default();
            let row = sqlx::query(concat!("SELECT ", cols!(), " FROM jobs j WHERE j.idempotency_key = $1"))
                .bind(key)
                .fetch_one(&mut *c)
                .await?;
            Ok((decode(&row)?, false))
        }
    }
}

pub async fn get_unscoped(c: &mut Conn, id: JobId) -> DbResult<Job> {
    get(c, &Scope::system(), id).await
}

/// A job with its steps, inside the scope.
pub async fn get(c: &mut Conn, scope: &Scope, id: JobId) -> DbResult<Job> {
    let mut q = Sql::new(concat!("SELECT ", cols!(), " FROM jobs j WHERE j.id = "));
    q.bind(id.to_string());
    scope_filter(&mut q, scope);
    let row = q.query().fetch_optional(&mut *c).await?.ok_or(DbError::NotFound)?;
    let mut job = decode(&row)?;
    job.steps = steps(c, id).await?;
    Ok(job)
}

pub async fn list(c: &mut Conn, scope: &Scope, f: &JobQuery) -> DbResult<(Vec<Job>, i64)> {
    let (limit, offset) = berth_proto::api::page_bounds(f.limit, f.offset);
    let build = |select: &'static str| {
        let mut q = Sql::new(select);
        q.push(" FROM jobs j WHERE 1 = 1");
        scope_filter(&mut q, scope);
        if let Some(st) = f.state {
            q.push(" AND j.state = ").bind(st.as_str());
        }
        if let Some(k) = f.kind.as_deref() {
            q.push(" AND j.kind = ").bind(k.to_owned());
        }
        if let Some(qu) = f.queue.as_deref() {
            q.push(" AND j.queue = ").bind(qu.to_owned());
        }
        if let Some(t) = f.tenant_id {
            q.push(" AND j.tenant_id = ").bind(t.to_string());
        }
        q
    };
    let total = i(&build("SELECT COUNT(*) AS n").query().fetch_one(&mut *c).await?, "n")?;
    let mut q = build(concat!("SELECT ", cols!()));
    q.push(" ORDER BY j.created_at DESC, j.id DESC LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.query().fetch_all(&mut *c).await?;
    Ok((rows.iter().map(decode).collect::<DbResult<_>>()?, total))
}

/// Take the next ready job: highest priority, then oldest `run_at`. Run
/// inside a write transaction. On PostgreSQL `SKIP LOCKED` lets several
/// workers (and panels) claim in parallel without waiting on each other; on
/// SQLite the write transaction already serialises claimers.
pub async fn claim(c: &mut Conn, backend: Backend, worker: &str, lease_ms: i64) -> DbResult<Option<Job>> {
    claim_where(c, backend, worker, lease_ms, None).await
}

/// Claim a job of this kind only (a worker filling a batch of one kind).
pub async fn claim_kind(
    c: &mut Conn,
    backend: Backend,
    worker: &str,
    lease_ms: i64,
    kind: &str,
) -> DbResult<Option<Job>> {
    claim_where(c, backend, worker, lease_ms, Some(kind)).await
}

async fn claim_where(
    c: &mut Conn,
    backend: Backend,
    worker: &str,
    lease_ms: i64,
    kind: Option<&str>,
) -> DbResult<Option<Job>> {
    let now = now_ms();
    // One statement, so it is atomic without an explicit transaction: on
    // PostgreSQL `SKIP LOCKED` lets workers and panels claim in parallel; on
    // SQLite the statement holds the write lock for its duration. The
    // `jobs_claim` partial index serves the ORDER BY.
    macro_rules! claim_sql {
        ($kind:literal, $lock:literal) => {
            concat!(
                "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, ",
                "started_at = COALESCE(started_at, $3), updated_at = $3 ",
                "WHERE id = (SELECT id FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= $3",
                $kind,
                " ORDER BY priority DESC, run_at, id LIMIT 1",
                $lock,
                ") RETURNING ",
                ret_cols!()
            )
        };
    }
    let sql = match (backend, kind.is_some()) {
        (Backend::Postgres, false) => claim_sql!("", " FOR UPDATE SKIP LOCKED"),
        (Backend::Postgres, true) => claim_sql!(" AND kind = $4", " FOR UPDATE SKIP LOCKED"),
        (Backend::Sqlite, false) => claim_sql!("", ""),
        (Backend::Sqlite, true) => claim_sql!(" AND kind = $4", ""),
    };
    let mut q = sqlx::query(sql).bind(worker.to_owned()).bind(now + lease_ms).bind(now);
    if let Some(k) = kind {
        q = q.bind(k.to_owned());
    }
    let row = q.fetch_optional(&mut *c).await?;
    // Steps are not loaded here: the engine reads them once when it runs.
    row.as_ref().map(decode).transpose()
}

/// Join a job that no worker has taken yet: true when job `id` is still
/// queued and never attempted (it will read the current state when it
/// runs, so a change made in the caller's transaction needs no job of its
/// own). The row update takes the row's lock, so a claim either comes first
/// (then this answers false) or waits for the caller's commit.
pub async fn join_queued(c: &mut Conn, id: JobId) -> DbResult<bool> {
    let done = sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2 AND state = 'queued' AND attempts = 0")
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Extend the lease. `None` when the worker no longer holds the job;
/// otherwise whether cancellation was requested.
pub async fn heartbeat(c: &mut Conn, id: JobId, worker: &str, lease_ms: i64) -> DbResult<Option<bool>> {
    let row = sqlx::query(
        "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND state = 'running' \
         RETURNING cancel_requested",
    )
    .bind(now_ms() + lease_ms)
    .bind(id.to_string())
    .bind(worker.to_owned())
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| i(&r, "cancel_requested").map(|v| v != 0)).transpose()
}

/// Give running jobs whose lease expired back to the queue (their worker
/// died), or bury them when they are out of attempts.
pub async fn reap_expired(c: &mut Conn) -> DbResult<u64> {
    let now = now_ms();
    Ok(sqlx::query(
        "UPDATE jobs SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' \
           WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
         finished_at = CASE WHEN cancel_requested = 1 OR attempts >= max_attempts THEN $1 ELSE NULL END, \
         locked_by = NULL, locked_until = NULL, updated_at = $1, \
         last_error = 'the worker running this job stopped (lease expired)' \
         WHERE state = 'running' AND locked_until < $1",
    )
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected())
}

/// Create the step rows the first time a job runs (later runs keep them).
/// Returns true when every row was created now (so all are pending).
pub async fn ensure_steps(c: &mut Conn, id: JobId, names: &[String]) -> DbResult<bool> {
    let mut created = 0;
    for (idx, name) in names.iter().enumerate() {
        created += sqlx::query(
            "INSERT INTO job_steps (job_id, idx, name, state) VALUES ($1, $2, $3, 'pending') \
             ON CONFLICT (job_id, idx) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(idx as i64)
        .bind(name.clone())
        .execute(&mut *c)
        .await?
        .rows_affected();
    }
    Ok(created as usize == names.len())
}

pub async fn steps(c: &mut Conn, id: JobId) -> DbResult<Vec<JobStep>> {
    let rows = sqlx::query(
        "SELECT idx, name, state, started_at, finished_at, artifact, error FROM job_steps WHERE job_id = $1 ORDER BY idx",
    )
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JobStep {
                idx: i(r, "idx")?,
                name: s(r, "name")?,
                state: parse(r, "state")?,
                started_at: ots(r, "started_at")?,
                finished_at: ots(r, "finished_at")?,
                artifact: ojson(r, "artifact")?,
                error: os(r, "error")?,
            })
        })
        .collect()
}

const HELD: &str = "(SELECT COUNT(*) FROM jobs WHERE id = $1 AND locked_by = $2 AND state = 'running') = 1";

/// Mark a step running; false when the worker lost the job.
pub async fn step_start(c: &mut Conn, id: JobId, idx: i64, worker: &str) -> DbResult<bool> {
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE job_steps SET state = 'running', started_at = $3, error = NULL \
         WHERE job_id = $1 AND idx = $4 AND {HELD}"
    ));
    let n = sqlx::query(sql)
        .bind(id.to_string())
        .bind(worker.to_owned())
        .bind(now_ms())
        .bind(idx)
        .execute(&mut *c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Record a step's outcome; false when the worker lost the job.
pub async fn step_finish(
    c: &mut Conn,
    id: JobId,
    idx: i64,
    worker: &str,
    outcome: Result<Option<&serde_json::Value>, &str>,
) -> DbResult<bool> {
    let (state, artifact, error) = match outcome {
        Ok(a) => ("succeeded", a.map(|v| v.to_string()), None),
        Err(e) => ("failed", None, Some(e.to_owned())),
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE job_steps SET state = $3, finished_at = $4, artifact = COALESCE($5, artifact), error = $6 \
         WHERE job_id = $1 AND idx = $7 AND {HELD}"
    ));
    let n = sqlx::query(sql)
        .bind(id.to_string())
        .bind(worker.to_owned())
        .bind(state)
        .bind(now_ms())
        .bind(artifact)
        .bind(error)
        .bind(idx)
        .execute(&mut *c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn append_log(c: &mut Conn, id: JobId, step: Option<i64>, level: &str, message: &str) -> DbResult<i64> {
    let row = sqlx::query(
        "INSERT INTO job_logs (job_id, seq, at, step, level, message) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM job_logs WHERE job_id = $1 RETURNING seq",
    )
    .bind(id.to_string())
    .bind(now_ms())
    .bind(step)
    .bind(level.to_owned())
    .bind(message.to_owned())
    .fetch_one(&mut *c)
    .await?;
    i(&row, "seq")
}

pub async fn logs(c: &mut Conn, id: JobId, after: i64, limit: i64) -> DbResult<Vec<JobLogLine>> {
    let rows = sqlx::query(
        "SELECT seq, at, step, level, message FROM job_logs WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(id.to_string())
    .bind(after)
    .bind(limit.clamp(1, 5000))
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JobLogLine {
                seq: i(r, "seq")?,
                at: ts(r, "at")?,
                step: oi(r, "step")?,
                level: s(r, "level")?,
                message: s(r, "message")?,
            })
        })
        .collect()
}

/// Finish a held job as succeeded, failed (retry at `retry_at`), dead or cancelled.
pub async fn finish(
    c: &mut Conn,
    id: JobId,
    worker: &str,
    state: JobState,
    error: Option<&str>,
    retry_at: Option<i64>,
) -> DbResult<bool> {
    let now = now_ms();
    let finished = state.is_final().then_some(now);
    let n = sqlx::query(
        "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), run_at = COALESCE($3, run_at), \
         finished_at = $4, locked_by = NULL, locked_until = NULL, updated_at = $5 \
         WHERE id = $6 AND locked_by = $7 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(error.map(str::to_owned))
    .bind(retry_at)
    .bind(finished)
    .bind(now)
    .bind(id.to_string())
    .bind(worker.to_owned())
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Cancel a job in the scope. Queued and waiting jobs stop at once; a
/// running job is flagged and its worker stops it at the next step boundary.
/// One conditional statement, so a worker claiming the job at the same moment
/// cannot make the cancel vanish: whichever state the row is in when the
/// update runs decides.
pub async fn cancel(c: &mut Conn, scope: &Scope, id: JobId) -> DbResult<Job> {
    let job = get(c, scope, id).await?;
    let now = now_ms();
    let n = sqlx::query(
        "UPDATE jobs SET cancel_requested = 1, updated_at = $1, \
           state = CASE WHEN state IN ('queued', 'failed') THEN 'cancelled' ELSE state END, \
           finished_at = CASE WHEN state IN ('queued', 'failed') THEN $1 ELSE finished_at END \
         WHERE id = $2 AND state IN ('queued', 'failed', 'running')",
    )
    .bind(now)
    .bind(id.to_string())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        let now_state = get(c, scope, id).await.map(|j| j.state).unwrap_or(job.state);
        return Err(DbError::Conflict(format!(
            "the job is {now_state} and cannot be cancelled"
        )));
    }
    get(c, scope, id).await
}

/// Put a failed, dead or cancelled job back in the queue with fresh attempts.
/// Steps that succeeded stay succeeded: the job resumes at the failed step.
/// Conditional on the state, so a job a worker claimed meanwhile is not
/// queued a second time.
pub async fn retry(c: &mut Conn, scope: &Scope, id: JobId) -> DbResult<Job> {
    get(c, scope, id).await?;
    let now = now_ms();
    let n = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, cancel_requested = 0, finished_at = NULL, \
         updated_at = $1 WHERE id = $2 AND state IN ('failed', 'dead', 'cancelled')",
    )
    .bind(now)
    .bind(id.to_string())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if n == 0 {
        let st = get(c, scope, id).await?.state;
        return Err(DbError::Conflict(format!("the job is {st} and cannot be retried")));
    }
    get(c, scope, id).await
}

/// Job counts by state, for metrics.
pub async fn counts_by_state(c: &mut Conn) -> DbResult<Vec<(JobState, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| Ok((parse(r, "state")?, i(r, "n")?))).collect()
}

/// How long the oldest ready job has waited (ms), for the queue-lag metric.
pub async fn queue_lag_ms(c: &mut Conn) -> DbResult<i64> {
    let now = now_ms();
    let row =
        sqlx::query("SELECT MIN(run_at) AS oldest FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= $1")
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
    Ok(oi(&row, "oldest")?.map(|o| now - o).unwrap_or(0))
}
