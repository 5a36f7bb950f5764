//! The panel's side of certificates: the install's ACME account, the
//! preflight that checks names before anything is ordered, requests to the
//! node that holds a site's keys, and alerts.

use crate::agents::Pki;
use berth_agent::certs::{CertReply, CertRequest};
use berth_agent::node::LocalNode;
use berth_db::Conn;
use berth_proto::NodeId;
use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The `acme.*` settings an order needs (read outside any transaction).
#[derive(Clone, Debug)]
pub struct AcmeSettings {
    pub directory_url: String,
    pub ca_root_file: Option<String>,
    pub contact: Option<String>,
    pub eab: Option<(String, String)>,
    pub renew_days: i64,
    pub resolver: Option<SocketAddr>,
    pub webhook: Option<String>,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

impl AcmeSettings {
    /// One read of the stored settings, the registry's defaults for the rest.
    pub async fn load(c: &mut Conn) -> Result<AcmeSettings, berth_db::DbError> {
        let stored = berth_db::settings::all(c).await?;
        let get = |k: &str| berth_core::settings::effective(k, stored.get(k).map(|s| &s.value)).unwrap_or_default();
        let directory_url = text(&get("acme.directory_url")).unwrap_or_default();
        let ca_root_file = text(&get("acme.ca_root_file"));
        let contact = text(&get("acme.contact_email"));
        let kid = text(&get("acme.eab_key_id"));
        let hmac = text(&get("acme.eab_hmac_key"));
        let renew_days = get("acme.renew_days_before").as_i64().unwrap_or(30);
        let resolver = text(&get("acme.resolver")).and_then(|s| s.parse().ok());
        let webhook = text(&get("alerts.webhook_url"));
        Ok(AcmeSettings {
            directory_url,
            ca_root_file,
            contact,
            eab: kid.zip(hmac),
            renew_days,
            resolver,
            webhook,
        })
    }
}

/// The install's account at the configured ACME server: made on first use
/// (with External Account Binding when configured) and kept in the panel's
/// database.
pub async fn account(db: &berth_db::Db, s: &AcmeSettings) -> Result<Account, String> {
    if s.directory_url.is_empty() {
        return Err("no ACME server is configured (setting acme.directory_url)".into());
    }
    let builder = || match &s.ca_root_file {
        Some(root) => Account::builder_with_root(root).map_err(|e| format!("acme.ca_root_file {root}: {e}")),
        None => Account::builder().map_err(|e| format!("ACME client: {e}")),
    };
    let mut c = db.conn().await.map_err(|e| e.to_string())?;
    let stored = berth_db::certificates::acme_account(&mut c, &s.directory_url)
        .await
        .map_err(|e| e.to_string())?;
    drop(c);
    if let Some(json) = stored {
        let creds: AccountCredentials =
            serde_json::from_str(&json).map_err(|e| format!("the stored ACME account is unreadable: {e}"))?;
        return builder()?
            .from_credentials(creds)
            .await
            .map_err(|e| format!("ACME server {}: {e}", s.directory_url));
    }
    let contact: Vec<String> = s.contact.iter().map(|m| format!("mailto:{m}")).collect();
    let contact_refs: Vec<&str> = contact.iter().map(String::as_str).collect();
    let eab = match &s.eab {
        Some((kid, key)) => {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .map_err(|_| "acme.eab_hmac_key is not base64url".to_owned())?;
            Some(ExternalAccountKey::new(kid.clone(), &raw))
        }
        None => None,
    };
    let (account, creds) = builder()?
        .create(
            &NewAccount {
                contact: &contact_refs,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            s.directory_url.clone(),
            eab.as_ref(),
        )
        .await
        .map_err(|e| format!("could not make an ACME account at {}: {e}", s.directory_url))?;
    let json = serde_json::to_string(&creds).map_err(|e| e.to_string())?;
    let mut c = db.conn().await.map_err(|e| e.to_string())?;
    let kept = berth_db::certificates::save_acme_account(&mut c, &s.directory_url, &json)
        .await
        .map_err(|e| e.to_string())?;
    if kept == json {
        Ok(account)
    } else {
        // Another job made one at the same time: use the one that was kept.
        let creds: AccountCredentials = serde_json::from_str(&kept).map_err(|e| e.to_string())?;
        builder()?.from_credentials(creds).await.map_err(|e| e.to_string())
    }
}

/// Where names point: the configured DNS server (`acme.resolver`), or
/// the system's resolver. Made once per preflight, asked per name.
pub enum NameResolver {
    System,
    Server(Box<hickory_resolver::Resolver<hickory_resolver::net::runtime::TokioRuntimeProvider>>),
}

impl NameResolver {
    pub fn new(server: Option<SocketAddr>) -> Result<NameResolver, String> {
        use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
        let Some(server) = server else {
            return Ok(NameResolver::System);
        };
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
        let mut b = hickory_resolver::Resolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            hickory_resolver::net::runtime::TokioRuntimeProvider::default(),
        );
        b.options_mut().timeout = Duration::from_secs(3);
        b.options_mut().attempts = 2;
        b.options_mut().cache_size = 0;
        b.build()
            .map(|r| NameResolver::Server(Box::new(r)))
            .map_err(|e| e.to_string())
    }

    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        match self {
            NameResolver::System => tokio::net::lookup_host((name, 80))
                .await
                .map(|it| it.map(|a| a.ip()).collect())
                .map_err(|e| e.to_string()),
            NameResolver::Server(r) => r
                .lookup_ip(format!("{name}.").as_str())
                .await
                .map(|l| l.iter().collect())
                .map_err(|e| e.to_string()),
        }
    }
}

/// One request to the node that serves a site (`None`: the panel's own).
pub async fn on_node(
    db: &berth_db::Db,
    local: &Option<Arc<LocalNode>>,
    pki: &Pki,
    node: Option<NodeId>,
    req: CertRequest,
    request_id: Option<&str>,
) -> Result<CertReply, (bool, String)> {
    match node {
        None => {
            let n = local
                .as_ref()
                .ok_or((false, "this panel runs no local node for sites".to_owned()))?;
            n.certs().handle(req).await.map_err(|e| (e.retryable(), e.to_string()))
        }
        Some(id) => {
            let mut c = db.conn().await.map_err(|e| (true, e.to_string()))?;
            let row = berth_db::nodes::get_by_id(&mut c, id)
                .await
                .map_err(|e| (true, e.to_string()))?;
            drop(c);
            pki.call(&row, reqwest::Method::POST, "/v1/certs", Some(&req), request_id)
                .await
                .map_err(|e| (e.retryable(), e.to_string()))
        }
    }
}

/// POST an alert to `alerts.webhook_url`; what happened is answered for
/// the job's log (an alert that cannot be sent must not hide the failure).
pub async fn alert(webhook: &Option<String>, body: &Value) -> Option<String> {
    let url = webhook.as_ref()?;
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => return Some(format!("alert not sent: {e}")),
    };
    Some(match client.post(url).json(body).send().await {
        Ok(r) if r.status().is_success() => format!("alert sent to {url}"),
        Ok(r) => format!("the alert webhook {url} answered {}", r.status()),
        Err(e) => format!("alert not sent to {url}: {e}"),
    })
}
