//! Names a tenant cannot take, because its Linux user would be (or pose as)
//! a system account. The node also refuses any existing user it did not
//! create; this list makes the common cases a clear error at creation.

const RESERVED: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "messagebus",
    "sshd",
    "postgres",
    "mysql",
    "mariadb",
    "nginx",
    "apache",
    "postfix",
    "dovecot",
    "dovenull",
    "vmail",
    "opendkim",
    "rspamd",
    "redis",
    "memcache",
    "bind",
    "pdns",
    "ftp",
    "admin",
    "administrator",
    "berth",
    "berth-web",
    "staff",
    "adm",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "cdrom",
    "floppy",
    "audio",
    "video",
    "plugdev",
    "users",
    "nogroup",
    "shadow",
    "utmp",
    "operator",
    "src",
    "sasl",
    "tape",
    "voice",
    "fax",
    "netdev",
];

/// Is `name` reserved for the system?
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || name.starts_with("systemd-") || name.starts_with("berth-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_accounts_are_reserved() {
        for n in [
            "root",
            "www-data",
            "postgres",
            "berth-web",
            "systemd-network",
            "berth-agent",
        ] {
            assert!(is_reserved(n), "{n}");
        }
        for n in ["acme", "rooted", "shop-1"] {
            assert!(!is_reserved(n), "{n}");
        }
    }
}
