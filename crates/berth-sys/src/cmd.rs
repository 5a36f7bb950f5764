//! `Cmd`: run a program by absolute path with an argument vector. The
//! environment is cleared (only an explicit allowlist is passed on), stdin
//! is closed, output is captured, and the child is killed at the timeout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("{0}: commands must be started by absolute path")]
    NotAbsolute(PathBuf),
    #[error("could not start {program}: {source}")]
    Spawn { program: PathBuf, source: std::io::Error },
    #[error("{program} did not finish within {timeout:?} and was killed")]
    Timeout { program: PathBuf, timeout: Duration },
    #[error("waiting for {program}: {source}")]
    Wait { program: PathBuf, source: std::io::Error },
    /// A file the command needs (a unit, a config) could not be written.
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// A command to run. Build it, then `run()`.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    timeout: Duration,
    input: Input,
    stdout_file: Option<PathBuf>,
}

/// What the child reads on stdin.
#[derive(Clone, Default)]
enum Input {
    #[default]
    Null,
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl std::fmt::Debug for Input {
    // Input can hold SQL with password hashes: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Null => f.write_str("Null"),
            Input::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Input::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

impl Cmd {
    pub fn new(program: impl Into<PathBuf>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            // A minimal PATH for programs that exec helpers themselves.
            env: vec![("PATH".into(), "/usr/sbin:/usr/bin:/sbin:/bin".into())],
            cwd: None,
            timeout: Duration::from_secs(60),
            input: Input::Null,
            stdout_file: None,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, it: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(it.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Cmd {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = t;
        self
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Feed `bytes` to the child's stdin (input that must not appear in the
    /// process list, like SQL with password hashes).
    pub fn stdin_bytes(mut self, bytes: Vec<u8>) -> Cmd {
        self.input = Input::Bytes(bytes);
        self
    }

    /// The child reads this file on stdin (streamed, any size).
    pub fn stdin_file(mut self, path: impl Into<PathBuf>) -> Cmd {
        self.input = Input::File(path.into());
        self
    }

    /// The child writes its stdout into this file (created or truncated,
    /// mode 0600) instead of into memory.
    pub fn stdout_file(mut self, path: impl Into<PathBuf>) -> Cmd {
        self.stdout_file = Some(path.into());
        self
    }

    /// A printable form for logs and job steps (arguments quoted as Rust
    /// debug strings, so nothing in them can look like shell syntax).
    pub fn display(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(&format!("{:?}", a.to_string_lossy()));
        }
        s
    }

    /// Run to completion (or the timeout). A non-zero exit is not an error
    /// here: callers decide, with the output in hand.
    #[allow(clippy::disallowed_methods)] // the one place a process is started
    pub async fn run(&self) -> Result<CmdOutput, CmdError> {
        if !self.program.is_absolute() {
            return Err(CmdError::NotAbsolute(self.program.clone()));
        }
        let mut c = tokio::process::Command::new(&self.program);
        c.args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let file_err = |path: &PathBuf| {
            let path = path.clone();
            move |source| CmdError::File { path, source }
        };
        match &self.input {
            Input::Null => c.stdin(Stdio::null()),
            Input::Bytes(_) => c.stdin(Stdio::piped()),
            Input::File(p) => c.stdin(std::fs::File::open(p).map_err(file_err(p))?),
        };
        if let Some(p) = &self.stdout_file {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)
                .map_err(file_err(p))?;
            c.stdout(f);
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        let started = Instant::now();
        let mut child = c.spawn().map_err(|source| CmdError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        if let (Input::Bytes(b), Some(mut stdin)) = (&self.input, child.stdin.take()) {
            // Write beside the wait: a child that fills its stdout before
            // reading all its input must not deadlock us.
            let b = b.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let _ = stdin.write_all(&b).await;
                let _ = stdin.shutdown().await;
            });
        }
        let out = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(r) => r.map_err(|source| CmdError::Wait {
                program: self.program.clone(),
                source,
            })?,
            // Dropping the future drops the child, which kills it.
            Err(_) => {
                return Err(CmdError::Timeout {
                    program: self.program.clone(),
                    timeout: self.timeout,
                });
            }
        };
        Ok(CmdOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_with_argv_and_a_clean_env() {
        // SAFETY of the claim "no shell": the argument is passed verbatim.
        let out = Cmd::new("/bin/echo").arg("a; rm -rf / $(id)").run().await.unwrap();
        assert!(out.success());
        assert_eq!(out.stdout, "a; rm -rf / $(id)\n");
        let env = Cmd::new("/usr/bin/env").run().await.unwrap();
        assert_eq!(env.stdout.trim(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    }

    #[tokio::test]
    async fn relative_programs_are_refused() {
        assert!(matches!(Cmd::new("echo").run().await, Err(CmdError::NotAbsolute(_))));
    }

    #[tokio::test]
    async fn slow_commands_are_killed() {
        let r = Cmd::new("/bin/sleep")
            .arg("5")
            .timeout(Duration::from_millis(100))
            .run()
            .await;
        assert!(matches!(r, Err(CmdError::Timeout { .. })));
    }

    #[tokio::test]
    async fn stdin_and_stdout_files() {
        let out = Cmd::new("/bin/cat")
            .stdin_bytes(b"secret sql".to_vec())
            .run()
            .await
            .unwrap();
        assert_eq!(out.stdout, "secret sql");
        let d = std::env::temp_dir().join(format!("berth-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("in"), "from a file").unwrap();
        let out = Cmd::new("/bin/cat")
            .stdin_file(d.join("in"))
            .stdout_file(d.join("out"))
            .run()
            .await
            .unwrap();
        assert!(out.success() && out.stdout.is_empty());
        assert_eq!(std::fs::read_to_string(d.join("out")).unwrap(), "from a file");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn failures_keep_their_output() {
        let out = Cmd::new("/bin/ls").arg("/definitely/not/here").run().await.unwrap();
        assert!(!out.success());
        assert!(out.stderr.contains("No such file"));
    }
}
