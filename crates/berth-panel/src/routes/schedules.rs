//! Recurring schedules that create jobs from cron expressions (staff).

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::audit;
use crate::state::SharedState;
use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use berth_core::Permission;
use berth_db::audit::AuditEvent;
use berth_db::schedules;
use berth_proto::api::jobs::{CreateSchedule, Schedule, UpdateSchedule};
use berth_proto::{ApiErrorBody, ScheduleId};
use serde_json::json;

fn ev(s: &Schedule, action: &'static str, summary: serde_json::Value) -> AuditEvent {
    AuditEvent {
        tenant_id: None,
        action,
        target_type: "schedule",
        target_id: Some(s.id.to_string()),
        summary,
    }
}

/// Every schedule.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "jobs",
    responses((status = 200, body = Vec<Schedule>)), security(("bearer" = [])))]
pub async fn list_schedules(State(st): State<SharedState>, auth: Authed) -> ApiResult<Reply<Vec<Schedule>>> {
    auth.authorize(Permission::SchedulesManage)?;
    let mut c = st.db.conn().await?;
    Ok(Reply(schedules::list(&mut c).await?))
}

/// Create a schedule (UTC cron expression, 5 or 6 fields).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "jobs", request_body = CreateSchedule,
    responses((status = 201, body = Schedule), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_schedule(
    State(st): State<SharedState>,
    auth: Authed,
    Json(req): Json<CreateSchedule>,
) -> ApiResult<(StatusCode, Reply<Schedule>)> {
    auth.authorize(Permission::SchedulesManage)?;
    let next = berth_core::schedule::next_after(req.cron.as_str(), berth_db::now_ms())
        .map_err(|m| ApiError::invalid_field("cron", m))?;
    st.engine.validate(req.kind.as_str(), &req.payload)?;
    let mut tx = st.db.begin().await?;
    let s = schedules::insert(
        &mut tx,
        schedules::NewSchedule {
            name: &req.name,
            cron: req.cron.as_str(),
            kind: req.kind.as_str(),
            queue: req.queue.as_ref().map(|q| q.as_str()).unwrap_or("default"),
            payload: &req.payload,
            next_run_at: next,
        },
    )
    .await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &s,
            "schedule.create",
            json!({ "name": s.name, "cron": s.cron, "kind": s.kind }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok((StatusCode::CREATED, Reply(s)))
}

/// Enable or disable a schedule.
#[utoipa::path(patch, path = "/api/v1/schedules/{id}", tag = "jobs", params(("id" = ScheduleId, Path)),
    request_body = UpdateSchedule,
    responses((status = 200, body = Schedule), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn update_schedule(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<ScheduleId>,
    Json(req): Json<UpdateSchedule>,
) -> ApiResult<Reply<Schedule>> {
    auth.authorize(Permission::SchedulesManage)?;
    let mut tx = st.db.begin().await?;
    let before = schedules::get(&mut tx, id).await?;
    if let Some(enabled) = req.enabled {
        // Re-enabling starts from now, not from the missed occurrences.
        let next = berth_core::schedule::next_after(&before.cron, berth_db::now_ms()).ok();
        schedules::set_enabled(&mut tx, id, enabled, next).await?;
    }
    let after = schedules::get(&mut tx, id).await?;
    audit(
        &mut tx,
        &auth,
        ev(
            &after,
            "schedule.update",
            json!({ "enabled": [before.enabled, after.enabled] }),
        ),
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Reply(after))
}

/// Delete a schedule (jobs it created stay).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "jobs", params(("id" = ScheduleId, Path)),
    responses((status = 204), (status = 404, body = ApiErrorBody)), security(("bearer" = [])))]
pub async fn delete_schedule(
    State(st): State<SharedState>,
    auth: Authed,
    Path(id): Path<ScheduleId>,
) -> ApiResult<StatusCode> {
    auth.authorize(Permission::SchedulesManage)?;
    let mut tx = st.db.begin().await?;
    let s = schedules::get(&mut tx, id).await?;
    schedules::delete(&mut tx, id).await?;
    audit(&mut tx, &auth, ev(&s, "schedule.delete", json!({ "name": s.name }))).await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
