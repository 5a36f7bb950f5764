//! `berth jobs …`: list, show (with steps), logs (optionally followed live
//! over the server-sent event stream), run, retry, cancel, kinds.
//!
//! Following exits 1 when the job ends dead, cancelled or failed, so scripts
//! can `berth jobs run KIND --wait && next-step`.

use super::output::{Ctx, opt, opt_ts, page_footer, parse_json_arg, print_json, ts};
use super::table::{Table, clean, clean_multiline, print_fields};
use berth_client::{ClientError, StreamEvent};
use berth_proto::api::jobs::{CreateJob, Job, JobLogLine, JobQuery, JobState, LogQuery};
use berth_proto::{IdempotencyKey, JobId, JobKind, TenantId};
use futures::StreamExt;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum JobsCmd {
    /// List jobs, newest first.
    List {
        /// queued, running, succeeded, failed, dead or cancelled.
        #[arg(long)]
        state: Option<JobState>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        tenant: Option<TenantId>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Show a job and its steps.
    Show { id: JobId },
    /// Print a job's log; with --follow, keep printing until it ends.
    Logs {
        id: JobId,
        /// Follow live; exit 1 if the job ends dead, cancelled or failed.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Enqueue a job of a registered kind (see `berth jobs kinds`).
    Run {
        #[arg(value_parser = JobKind::parse)]
        kind: JobKind,
        /// The job's payload as JSON (default `{}`).
        #[arg(long, value_parser = parse_json_arg)]
        payload: Option<Value>,
        /// Idempotency key: running again with the same key returns the
        /// first job instead of adding another.
        #[arg(long, value_parser = IdempotencyKey::parse)]
        key: Option<IdempotencyKey>,
        /// The tenant the job works for.
        #[arg(long)]
        tenant: Option<TenantId>,
        #[arg(long, value_parser = JobKind::parse)]
        queue: Option<JobKind>,
        /// Follow the job's log until it ends; exit 1 unless it succeeded.
        #[arg(long)]
        wait: bool,
    },
    /// Put a failed, dead or cancelled job back in the queue.
    Retry { id: JobId },
    /// Cancel a queued job, or a running one at its next step.
    Cancel { id: JobId },
    /// List the kinds of job the panel can run.
    Kinds,
}

pub async fn run(ctx: &Ctx, cmd: JobsCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        JobsCmd::List {
            state,
            kind,
            queue,
            tenant,
            limit,
            offset,
        } => {
            let q = JobQuery {
                state,
                kind,
                queue,
                tenant_id: tenant,
                limit,
                offset,
            };
            let page = c.list_jobs(&q).await?;
            ctx.emit(&page, |page| {
                let mut t = Table::new(&["ID", "KIND", "STATE", "ATTEMPTS", "TENANT", "CREATED", "LAST ERROR"]);
                for j in &page.items {
                    t.row(vec![
                        j.id.to_string(),
                        j.kind.clone(),
                        j.state.to_string(),
                        format!("{}/{}", j.attempts, j.max_attempts),
                        opt(j.tenant_id),
                        ts(j.created_at),
                        j.last_error
                            .as_deref()
                            .map(|e| super::output::shorten(e, 60))
                            .unwrap_or_default(),
                    ]);
                }
                t.print();
                page_footer(page);
            })?;
        }
        JobsCmd::Show { id } => show(ctx, &c.get_job(id).await?)?,
        JobsCmd::Logs { id, follow: false } => {
            let lines = all_logs(ctx, id).await?;
            if ctx.json {
                print_json(&lines)?;
            } else {
                lines.iter().for_each(|l| println!("{}", log_line(l)));
            }
        }
        JobsCmd::Logs { id, follow: true } => {
            let sink = if ctx.json { Sink::JsonLines } else { Sink::Stdout };
            let job = follow(ctx, id, sink).await?;
            return Ok(finish(ctx, &job));
        }
        JobsCmd::Run {
            kind,
            payload,
            key,
            tenant,
            queue,
            wait,
        } => {
            let req = CreateJob {
                kind,
                queue,
                payload: payload.unwrap_or_else(|| Value::Object(Default::default())),
                priority: None,
                max_attempts: None,
                run_at: None,
                idempotency_key: key,
                tenant_id: tenant,
            };
            let (job, created) = c.create_job_with_status(&req).await?;
            if !ctx.json {
                if created {
                    eprintln!("Job {} queued ({}).", job.id, clean(&job.kind));
                } else {
                    eprintln!("A job with this idempotency key exists: {} ({}).", job.id, job.state);
                }
            }
            if !wait {
                if ctx.json {
                    print_json(&job)?;
                } else {
                    println!("{}", job.id);
                }
                return Ok(ExitCode::SUCCESS);
            }
            // In JSON mode stdout carries only the final job; the log goes
            // to stderr for the human watching.
            let sink = if ctx.json { Sink::Stderr } else { Sink::Stdout };
            let job = follow(ctx, job.id, sink).await?;
            if ctx.json {
                print_json(&job)?;
            }
            return Ok(finish(ctx, &job));
        }
        JobsCmd::Retry { id } => show(ctx, &c.retry_job(id).await?)?,
        JobsCmd::Cancel { id } => show(ctx, &c.cancel_job(id).await?)?,
        JobsCmd::Kinds => {
            let kinds = c.job_kinds().await?;
            ctx.emit(&kinds, |kinds| {
                let mut t = Table::new(&["KIND", "DESCRIPTION"]);
                for k in kinds {
                    t.row(vec![k.kind.clone(), k.description.clone()]);
                }
                t.print();
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every log line, page by page.
async fn all_logs(ctx: &Ctx, id: JobId) -> anyhow::Result<Vec<JobLogLine>> {
    let mut out: Vec<JobLogLine> = Vec::new();
    let mut after = None;
    loop {
        let q = LogQuery { after, limit: None };
        let batch = ctx.client.job_logs(id, &q).await?;
        let last = batch.last().map(|l| l.seq);
        out.extend(batch);
        // Stop on an empty page, and on a server that ignored `after` (the
        // sequence did not move), rather than loop forever.
        match last {
            Some(seq) if after.is_none_or(|a| seq > a) => after = Some(seq),
            _ => return Ok(out),
        }
    }
}

/// Follow a job another verb started (`sites create --wait`): its log to
/// stderr, the exit status from how it ended.
pub(super) async fn wait_for(ctx: &Ctx, id: JobId) -> anyhow::Result<ExitCode> {
    let job = follow(ctx, id, Sink::Stderr).await?;
    Ok(finish(ctx, &job))
}

/// Where followed log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    Stdout,
    Stderr,
    /// One compact JSON object per line (`--json --follow`).
    JsonLines,
}

/// How many times in a row a broken stream is reopened.
const RECONNECTS: u32 = 5;

/// Print the job's log as it comes until the job ends; returns the final
/// job. A stream cut by the network is reopened; the server replays the log
/// from the start, so lines already printed (by sequence number) are skipped.
async fn follow(ctx: &Ctx, id: JobId, sink: Sink) -> anyhow::Result<Job> {
    let mut last_seq = 0i64;
    let mut failures = 0u32;
    loop {
        let mut stream = std::pin::pin!(ctx.client.stream_job(id));
        let mut cut = None;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(StreamEvent::Log(l)) => {
                    failures = 0;
                    if l.seq > last_seq {
                        last_seq = l.seq;
                        emit_log(sink, &l)?;
                    }
                }
                Ok(StreamEvent::State(j)) => {
                    failures = 0;
                    if sink != Sink::JsonLines {
                        eprintln!(
                            "[{}] {} (attempt {}/{})",
                            ts(j.updated_at),
                            j.state,
                            j.attempts,
                            j.max_attempts
                        );
                    }
                }
                Ok(StreamEvent::End(j)) => return Ok(j),
                Err(e) => {
                    cut = Some(e);
                    break;
                }
            }
        }
        let e = cut.unwrap_or_else(|| ClientError::Decode("the job event stream ended".into()));
        if matches!(e, ClientError::Api { .. }) {
            return Err(e.into());
        }
        failures += 1;
        if failures > RECONNECTS {
            return Err(anyhow::Error::new(e).context(format!("lost the event stream of job {id}")));
        }
        eprintln!("warning: job event stream interrupted ({e}); reconnecting");
        tokio::time::sleep(Duration::from_millis(500 * u64::from(failures))).await;
    }
}

fn emit_log(sink: Sink, l: &JobLogLine) -> anyhow::Result<()> {
    match sink {
        Sink::Stdout => println!("{}", log_line(l)),
        Sink::Stderr => eprintln!("{}", log_line(l)),
        Sink::JsonLines => println!("{}", serde_json::to_string(l)?),
    }
    Ok(())
}

/// `2025-11-24T16:00:00Z info  [step 1] message`
fn log_line(l: &JobLogLine) -> String {
    let step = l.step.map(|s| format!("[step {s}] ")).unwrap_or_default();
    format!(
        "{} {:<5} {step}{}",
        ts(l.at),
        clean(&l.level),
        clean_multiline(&l.message)
    )
}

/// Report how a followed job ended and choose the exit code.
fn finish(ctx: &Ctx, job: &Job) -> ExitCode {
    let bad = matches!(job.state, JobState::Dead | JobState::Cancelled | JobState::Failed);
    if !ctx.json {
        match (&job.last_error, bad) {
            (Some(err), true) => eprintln!("Job {} {}: {}", job.id, job.state, clean(err)),
            _ => eprintln!("Job {} {}.", job.id, job.state),
        }
    }
    if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn show(ctx: &Ctx, j: &Job) -> anyhow::Result<()> {
    ctx.emit(j, |j| {
        print_fields(&[
            ("id", j.id.to_string()),
            ("kind", j.kind.clone()),
            ("queue", j.queue.clone()),
            ("state", j.state.to_string()),
            ("attempts", format!("{}/{}", j.attempts, j.max_attempts)),
            ("priority", j.priority.to_string()),
            ("tenant", opt(j.tenant_id)),
            ("created by", opt(j.created_by)),
            ("idempotency key", opt(j.idempotency_key.as_deref())),
            ("cancel requested", if j.cancel_requested { "yes" } else { "no" }.into()),
            ("payload", j.payload.to_string()),
            ("run at", ts(j.run_at)),
            ("created", ts(j.created_at)),
            ("started", opt_ts(j.started_at)),
            ("finished", opt_ts(j.finished_at)),
            ("last error", opt(j.last_error.as_deref())),
        ]);
        if !j.steps.is_empty() {
            println!();
            let mut t = Table::new(&["#", "STEP", "STATE", "STARTED", "FINISHED", "ERROR"]);
            for s in &j.steps {
                t.row(vec![
                    s.idx.to_string(),
                    s.name.clone(),
                    s.state.as_str().into(),
                    opt_ts(s.started_at),
                    opt_ts(s.finished_at),
                    s.error.clone().unwrap_or_default(),
                ]);
            }
            t.print();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_proto::Timestamp;

    #[test]
    fn log_lines_are_one_safe_line_per_entry() {
        let l = JobLogLine {
            seq: 1,
            at: Timestamp(1_764_000_000_123),
            step: Some(2),
            level: "warn".into(),
            message: "disk \u{1b}[31mred".into(),
        };
        assert_eq!(log_line(&l), "2025-11-24T16:00:00Z warn  [step 2] disk \\u{1b}[31mred");
    }

    #[test]
    fn shorten_keeps_the_first_line() {
        assert_eq!(super::super::output::shorten("abc\ndef", 10), "abc");
        assert_eq!(super::super::output::shorten("abcdefghij", 5), "abcd…");
    }
}
