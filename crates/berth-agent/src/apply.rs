//! The one apply executor. Every change to a service's managed files goes
//! through `Executor::apply`:
//!
//! 1. stage: build the complete new tree beside the live one;
//! 2. check: run the service's own checker on the staged tree (`nginx -t`);
//! 3. commit + swap: save the revision, then point `current` at it (atomic);
//! 4. reload the service gracefully;
//! 5. health-check;
//! 6. on a failure in 4 or 5, point `current` back, reload, and report.
//!
//! A change that fails its check never touches the live tree, and the
//! service is never restarted: the previous config keeps serving throughout
//! (HestiaCP leaves a broken vhost in place; ISPConfig restarts, then
//! reverts; Berth does neither). Applies to one service are serialised.

use crate::health::{self, HttpCheck};
use crate::store::{Store, StoreError};
use berth_sys::{Cmd, CmdError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, oneshot};

/// How a service is checked and reloaded.
pub trait ServiceAdapter: Send + Sync {
    fn name(&self) -> &str;
    /// A command that checks the tree at `tree` as if it were live. Helper
    /// files go in `scratch`, which is removed after the check.
    fn check(&self, tree: &Path, scratch: &Path) -> Cmd;
    /// Reload the running service gracefully, returning once the new
    /// configuration is the one answering (so health checks test it).
    fn reload(&self) -> impl std::future::Future<Output = Result<berth_sys::CmdOutput, CmdError>> + Send;
}

/// Revision trees kept on disk (the live one always is).
const KEEP_TREES: usize = 3;

/// A change to apply.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Why (a job id, "rollback to 3"…), recorded in the revision.
    pub reason: String,
    pub puts: BTreeMap<String, Vec<u8>>,
    pub removes: Vec<String>,
    /// Checked after the reload; any failure rolls back.
    pub health: Vec<HttpCheck>,
}

/// One timed step of an apply, for the job's step view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    pub ms: u128,
    pub ok: bool,
    pub output: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApplyReport {
    pub rev: u64,
    pub previous: Option<u64>,
    pub steps: Vec<StepReport>,
    /// How many changes this revision carries (coalesced into one check
    /// and one reload).
    #[serde(default = "one")]
    pub changes: usize,
}

