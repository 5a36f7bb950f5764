//! Renderers: desired state in, config text out. Pure functions (no IO, no
//! clock, no randomness), so every rendered config has a golden test in
//! `tests/golden/<service>/` and the same input always yields the same bytes.
//! Applying the output is the agent's job (`berth-agent::apply`).

pub mod dbsql;
pub mod dns;
pub mod nginx;
pub mod php_fpm;
pub mod systemd;
pub mod templates;
