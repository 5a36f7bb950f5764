//! `berth-bench-jobs`: Berth's durable job engine (on SQLite and on
//! PostgreSQL) against the `graphile_worker` crate on the same PostgreSQL, in
//! one run. Prints the machine facts and a markdown table to stdout; the
//! numbers recorded in `docs/benchmarks.md` come from `crates/berth-bench/run.sh`.

mod berth_side;
mod graphile_side;
mod harness;
mod pg;
mod stats;

use anyhow::{Context, Result, bail};
use clap::Parser;
use harness::{Measured, Plan, Probe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const BERTH_PG_DB: &str = "berth_bench_berth";
const GRAPHILE_DB: &str = "berth_bench_graphile";

/// Job engine benchmark: throughput (enqueue N, then run them) and
/// enqueue-to-start latency (one job at a time to idle workers).
#[derive(Parser, Debug)]
#[command(name = "berth-bench-jobs")]
struct Args {
    /// Superuser URL of the PostgreSQL to use; the bench creates (and drops)
    /// its own databases there.
    #[arg(long)]
    pg_url: String,
    /// Directory for the SQLite file (default: a temporary directory).
    #[arg(long)]
    sqlite_dir: Option<PathBuf>,
    /// No-op jobs in the throughput phase.
    #[arg(long, default_value_t = 2000)]
    jobs: usize,
    /// Concurrent workers, the same for every system.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Jobs in the latency phase, enqueued one at a time.
    #[arg(long, default_value_t = 200)]
    latency_jobs: usize,
    /// Pause between two latency jobs, in ms.
    #[arg(long, default_value_t = 5)]
    latency_gap_ms: u64,
    /// Berth's `EngineConfig.poll` in ms (its default is 500).
    #[arg(long, default_value_t = 500)]
    berth_poll_ms: u64,
    /// graphile_worker's `poll_interval` in ms (its default is 1000).
    #[arg(long, default_value_t = 1000)]
    graphile_poll_ms: u64,
    /// No-op jobs for graphile_worker with its default options: it fetches one
    /// job per worker slot per poll tick or NOTIFY, so a backlog drains at
    /// workers/poll jobs per second whatever the size; a smaller backlog keeps
    /// the run short without changing that rate.
    #[arg(long, default_value_t = 200)]
    graphile_default_jobs: usize,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Which systems to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = ALL_SYSTEMS)]
    systems: Vec<String>,
}

const ALL_SYSTEMS: &str = "berth-sqlite,berth-postgres,graphile-postgres,graphile-postgres-localqueue";

