//! The settings registry: every key Berth knows, its type, default, and the
//! rule its value must satisfy. Stored values are validated against this on
//! write; readers get typed values with the default as fallback, so no
//! service hard-codes a tunable.

use berth_proto::api::settings::SettingType;
use serde_json::{Value, json};

/// One registered key.
pub struct SettingDef {
    pub key: &'static str,
    pub value_type: SettingType,
    pub default: fn() -> Value,
    pub description: &'static str,
    pub validate: fn(&Value) -> Result<(), String>,
}

fn int_range(v: &Value, lo: i64, hi: i64) -> Result<(), String> {
    match v.as_i64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(()),
        _ => Err(format!("must be a whole number from {lo} to {hi}")),
    }
}

fn nameserver_list(v: &Value) -> Result<(), String> {
    let list = v.as_array().ok_or("must be a list of host names")?;
    if list.is_empty() || list.len() > 13 {
        return Err("must name 1 to 13 name servers".into());
    }
    for n in list {
        let s = n.as_str().ok_or("must be a list of host names")?;
        berth_proto::dns::Target::parse(s).map_err(|e| format!("{s}: {e}"))?;
    }
    Ok(())
}

fn email(v: &Value) -> Result<(), String> {
    let s = v.as_str().ok_or("must be an e-mail address")?;
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && local.chars().all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
                && berth_proto::dns::Target::parse(domain).is_ok() =>
        {
            Ok(())
        }
        _ => Err("must be an e-mail address (letters, digits and . _ - + before the @)".into()),
    }
}

fn node_addresses(v: &Value) -> Result<(), String> {
    let map = v
        .as_object()
        .ok_or("must be an object of node name to a list of addresses")?;
    for (node, list) in map {
        let list = list
            .as_array()
            .ok_or_else(|| format!("{node}: must be a list of addresses"))?;
        if list.len() > 16 {
            return Err(format!("{node}: at most 16 addresses"));
        }
        for a in list {
            a.as_str()
                .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                .ok_or_else(|| format!("{node}: {a} is not an IP address"))?;
        }
    }
    Ok(())
}

fn zone_template(v: &Value) -> Result<(), String> {
    let list = v.as_array().ok_or("must be a list of records")?;
    for r in list {
        let mut r = r.clone();
        if let Some(c) = r.get("content").and_then(Value::as_str) {
            r["content"] = Value::String(c.replace("{zone}", "example.com"));
        }
        let w: berth_proto::dns::RecordWire = serde_json::from_value(r).map_err(|e| e.to_string())?;
        berth_proto::dns::Record::try_from(w).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn boolean(v: &Value) -> Result<(), String> {
    v.as_bool()
        .map(|_| ())
        .ok_or_else(|| "must be true or false".to_owned())
}

fn short_text(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if s.chars().count() <= 255 && !s.chars().any(char::is_control) => Ok(()),
        _ => Err("must be a string of at most 255 characters without control characters".to_owned()),
    }
}

fn host_or_empty(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some("") => Ok(()),
        Some(s) if berth_proto::is_hostname(s) || s.parse::<std::net::IpAddr>().is_ok() => Ok(()),
        _ => Err("must be a host name, an IP address, or empty".to_owned()),
    }
}

fn email_or_empty(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some("") => Ok(()),
        Some(s) => berth_proto::Email::parse(s).map(|_| ()).map_err(|e| e.to_string()),
        None => Err("must be a string".to_owned()),
    }
}

fn url_or_empty(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some("") => Ok(()),
        Some(s)
            if (s.starts_with("http://") || s.starts_with("https://"))
                && s.len() <= 255
                && !s.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            Ok(())
        }
        _ => Err("must be an http(s) URL or empty".to_owned()),
    }
}

fn abs_path_or_empty(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some("") => Ok(()),
        Some(s) => berth_proto::AbsPath::parse(s).map(|_| ()).map_err(|e| e.to_string()),
        None => Err("must be a string".to_owned()),
    }
}

