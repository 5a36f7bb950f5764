//! The job engine against real databases (SQLite and PostgreSQL).

use berth_db::jobs::{self, NewJob};
use berth_db::{Db, schedules, settings};
use berth_jobs::{Engine, EngineConfig, Registry};
use berth_proto::JobId;
use berth_proto::api::jobs::{JobState, StepState};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

async fn each_db() -> anyhow::Result<Vec<(String, Db)>> {
    let mut out = Vec::new();
    for t in berth_testkit::databases().await? {
        let db = Db::connect(&t.url).await?;
        let mut c = db.conn().await?;
        // Fast retries and leases so the tests take seconds, not minutes.
        settings::put(&mut c, "jobs.retry.base_delay_ms", &json!(20), None).await?;
        settings::put(&mut c, "jobs.retry.jitter", &json!(0.0), None).await?;
        settings::put(&mut c, "jobs.lease_seconds", &json!(2), None).await?;
        drop(c);
        out.push((t.backend.to_owned(), db));
        std::mem::forget(t);
    }
    Ok(out)
}

fn job(kind: &str, payload: serde_json::Value, max_attempts: i64) -> NewJob {
    NewJob {
        queue: "default".into(),
        kind: kind.into(),
        payload,
        priority: 0,
        max_attempts,
        run_at: berth_db::now_ms(),
        idempotency_key: None,
        tenant_id: None,
        created_by: None,
    }
}

fn engine(db: &Db, workers: usize) -> (Engine, watch::Sender<bool>, tokio::task::JoinSet<()>) {
    let e = Engine::new(
        db.clone(),
        Registry::with_builtins(),
        EngineConfig {
            workers,
            poll: Duration::from_millis(50),
            scheduler: true,
        },
    );
    let (tx, rx) = watch::channel(false);
    let set = e.start(rx);
    (e, tx, set)
}

