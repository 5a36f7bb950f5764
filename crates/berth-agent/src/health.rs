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

/// One plain HTTP/1.1 GET by Host header: the status line's code, the
/// header lines, and up to `body_limit` bytes of the body (none: only the
/// head is read, so a streaming answer cannot hold the caller).
async fn exchange(
    addr: SocketAddr,
    host: &berth_proto::DomainName,
    path: &str,
    body_limit: usize,
) -> Result<(u16, Vec<String>, String), String> {
    if !path.starts_with('/') || path.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err(format!("bad path {path:?}"));
    }
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: berth-agent\r\n\r\n");
    s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() >= 16 * 1024 {
            break buf.len();
        }
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break buf.len();
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut body = buf.get(head_end + 4..).map(<[u8]>::to_vec).unwrap_or_default();
    if body_limit > 0 {
        let room = u64::try_from(body_limit.saturating_sub(body.len())).unwrap_or(0);
        (&mut s)
            .take(room)
            .read_to_end(&mut body)
            .await
            .map_err(|e| e.to_string())?;
    }
    body.truncate(body_limit);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let status: u16 = first
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {first:?}"))?;
    Ok((
        status,
        lines.map(str::to_owned).collect(),
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// Run one check; `Err` says what was wrong.
pub async fn check(c: &HttpCheck, timeout: Duration) -> Result<u16, String> {
    let (status, headers, _) = tokio::time::timeout(timeout, exchange(c.addr, &c.host, &c.path, 0))
        .await
        .map_err(|_| format!("no answer from {} within {timeout:?}", c.addr))??;
    if let Some((name, want)) = &c.expect_header {
        let got = headers.iter().find_map(|l| {
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
/// body (at most 64 KiB).
pub async fn fetch(
    addr: SocketAddr,
    host: &berth_proto::DomainName,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let (status, _, body) = tokio::time::timeout(timeout, exchange(addr, host, path, 64 * 1024))
        .await
        .map_err(|_| format!("no answer from {addr} within {timeout:?}"))??;
    Ok((status, body))
}