fn socket_addr_or_empty(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some("") => Ok(()),
        Some(s) if s.parse::<std::net::SocketAddr>().is_ok() => Ok(()),
        _ => Err("must be ip:port (for example 192.0.2.53:53) or empty".to_owned()),
    }
}

fn roles_list(v: &Value) -> Result<(), String> {
    let arr = v.as_array().ok_or("must be a list of roles")?;
    for r in arr {
        let s = r.as_str().ok_or("must be a list of roles")?;
        s.parse::<berth_proto::Role>()?;
    }
    Ok(())
}

fn cidr_list(v: &Value) -> Result<(), String> {
    let arr = v.as_array().ok_or("must be a list of networks (CIDR)")?;
    for n in arr {
        let s = n.as_str().ok_or("must be a list of networks (CIDR)")?;
        parse_net(s).ok_or_else(|| format!("{s:?} is not an IP network"))?;
    }
    Ok(())
}

/// Parse `10.0.0.0/8` or a bare address (as a /32 or /128).
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

fn jitter(v: &Value) -> Result<(), String> {
    match v.as_f64() {
        Some(f) if (0.0..=1.0).contains(&f) => Ok(()),
        _ => Err("must be a number from 0 to 1".to_owned()),
    }
}

macro_rules! def {
    ($key:literal, $ty:ident, $default:expr, $desc:literal, $validate:expr) => {
        SettingDef {
            key: $key,
            value_type: SettingType::$ty,
            default: || $default,
            description: $desc,
            validate: $validate,
        }
    };
}

