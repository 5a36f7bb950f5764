//! Authentication: who is calling. Authorization (what they may do) is
//! `berth_core::Principal::authorize`, called by every handler through
//! `Authed::authorize`.

mod client_ip;
mod extractor;
pub mod secrets;
pub mod totp;

pub use client_ip::ClientIp;
pub use client_ip::resolve as client_ip_resolve;
pub use extractor::{Authed, SESSION_COOKIE};
