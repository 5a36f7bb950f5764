//! The client's IP: the TCP peer, or — only when the peer is a configured
//! trusted proxy — the nearest untrusted address in `X-Forwarded-For`.
//! Without this rule anyone could pick their IP for the login throttle and
//! token allowlists by sending a header.

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Resolve the client IP from the peer, the trusted networks, and the
/// X-Forwarded-For header value (if any).
pub fn resolve(peer: IpAddr, trusted: &[ipnet::IpNet], xff: Option<&str>) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(xff) = xff else { return peer };
    // Walk from the right (nearest hop) past our own proxies.
    let mut last = peer;
    for part in xff.rsplit(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => last = ip,
            Ok(ip) => return ip,
            Err(_) => return last,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<ipnet::IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_ip() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolve(peer, &nets(&["10.0.0.0/8"]), Some("1.2.3.4")), peer);
    }

    #[test]
    fn trusted_proxy_chain_is_unwound() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(peer, &t, Some("198.51.100.7, 10.0.0.5")).to_string(),
            "198.51.100.7"
        );
        // A client-supplied left-most value is ignored when a real hop follows.
        assert_eq!(
            resolve(peer, &t, Some("6.6.6.6, 198.51.100.7")).to_string(),
            "198.51.100.7"
        );
        assert_eq!(resolve(peer, &t, Some("garbage")), peer);
        assert_eq!(resolve(peer, &t, None), peer);
    }
}