async fn wait_state(db: &Db, id: JobId, want: &[JobState]) -> anyhow::Result<berth_proto::api::jobs::Job> {
    for _ in 0..400 {
        let mut c = db.conn().await?;
        let j = jobs::get_unscoped(&mut c, id).await?;
        if want.contains(&j.state) {
            return Ok(j);
        }
        drop(c);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut c = db.conn().await?;
    let j = jobs::get_unscoped(&mut c, id).await?;
    anyhow::bail!("job stuck in {:?} (wanted {want:?}): {j:?}", j.state)
}

async fn count_lines(db: &Db, id: JobId, needle: &str) -> anyhow::Result<usize> {
    let mut c = db.conn().await?;
    Ok(jobs::logs(&mut c, id, 0, 5000)
        .await?
        .iter()
        .filter(|l| l.message.contains(needle))
        .count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_step_resumes_without_rerunning_succeeded_steps() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let (e, stop, _set) = engine(&db, 2);
        let payload = json!({ "steps": 3, "fail_at_step": 1, "fail_times": 2 });
        let (j, _) = e.enqueue(job("builtin.fail_n", payload, 5)).await?;
        let done = wait_state(&db, j.id, &[JobState::Succeeded]).await?;
        assert_eq!(done.attempts, 3, "{backend}");
        assert_eq!(
            count_lines(&db, j.id, "ran step 0").await?,
            1,
            "{backend}: step 0 ran once"
        );
        assert_eq!(
            count_lines(&db, j.id, "ran step 1").await?,
            3,
            "{backend}: step 1 ran per attempt"
        );
        assert_eq!(count_lines(&db, j.id, "ran step 2").await?, 1, "{backend}");
        assert!(done.steps.iter().all(|s| s.state == StepState::Succeeded), "{backend}");
        assert_eq!(done.steps[1].artifact, Some(json!({ "step": 1, "attempt": 3 })));
        stop.send(true)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_attempts_is_dead_and_retry_resumes() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let (e, stop, _set) = engine(&db, 1);
        let payload = json!({ "steps": 2, "fail_at_step": 1, "fail_times": 2 });
        let (j, _) = e.enqueue(job("builtin.fail_n", payload, 2)).await?;
        let dead = wait_state(&db, j.id, &[JobState::Dead]).await?;
        assert!(dead.last_error.unwrap().contains("planned failure 2"), "{backend}");
        assert_eq!(dead.steps[0].state, StepState::Succeeded);
        assert_eq!(dead.steps[1].state, StepState::Failed);
        let mut c = db.conn().await?;
        jobs::retry(&mut c, &berth_core::Scope::system(), j.id).await?;
        drop(c);
        e.wake();
        // Attempts were reset, so attempt 1 and 2 of the retry: the third
        // overall run of step 1 succeeds only because fail_times counts attempts.
        let again = wait_state(&db, j.id, &[JobState::Dead, JobState::Succeeded]).await?;
        assert_eq!(
            count_lines(&db, j.id, "ran step 0").await?,
            1,
            "{backend}: step 0 never re-ran"
        );
        assert!(count_lines(&db, j.id, "ran step 1").await? >= 3, "{backend}: {again:?}");
        stop.send(true)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_workers_jobs_are_taken_over() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let mut c = db.conn().await?;
        let (j, _) = jobs::insert(&mut c, job("builtin.noop", json!({}), 3)).await?;
        // A worker claims and dies at once (its lease is already over).
        let mut tx = db.begin().await?;
        let got = jobs::claim(&mut tx, db.backend(), "ghost", -1).await?;
        tx.commit().await?;
        assert_eq!(got.map(|g| g.id), Some(j.id));
        drop(c);
        let (_e, stop, _set) = engine(&db, 1);
        let done = wait_state(&db, j.id, &[JobState::Succeeded]).await?;
        assert_eq!(done.attempts, 2, "{backend}: the ghost's attempt counted");
        stop.send(true)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_queued_and_running() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let (e, stop, _set) = engine(&db, 1);
        let (long, _) = e.enqueue(job("builtin.sleep", json!({ "ms": 60_000 }), 1)).await?;
        wait_state(&db, long.id, &[JobState::Running]).await?;
        let (queued, _) = e.enqueue(job("builtin.noop", json!({}), 1)).await?;
        let mut c = db.conn().await?;
        let q = jobs::cancel(&mut c, &berth_core::Scope::system(), queued.id).await?;
        assert_eq!(q.state, JobState::Cancelled, "{backend}");
        let r = jobs::cancel(&mut c, &berth_core::Scope::system(), long.id).await?;
        assert!(r.cancel_requested, "{backend}");
        drop(c);
        let t0 = std::time::Instant::now();
        wait_state(&db, long.id, &[JobState::Cancelled]).await?;
        assert!(t0.elapsed() < Duration::from_secs(10), "{backend}: stopped early");
        let mut c = db.conn().await?;
        assert!(
            jobs::cancel(&mut c, &berth_core::Scope::system(), long.id)
                .await
                .is_err()
        );
        stop.send(true)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kinds_and_payloads_are_refused_at_enqueue() -> anyhow::Result<()> {
    for (_backend, db) in each_db().await? {
        let e = Engine::new(db.clone(), Registry::with_builtins(), EngineConfig::default());
        assert!(e.enqueue(job("no.such_kind", json!({}), 1)).await.is_err());
        assert!(
            e.enqueue(job("builtin.sleep", json!({ "ms": "soon" }), 1))
                .await
                .is_err()
        );
        assert!(
            e.enqueue(job("builtin.sleep", json!({ "ms": 1, "x": 1 }), 1))
                .await
                .is_err()
        );
        let mut c = db.conn().await?;
        assert_eq!(
            jobs::list(&mut c, &berth_core::Scope::system(), &Default::default())
                .await?
                .1,
            0
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_run_each_job_exactly_once() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let (e1, stop1, _s1) = engine(&db, 3);
        let (_e2, stop2, _s2) = engine(&db, 3);
        let mut ids = Vec::new();
        for _ in 0..60 {
            ids.push(
                e1.enqueue(job("builtin.fail_n", json!({ "steps": 1, "fail_times": 0 }), 3))
                    .await?
                    .0
                    .id,
            );
        }
        for id in &ids {
            let j = wait_state(&db, *id, &[JobState::Succeeded]).await?;
            assert_eq!(j.attempts, 1, "{backend}");
            assert_eq!(count_lines(&db, *id, "ran step 0").await?, 1, "{backend}: ran once");
        }
        stop1.send(true)?;
        stop2.send(true)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_each_occurrence_once() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let mut c = db.conn().await?;
        let s = schedules::insert(
            &mut c,
            schedules::NewSchedule {
                // Due now, next due in January: a test run that crosses a
                // minute boundary must not see a second, real occurrence.
                name: &berth_proto::Text::parse("yearly")?,
                cron: "0 0 1 1 *",
                kind: "builtin.noop",
                queue: "default",
                payload: &json!({}),
                next_run_at: berth_db::now_ms() - 1,
            },
        )
        .await?;
        drop(c);
        // Two panels' schedulers race on the same occurrence.
        let (e1, stop1, _s1) = engine(&db, 1);
        let (_e2, stop2, _s2) = engine(&db, 1);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let mut c = db.conn().await?;
        let (list, n) = jobs::list(&mut c, &berth_core::Scope::system(), &Default::default()).await?;
        assert_eq!(n, 1, "{backend}: {list:?}");
        let after = schedules::get(&mut c, s.id).await?;
        assert!(after.next_run_at.unwrap().millis() > berth_db::now_ms(), "{backend}");
        assert!(after.last_run_at.is_some());
        let _ = e1;
        stop1.send(true)?;
        stop2.send(true)?;
    }
    Ok(())
}

/// A handler that panics (a bug in some future job kind).
struct Panics;

impl berth_jobs::JobHandler for Panics {
    fn kind(&self) -> &'static str {
        "test.panics"
    }
    fn description(&self) -> &'static str {
        "panics"
    }
    fn steps(&self, _p: &serde_json::Value) -> Result<Vec<String>, String> {
        Ok(vec!["boom".into()])
    }
    fn run_step<'a>(
        &'a self,
        _ctx: &'a berth_jobs::StepCtx,
        _idx: usize,
    ) -> berth_jobs::BoxFuture<'a, Result<Option<serde_json::Value>, berth_jobs::StepError>> {
        Box::pin(async { panic!("handler bug") })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_job_and_the_worker_goes_on() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let mut reg = Registry::with_builtins();
        reg.register(Panics);
        let e = Engine::new(
            db.clone(),
            reg,
            EngineConfig {
                workers: 1,
                poll: Duration::from_millis(50),
                scheduler: false,
            },
        );
        let (stop, rx) = watch::channel(false);
        let _set = e.start(rx);
        let (bad, _) = e.enqueue(job("test.panics", json!({}), 2)).await?;
        let dead = wait_state(&db, bad.id, &[JobState::Dead]).await?;
        assert!(dead.last_error.unwrap_or_default().contains("crashed"), "{backend}");
        assert_eq!(dead.attempts, 2, "{backend}: retried once, then dead");
        // The single worker survived and runs the next job.
        let (ok, _) = e.enqueue(job("builtin.noop", json!({}), 1)).await?;
        wait_state(&db, ok.id, &[JobState::Succeeded]).await?;
        stop.send(true)?;
    }
    Ok(())
}

