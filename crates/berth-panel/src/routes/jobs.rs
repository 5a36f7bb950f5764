//! Jobs: list, inspect, follow live (Server-Sent Events), retry, cancel,
//! and (staff) enqueue registered kinds by hand.

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::{audit, page};
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use berth_core::{Permission, Scope};
use berth_db::audit::AuditEvent;
use berth_db::jobs::{self, NewJob};
use berth_proto::api::Page;
use berth_proto::api::jobs::{CreateJob, Job, JobKindInfo, JobLogLine, JobQuery, LogQuery};
use berth_proto::{ApiErrorBody, JobId};
use futures::Stream;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;

fn ev(j: &Job, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: j.tenant_id,
        action,
        target_type: "job",
        target_id: Some(j.id.to_string()),
        summary,
    }
}

/// Jobs in my scope, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = Page<Job>)), security(("bearer" = [])))]
pub async fn list_jobs(
    State(st): State<SharedState>,
    auth: Authed,
    Query(q): Query<JobQuery>,
) -> ApiResult<Reply<Page<Job>>> {
    let scope = auth.authorize(Permission::JobsRead)?;
    let mut c = st.db.conn().await?;
    let (items, total) = jobs::list(&mut c, &scope, &q).await?;
    Ok(Reply(page(items, total, q.limit, q.offset)))
}

/// Enqueue a job of a registered kind (staff). With an idempotency key that
/// was used before, the earlier job is returned (200) and nothing is added.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = CreateJob,
    responses((status = 201, body = Job), (status = 200, body = Job, description = "existing job with the same idempotency key"),
        (status = 422, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn create_job(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateJob>,
) -> ApiResult<(StatusCode, Reply<Job>)> {
    let scope = auth.authorize(Permission::JobsCreate)?;
    let mut tx = st.db.begin().await?;
    if let Some(t) = req.tenant_id {
        berth_db::tenants::get(&mut tx, &scope, t)
            .await
            .map_err(|_| ApiError::invalid_field("tenant_id", "no such tenant"))?;
    }
    if let Some(m) = req.max_attempts
        && !(1..=100).contains(&m)
    {
        return Err(ApiError::invalid_field("max_attempts", "must be from 1 to 100"));
    }
    let priority = req.priority.unwrap_or(0);
    if !(-1000..=1000).contains(&priority) {
        return Err(ApiError::invalid_field("priority", "must be from -1000 to 1000"));
    }
    let new = NewJob {
        queue: req.queue.map(|q| q.into_inner()).unwrap_or_else(|| "default".into()),
        kind: req.kind.into_inner(),
        payload: req.payload,
        priority,
        max_attempts: req.max_attempts.unwrap_or(0),
        run_at: req.run_at.map(|t| t.millis()).unwrap_or_else(berth_db::now_ms),
        idempotency_key: req.idempotency_key.map(|k| k.into_inner()),
        tenant_id: req.tenant_id,
        created_by: Some(auth.user.id),
    };
    let (job, created) = st.engine.enqueue_on(&mut tx, new).await?;
    if created {
        audit(
            &mut tx,
            &auth,
            ev(&job, "job.create", json!({ "kind": job.kind, "payload": job.payload })),
        )
        .await?;
    }
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Reply(job)))
}

/// The kinds of job this panel can run.
#[utoipa::path(get, path = "/api/v1/jobs/kinds", tag = "jobs",
    responses((status = 200, body = Vec<JobKindInfo>)), security(("bearer" = [])))]
pub async fn job_kinds(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Vec<JobKindInfo>>> {
    auth.authorize(Permission::JobsRead)?;
    Ok(Reply(
        st.engine
            .registry()
            .kinds()
            .map(|(k, d)| JobKindInfo {
                kind: k.to_owned(),
                description: d.to_owned(),
            })
            .collect(),
    ))
}

/// One job with its steps.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn get_job(State(st): State<SharedState>, auth: Authed, Path(id): Path<JobId>) -> ApiResult<Reply<Job>> {
    let scope = auth.authorize(Permission::JobsRead)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(jobs::get(&mut c, &scope, id).await?))
}

/// A job's log lines after `after`.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/logs", tag = "jobs", params(("id" = JobId, Path), LogQuery),
    responses((status = 200, body = Vec<JobLogLine>), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn job_logs(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<JobId>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Reply<Vec<JobLogLine>>> {
    let scope = auth.authorize(Permission::JobsRead)?;
    let mut c = st.db.conn().await?;
    jobs::get(&mut c, &scope, id).await?;
    Ok(Reply(
        jobs::logs(&mut c, id, q.after.unwrap_or(0), q.limit.unwrap_or(1000)).await?,
    ))
}

struct Follow {
    st: SharedState,
    scope: Scope,
    id: JobId,
    after: i64,
    last_state: Option<berth_proto::api::jobs::JobState>,
    pending: std::collections::VecDeque<Event>,
    done: bool,
}

fn event(name: &str, v: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

async fn poll(f: &mut Follow) -> Result<(), berth_db::DbError> {
    let mut c = f.st.db.conn().await?;
    let job = jobs::get(&mut c, &f.scope, f.id).await?;
    let lines = jobs::logs(&mut c, f.id, f.after, 500).await?;
    for l in &lines {
        f.after = l.seq;
        f.pending.push_back(event("log", l));
    }
    if f.last_state != Some(job.state) {
        f.last_state = Some(job.state);
        f.pending.push_back(event("state", &job));
    }
    // Finished, and every log line sent: say so and close.
    if job.state.is_final() && lines.len() < 500 {
        f.pending.push_back(event("end", &job));
        f.done = true;
    }
    Ok(())
}

/// Follow a job live: `log` events with each new line, `state` events when
/// the state changes, and a final `end` event when the job is finished.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/stream", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn job_stream(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<JobId>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let scope = auth.authorize(Permission::JobsRead)?;
    let mut c = st.db.conn().await?;
    jobs::get(&mut c, &scope, id).await?;
    drop(c);
    let follow = Follow {
        st,
        scope,
        id,
        after: 0,
        last_state: None,
        pending: Default::default(),
        done: false,
    };
    let stream = futures::stream::unfold((follow, true), |(mut f, first)| async move {
        loop {
            if let Some(e) = f.pending.pop_front() {
                return Some((Ok(e), (f, false)));
            }
            if f.done {
                return None;
            }
            if !first || f.last_state.is_some() {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            if let Err(e) = poll(&mut f).await {
                tracing::warn!(error = %e, "job stream poll failed; closing the stream");
                return None;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Put a failed, dead or cancelled job back in the queue; it resumes at its
/// first unfinished step.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn retry_job(State(st): State<SharedState>, auth: Authed, Path(id): Path<JobId>) -> ApiResult<Reply<Job>> {
    let scope = auth.authorize(Permission::JobsWrite)?;
    let mut tx = st.db.begin().await?;
    let job = jobs::retry(&mut tx, &scope, id).await?;
    audit(&mut tx, &auth, ev(&job, "job.retry", json!({ "kind": job.kind }))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    st.engine.wake();
    Ok(Reply(job))
}

/// Cancel a queued job now, or a running one at its next step boundary.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_job(State(st): State<SharedState>, auth: Authed, Path(id): Path<JobId>) -> ApiResult<Reply<Job>> {
    let scope = auth.authorize(Permission::JobsWrite)?;
    let mut tx = st.db.begin().await?;
    let job = jobs::cancel(&mut tx, &scope, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(&job, "job.cancel", json!({ "kind": job.kind, "state": job.state })),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(job))
}
