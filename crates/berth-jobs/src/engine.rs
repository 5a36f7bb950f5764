//! Workers: claim, heartbeat, run steps, retry or bury, and the reaper that
//! returns jobs of dead workers to the queue.

use crate::handler::{JobHandler, Registry, StepCtx, StepError};
use berth_core::backoff::RetryPolicy;
use berth_db::jobs::{self, NewJob};
use berth_db::{Db, DbError, settings};
use berth_proto::JobId;
use berth_proto::api::jobs::{Job, JobState, JobStep, StepState};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Tuning of one engine (one per panel process).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Jobs run at the same time by this process.
    pub workers: usize,
    /// How often idle workers look for work they were not told about
    /// (jobs enqueued by another panel, retries coming due).
    pub poll: Duration,
    /// Run the cron scheduler in this process.
    pub scheduler: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 4,
            poll: Duration::from_millis(500),
            scheduler: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("invalid payload for {kind}: {message}")]
    BadPayload { kind: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

struct Inner {
    db: Db,
    /// A small pool of its own for heartbeats and step logs, so they never
    /// wait behind handlers for a connection of the main pool (a handler
    /// that holds one while it logs would otherwise starve heartbeats until
    /// leases expire when many jobs run at once).
    aux: std::sync::OnceLock<Db>,
    registry: Registry,
    config: EngineConfig,
    wake: Notify,
    id: String,
    settings: std::sync::Mutex<Option<(Instant, JobSettings)>>,
}

/// The engine's tunables from settings. Read per claim and per failure, so
/// they are cached briefly: a change reaches every panel within `SETTINGS_TTL`.
#[derive(Clone, Copy, Debug)]
struct JobSettings {
    lease_ms: i64,
    default_max_attempts: i64,
    retry: RetryPolicy,
}

const SETTINGS_TTL: Duration = Duration::from_secs(2);

/// A handle on the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    pub fn new(db: Db, registry: Registry, config: EngineConfig) -> Engine {
        let id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Engine {
            inner: Arc::new(Inner {
                db,
                aux: std::sync::OnceLock::new(),
                registry,
                config,
                wake: Notify::new(),
                settings: std::sync::Mutex::new(None),
                id,
            }),
        }
    }

    /// Give heartbeats and step logs their own pool (see `Inner::aux`);
    /// without one they share the main pool.
    pub fn use_aux_pool(&self, db: Db) {
        let _ = self.inner.aux.set(db);
    }

    fn aux_db(&self) -> Db {
        self.inner.aux.get().unwrap_or(&self.inner.db).clone()
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Check a kind and payload without enqueuing.
    pub fn validate(&self, kind: &str, payload: &serde_json::Value) -> Result<(), EnqueueError> {
        let h = self
            .inner
            .registry
            .get(kind)
            .ok_or_else(|| EnqueueError::UnknownKind(kind.to_owned()))?;
        h.steps(payload)
            .map(|_| ())
            .map_err(|message| EnqueueError::BadPayload {
                kind: kind.to_owned(),
                message,
            })
    }

    /// Enqueue on an open transaction (so the job commits with the change
    /// that asked for it). Call `wake()` after the commit.
    pub async fn enqueue_on(&self, c: &mut berth_db::Conn, mut job: NewJob) -> Result<(Job, bool), EnqueueError> {
        self.validate(&job.kind, &job.payload)?;
        if job.max_attempts <= 0 {
            // Read through the caller's connection: it may hold a write
            // transaction, and taking a second pooled connection here could
            // wait for a pool that such transactions have used up.
            job.max_attempts = self.settings_on(c).await?.default_max_attempts;
        }
        Ok(jobs::insert(c, job).await?)
    }

    /// Enqueue in its own transaction and wake a worker.
    pub async fn enqueue(&self, job: NewJob) -> Result<(Job, bool), EnqueueError> {
        let mut tx = self.inner.db.begin().await?;
        let r = self.enqueue_on(&mut tx, job).await?;
        tx.commit().await.map_err(DbError::from)?;
        self.wake();
        Ok(r)
    }

    /// Tell idle workers of this process to look for work now.
    pub fn wake(&self) {
        // One worker is enough per wake-up (a stored permit covers a worker
        // that is between looking and waiting); waking all of them made the
        // losers run empty claims.
        self.inner.wake.notify_one();
    }

    /// Start the workers, the reaper and (if configured) the scheduler.
    /// They stop when `shutdown` turns true; the returned set finishes then.
    pub fn start(&self, shutdown: watch::Receiver<bool>) -> JoinSet<()> {
        let mut set = JoinSet::new();
        for n in 0..self.inner.config.workers.max(1) {
            let me = self.clone();
            let sd = shutdown.clone();
            set.spawn(async move { me.worker_loop(n, sd).await });
        }
        let me = self.clone();
        let sd = shutdown.clone();
        set.spawn(async move { me.reaper_loop(sd).await });
        if self.inner.config.scheduler {
            let me = self.clone();
            set.spawn(async move { crate::scheduler::run(me, shutdown).await });
        }
        set
    }

    async fn worker_loop(&self, n: usize, mut shutdown: watch::Receiver<bool>) {
        let worker = format!("{}/{n}", self.inner.id);
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Register interest before looking, so a wake between the look
            // and the wait is not lost.
            let notified = self.inner.wake.notified();
            match self.claim(&worker).await {
                Ok(Some(job)) => {
                    let mut batch = vec![job];
                    let more = self.inner.registry.get(&batch[0].kind).map_or(1, |h| h.batch());
                    while batch.len() < more {
                        match self.claim_kind(&worker, &batch[0].kind).await {
                            Ok(Some(j)) => batch.push(j),
                            _ => break,
                        }
                    }
                    // Each job runs in its own task: a handler that panics
                    // loses that task, not this worker loop.
                    let tasks: Vec<_> = batch
                        .iter()
                        .map(|job| {
                            let (me, w, j) = (self.clone(), worker.clone(), job.clone());
                            tokio::spawn(async move { me.run(&w, j).await })
                        })
                        .collect();
                    for (job, t) in batch.iter().zip(tasks) {
                        if let Err(e) = t.await {
                            self.after_panic(&worker, job, &e.to_string()).await;
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "claiming a job failed"),
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(self.inner.config.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn settings(&self) -> Result<JobSettings, DbError> {
        if let Some(s) = self.cached_settings() {
            return Ok(s);
        }
        let mut c = self.inner.db.conn().await?;
        self.load_settings(&mut c).await
    }

    async fn settings_on(&self, c: &mut berth_db::Conn) -> Result<JobSettings, DbError> {
        match self.cached_settings() {
            Some(s) => Ok(s),
            None => self.load_settings(c).await,
        }
    }

    fn cached_settings(&self) -> Option<JobSettings> {
        let g = self.inner.settings.lock().ok()?;
        let (at, s) = (*g)?;
        (at.elapsed() < SETTINGS_TTL).then_some(s)
    }

    async fn load_settings(&self, c: &mut berth_db::Conn) -> Result<JobSettings, DbError> {
        let stored = settings::all(c).await?;
        let get =
            |key: &str| berth_core::settings::effective(key, stored.get(key).map(|s| &s.value)).unwrap_or_default();
        let s = JobSettings {
            lease_ms: get("jobs.lease_seconds").as_i64().unwrap_or(30) * 1000,
            default_max_attempts: get("jobs.default_max_attempts").as_i64().unwrap_or(5),
            retry: RetryPolicy {
                base_delay_ms: get("jobs.retry.base_delay_ms").as_i64().unwrap_or(1000),
                max_delay_ms: get("jobs.retry.max_delay_ms").as_i64().unwrap_or(600_000),
                jitter: get("jobs.retry.jitter").as_f64().unwrap_or(0.2),
            },
        };
        if let Ok(mut g) = self.inner.settings.lock() {
            *g = Some((Instant::now(), s));
        }
        Ok(s)
    }

    async fn lease_ms(&self) -> Result<i64, DbError> {
        Ok(self.settings().await?.lease_ms)
    }

    async fn claim(&self, worker: &str) -> Result<Option<Job>, DbError> {
        let lease = self.lease_ms().await?;
        // The claim is one atomic statement: no transaction round trips.
        let mut c = self.inner.db.conn().await?;
        jobs::claim(&mut c, self.inner.db.backend(), worker, lease).await
    }

    async fn claim_kind(&self, worker: &str, kind: &str) -> Result<Option<Job>, DbError> {
        let lease = self.lease_ms().await?;
        let mut c = self.inner.db.conn().await?;
        jobs::claim_kind(&mut c, self.inner.db.backend(), worker, lease, kind).await
    }

    async fn reaper_loop(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let wait = match self.lease_ms().await {
                Ok(ms) => Duration::from_millis((ms / 2).max(500) as u64),
                Err(_) => Duration::from_secs(5),
            };
            match self.inner.db.conn().await {
                Ok(mut c) => match jobs::reap_expired(&mut c).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::warn!(jobs = n, "took over jobs whose worker stopped");
                        self.wake();
                    }
                    Err(e) => tracing::warn!(error = %e, "reaping expired leases failed"),
                },
                Err(e) => tracing::warn!(error = %e, "reaper could not reach the database"),
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Run one claimed job to its next resting state.
    async fn run(&self, worker: &str, job: Job) {
        let id = job.id;
        let span = tracing::info_span!("job", job = %id, kind = %job.kind, attempt = job.attempts);
        let _g = span.enter();
        let Some(handler) = self.inner.registry.get(&job.kind) else {
            let msg = format!("no handler for job kind {:?} in this panel", job.kind);
            self.settle(worker, id, JobState::Dead, Some(&msg), None).await;
            return;
        };
        let names = match handler.steps(&job.payload) {
            Ok(n) => n,
            Err(e) => {
                let msg = format!("invalid payload: {e}");
                self.settle(worker, id, JobState::Dead, Some(&msg), None).await;
                return;
            }
        };
        let lease = match self.lease_ms().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the lease length; the job waits for takeover");
                return;
            }
        };
        let known_steps = match self.prepare(id, &names).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "could not prepare job steps; the job waits for takeover");
                return;
            }
        };

        // Heartbeat: extend the lease; learn about cancellation or a lost lease.
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let (lost_tx, mut lost_rx) = watch::channel(false);
        let hb = {
            let db = self.aux_db();
            let worker = worker.to_owned();
            // At most a second apart: this is also how a running job learns it
            // was cancelled, so a long interval would make cancel useless.
            // Batched kinds run by the hundred and wait on something else;
            // a beat per second each would flood the database, so they beat
            // three times a lease and learn of a cancel that much later.
            let every = if handler.batch() > 1 {
                Duration::from_millis((lease / 3).max(100) as u64)
            } else {
                Duration::from_millis((lease / 3).clamp(100, 1000) as u64)
            };
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let r = match db.conn().await {
                        Ok(mut c) => jobs::heartbeat(&mut c, id, &worker, lease).await,
                        Err(e) => Err(e),
                    };
                    match r {
                        Ok(Some(cancel)) => {
                            if cancel {
                                let _ = cancel_tx.send(true);
                            }
                        }
                        Ok(None) => {
                            let _ = lost_tx.send(true);
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                    }
                }
            })
        };

        // Aborts the heartbeat however this ends, unwinding included: a
        // heartbeat left running would keep a dead job's lease alive.
        let hb = AbortOnDrop(hb);
        let cancel_seen = cancel_rx.clone();
        let mut outcome = self
            .run_steps(worker, &job, known_steps, handler.as_ref(), cancel_rx, &mut lost_rx)
            .await;
        drop(hb);
        // A step that stopped because of a cancel request ends the job as
        // cancelled, not as a failure to retry.
        if matches!(outcome, StepsOutcome::Failed(_)) && *cancel_seen.borrow() {
            outcome = StepsOutcome::Cancelled;
        }

        match outcome {
            StepsOutcome::Done => {
                // No "job succeeded" log row: the state says it, and each row
                // is a write on the hot path.
                self.settle(worker, id, JobState::Succeeded, None, None).await;
                metrics::counter!("berth_jobs_finished_total", "state" => "succeeded").increment(1);
            }
            StepsOutcome::Cancelled => {
                self.log(id, None, "warn", "job cancelled").await;
                self.settle(worker, id, JobState::Cancelled, Some("cancelled"), None)
                    .await;
                metrics::counter!("berth_jobs_finished_total", "state" => "cancelled").increment(1);
            }
            StepsOutcome::Lost => {
                tracing::warn!("lost the lease; another worker owns the job now");
            }
            StepsOutcome::Failed(err) => {
                let permanent = matches!(err, StepError::Permanent(_));
                let msg = err.to_string();
                if permanent || job.attempts >= job.max_attempts {
                    self.log(
                        id,
                        None,
                        "error",
                        format!("job dead after {} attempt(s): {msg}", job.attempts),
                    )
                    .await;
                    self.settle(worker, id, JobState::Dead, Some(&msg), None).await;
                    metrics::counter!("berth_jobs_finished_total", "state" => "dead").increment(1);
                } else {
                    let delay = self.retry_delay(job.attempts).await;
                    self.log(
                        id,
                        None,
                        "warn",
                        format!("attempt {} failed: {msg}; retrying in {delay} ms", job.attempts),
                    )
                    .await;
                    let at = berth_db::now_ms() + delay;
                    self.settle(worker, id, JobState::Failed, Some(&msg), Some(at)).await;
                    metrics::counter!("berth_jobs_finished_total", "state" => "failed").increment(1);
                }
            }
        }
    }

    /// A handler panicked: record it like a failed attempt (retry with
    /// backoff, or dead when out of attempts), so the job does not stay
    /// "running" and the worker goes on.
    async fn after_panic(&self, worker: &str, job: &Job, panic: &str) {
        let msg = format!("the job handler crashed: {panic}");
        tracing::error!(job = %job.id, kind = %job.kind, "{msg}");
        self.log(job.id, None, "error", &msg).await;
        if job.attempts >= job.max_attempts {
            self.settle(worker, job.id, JobState::Dead, Some(&msg), None).await;
        } else {
            let at = berth_db::now_ms() + self.retry_delay(job.attempts).await;
            self.settle(worker, job.id, JobState::Failed, Some(&msg), Some(at))
                .await;
        }
    }

    /// Create the step rows; when they are all new, answer them without a
    /// read (this is the common first run).
    async fn prepare(&self, id: JobId, names: &[String]) -> Result<Option<Vec<JobStep>>, DbError> {
        let mut c = self.inner.db.conn().await?;
        let fresh = jobs::ensure_steps(&mut c, id, names).await?;
        Ok(fresh.then(|| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| JobStep {
                    idx: i as i64,
                    name: n.clone(),
                    state: StepState::Pending,
                    started_at: None,
                    finished_at: None,
                    artifact: None,
                    error: None,
                })
                .collect()
        }))
    }

    async fn run_steps(
        &self,
        worker: &str,
        job: &Job,
        known_steps: Option<Vec<JobStep>>,
        handler: &dyn JobHandler,
        cancel: watch::Receiver<bool>,
        lost: &mut watch::Receiver<bool>,
    ) -> StepsOutcome {
        let steps = match known_steps {
            Some(s) => Ok(s),
            None => match self.inner.db.conn().await {
                Ok(mut c) => jobs::steps(&mut c, job.id).await,
                Err(e) => Err(e),
            },
        };
        let steps = match steps {
            Ok(s) => s,
            Err(e) => return StepsOutcome::Failed(StepError::Retry(format!("database: {e}"))),
        };
        for step in steps {
            if step.state == StepState::Succeeded {
                continue;
            }
            if *cancel.borrow() || job.cancel_requested {
                return StepsOutcome::Cancelled;
            }
            let started = match self.inner.db.conn().await {
                Ok(mut c) => jobs::step_start(&mut c, job.id, step.idx, worker).await,
                Err(e) => Err(e),
            };
            match started {
                Ok(true) => {}
                Ok(false) => return StepsOutcome::Lost,
                Err(e) => return StepsOutcome::Failed(StepError::Retry(format!("database: {e}"))),
            }
            self.log(
                job.id,
                Some(step.idx),
                "info",
                format!("step {} ({}) started", step.idx, step.name),
            )
            .await;
            let ctx = StepCtx {
                db: self.inner.db.clone(),
                log_db: self.aux_db(),
                job: job.clone(),
                step: step.idx,
                cancel: cancel.clone(),
            };
            let t0 = std::time::Instant::now();
            let result = tokio::select! {
                r = handler.run_step(&ctx, step.idx as usize) => r,
                _ = lost.wait_for(|l| *l) => return StepsOutcome::Lost,
            };
            let ms = t0.elapsed().as_millis();
            let recorded = match self.inner.db.conn().await {
                Ok(mut c) => {
                    let outcome = match &result {
                        Ok(a) => Ok(a.as_ref()),
                        Err(e) => Err(e.to_string()),
                    };
                    jobs::step_finish(
                        &mut c,
                        job.id,
                        step.idx,
                        worker,
                        outcome.as_ref().map(|a| *a).map_err(|e| e.as_str()),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match recorded {
                Ok(true) => {}
                Ok(false) => return StepsOutcome::Lost,
                Err(e) => return StepsOutcome::Failed(StepError::Retry(format!("database: {e}"))),
            }
            match result {
                Ok(_) => {
                    self.log(
                        job.id,
                        Some(step.idx),
                        "info",
                        format!("step {} succeeded in {ms} ms", step.idx),
                    )
                    .await
                }
                Err(e) => {
                    self.log(
                        job.id,
                        Some(step.idx),
                        "error",
                        format!("step {} failed after {ms} ms: {e}", step.idx),
                    )
                    .await;
                    return StepsOutcome::Failed(e);
                }
            }
        }
        StepsOutcome::Done
    }

    async fn retry_delay(&self, attempt: i64) -> i64 {
        match self.settings().await.map(|s| s.retry) {
            Ok(p) => p.delay_ms(attempt, rand::rng().random::<f64>()),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the retry policy; retrying in 60 s");
                60_000
            }
        }
    }

    async fn settle(&self, worker: &str, id: JobId, state: JobState, err: Option<&str>, retry_at: Option<i64>) {
        let r = match self.inner.db.conn().await {
            Ok(mut c) => jobs::finish(&mut c, id, worker, state, err, retry_at).await,
            Err(e) => Err(e),
        };
        match r {
            Ok(true) => {}
            Ok(false) => tracing::warn!(job = %id, "lost the lease before recording the result"),
            Err(e) => tracing::warn!(job = %id, error = %e, "could not record the job result; it will be taken over"),
        }
        if retry_at.is_some() {
            self.wake();
        }
    }

    async fn log(&self, id: JobId, step: Option<i64>, level: &str, msg: impl AsRef<str>) {
        if let Ok(mut c) = self.inner.db.conn().await
            && let Err(e) = jobs::append_log(&mut c, id, step, level, msg.as_ref()).await
        {
            tracing::warn!(job = %id, error = %e, "could not write job log");
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum StepsOutcome {
    Done,
    Cancelled,
    Lost,
    Failed(StepError),
}