struct Row {
    system: &'static str,
    backend: &'static str,
    jobs: usize,
    m: Measured,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.workers == 0 || args.jobs == 0 || args.latency_jobs == 0 || args.graphile_default_jobs == 0 {
        bail!("--jobs, --graphile-default-jobs, --workers and --latency-jobs must be at least 1");
    }
    for s in &args.systems {
        if !ALL_SYSTEMS.split(',').any(|x| x == s) {
            bail!("unknown system {s:?}");
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let plan = Plan {
        jobs: args.jobs,
        latency_jobs: args.latency_jobs,
        latency_gap: Duration::from_millis(args.latency_gap_ms),
        settle: Duration::from_secs(1),
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let pg_version = pg::version(&args.pg_url).await?;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("## Machine");
    println!();
    println!("- CPUs (available parallelism): {cpus}");
    println!("- PostgreSQL: {pg_version}");
    println!(
        "- berth-bench {} (release: {})",
        env!("CARGO_PKG_VERSION"),
        !cfg!(debug_assertions)
    );
    println!(
        "- plan: {} no-op jobs ({} for graphile_worker with defaults), {} workers, {} latency jobs {} ms apart; \
         Berth poll {} ms, graphile_worker poll {} ms",
        args.jobs,
        args.graphile_default_jobs,
        args.workers,
        args.latency_jobs,
        args.latency_gap_ms,
        args.berth_poll_ms,
        args.graphile_poll_ms
    );
    println!();

    let want = |s: &str| args.systems.iter().any(|x| x == s);
    let berth_poll = Duration::from_millis(args.berth_poll_ms);
    let mut rows = Vec::new();

    if want("berth-sqlite") {
        let tmp;
        let dir = match &args.sqlite_dir {
            Some(d) => d.clone(),
            None => {
                tmp = tempfile::tempdir().context("creating a temporary directory")?;
                tmp.path().to_owned()
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = dir.join("berth-bench.db");
        for suffix in ["", "-wal", "-shm"] {
            let mut p = file.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let probe = Arc::new(Probe::default());
        let sys = berth_side::Berth::new(&url, args.workers, berth_poll, probe.clone()).await?;
        let m = harness::measure(sys, &probe, &plan).await.context("Berth on SQLite")?;
        rows.push(Row {
            system: "Berth",
            backend: "SQLite",
            jobs: plan.jobs,
            m,
        });
    }

    if want("berth-postgres") {
        let url = pg::recreate_db(&args.pg_url, BERTH_PG_DB).await?;
        let probe = Arc::new(Probe::default());
        let sys = berth_side::Berth::new(&url, args.workers, berth_poll, probe.clone()).await?;
        let m = harness::measure(sys, &probe, &plan)
            .await
            .context("Berth on PostgreSQL")?;
        pg::drop_db(&args.pg_url, BERTH_PG_DB).await?;
        rows.push(Row {
            system: "Berth",
            backend: "PostgreSQL",
            jobs: plan.jobs,
            m,
        });
    }

    let graphile_poll = Duration::from_millis(args.graphile_poll_ms);
    for (key, local_queue, label) in [
        ("graphile-postgres", false, "graphile_worker 0.14 (defaults)"),
        (
            "graphile-postgres-localqueue",
            true,
            "graphile_worker 0.14 (local queue)",
        ),
    ] {
        if !want(key) {
            continue;
        }
        let plan = Plan {
            jobs: if local_queue {
                args.jobs
            } else {
                args.graphile_default_jobs
            },
            ..plan.clone()
        };
        let url = pg::recreate_db(&args.pg_url, GRAPHILE_DB).await?;
        let probe = Arc::new(Probe::default());
        let sys = graphile_side::Graphile::new(&url, args.workers, graphile_poll, local_queue, probe.clone()).await?;
        let m = harness::measure(sys, &probe, &plan).await.context(label)?;
        pg::drop_db(&args.pg_url, GRAPHILE_DB).await?;
        rows.push(Row {
            system: label,
            backend: "PostgreSQL",
            jobs: plan.jobs,
            m,
        });
    }

    println!("## Results");
    println!();
    print!("{}", table(&rows, args.workers));
    println!();
    for r in &rows {
        let c = &r.m.latency_from_call;
        println!(
            "- {} on {}: {} jobs finished {:.2} s after the first enqueue; from starting the workers they \
             drained at {:.0} jobs/s. Latency from the start of the enqueue call: p50 {:.1} / p99 {:.1} / \
             max {:.1} ms; {} of {} handlers started before their enqueue call returned (0 ms in the table).",
            r.system,
            r.backend,
            r.jobs,
            r.m.end_to_end.as_secs_f64(),
            r.m.drain_per_s,
            c.p50,
            c.p99,
            c.max,
            r.m.early_starts,
            c.samples,
        );
    }
    Ok(())
}

/// The results as a markdown table.
fn table(rows: &[Row], workers: usize) -> String {
    let mut out = String::from(
        "| system | backend | jobs | workers | enqueue/s | end-to-end jobs/s | p50 ms | p99 ms | max ms |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let l = &r.m.latency;
        out.push_str(&format!(
            "| {} | {} | {} | {workers} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} |\n",
            r.system, r.backend, r.jobs, r.m.enqueue_per_s, r.m.end_to_end_per_s, l.p50, l.p99, l.max
        ));
    }
    out
}