fn one() -> usize {
    1
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{service} rejected the change (nothing was changed): {stderr}")]
    CheckFailed {
        service: String,
        stderr: String,
        steps: Vec<StepReport>,
    },
    #[error("{service} did not reload with revision {rev}; revision {restored:?} is back in place: {detail}")]
    ReloadFailed {
        service: String,
        rev: u64,
        restored: Option<u64>,
        detail: String,
        steps: Vec<StepReport>,
    },
    #[error("revision {rev} failed its health check; revision {restored:?} is back in place: {detail}")]
    HealthFailed {
        rev: u64,
        restored: Option<u64>,
        detail: String,
        steps: Vec<StepReport>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cmd(#[from] CmdError),
}

impl ApplyError {
    /// Would trying again help? A config the checker refuses stays refused;
    /// a failed reload or health check may be transient.
    pub fn retryable(&self) -> bool {
        !matches!(self, ApplyError::CheckFailed { .. })
    }
}

pub struct Executor<A: ServiceAdapter> {
    store: Store,
    adapter: A,
    lock: Mutex<()>,
    /// Plans waiting for the lock; whoever gets it applies them all.
    pending: std::sync::Mutex<Vec<Pending>>,
    health_timeout: Duration,
}

struct Pending {
    plan: Plan,
    done: oneshot::Sender<Result<ApplyReport, ApplyError>>,
}

/// Fold plans into one, in order (a later put or remove of a path wins).
fn merge(plans: &[&Plan]) -> Plan {
    let mut out = Plan::default();
    let mut removes = std::collections::BTreeSet::new();
    for p in plans {
        for (k, v) in &p.puts {
            removes.remove(k);
            out.puts.insert(k.clone(), v.clone());
        }
        for r in &p.removes {
            out.puts.remove(r);
            removes.insert(r.clone());
        }
        out.health.extend(p.health.iter().cloned());
    }
    out.removes = removes.into_iter().collect();
    let reasons: Vec<&str> = plans.iter().map(|p| p.reason.as_str()).take(5).collect();
    out.reason = if plans.len() > reasons.len() {
        format!("{} changes: {}, …", plans.len(), reasons.join(", "))
    } else {
        format!("{} changes: {}", plans.len(), reasons.join(", "))
    };
    out
}

fn step(name: &str, t0: Instant, ok: bool, output: Option<String>) -> StepReport {
    StepReport {
        name: name.to_owned(),
        ms: t0.elapsed().as_millis(),
        ok,
        output,
    }
}

fn out_text(o: &berth_sys::CmdOutput) -> String {
    format!("{}{}", o.stdout, o.stderr).trim().to_owned()
}

impl<A: ServiceAdapter> Executor<A> {
    pub fn new(store: Store, adapter: A) -> Executor<A> {
        Executor {
            store,
            adapter,
            lock: Mutex::new(()),
            pending: std::sync::Mutex::new(Vec::new()),
            health_timeout: Duration::from_secs(5),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn adapter(&self) -> &A {
        &self.adapter
    }

    /// Apply a plan. Plans that arrive while another apply runs are
    /// coalesced: the next holder of the lock applies all of them as one
    /// revision (one check, one reload). If that combined change fails, each
    /// plan is applied on its own, so one bad change cannot sink the others.
    pub async fn apply(&self, plan: &Plan) -> Result<ApplyReport, ApplyError> {
        let (done, mut rx) = oneshot::channel();
        self.pending_push(Pending {
            plan: plan.clone(),
            done,
        });
        let _g = self.lock.lock().await;
        // Whoever held the lock before us may have applied ours already.
        if let Ok(r) = rx.try_recv() {
            return r;
        }
        let batch = self.pending_take();
        self.apply_batch(batch).await;
        rx.await.unwrap_or_else(|_| {
            Err(ApplyError::Store(StoreError::Io {
                path: self.store.root().to_path_buf(),
                source: std::io::Error::other("the apply was dropped"),
            }))
        })
    }

    fn pending_push(&self, p: Pending) {
        match self.pending.lock() {
            Ok(mut g) => g.push(p),
            Err(poisoned) => poisoned.into_inner().push(p),
        }
    }

    fn pending_take(&self) -> Vec<Pending> {
        match self.pending.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// With the lock held: apply the plans together; when together they
    /// fail, split them in halves and try again, down to single plans. One
    /// bad change among n costs about 2·log2(n) extra checks, not n.
    async fn apply_batch(&self, batch: Vec<Pending>) {
        let mut groups = std::collections::VecDeque::from([batch]);
        while let Some(mut group) = groups.pop_front() {
            if group.len() == 1 {
                if let Some(p) = group.pop() {
                    let r = self.apply_one(&p.plan).await;
                    let _ = p.done.send(r);
                }
                continue;
            }
            let merged = merge(&group.iter().map(|p| &p.plan).collect::<Vec<_>>());
            match self.apply_one(&merged).await {
                Ok(mut report) => {
                    report.changes = group.len();
                    for p in group {
                        let _ = p.done.send(Ok(report.clone()));
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        service = self.adapter.name(),
                        changes = group.len(),
                        error = %e,
                        "the combined change failed; splitting it"
                    );
                    let second = group.split_off(group.len() / 2);
                    groups.push_front(second);
                    groups.push_front(group);
                }
            }
        }
    }

    async fn apply_one(&self, plan: &Plan) -> Result<ApplyReport, ApplyError> {
        let mut steps = Vec::new();
        let previous = self.store.current()?;

        let t = Instant::now();
        let (manifest, staged) = self.store.stage(&plan.puts, &plan.removes, &plan.reason)?;
        steps.push(step(
            "stage",
            t,
            true,
            Some(format!("{} file(s)", manifest.files.len())),
        ));

        let t = Instant::now();
        let scratch = staged.with_extension("scratch");
        if let Err(e) = std::fs::create_dir_all(&scratch) {
            self.store.discard(&staged);
            return Err(StoreError::Io {
                path: scratch,
                source: e,
            }
            .into());
        }
        let out = self.adapter.check(&staged, &scratch).run().await;
        self.store.discard(&scratch);
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                self.store.discard(&staged);
                return Err(e.into());
            }
        };
        if !out.success() {
            self.store.discard(&staged);
            let stderr = out_text(&out);
            steps.push(step("check", t, false, Some(stderr.clone())));
            self.store.log("rejected", None, &plan.reason, Some(stderr.clone()))?;
            return Err(ApplyError::CheckFailed {
                service: self.adapter.name().to_owned(),
                stderr,
                steps,
            });
        }
        steps.push(step("check", t, true, Some(out_text(&out))));

        let t = Instant::now();
        self.store.commit(&manifest, &staged)?;
        self.store.activate(manifest.rev)?;
        steps.push(step(
            "swap",
            t,
            true,
            Some(format!("revision {} is live", manifest.rev)),
        ));

        let t = Instant::now();
        let reload = self.adapter.reload().await;
        let reload_err = match reload {
            Ok(o) if o.success() => None,
            Ok(o) => Some(out_text(&o)),
            Err(e) => Some(e.to_string()),
        };
        if let Some(detail) = reload_err {
            steps.push(step("reload", t, false, Some(detail.clone())));
            let restored = self
                .restore(previous, manifest.rev, &plan.reason, &detail, &mut steps)
                .await?;
            return Err(ApplyError::ReloadFailed {
                service: self.adapter.name().to_owned(),
                rev: manifest.rev,
                restored,
                detail,
                steps,
            });
        }
        steps.push(step("reload", t, true, None));

        let t = Instant::now();
        let mut failure = None;
        for c in &plan.health {
            // The adapter's reload returns once the new configuration is the
            // one answering, so a few quick retries (≈0.3 s in all) only
            // cover a service that is still warming up: every moment spent
            // here a bad revision is live.
            let mut last = Err(String::new());
            for attempt in 0..5 {
                last = health::check(c, self.health_timeout).await;
                if last.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(30 * (attempt + 1))).await;
            }
            if let Err(e) = last {
                failure = Some(e);
                break;
            }
        }
        if let Some(detail) = failure {
            steps.push(step("health", t, false, Some(detail.clone())));
            let restored = self
                .restore(previous, manifest.rev, &plan.reason, &detail, &mut steps)
                .await?;
            return Err(ApplyError::HealthFailed {
                rev: manifest.rev,
                restored,
                detail,
                steps,
            });
        }
        steps.push(step(
            "health",
            t,
            true,
            Some(format!("{} check(s) passed", plan.health.len())),
        ));
        self.store.log("applied", Some(manifest.rev), &plan.reason, None)?;
        // The previous revision's tree stays for a restore; older ones are
        // rebuilt from blobs when a rollback asks for them.
        if let Err(e) = self.store.prune_trees(KEEP_TREES) {
            tracing::warn!(error = %e, service = self.adapter.name(), "could not prune old revision trees");
        }
        Ok(ApplyReport {
            rev: manifest.rev,
            previous,
            steps,
            changes: 1,
        })
    }

    /// Put `previous` back live after `failed` misbehaved.
    async fn restore(
        &self,
        previous: Option<u64>,
        failed: u64,
        reason: &str,
        detail: &str,
        steps: &mut Vec<StepReport>,
    ) -> Result<Option<u64>, ApplyError> {
        let t = Instant::now();
        if let Some(p) = previous {
            self.store.activate(p)?;
        } else {
            // There was nothing before: an empty tree is the previous state.
            let (m, staged) = self.store.stage(
                &BTreeMap::new(),
                &self.store.manifest(failed)?.files.keys().cloned().collect::<Vec<_>>(),
                "empty",
            )?;
            self.store.commit(&m, &staged)?;
            self.store.activate(m.rev)?;
        }
        let out = self.adapter.reload().await?;
        steps.push(step("rollback", t, out.success(), Some(out_text(&out))));
        self.store.log(
            "rolled_back",
            previous,
            reason,
            Some(format!("revision {failed}: {detail}")),
        )?;
        Ok(previous)
    }

    /// Make an earlier revision live again, as a new revision (history only
    /// grows), through the same checks.
    pub async fn rollback_to(&self, rev: u64, health: Vec<HttpCheck>) -> Result<ApplyReport, ApplyError> {
        let wanted = self.store.contents(rev)?;
        let current = match self.store.current()? {
            Some(c) => self.store.manifest(c)?.files,
            None => BTreeMap::new(),
        };
        let removes = current.keys().filter(|k| !wanted.contains_key(*k)).cloned().collect();
        self.apply(&Plan {
            reason: format!("rollback to revision {rev}"),
            puts: wanted,
            removes,
            health,
        })
        .await
    }

    /// Drift resolution "overwrite": rewrite the live revision's files from
    /// the blobs (the hand edits are discarded), as a new revision.
    pub async fn overwrite_drift(&self) -> Result<Option<ApplyReport>, ApplyError> {
        let Some(cur) = self.store.current()? else {
            return Ok(None);
        };
        if self.store.drift()?.is_empty() {
            return Ok(None);
        }
        self.rollback_to(cur, Vec::new()).await.map(Some)
    }

    /// Drift resolution "keep": record the files as they are on disk now as
    /// a new revision (after the checker accepts them).
    pub async fn adopt_drift(&self) -> Result<Option<ApplyReport>, ApplyError> {
        let drift = self.store.drift()?;
        if drift.is_empty() {
            return Ok(None);
        }
        let live = self.store.live_dir();
        let mut puts = BTreeMap::new();
        let mut removes = Vec::new();
        for d in drift {
            match std::fs::read(live.join(&d.path)) {
                Ok(b) => {
                    puts.insert(d.path, b);
                }
                Err(_) => removes.push(d.path),
            }
        }
        self.apply(&Plan {
            reason: "adopt hand edits".into(),
            puts,
            removes,
            health: Vec::new(),
        })
        .await
        .map(Some)
    }
}
