//! What a job kind implements, and the context a step runs with.

use berth_db::{Db, jobs};
use berth_proto::api::jobs::Job;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a step failed. The message is shown in the job's step and log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// Worth retrying (a service was briefly unavailable…).
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help (bad payload…): the job goes straight to dead.
    #[error("{0}")]
    Permanent(String),
}

/// A kind of job. Implementations live with the module that owns the work.
pub trait JobHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// The ordered step names for this payload; `Err` refuses the payload
    /// (at enqueue time, so a bad job never enters the queue).
    fn steps(&self, payload: &serde_json::Value) -> Result<Vec<String>, String>;
    /// Run step `idx`. `Ok(Some(v))` stores `v` as the step's artifact.
    fn run_step<'a>(
        &'a self,
        ctx: &'a StepCtx,
        idx: usize,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, StepError>>;
    /// How many jobs of this kind one worker may claim and run at once.
    /// Kinds that mostly wait on something that coalesces their work (a
    /// node's executor turns many site changes into one check and one
    /// reload) say more than 1, so the waiting does not hold up workers.
    fn batch(&self) -> usize {
        1
    }
}

/// Handlers by kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn with_builtins() -> Registry {
        let mut r = Registry::new();
        crate::builtin::register(&mut r);
        r
    }

    pub fn register(&mut self, h: impl JobHandler) {
        self.handlers.insert(h.kind(), Arc::new(h));
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }

    pub fn kinds(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.handlers.iter().map(|(k, h)| (*k, h.description()))
    }
}

/// What a running step can see and do.
pub struct StepCtx {
    pub(crate) db: Db,
    /// Where `log` writes (the engine's own pool when it has one).
    pub(crate) log_db: Db,
    pub(crate) job: Job,
    pub(crate) step: i64,
    pub(crate) cancel: watch::Receiver<bool>,
}

impl StepCtx {
    pub fn job(&self) -> &Job {
        &self.job
    }

    pub fn payload(&self) -> &serde_json::Value {
        &self.job.payload
    }

    /// This attempt's number, from 1.
    pub fn attempt(&self) -> i64 {
        self.job.attempts
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// True once somebody asked to cancel the job; long steps should stop.
    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Append a line to the job's log (streamed to watchers).
    pub async fn log(&self, level: &str, message: impl AsRef<str>) {
        if let Ok(mut c) = self.log_db.conn().await
            && let Err(e) = jobs::append_log(&mut c, self.job.id, Some(self.step), level, message.as_ref()).await
        {
            tracing::warn!(job = %self.job.id, error = %e, "could not write job log");
        }
    }
}
