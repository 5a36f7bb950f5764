//! Flags that tell `berth serve` and `berth agent run` where the node
//! serves HTTPS and keeps ACME challenges and keys.

use berth_agent::certs::CertsConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct TlsFlags {
    /// Where sites with a certificate answer HTTPS (repeat for several;
    /// `--https-listen none`: this node serves no HTTPS).
    #[arg(
        long,
        default_value = "0.0.0.0:443",
        env = "BERTH_HTTPS_LISTEN",
        value_delimiter = ','
    )]
    pub https_listen: Vec<String>,
    /// ACME http-01 challenge files, served by nginx for every site; outside
    /// the data dir (0700), since nginx's workers read them.
    #[arg(long, default_value = "/var/lib/berth/acme", env = "BERTH_ACME_ROOT")]
    pub acme_root: PathBuf,
}

impl TlsFlags {
    /// `dir`: where keys and chains are kept (inside the node's state).
    pub fn config(&self, dir: &Path) -> anyhow::Result<CertsConfig> {
        let https_listen = self
            .https_listen
            .iter()
            .filter(|a| a.as_str() != "none")
            .map(|a| {
                a.parse::<SocketAddr>()
                    .map_err(|e| anyhow::anyhow!("--https-listen {a}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        std::fs::create_dir_all(&self.acme_root)?;
        let root = std::fs::canonicalize(&self.acme_root)?;
        Ok(CertsConfig {
            https_listen,
            acme_root: berth_proto::AbsPath::parse(&root.display().to_string())
                .map_err(|e| anyhow::anyhow!("--acme-root: {e}"))?,
            dir: dir.to_path_buf(),
        })
    }
}
