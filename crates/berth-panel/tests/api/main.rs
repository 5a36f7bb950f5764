//! Integration tests of the panel API over real HTTP, each on SQLite and on
//! PostgreSQL (when `BERTH_TEST_PG_URL` is set; `scripts/test` sets it).

mod auth_flows;
mod certificates;
mod common;
mod databases;
mod dns;
mod hostile;
mod jobs_api;
mod php_sites;
mod rbac;
mod routes_walk;
mod settings_audit;
mod sites;
