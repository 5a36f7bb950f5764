//! The durable job engine. Every change that touches a node is a job: a row
//! with ordered steps, run by workers that claim it with a lease.
//!
//! Guarantees (tested in `tests/engine.rs` on SQLite and PostgreSQL):
//! - a job is claimed by one worker at a time (`SKIP LOCKED` / `BEGIN IMMEDIATE`);
//! - a worker that dies loses its lease, and another worker takes the job over;
//! - a step recorded as succeeded never runs again: a failed or taken-over
//!   job resumes at the first step that did not succeed;
//! - failures retry with exponential backoff and jitter read from settings,
//!   until `max_attempts`, then the job is `dead` and stays visible;
//! - cancellation stops queued jobs at once and running jobs between steps.

pub mod builtin;
mod engine;
mod handler;
mod scheduler;

pub use engine::{Engine, EngineConfig, EnqueueError};
pub use handler::{BoxFuture, JobHandler, Registry, StepCtx, StepError};
