//! Berth's durable job engine (`berth-jobs` on `berth-db`) as a system under
//! test: two bench job kinds, enqueued with `Engine::enqueue` and run by
//! `Engine::start`, exactly as the panel does.

use crate::harness::{Kind, Probe, System};
use anyhow::{Context, Result, bail};
use berth_db::Db;
use berth_db::jobs::NewJob;
use berth_jobs::{BoxFuture, Engine, EngineConfig, JobHandler, Registry, StepCtx, StepError};
use berth_proto::api::jobs::JobState;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

const NOOP: &str = "bench.noop";
const MARK: &str = "bench.mark";

/// One step that only counts itself (like `builtin.noop`, plus the counter).
struct BenchNoop(Arc<Probe>);

impl JobHandler for BenchNoop {
    fn kind(&self) -> &'static str {
        NOOP
    }
    fn description(&self) -> &'static str {
        "Benchmark: does nothing, counts itself."
    }
    fn steps(&self, _payload: &Value) -> Result<Vec<String>, String> {
        Ok(vec!["noop".into()])
    }
    fn run_step<'a>(&'a self, _ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            self.0.noop();
            Ok(None)
        })
    }
}

/// One step that records when it started, keyed by the payload's `id`.
struct BenchMark(Arc<Probe>);

impl JobHandler for BenchMark {
    fn kind(&self) -> &'static str {
        MARK
    }
    fn description(&self) -> &'static str {
        "Benchmark: records the instant its step started."
    }
    fn steps(&self, payload: &Value) -> Result<Vec<String>, String> {
        payload
            .get("id")
            .and_then(Value::as_u64)
            .ok_or("payload needs a numeric id")?;
        Ok(vec!["mark".into()])
    }
    fn run_step<'a>(&'a self, ctx: &'a StepCtx, _idx: usize) -> BoxFuture<'a, Result<Option<Value>, StepError>> {
        Box::pin(async move {
            let at = Instant::now();
            let id = ctx
                .payload()
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| StepError::Permanent("payload needs a numeric id".into()))?;
            self.0.mark(id, at);
            Ok(None)
        })
    }
}

/// Berth on one database, workers not started yet.
pub struct Berth {
    engine: Engine,
    db: Db,
    stop: watch::Sender<bool>,
    running: Option<JoinSet<()>>,
}

impl Berth {
    /// Connect (and migrate) `url`, which must be a fresh database.
    pub async fn new(url: &str, workers: usize, poll: Duration, probe: Arc<Probe>) -> Result<Berth> {
        let db = Db::connect(url)
            .await
            .with_context(|| format!("connecting Berth to {}", crate::pg::redact(url)))?;
        let mut registry = Registry::new();
        registry.register(BenchNoop(probe.clone()));
        registry.register(BenchMark(probe));
        let config = EngineConfig {
            workers,
            poll,
            scheduler: false,
        };
        let engine = Engine::new(db.clone(), registry, config);
        let (stop, _) = watch::channel(false);
        Ok(Berth {
            engine,
            db,
            stop,
            running: None,
        })
    }
}

impl System for Berth {
    async fn enqueue(&self, kind: Kind, id: u64) -> Result<()> {
        let kind = match kind {
            Kind::Noop => NOOP,
            Kind::Mark => MARK,
        };
        let job = NewJob {
            queue: "default".into(),
            kind: kind.into(),
            payload: json!({ "id": id }),
            priority: 0,
            // 0 = the default from settings, as the panel's API does.
            max_attempts: 0,
            run_at: berth_db::now_ms(),
            idempotency_key: None,
            tenant_id: None,
            created_by: None,
        };
        self.engine.enqueue(job).await?;
        Ok(())
    }

    async fn start(&mut self) -> Result<()> {
        self.running = Some(self.engine.start(self.stop.subscribe()));
        Ok(())
    }

    async fn all_finished(&self, total: usize) -> Result<bool> {
        let mut c = self.db.conn().await?;
        let counts = berth_db::jobs::counts_by_state(&mut c).await?;
        let mut succeeded = 0;
        for (state, n) in counts {
            match state {
                JobState::Succeeded => succeeded = n,
                JobState::Dead | JobState::Cancelled => bail!("{n} Berth job(s) ended {state}"),
                _ => {}
            }
        }
        Ok(succeeded == total as i64)
    }

    async fn stop(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        if let Some(mut set) = self.running.take() {
            while let Some(r) = set.join_next().await {
                r.context("a Berth worker task panicked")?;
            }
        }
        self.db.close().await;
        Ok(())
    }
}
