//! The baseline: the `graphile_worker` crate (a PostgreSQL job queue with
//! `LISTEN`/`NOTIFY` wake-ups) with the same two job kinds, enqueued with its
//! normal `WorkerUtils::add_job` and run by `Worker::run`, default options
//! except concurrency (and, in one variant, its batch-fetching local queue).
//!
//! Without the local queue, each worker slot fetches one job per signal (a
//! poll tick or a `jobs:insert` NOTIFY) and then waits for the next signal,
//! so a backlog present when the worker starts drains at `concurrency` jobs
//! per `poll_interval` (graphile_worker 0.14.1, `runner/job_loop/direct.rs`).

use crate::harness::{Kind, Probe, System};
use anyhow::{Context, Result, anyhow};
use graphile_worker::{
    IntoTaskHandlerResult, JobSpec, LocalQueueConfig, TaskHandler, Worker, WorkerContext, WorkerUtils,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How handlers reach the probe: a worker extension (extensions must be
/// `Clone + Debug`, looked up by type).
#[derive(Clone, Debug)]
struct ProbeExt(Arc<Probe>);

#[derive(Serialize, Deserialize)]
struct BenchNoop {
    id: u64,
}

impl TaskHandler for BenchNoop {
    const IDENTIFIER: &'static str = "bench_noop";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let probe = ctx.get_ext::<ProbeExt>().ok_or("no probe extension")?;
        probe.0.noop();
        Ok::<(), &'static str>(())
    }
}

#[derive(Serialize, Deserialize)]
struct BenchMark {
    id: u64,
}

impl TaskHandler for BenchMark {
    const IDENTIFIER: &'static str = "bench_mark";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let at = Instant::now();
        let probe = ctx.get_ext::<ProbeExt>().ok_or("no probe extension")?;
        probe.0.mark(self.id, at);
        Ok::<(), &'static str>(())
    }
}

/// graphile_worker on one database, worker initialised (schema migrated)
/// but not running yet.
pub struct Graphile {
    worker: Arc<Worker>,
    utils: WorkerUtils,
    pool: PgPool,
    running: Option<JoinHandle<Result<()>>>,
}

impl Graphile {
    /// Connect to `url` (a fresh database) and install graphile's schema.
    /// `local_queue`: turn on its batch-fetching local queue (default
    /// `LocalQueueConfig`), its documented option for throughput.
    pub async fn new(
        url: &str,
        workers: usize,
        poll: Duration,
        local_queue: bool,
        probe: Arc<Probe>,
    ) -> Result<Graphile> {
        let pool = PgPoolOptions::new()
            .max_connections(20) // graphile's own default for `database_url`
            .connect(url)
            .await
            .with_context(|| format!("connecting graphile_worker to {}", crate::pg::redact(url)))?;
        let mut options = Worker::options();
        if local_queue {
            options = options.local_queue(LocalQueueConfig::default());
        }
        let worker = options
            .pg_pool(pool.clone())
            .concurrency(workers)
            .poll_interval(poll)
            .listen_os_shutdown_signals(false)
            .add_extension(ProbeExt(probe))
            .define_job::<BenchNoop>()
            .define_job::<BenchMark>()
            .init()
            .await
            .map_err(|e| anyhow!("graphile_worker init: {e}"))?;
        let utils = worker.create_utils();
        Ok(Graphile {
            worker: Arc::new(worker),
            utils,
            pool,
            running: None,
        })
    }
}

impl System for Graphile {
    async fn enqueue(&self, kind: Kind, id: u64) -> Result<()> {
        let r = match kind {
            Kind::Noop => self.utils.add_job(BenchNoop { id }, JobSpec::default()).await,
            Kind::Mark => self.utils.add_job(BenchMark { id }, JobSpec::default()).await,
        };
        r.map_err(|e| anyhow!("graphile_worker add_job: {e}"))?;
        Ok(())
    }

    async fn start(&mut self) -> Result<()> {
        let worker = self.worker.clone();
        self.running = Some(tokio::spawn(async move {
            worker.run().await.map_err(|e| anyhow!("graphile_worker run: {e}"))
        }));
        Ok(())
    }

    async fn all_finished(&self, _total: usize) -> Result<bool> {
        // graphile_worker deletes a job when it completes; a job that failed
        // stays (with last_error) until its attempts run out.
        let (left, failed): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE last_error IS NOT NULL) FROM graphile_worker._private_jobs",
        )
        .fetch_one(&self.pool)
        .await?;
        if failed > 0 {
            anyhow::bail!("{failed} graphile_worker job(s) failed");
        }
        Ok(left == 0)
    }

    async fn stop(mut self) -> Result<()> {
        self.worker.request_shutdown();
        if let Some(h) = self.running.take() {
            h.await.context("the graphile_worker task panicked")??;
        }
        self.pool.close().await;
        Ok(())
    }
}
