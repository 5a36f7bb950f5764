//! Per-request plumbing: the request id (accepted from `X-Request-Id` when it
//! is a UUID, else generated), the client IP, a tracing span carrying both,
//! and the request metrics (count and latency by route and status).

use crate::auth::ClientIp;
use crate::error::REQUEST_ID;
use crate::state::SharedState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use berth_proto::RequestId;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;
use tracing::Instrument;

/// What every handler may know about its request.
#[derive(Clone, Debug)]
pub struct RequestCtx {
    pub request_id: RequestId,
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn request_id(req: &Request) -> RequestId {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<RequestId>().ok())
        .unwrap_or_default()
}

pub async fn per_request(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = request_id(&req);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        // In-process calls (tests with `oneshot`) have no socket.
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let trusted = state.settings.nets("http.trusted_proxies").await;
    let xff = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = crate::auth::client_ip_resolve(peer, &trusted, xff);
    let user_agent = req
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().filter(|c| !c.is_control()).take(256).collect());
    req.extensions_mut().insert(RequestCtx {
        request_id: rid,
        ip,
        user_agent,
    });
    req.extensions_mut().insert(ClientIp(ip));
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %rid, method = %method, route = %route, ip = %ip);
    let mut resp = REQUEST_ID.scope(rid, next.run(req)).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    span.in_scope(|| tracing::info!(status, ms = secs * 1000.0, "handled"));
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("berth_http_requests_total", &labels).increment(1);
    metrics::histogram!("berth_http_request_duration_seconds", &labels).record(secs);
    if let Ok(v) = HeaderValue::from_str(&rid.to_string()) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}