/// A kind that waits on something shared: it records how many of its jobs
/// run at the same moment.
struct Waiting {
    running: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl berth_jobs::JobHandler for Waiting {
    fn kind(&self) -> &'static str {
        "test.waiting"
    }
    fn description(&self) -> &'static str {
        "waits a little, counting company"
    }
    fn steps(&self, _: &serde_json::Value) -> Result<Vec<String>, String> {
        Ok(vec!["wait".into()])
    }
    fn batch(&self) -> usize {
        8
    }
    fn run_step<'a>(
        &'a self,
        _ctx: &'a berth_jobs::StepCtx,
        _idx: usize,
    ) -> berth_jobs::BoxFuture<'a, Result<Option<serde_json::Value>, berth_jobs::StepError>> {
        use std::sync::atomic::Ordering;
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(None)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batchable_kinds_run_together_on_one_worker() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut reg = Registry::with_builtins();
        reg.register(Waiting {
            running: Default::default(),
            most: most.clone(),
        });
        let e = Engine::new(
            db.clone(),
            reg,
            EngineConfig {
                workers: 1,
                poll: Duration::from_millis(50),
                scheduler: false,
            },
        );
        let mut ids = Vec::new();
        for _ in 0..8 {
            ids.push(e.enqueue(job("test.waiting", json!({}), 3)).await?.0.id);
        }
        let (tx, rx) = watch::channel(false);
        let mut set = e.start(rx);
        for id in ids {
            wait_state(&db, id, &[JobState::Succeeded]).await?;
        }
        let _ = tx.send(true);
        while set.join_next().await.is_some() {}
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(most > 1, "[{backend}] one worker ran {most} at a time");
    }
    Ok(())
}
