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
        let mut head = vec![0u8; 64];
        let n = s.read(&mut head).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]);
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {line:?}"))?;
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