/// Every setting Berth reads.
pub static REGISTRY: &[SettingDef] = &[
    def!(
        "auth.password.min_length",
        Number,
        json!(12),
        "Minimum password length.",
        |v| int_range(v, 8, 256)
    ),
    def!(
        "auth.password.min_classes",
        Number,
        json!(3),
        "How many of lower, upper, digit, symbol a password needs.",
        |v| int_range(v, 1, 4)
    ),
    def!(
        "auth.session.ttl_minutes",
        Number,
        json!(720),
        "Absolute lifetime of a login session.",
        |v| int_range(v, 5, 43_200)
    ),
    def!(
        "auth.session.idle_minutes",
        Number,
        json!(120),
        "A session unused this long ends.",
        |v| int_range(v, 5, 43_200)
    ),
    def!(
        "auth.login.max_failures_per_account",
        Number,
        json!(5),
        "Failed logins on one account before it is locked for a while.",
        |v| int_range(v, 1, 1000)
    ),
    def!(
        "auth.login.max_failures_per_ip",
        Number,
        json!(20),
        "Failed logins from one IP before it is locked for a while.",
        |v| int_range(v, 1, 100_000)
    ),
    def!(
        "auth.login.lockout_minutes",
        Number,
        json!(15),
        "How long a lock after too many failures lasts.",
        |v| int_range(v, 1, 1440)
    ),
    def!(
        "auth.totp.required_roles",
        Json,
        json!([]),
        "Roles that must enable two-factor authentication before using the panel.",
        roles_list
    ),
    def!(
        "auth.password_reset.ttl_minutes",
        Number,
        json!(30),
        "How long an emailed password reset link works.",
        |v| int_range(v, 5, 1440)
    ),
    def!(
        "http.trusted_proxies",
        Json,
        json!([]),
        "Peers (CIDR) whose X-Forwarded-For is believed for the client IP.",
        cidr_list
    ),
    def!(
        "sites.proxy_allowed_networks",
        Json,
        json!([]),
        "Networks (CIDR) besides loopback that proxy sites may pass requests to (an admin's choice; tenants' apps are on loopback).",
        cidr_list
    ),
    def!(
        "databases.tenant_prefix",
        Boolean,
        json!(true),
        "Prefix database and database-user names with the tenant's name and '_' (cPanel's convention): `shop` becomes `acme_shop`. Off: names are taken as given, and must be unique per server.",
        boolean
    ),
    def!(
        "databases.import_max_mb",
        Number,
        json!(1024),
        "Largest dump a tenant may upload for import, in MB.",
        |v| int_range(v, 1, 102_400)
    ),
    def!(
        "databases.retention_days",
        Number,
        json!(7),
        "Days a deleted tenant's databases are kept on their server before they are dropped (its database users are dropped at once). 0 drops them at once.",
        |v| int_range(v, 0, 365)
    ),
    def!(
        "dns.nameservers",
        Json,
        json!(["ns1.berth.localhost", "ns2.berth.localhost"]),
        "The name servers of every zone Berth serves (the apex NS records; the first is the SOA's primary). Host names, 1 to 13.",
        nameserver_list
    ),
    def!(
        "dns.hostmaster",
        String,
        json!("hostmaster@berth.localhost"),
        "The contact address in every zone's SOA record.",
        email
    ),
    def!(
        "dns.default_ttl",
        Number,
        json!(3600),
        "TTL of a zone's SOA and NS records and of records created without one (seconds).",
        |v| int_range(v, 60, 604_800)
    ),
    def!(
        "dns.node_addresses",
        Json,
        json!({}),
        "Public addresses of each node's websites, by node name (`local`: the panel's own), e.g. {\"local\": [\"192.0.2.10\", \"2001:db8::10\"]}. A site created on a node gets A/AAAA records with them in its tenant's zone, if the tenant holds one for its domain.",
        node_addresses
    ),
    def!(
        "dns.zone_template",
        Json,
        json!([{"name": "www", "type": "CNAME", "content": "{zone}"}]),
        "Records a new zone starts with when its creator gives none: a list of {name, type, ttl, content}; `{zone}` in a content becomes the zone's name.",
        zone_template
    ),
    def!(
        "acme.directory_url",
        String,
        json!("https://acme-v02.api.letsencrypt.org/directory"),
        "The ACME server certificates are ordered from (RFC 8555 directory URL). Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory.",
        url_or_empty
    ),
    def!(
        "acme.ca_root_file",
        String,
        json!(""),
        "A PEM file with the root that the ACME server's own HTTPS certificate chains to, for private CAs and tests; empty: the system's roots.",
        abs_path_or_empty
    ),
    def!(
        "acme.contact_email",
        String,
        json!(""),
        "Contact address given to the ACME server when Berth makes its account (expiry notices from the CA go there).",
        email_or_empty
    ),
    def!(
        "acme.eab_key_id",
        String,
        json!(""),
        "External Account Binding key id, for CAs that require one (ZeroSSL, some private CAs).",
        short_text
    ),
    def!(
        "acme.eab_hmac_key",
        String,
        json!(""),
        "External Account Binding HMAC key (base64url), with acme.eab_key_id.",
        short_text
    ),
    def!(
        "acme.renew_days_before",
        Number,
        json!(30),
        "Renew ACME certificates this many days before they expire; also what counts as expiring soon.",
        |v| int_range(v, 1, 365)
    ),
    def!(
        "acme.resolver",
        String,
        json!(""),
        "The DNS server (ip:port) the preflight check asks where a certificate's names point; empty: the system's resolver.",
        socket_addr_or_empty
    ),
    def!(
        "alerts.webhook_url",
        String,
        json!(""),
        "Berth POSTs a JSON alert here when a certificate cannot be issued or renewed, or is about to expire without a successful renewal. Empty: alerts only show in jobs, certificate status and the dashboard counts.",
        url_or_empty
    ),
    def!(
        "smtp.host",
        String,
        json!(""),
        "Outgoing SMTP relay for panel mail (password resets). Empty disables mail.",
        host_or_empty
    ),
    def!(
        "smtp.port",
        Number,
        json!(25),
        "Port of the SMTP relay.",
        |v| int_range(v, 1, 65_535)
    ),
    def!(
        "smtp.from",
        String,
        json!(""),
        "Sender address of panel mail.",
        email_or_empty
    ),
    def!(
        "smtp.starttls",
        Boolean,
        json!(false),
        "Require STARTTLS to the relay.",
        boolean
    ),
    def!(
        "panel.public_url",
        String,
        json!(""),
        "The URL users reach the panel at, used in links in mail.",
        url_or_empty
    ),
    def!(
        "platform.brand_name",
        String,
        json!("Berth"),
        "Name shown in the UI and in mail.",
        short_text
    ),
    def!(
        "jobs.retry.base_delay_ms",
        Number,
        json!(1000),
        "First retry delay of a failed job; doubles per attempt.",
        |v| int_range(v, 0, 86_400_000)
    ),
    def!(
        "jobs.retry.max_delay_ms",
        Number,
        json!(600_000),
        "Largest retry delay.",
        |v| int_range(v, 0, 86_400_000)
    ),
    def!(
        "jobs.retry.jitter",
        Number,
        json!(0.2),
        "Random spread of retry delays (fraction, 0 to 1).",
        jitter
    ),
    def!(
        "jobs.default_max_attempts",
        Number,
        json!(5),
        "Attempts before a job is dead, unless the job says otherwise.",
        |v| int_range(v, 1, 100)
    ),
    def!(
        "jobs.lease_seconds",
        Number,
        json!(30),
        "A running job whose worker stops heartbeating for this long is taken over.",
        |v| int_range(v, 2, 3600)
    ),
];

