//! The node's DNS server: zones applied as whole desired states. PowerDNS
//! is driven through its local HTTP API (the API key stays on the node);
//! a zone that does not exist is created with all its rrsets, one that does
//! gets the minimal PATCH (REPLACE what differs, DELETE what is gone), so a
//! replay changes nothing and PowerDNS's serial only moves on real changes.
//! Every spec is checked again here (`berth_core::dns_zone`) before it
//! reaches the server.

use berth_proto::dns::ZoneSpec;
use berth_proto::names::DomainName;
use berth_services::dns::{PdnsRrset, pdns_patch, pdns_rrsets};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DnsServersConfig {
    pub powerdns: Option<PowerDnsAdmin>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PowerDnsAdmin {
    /// `http://127.0.0.1:8081` (PowerDNS's webserver; the API under it).
    pub api_url: String,
    pub api_key: String,
    /// The server id in API paths (`localhost` unless configured).
    pub server_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsOpError {
    #[error("this node has no DNS server set up")]
    NotConfigured,
    #[error("the zone is not valid: {0}")]
    Invalid(String),
    #[error("the DNS server cannot be reached: {0}")]
    Unreachable(String),
    #[error("the DNS server refused: {0}")]
    Refused(String),
}

impl DnsOpError {
    pub fn retryable(&self) -> bool {
        matches!(self, DnsOpError::Unreachable(_))
    }
}

/// What a zone looks like on the server after an apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneState {
    pub serial: u32,
    /// rrsets changed by this apply (0: it was already so).
    pub changed: usize,
}

#[derive(Deserialize)]
struct PdnsZone {
    #[serde(default)]
    serial: u32,
    #[serde(default)]
    rrsets: Vec<PdnsRrset>,
}

pub struct DnsServers {
    cfg: DnsServersConfig,
    http: reqwest::Client,
}

impl DnsServers {
    pub fn new(cfg: DnsServersConfig) -> DnsServers {
        // The API is plain HTTP on the node; a TLS setup with an explicit
        // provider is still required to build a client, and naming one
        // here keeps the process-wide default untouched.
        let tls =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                });
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Ok(tls) = tls {
            b = b.tls_backend_preconfigured(tls);
        }
        let http = b.build().unwrap_or_else(|_| reqwest::Client::new());
        DnsServers { cfg, http }
    }

    pub fn config(&self) -> &DnsServersConfig {
        &self.cfg
    }

    fn pdns(&self) -> Result<&PowerDnsAdmin, DnsOpError> {
        self.cfg.powerdns.as_ref().ok_or(DnsOpError::NotConfigured)
    }

    fn url(p: &PowerDnsAdmin, rest: &str) -> String {
        format!(
            "{}/api/v1/servers/{}{rest}",
            p.api_url.trim_end_matches('/'),
            p.server_id
        )
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, DnsOpError> {
        let p = self.pdns()?;
        let resp = rb
            .header("X-API-Key", &p.api_key)
            .send()
            .await
            .map_err(|e| DnsOpError::Unreachable(e.to_string()))?;
        if resp.status().is_server_error() {
            let s = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(DnsOpError::Unreachable(format!("{s}: {}", pdns_error(&body))));
        }
        Ok(resp)
    }

    /// The zone as PowerDNS has it; `rrsets: false` asks for the zone's
    /// metadata (serial) only, not its records.
    async fn get_zone_with(&self, zone: &DomainName, rrsets: bool) -> Result<Option<PdnsZone>, DnsOpError> {
        let p = self.pdns()?;
        let resp = self
            .send(self.http.get(Self::url(p, &format!("/zones/{zone}.?rrsets={rrsets}"))))
            .await?;
        match resp.status().as_u16() {
            404 | 422 => Ok(None),
            200 => resp
                .json()
                .await
                .map(Some)
                .map_err(|e| DnsOpError::Refused(format!("unreadable zone: {e}"))),
            s => Err(DnsOpError::Refused(format!(
                "{s}: {}",
                pdns_error(&resp.text().await.unwrap_or_default())
            ))),
        }
    }

    /// Make the server serve exactly `spec`.
    pub async fn apply_zone(&self, spec: &ZoneSpec) -> Result<ZoneState, DnsOpError> {
        berth_core::dns_zone::check_zone(&spec.zone, &spec.records)
            .map_err(|p| DnsOpError::Invalid(p.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
        let desired = pdns_rrsets(spec).map_err(DnsOpError::Invalid)?;
        let p = self.pdns()?;
        let changed = match self.get_zone_with(&spec.zone, true).await? {
            None => {
                let body = serde_json::json!({
                    "name": format!("{}.", spec.zone),
                    "kind": "Native",
                    "soa_edit_api": "DEFAULT",
                    "nameservers": [],
                    "rrsets": desired,
                });
                let resp = self.send(self.http.post(Self::url(p, "/zones")).json(&body)).await?;
                expect_ok(resp).await?;
                desired.len()
            }
            Some(current) => {
                let patch = pdns_patch(&current.rrsets, &desired);
                if !patch.is_empty() {
                    let resp = self
                        .send(
                            self.http
                                .patch(Self::url(p, &format!("/zones/{}.", spec.zone)))
                                .json(&serde_json::json!({ "rrsets": patch })),
                        )
                        .await?;
                    expect_ok(resp).await?;
                }
                patch.len()
            }
        };
        let serial = self
            .get_zone_with(&spec.zone, false)
            .await?
            .map(|z| z.serial)
            .unwrap_or(0);
        Ok(ZoneState { serial, changed })
    }

    /// Stop serving `zone` (nothing when it is not there).
    pub async fn remove_zone(&self, zone: &DomainName) -> Result<(), DnsOpError> {
        let p = self.pdns()?;
        let resp = self
            .send(self.http.delete(Self::url(p, &format!("/zones/{zone}."))))
            .await?;
        match resp.status().as_u16() {
            404 | 422 => Ok(()),
            _ => expect_ok(resp).await,
        }
    }

    /// The serial the server has for `zone` (`None`: it has no such zone).
    pub async fn serial(&self, zone: &DomainName) -> Result<Option<u32>, DnsOpError> {
        Ok(self.get_zone_with(zone, false).await?.map(|z| z.serial))
    }
}

async fn expect_ok(resp: reqwest::Response) -> Result<(), DnsOpError> {
    if resp.status().is_success() {
        return Ok(());
    }
    let s = resp.status();
    Err(DnsOpError::Refused(format!(
        "{s}: {}",
        pdns_error(&resp.text().await.unwrap_or_default())
    )))
}

/// PowerDNS answers errors as `{"error": "..."}`.
fn pdns_error(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// `POST /v1/dns`: one zone's desired state, or its removal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DnsRequest {
    ApplyZone { spec: ZoneSpec },
    RemoveZone { zone: DomainName },
}

impl DnsServers {
    pub async fn handle(&self, req: DnsRequest) -> Result<ZoneState, DnsOpError> {
        match req {
            DnsRequest::ApplyZone { spec } => self.apply_zone(&spec).await,
            DnsRequest::RemoveZone { zone } => self.remove_zone(&zone).await.map(|()| ZoneState::default()),
        }
    }
}
