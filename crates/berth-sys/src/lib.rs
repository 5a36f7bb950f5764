//! The only crate that touches the host. Everything that starts a process or
//! writes a file outside the database goes through here, so the rules are in
//! one place:
//! - processes start from an absolute path with an argument vector, a cleared
//!   environment and a timeout (`Cmd`); there is no shell anywhere;
//! - files are replaced atomically (write a temp file beside the target,
//!   fsync, rename, fsync the directory), so a reader or a crash sees the old
//!   or the new content, never half of one.

pub mod cmd;
pub mod fsx;
pub mod limits;
pub mod procfs;
pub mod users;

pub use cmd::{Cmd, CmdError, CmdOutput};