pub fn find(key: &str) -> Option<&'static SettingDef> {
    REGISTRY.iter().find(|d| d.key == key)
}

/// The value in force for a registered key: the stored one while it still
/// passes its rule (rules may tighten after a value was written), else the
/// default. `None` for an unregistered key.
pub fn effective(key: &str, stored: Option<&Value>) -> Option<Value> {
    let def = find(key)?;
    Some(match stored {
        Some(v) if (def.validate)(v).is_ok() => v.clone(),
        _ => (def.default)(),
    })
}

/// Check a value for a key: the type must match and the rule must pass.
pub fn validate(key: &str, value: &Value) -> Result<&'static SettingDef, String> {
    let def = find(key).ok_or_else(|| format!("unknown setting {key:?}"))?;
    let type_ok = match def.value_type {
        SettingType::String => value.is_string(),
        SettingType::Number => value.is_number(),
        SettingType::Boolean => value.is_boolean(),
        SettingType::Json => true,
    };
    if !type_ok {
        return Err(format!("{key} must be a {:?}", def.value_type).to_lowercase());
    }
    (def.validate)(value).map_err(|e| format!("{key} {e}"))?;
    Ok(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_rule() {
        for d in REGISTRY {
            validate(d.key, &(d.default)()).unwrap_or_else(|e| panic!("{}: {e}", d.key));
            assert!(berth_proto::SettingKey::parse(d.key).is_ok(), "{}", d.key);
        }
    }

    #[test]
    fn effective_values_fall_back_to_the_default() {
        let k = "auth.password.min_length";
        assert_eq!(effective(k, None), Some(json!(12)));
        assert_eq!(effective(k, Some(&json!(16))), Some(json!(16)));
        // A stored value that no longer passes the rule is not used.
        assert_eq!(effective(k, Some(&json!(3))), Some(json!(12)));
        assert_eq!(effective("no.such_key", Some(&json!(1))), None);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(validate("auth.password.min_length", &json!(3)).is_err());
        assert!(validate("auth.password.min_length", &json!("12")).is_err());
        assert!(validate("smtp.host", &json!("mail.example.com; rm -rf /")).is_err());
        assert!(validate("http.trusted_proxies", &json!(["10.0.0.0/8", "::1"])).is_ok());
        assert!(validate("http.trusted_proxies", &json!(["nope"])).is_err());
        assert!(validate("auth.totp.required_roles", &json!(["admin", "root"])).is_err());
        assert!(validate("no.such_key", &json!(1)).is_err());
        assert!(validate("jobs.retry.jitter", &json!(1.5)).is_err());
    }
}
