//! `berth schedules …`: recurring jobs on a cron expression (UTC).

use super::output::{Ctx, opt_ts, parse_json_arg, ts};
use super::table::{Table, print_fields};
use berth_proto::api::jobs::{CreateSchedule, Schedule, UpdateSchedule};
use berth_proto::{JobKind, ScheduleId, Text};
use serde_json::Value;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum SchedulesCmd {
    /// List schedules.
    List,
    /// Create a schedule.
    Create {
        #[arg(value_parser = Text::parse)]
        name: Text,
        /// Cron expression, 5 or 6 fields, in UTC (`0 3 * * *`).
        #[arg(long, value_parser = Text::parse)]
        cron: Text,
        /// The job kind to run (see `berth jobs kinds`).
        #[arg(long, value_parser = JobKind::parse)]
        kind: JobKind,
        #[arg(long, value_parser = JobKind::parse)]
        queue: Option<JobKind>,
        /// The jobs' payload as JSON (default `{}`).
        #[arg(long, value_parser = parse_json_arg)]
        payload: Option<Value>,
    },
    /// Resume a paused schedule.
    Enable { id: ScheduleId },
    /// Pause a schedule.
    Disable { id: ScheduleId },
    /// Delete a schedule.
    Delete { id: ScheduleId },
}

pub async fn run(ctx: &Ctx, cmd: SchedulesCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        SchedulesCmd::List => {
            let list = c.list_schedules().await?;
            ctx.emit(&list, |list| {
                let mut t = Table::new(&["ID", "NAME", "CRON", "KIND", "ENABLED", "NEXT RUN", "LAST RUN"]);
                for s in list {
                    t.row(vec![
                        s.id.to_string(),
                        s.name.to_string(),
                        s.cron.clone(),
                        s.kind.clone(),
                        if s.enabled { "yes" } else { "no" }.into(),
                        opt_ts(s.next_run_at),
                        opt_ts(s.last_run_at),
                    ]);
                }
                t.print();
            })?;
        }
        SchedulesCmd::Create {
            name,
            cron,
            kind,
            queue,
            payload,
        } => {
            let req = CreateSchedule {
                name,
                cron,
                kind,
                queue,
                payload: payload.unwrap_or_else(|| Value::Object(Default::default())),
            };
            show(ctx, &c.create_schedule(&req).await?)?;
        }
        SchedulesCmd::Enable { id } => {
            let req = UpdateSchedule { enabled: Some(true) };
            show(ctx, &c.update_schedule(id, &req).await?)?;
        }
        SchedulesCmd::Disable { id } => {
            let req = UpdateSchedule { enabled: Some(false) };
            show(ctx, &c.update_schedule(id, &req).await?)?;
        }
        SchedulesCmd::Delete { id } => {
            c.delete_schedule(id).await?;
            ctx.done(format!("Schedule {id} deleted."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, s: &Schedule) -> anyhow::Result<()> {
    ctx.emit(s, |s| {
        print_fields(&[
            ("id", s.id.to_string()),
            ("name", s.name.to_string()),
            ("cron", s.cron.clone()),
            ("kind", s.kind.clone()),
            ("queue", s.queue.clone()),
            ("payload", s.payload.to_string()),
            ("enabled", if s.enabled { "yes" } else { "no" }.into()),
            ("next run", opt_ts(s.next_run_at)),
            ("last run", opt_ts(s.last_run_at)),
            ("created", ts(s.created_at)),
        ]);
    })
}
