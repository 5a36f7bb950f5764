//! The measurement itself, the same for every system: what a system under
//! test must offer (`System`), what its handlers report (`Probe`), and the
//! throughput and latency phases (`measure`).

use crate::stats::{self, Summary};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The two job kinds every system defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Does nothing but count itself.
    Noop,
    /// Records the instant its handler started, keyed by the payload's id.
    Mark,
}

/// What the handlers of both systems write to, and the bench waits on.
#[derive(Debug, Default)]
pub struct Probe {
    noops: AtomicUsize,
    marks: Mutex<HashMap<u64, Instant>>,
    changed: Notify,
}

impl Probe {
    /// A no-op handler ran.
    pub fn noop(&self) {
        self.noops.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// A mark handler started, for job `id`. Called first thing in the handler.
    pub fn mark(&self, id: u64, at: Instant) {
        if let Ok(mut m) = self.marks.lock() {
            m.entry(id).or_insert(at);
        }
        self.changed.notify_waiters();
    }

    fn noop_count(&self) -> usize {
        self.noops.load(Ordering::SeqCst)
    }

    fn mark_count(&self) -> usize {
        self.marks.lock().map(|m| m.len()).unwrap_or(0)
    }

    fn marks(&self) -> HashMap<u64, Instant> {
        self.marks.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Wait until `done()` holds, woken by the handlers (no polling).
    async fn wait(&self, what: &str, timeout: Duration, done: impl Fn(&Probe) -> bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                bail!("timed out after {timeout:?} waiting for {what}");
            }
        }
    }
}

/// A job system under test, with its workers not yet started.
pub(crate) trait System {
    /// Enqueue one job through the system's normal API.
    async fn enqueue(&self, kind: Kind, id: u64) -> Result<()>;
    /// Start the workers.
    async fn start(&mut self) -> Result<()>;
    /// True when the database shows `total` jobs finished successfully and
    /// none left to run (the durable truth, after the handler counters).
    async fn all_finished(&self, total: usize) -> Result<bool>;
    /// Stop the workers and wait for them.
    async fn stop(self) -> Result<()>;
}

/// Sizes and limits of one run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub jobs: usize,
    pub latency_jobs: usize,
    pub latency_gap: Duration,
    pub settle: Duration,
    pub timeout: Duration,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Measured {
    pub enqueue_per_s: f64,
    pub end_to_end_per_s: f64,
    pub end_to_end: Duration,
    /// Jobs per second from starting the workers until all finished.
    pub drain_per_s: f64,
    /// From the enqueue call's return to the handler's start (the table's).
    pub latency: Summary,
    /// From the enqueue call's start to the handler's start.
    pub latency_from_call: Summary,
    /// Latency jobs whose handler started before the enqueue call returned
    /// (counted as 0 ms in `latency`).
    pub early_starts: usize,
}

/// Poll the database (every 2 ms) until all `total` jobs are recorded as finished.
async fn wait_finished<S: System>(s: &S, total: usize, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !s.all_finished(total).await? {
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {total} jobs to be recorded as finished");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Throughput, then latency, on one system; stops its workers at the end.
pub(crate) async fn measure<S: System>(mut s: S, probe: &Probe, plan: &Plan) -> Result<Measured> {
    // 1. Throughput: enqueue everything, then start the workers; the clock
    // runs from the first enqueue until the database shows all finished.
    let t0 = Instant::now();
    for id in 0..plan.jobs as u64 {
        s.enqueue(Kind::Noop, id).await.context("enqueue (throughput)")?;
    }
    let enqueued = t0.elapsed();
    let workers_started = Instant::now();
    s.start().await.context("starting the workers")?;
    let n = plan.jobs;
    probe
        .wait(&format!("{n} no-op handlers"), plan.timeout, |p| p.noop_count() >= n)
        .await?;
    wait_finished(&s, n, plan.timeout).await?;
    let end_to_end = t0.elapsed();
    let drained = workers_started.elapsed();

    // 2. Latency: workers running and idle; one job at a time, spaced out.
    tokio::time::sleep(plan.settle).await;
    let mut sent = Vec::with_capacity(plan.latency_jobs);
    for j in 0..plan.latency_jobs as u64 {
        let id = 1_000_000_000 + j;
        let called = Instant::now();
        s.enqueue(Kind::Mark, id).await.context("enqueue (latency)")?;
        sent.push((id, called, Instant::now()));
        tokio::time::sleep(plan.latency_gap).await;
    }
    let m = plan.latency_jobs;
    probe
        .wait(&format!("{m} latency marks"), plan.timeout, |p| p.mark_count() >= m)
        .await?;
    wait_finished(&s, n + m, plan.timeout).await?;
    s.stop().await.context("stopping the workers")?;

    let marks = probe.marks();
    let mut ms = Vec::with_capacity(sent.len());
    let mut ms_from_call = Vec::with_capacity(sent.len());
    let mut early_starts = 0;
    for (id, called, returned) in sent {
        let started = *marks
            .get(&id)
            .with_context(|| format!("no mark for latency job {id}"))?;
        if started < returned {
            early_starts += 1;
        }
        ms.push(started.saturating_duration_since(returned).as_secs_f64() * 1000.0);
        ms_from_call.push(started.saturating_duration_since(called).as_secs_f64() * 1000.0);
    }
    let latency = stats::summarize(ms).context("no latency samples (--latency-jobs 0?)")?;
    let latency_from_call = stats::summarize(ms_from_call).context("no latency samples")?;
    Ok(Measured {
        enqueue_per_s: per_second(plan.jobs, enqueued),
        end_to_end_per_s: per_second(plan.jobs, end_to_end),
        end_to_end,
        drain_per_s: per_second(plan.jobs, drained),
        latency,
        latency_from_call,
        early_starts,
    })
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(f64::MIN_POSITIVE)
}
