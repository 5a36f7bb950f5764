//! Recurring schedules: turn due cron occurrences into jobs. Several panels
//! may run this loop; a compare-and-set on `next_run_at` plus an idempotency
//! key per occurrence make sure each occurrence becomes exactly one job.

use crate::engine::Engine;
use berth_db::jobs::NewJob;
use berth_db::{DbError, schedules};
use std::time::Duration;
use tokio::sync::watch;

pub(crate) async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = tick(&engine).await {
            tracing::warn!(error = %e, "scheduler tick failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Fire every due schedule once. Public within the crate for tests.
pub(crate) async fn tick(engine: &Engine) -> Result<usize, DbError> {
    let now = berth_db::now_ms();
    let due = {
        let mut c = engine.db().conn().await?;
        schedules::due(&mut c, now).await?
    };
    let mut fired = 0;
    for s in due {
        let Some(expected) = s.next_run_at.map(|t| t.millis()) else {
            continue;
        };
        let next = match berth_core::schedule::next_after(&s.cron, now) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(schedule = %s.name, error = %e, "schedule has no next run; disabling it");
                let mut c = engine.db().conn().await?;
                schedules::set_enabled(&mut c, s.id, false, None).await?;
                continue;
            }
        };
        let mut tx = engine.db().begin().await?;
        if !schedules::advance(&mut tx, s.id, expected, next).await? {
            // Another panel fired this occurrence.
            continue;
        }
        let job = NewJob {
            queue: s.queue.clone(),
            kind: s.kind.clone(),
            payload: s.payload.clone(),
            priority: 0,
            max_attempts: 0,
            run_at: now,
            idempotency_key: Some(format!("schedule:{}:{expected}", s.id)),
            tenant_id: None,
            created_by: None,
        };
        match engine.enqueue_on(&mut tx, job).await {
            Ok(_) => {
                tx.commit().await?;
                fired += 1;
            }
            Err(e) => {
                tracing::warn!(schedule = %s.name, error = %e, "schedule could not enqueue its job");
                tx.rollback().await?;
            }
        }
    }
    if fired > 0 {
        engine.wake();
    }
    Ok(fired)
}
