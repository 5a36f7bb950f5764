//! Health checks after a reload: an HTTP request by Host header to a local
//! address, expecting a status class. Plain HTTP/1.1 over a TCP socket, so
//! the agent needs no HTTP client for it.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpCheck {
    pub addr: SocketAddr,
    /// A validated domain (the Host header).
    pub host: berth_proto::DomainName,
    /// Path to request; must start with `/` and contain no spaces.
    pub path: String,
    /// Accepted statuses, for example 200..=399.
    pub min_status: u16,
    pub max_status: u16,
    /// A header (lower-case name) the answer must carry with this value.
    #[serde(default)]
    pub expect_header: Option<(String, String)>,
}

/// Run one check; `Err` says what was wrong.
pub async fn check(c: &HttpCheck, timeout: Duration) -> Result<u16, String> {
    if !c.path.starts_with('/') || c.path.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err(format!("bad health check path {:?}", c.path));
    }
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(c.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", c.addr))?;
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: berth-agent\r\n\r\n",
            c.path, c.host
        );
        s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
        // Read the head (up to 16 KiB) of the answer.
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&head);
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let status: u16 = first
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {first:?}"))?;
        if let Some((name, want)) = &c.expect_header {
            let got = lines.take_while(|l| !l.is_empty()).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            });
            if got.as_deref() != Some(want.as_str()) {
                return Err(format!(
                    "{} answered without {name}: {want} (an old or other server block answered)",
                    c.host
                ));
            }
        }
        Ok::<u16, String>(status)
    };
    let status = tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("no answer from {} within {timeout:?}", c.addr))??;
    if (c.min_status..=c.max_status).contains(&status) {
        Ok(status)
    } else {
        Err(format!(
            "{} {} answered {status}, expected {}-{}",
            c.host, c.path, c.min_status, c.max_status
        ))
    }
}

/// GET `path` from `addr` with `host` as Host header: the status and the
/// body (at most 64 KiB; the server closes the connection).
pub async fn fetch(
    addr: SocketAddr,
    host: &berth_proto::DomainName,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    if !path.starts_with('/') || path.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err(format!("bad path {path:?}"));
    }
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: berth-agent\r\n\r\n");
        s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut all = Vec::new();
        (&mut s)
            .take(64 * 1024)
            .read_to_end(&mut all)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&all);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let first = head.lines().next().unwrap_or_default();
        let status: u16 = first
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {first:?}"))?;
        Ok::<(u16, String), String>((status, body.to_owned()))
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("no answer from {addr} within {timeout:?}"))?
}
