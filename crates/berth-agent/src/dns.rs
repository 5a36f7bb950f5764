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
    /// Used when `powerdns` is not set.
    #[serde(default)]
    pub bind: Option<BindAdmin>,
}

/// BIND 9: zone files Berth writes into `zones_dir`, checked with
/// `named-checkzone`, loaded with `rndc` (`addzone` for a new zone, so the
/// server needs `allow-new-zones yes;`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BindAdmin {
    pub zones_dir: std::path::PathBuf,
    /// `rndc -c <this>`.
    pub rndc_conf: std::path::PathBuf,
}

const RNDC: &str = "/usr/sbin/rndc";
const CHECKZONE: &str = "/usr/bin/named-checkzone";

/// The serial of a zone file Berth wrote (its SOA line).
fn zone_file_serial(text: &str) -> Option<u32> {
    text.lines()
        .find(|l| l.split_whitespace().nth(3) == Some("SOA"))
        .and_then(|l| l.split_whitespace().nth(6))
        .and_then(|s| s.parse().ok())
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
    /// The DS records for the registrar when the zone is signed.
    #[serde(default)]
    pub ds: Vec<String>,
    /// rrsets changed by this apply (0: it was already so; BIND: 1 when
    /// the zone file changed).
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
    /// One BIND zone change at a time (file, check, swap, reload).
    bind_lock: tokio::sync::Mutex<()>,
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
        DnsServers {
            cfg,
            http,
            bind_lock: tokio::sync::Mutex::new(()),
        }
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
        if self.cfg.powerdns.is_none()
            && let Some(b) = &self.cfg.bind
        {
            if spec.dnssec {
                return Err(DnsOpError::Invalid(
                    "DNSSEC is served by PowerDNS nodes; this node runs BIND".into(),
                ));
            }
            return self.bind_apply(b, spec).await;
        }
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
        let ds = self.pdns_dnssec(&spec.zone, spec.dnssec).await?;
        let serial = self
            .get_zone_with(&spec.zone, false)
            .await?
            .map(|z| z.serial)
            .unwrap_or(0);
        Ok(ZoneState { serial, changed, ds })
    }

    /// Sign `zone` or stop signing it; the DS records when signed.
    /// PowerDNS signs on the fly with the zone's keys (its backend needs
    /// DNSSEC enabled: `gsqlite3-dnssec=yes`).
    async fn pdns_dnssec(&self, zone: &DomainName, on: bool) -> Result<Vec<String>, DnsOpError> {
        #[derive(Deserialize)]
        struct Key {
            id: u64,
            #[serde(default)]
            ds: Vec<String>,
        }
        let p = self.pdns()?;
        let keys_url = Self::url(p, &format!("/zones/{zone}./cryptokeys"));
        let resp = self.send(self.http.get(&keys_url)).await?;
        if !resp.status().is_success() {
            return Err(DnsOpError::Refused(format!(
                "{}: {}",
                resp.status(),
                pdns_error(&resp.text().await.unwrap_or_default())
            )));
        }
        let keys: Vec<Key> = resp
            .json()
            .await
            .map_err(|e| DnsOpError::Refused(format!("unreadable keys: {e}")))?;
        if !on {
            for k in &keys {
                let resp = self.send(self.http.delete(format!("{keys_url}/{}", k.id))).await?;
                expect_ok(resp).await?;
            }
            if !keys.is_empty() {
                self.pdns_flush(zone).await?;
            }
            return Ok(Vec::new());
        }
        if !keys.is_empty() {
            return Ok(keys.into_iter().flat_map(|k| k.ds).collect());
        }
        let resp = self
            .send(self.http.post(&keys_url).json(&serde_json::json!({
                "keytype": "csk", "active": true, "published": true, "algorithm": "ecdsa256"
            })))
            .await?;
        if !resp.status().is_success() {
            return Err(DnsOpError::Refused(format!(
                "signing key: {}",
                pdns_error(&resp.text().await.unwrap_or_default())
            )));
        }
        let key: Key = resp
            .json()
            .await
            .map_err(|e| DnsOpError::Refused(format!("unreadable key: {e}")))?;
        self.pdns_flush(zone).await?;
        Ok(key.ds)
    }

    /// Drop the zone's answers from PowerDNS's packet cache: key changes
    /// do not purge it (record changes through the API do).
    async fn pdns_flush(&self, zone: &DomainName) -> Result<(), DnsOpError> {
        let p = self.pdns()?;
        let resp = self
            .send(self.http.put(Self::url(p, &format!("/cache/flush?domain={zone}."))))
            .await?;
        expect_ok(resp).await
    }

    /// Stop serving `zone` (nothing when it is not there).
    pub async fn remove_zone(&self, zone: &DomainName) -> Result<(), DnsOpError> {
        if self.cfg.powerdns.is_none()
            && let Some(b) = &self.cfg.bind
        {
            return self.bind_remove(b, zone).await;
        }
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
        if self.cfg.powerdns.is_none()
            && let Some(b) = &self.cfg.bind
        {
            let text = std::fs::read_to_string(b.zones_dir.join(format!("{zone}.zone"))).ok();
            return Ok(text.as_deref().and_then(zone_file_serial));
        }
        Ok(self.get_zone_with(zone, false).await?.map(|z| z.serial))
    }

    async fn rndc(&self, b: &BindAdmin, args: &[&str]) -> Result<berth_sys::CmdOutput, DnsOpError> {
        berth_sys::Cmd::new(RNDC)
            .arg("-c")
            .arg(&b.rndc_conf)
            .args(args.iter().copied())
            .timeout(Duration::from_secs(60))
            .run()
            .await
            .map_err(|e| DnsOpError::Unreachable(format!("rndc: {e}")))
    }

    /// BIND: render → `named-checkzone` on the staged file → swap it in →
    /// `rndc addzone` (new) or `rndc reload <zone>`; a reload BIND refuses
    /// puts the previous file back and reloads that. The serial moves only
    /// when the zone's content changes.
    async fn bind_apply(&self, b: &BindAdmin, spec: &ZoneSpec) -> Result<ZoneState, DnsOpError> {
        let _g = self.bind_lock.lock().await;
        let path = b.zones_dir.join(format!("{}.zone", spec.zone));
        let io = |e: std::io::Error| DnsOpError::Refused(format!("{}: {e}", path.display()));
        let old = std::fs::read_to_string(&path).ok();
        let old_serial = old.as_deref().and_then(zone_file_serial);
        let mut next = spec.clone();
        if let (Some(o), Some(serial)) = (&old, old_serial) {
            next.serial = serial;
            if &berth_services::dns::render_bind_zone(&next).map_err(DnsOpError::Invalid)? == o {
                return Ok(ZoneState {
                    serial,
                    changed: 0,
                    ds: Vec::new(),
                });
            }
            next.serial = spec.serial.max(serial.wrapping_add(1));
        }
        let text = berth_services::dns::render_bind_zone(&next).map_err(DnsOpError::Invalid)?;
        let staged = b.zones_dir.join(format!(".{}.zone.new", spec.zone));
        std::fs::write(&staged, &text).map_err(io)?;
        let check = berth_sys::Cmd::new(CHECKZONE)
            .args(["-k", "fail", "-n", "ignore", spec.zone.as_str()])
            .arg(&staged)
            .timeout(Duration::from_secs(60))
            .run()
            .await
            .map_err(|e| DnsOpError::Unreachable(format!("named-checkzone: {e}")))?;
        if !check.success() {
            let _ = std::fs::remove_file(&staged);
            return Err(DnsOpError::Invalid(format!(
                "named-checkzone refused the zone: {}",
                check.stdout.trim()
            )));
        }
        std::fs::rename(&staged, &path).map_err(io)?;
        let known = self.rndc(b, &["zonestatus", spec.zone.as_str()]).await?.success();
        let out = if known {
            self.rndc(b, &["reload", spec.zone.as_str()]).await?
        } else {
            let conf = format!("{{ type primary; file \"{}\"; }};", path.display());
            self.rndc(b, &["addzone", spec.zone.as_str(), &conf]).await?
        };
        if !out.success() {
            match &old {
                Some(o) => {
                    std::fs::write(&path, o).map_err(io)?;
                    let _ = self.rndc(b, &["reload", spec.zone.as_str()]).await;
                }
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
            return Err(DnsOpError::Refused(format!(
                "BIND refused the zone (the previous one is back): {}{}",
                out.stdout.trim(),
                out.stderr.trim()
            )));
        }
        // `rndc reload` only schedules the load: the apply is done when
        // BIND serves the new serial (a large zone takes a moment).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let st = self.rndc(b, &["zonestatus", spec.zone.as_str()]).await?;
            let serving = st
                .stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix("serial: "))
                .and_then(|v| v.trim().parse::<u32>().ok());
            if serving == Some(next.serial) {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(DnsOpError::Unreachable(format!(
                    "BIND did not load serial {} of {} within a minute (serving {serving:?})",
                    next.serial, spec.zone
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(ZoneState {
            serial: next.serial,
            changed: 1,
            ds: Vec::new(),
        })
    }

    async fn bind_remove(&self, b: &BindAdmin, zone: &DomainName) -> Result<(), DnsOpError> {
        let _g = self.bind_lock.lock().await;
        if self.rndc(b, &["zonestatus", zone.as_str()]).await?.success() {
            let out = self.rndc(b, &["delzone", zone.as_str()]).await?;
            if !out.success() {
                return Err(DnsOpError::Refused(format!(
                    "rndc delzone: {}{}",
                    out.stdout.trim(),
                    out.stderr.trim()
                )));
            }
        }
        let path = b.zones_dir.join(format!("{zone}.zone"));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DnsOpError::Refused(format!("{}: {e}", path.display()))),
        }
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
