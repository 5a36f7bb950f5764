//! Wire types of Berth, shared by the panel, the CLI, tests and (through the
//! OpenAPI document) the UI.
//!
//! Everything a client can send is parsed here into a validated type before it
//! reaches any other crate: a `String` that could end up in SQL, a config file,
//! a path or a command never leaves this crate unvalidated. This crate has no
//! IO dependencies on purpose (see ARCHITECTURE.md).

pub mod api;
pub mod desired;
pub mod dns;
pub mod error;
pub mod ids;
pub mod names;
pub mod php;
pub mod role;
pub mod time;

pub use error::{ApiErrorBody, ErrorCode};
pub use ids::*;
pub use names::*;
pub use role::{Role, TokenAccess};
pub use time::Timestamp;
