//! Recurring job schedules (cron expressions).

use crate::row::{i, name, ots, parse, s, ts};
use crate::{Conn, DbError, DbResult, b, now_ms};
use berth_proto::api::jobs::Schedule;
use berth_proto::{ScheduleId, Text};
use sqlx::any::AnyRow;

fn decode(r: &AnyRow) -> DbResult<Schedule> {
    Ok(Schedule {
        id: parse(r, "id")?,
        name: name(r, "name")?,
        cron: s(r, "cron")?,
        kind: s(r, "kind")?,
        queue: s(r, "queue")?,
        payload: crate::row::json(r, "payload")?,
        enabled: i(r, "enabled")? != 0,
        next_run_at: ots(r, "next_run_at")?,
        last_run_at: ots(r, "last_run_at")?,
        created_at: ts(r, "created_at")?,
    })
}

const COLS: &str = "id, name, cron, kind, queue, payload, enabled, next_run_at, last_run_at, created_at";

pub struct NewSchedule<'a> {
    pub name: &'a Text,
    pub cron: &'a str,
    pub kind: &'a str,
    pub queue: &'a str,
    pub payload: &'a serde_json::Value,
    pub next_run_at: i64,
}

pub async fn insert(c: &mut Conn, n: NewSchedule<'_>) -> DbResult<Schedule> {
    let id = ScheduleId::new();
    sqlx::query(
        "INSERT INTO schedules (id, name, cron, kind, queue, payload, enabled, next_run_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)",
    )
    .bind(id.to_string())
    .bind(n.name.as_str().to_owned())
    .bind(n.cron.to_owned())
    .bind(n.kind.to_owned())
    .bind(n.queue.to_owned())
    .bind(n.payload.to_string())
    .bind(n.next_run_at)
    .bind(now_ms())
    .execute(&mut *c)
    .await
    .map_err(|e| DbError::from(e).unique_as("a schedule with this name already exists"))?;
    get(c, id).await
}

pub async fn get(c: &mut Conn, id: ScheduleId) -> DbResult<Schedule> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM schedules WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await?
    .ok_or(DbError::NotFound)?;
    decode(&row)
}

pub async fn find_by_name(c: &mut Conn, name: &str) -> DbResult<Option<Schedule>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM schedules WHERE name = $1"
    )))
    .bind(name.to_owned())
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn list(c: &mut Conn) -> DbResult<Vec<Schedule>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM schedules ORDER BY name"
    )))
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(decode).collect()
}

/// Enabled schedules that are due.
pub async fn due(c: &mut Conn, now: i64) -> DbResult<Vec<Schedule>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM schedules WHERE enabled = 1 AND next_run_at <= $1 ORDER BY next_run_at"
    )))
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(decode).collect()
}

/// Move a schedule forward, only if nobody else did (compare-and-set on
/// `next_run_at`), so two panels never fire the same occurrence twice.
pub async fn advance(c: &mut Conn, id: ScheduleId, expected_next: i64, new_next: i64) -> DbResult<bool> {
    let n = sqlx::query("UPDATE schedules SET next_run_at = $1, last_run_at = $2 WHERE id = $3 AND next_run_at = $4")
        .bind(new_next)
        .bind(now_ms())
        .bind(id.to_string())
        .bind(expected_next)
        .execute(&mut *c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn set_enabled(c: &mut Conn, id: ScheduleId, enabled: bool, next: Option<i64>) -> DbResult<()> {
    let n = sqlx::query("UPDATE schedules SET enabled = $1, next_run_at = COALESCE($2, next_run_at) WHERE id = $3")
        .bind(b(enabled))
        .bind(next)
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

pub async fn delete(c: &mut Conn, id: ScheduleId) -> DbResult<()> {
    let n = sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 { Err(DbError::NotFound) } else { Ok(()) }
}
