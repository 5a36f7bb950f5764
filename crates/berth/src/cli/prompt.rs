//! Reading secrets from the user: without echo on a terminal, else one line
//! from standard input (so scripts can pipe a password in). Secrets are held
//! as `Password`, whose `Debug` is redacted, and are never printed.
//!
//! These calls block; that is fine in a CLI, where nothing else runs while
//! we wait for the user.

use anyhow::{Context, bail};
use berth_proto::Password;
use std::io::{BufRead, IsTerminal, Write};

/// One line from stdin, without its line ending.
fn stdin_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from standard input"))?;
    if n == 0 {
        bail!("no {what} on standard input");
    }
    let trimmed = line.trim_end_matches(['\n', '\r']);
    Ok(trimmed.to_owned())
}

fn to_password(s: String, what: &str) -> anyhow::Result<Password> {
    Password::try_from(s).map_err(|e| anyhow::anyhow!("the {what} is not acceptable: {}", e.why))
}

/// A secret: from stdin when `from_stdin` or when stdin is not a terminal,
/// else prompted on the terminal without echo.
pub fn secret(prompt: &str, what: &str, from_stdin: bool) -> anyhow::Result<Password> {
    let text = if from_stdin || !std::io::stdin().is_terminal() {
        stdin_line(what)?
    } else {
        rpassword::prompt_password(prompt).with_context(|| format!("reading the {what}"))?
    };
    to_password(text, what)
}

/// A new password; on a terminal it is asked twice to catch typos.
pub fn new_password(from_stdin: bool) -> anyhow::Result<Password> {
    let interactive = !from_stdin && std::io::stdin().is_terminal();
    let first = secret("New password: ", "new password", from_stdin)?;
    if interactive {
        let again = secret("Repeat the new password: ", "new password", false)?;
        if again != first {
            bail!("the two passwords differ");
        }
    }
    Ok(first)
}

/// A visible one-line answer (a TOTP code) typed on the terminal.
pub fn line(prompt: &str, what: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
    }
    stdin_line(what)
}

/// Whether we may ask the user something.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}
