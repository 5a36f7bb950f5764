//! Flags that tell `berth serve` and `berth agent run` about the node's DNS
//! server (PowerDNS's HTTP API).

use berth_agent::dns::{BindAdmin, DnsServersConfig, PowerDnsAdmin};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct DnsFlags {
    /// PowerDNS's API on this node (`http://127.0.0.1:8081`: its webserver
    /// with `api=yes`). Left out, the node serves no DNS.
    #[arg(long, env = "BERTH_PDNS_API_URL")]
    pub pdns_api_url: Option<String>,
    /// A file holding PowerDNS's `api-key` (the key never leaves the node).
    #[arg(long, env = "BERTH_PDNS_API_KEY_FILE")]
    pub pdns_api_key_file: Option<PathBuf>,
    /// The server id in PowerDNS's API paths.
    #[arg(long, default_value = "localhost", env = "BERTH_PDNS_SERVER_ID")]
    pub pdns_server_id: String,
    /// Serve zones with BIND instead: the directory Berth writes zone files
    /// into (named must be able to read it, and allow `rndc addzone`:
    /// `allow-new-zones yes;`).
    #[arg(long, env = "BERTH_BIND_ZONES_DIR", conflicts_with = "pdns_api_url")]
    pub bind_zones_dir: Option<PathBuf>,
    /// The rndc configuration that reaches that BIND.
    #[arg(long, default_value = "/etc/bind/rndc.conf", env = "BERTH_BIND_RNDC_CONF")]
    pub bind_rndc_conf: PathBuf,
}

impl DnsFlags {
    pub fn config(&self) -> anyhow::Result<DnsServersConfig> {
        let Some(url) = &self.pdns_api_url else {
            return Ok(DnsServersConfig {
                powerdns: None,
                bind: self.bind_zones_dir.as_ref().map(|d| BindAdmin {
                    zones_dir: d.clone(),
                    rndc_conf: self.bind_rndc_conf.clone(),
                }),
            });
        };
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--pdns-api-url must be an http(s) URL"
        );
        let file = self
            .pdns_api_key_file
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--pdns-api-url needs --pdns-api-key-file"))?;
        let key = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            .trim()
            .to_owned();
        anyhow::ensure!(!key.is_empty(), "{} is empty", file.display());
        Ok(DnsServersConfig {
            powerdns: Some(PowerDnsAdmin {
                api_url: url.clone(),
                api_key: key,
                server_id: self.pdns_server_id.clone(),
            }),
            bind: None,
        })
    }
}
