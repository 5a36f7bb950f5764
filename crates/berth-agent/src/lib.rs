//! The node agent. This crate holds the heart of every change Berth makes to
//! a server: `apply::Executor`, the one executor that stages a new revision
//! of a service's managed files, checks it with the service's own checker,
//! swaps it in atomically, reloads, health-checks, and puts the previous
//! revision back on any failure. `store::Store` keeps the revisions: a
//! journal, manifests and content-addressed blobs, so history is diffable,
//! revertible, and drift (a hand edit) is detected rather than clobbered.
//!
//! `node::LocalNode` is a node's websites (nginx, tenants' PHP-FPM masters)
//! on top of it, `rpc` serves it to the panel over mutual TLS, and
//! `systemd` says who keeps the services running.

pub mod apply;
pub mod certs;
pub mod dbs;
pub mod dns;
pub mod health;
pub mod history;
pub mod logs;
pub mod nginx;
pub mod node;
pub mod php;
pub mod report;
pub mod rpc;
pub mod store;
pub mod systemd;
