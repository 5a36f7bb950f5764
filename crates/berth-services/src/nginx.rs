//! nginx: the main configuration and one server block per site.
//!
//! Every value comes from a validated type (domains, absolute paths of plain
//! names, socket addresses, redirect URLs without `$`, quotes, braces or `;`),
//! so nothing here needs escaping and no input can add a directive.

use berth_proto::desired::{NginxMainSpec, VhostKind, VhostSpec, VhostTls};
use std::fmt::Write;

const HEADER: &str = "# Managed by Berth. Edits here are reported as drift and replaced by the next apply.\n";

/// `nginx.conf` for a managed prefix. Sites live in `<prefix>/current/sites/`,
/// where `current` is the active revision (a symlink swapped atomically).
pub fn render_main(spec: &NginxMainSpec) -> String {
    let p = spec.prefix.as_str();
    let mut s = String::from(HEADER);
    if let Some(u) = &spec.user {
        let _ = writeln!(s, "user {u};");
    }
    let _ = writeln!(s, "worker_processes {};", spec.workers.max(1));
    // Two log files per site in every worker (the master's limit is raised
    // by the agent, which starts it).
    s.push_str("worker_rlimit_nofile 1048576;\n");
    let _ = writeln!(s, "pid {p}/run/nginx.pid;");
    let _ = writeln!(s, "error_log {p}/logs/error.log warn;");
    s.push_str("events {\n    worker_connections 1024;\n}\n");
    s.push_str("http {\n");
    s.push_str("    include /etc/nginx/mime.types;\n");
    s.push_str("    default_type application/octet-stream;\n");
    s.push_str("    server_tokens off;\n");
    let _ = writeln!(s, "    access_log {p}/logs/access.log;");
    for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let _ = writeln!(s, "    {t}_temp_path {p}/tmp/{t};");
    }
    // Large enough for tens of thousands of names (measured in the probe).
    s.push_str("    server_names_hash_bucket_size 128;\n");
    s.push_str("    server_names_hash_max_size 65536;\n");
    s.push_str("    server {\n");
    for l in &spec.default_listen {
        let _ = writeln!(s, "        listen {l} default_server;");
    }
    s.push_str("        return 404;\n");
    s.push_str("    }\n");
    if !spec.default_tls_listen.is_empty() {
        // Mozilla's "intermediate" profile: TLS 1.2 and 1.3, forward-secret
        // AEAD ciphers only, no session tickets (their key never rotates
        // without a restart).
        s.push_str("    ssl_protocols TLSv1.2 TLSv1.3;\n");
        s.push_str(concat!(
            "    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:",
            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:",
            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n"
        ));
        s.push_str("    ssl_prefer_server_ciphers off;\n");
        s.push_str("    ssl_session_cache shared:berth_tls:10m;\n");
        s.push_str("    ssl_session_timeout 1d;\n");
        s.push_str("    ssl_session_tickets off;\n");
        // A name no site holds: refuse the handshake instead of showing
        // some tenant's certificate.
        s.push_str("    server {\n");
        for l in &spec.default_tls_listen {
            let _ = writeln!(s, "        listen {l} ssl default_server;");
        }
        s.push_str("        ssl_reject_handshake on;\n");
        s.push_str("    }\n");
    }
    let _ = writeln!(s, "    include {p}/current/sites/*.conf;");
    s.push_str("}\n");
    s
}

/// The file name of a site's server block inside the sites directory.
pub fn vhost_file_name(spec: &VhostSpec) -> String {
    format!("{}.conf", spec.site)
}

/// Deny dot-files (`.git`, `.env`, `.user.ini`), except ACME's `.well-known`.
const DENY_HIDDEN: &str = "    location ~ /\\.(?!well-known/) {\n        deny all;\n    }\n";

fn head(s: &mut String, spec: &VhostSpec, listen: &[String], names: &[&str]) {
    s.push_str("server {\n");
    for l in listen {
        let _ = writeln!(s, "    listen {l};");
    }
    let _ = writeln!(s, "    server_name {};", names.join(" "));
    let _ = writeln!(s, "    access_log {};", spec.access_log);
    let _ = writeln!(s, "    error_log {};", spec.error_log);
    // Lets the agent's health check prove that this block (this revision)
    // answered, whatever the status.
    let _ = writeln!(s, "    add_header X-Berth-Site {} always;", spec.site);
}

/// The certificate of an HTTPS block.
fn tls_lines(s: &mut String, t: &VhostTls) {
    let _ = writeln!(s, "    ssl_certificate {};", t.cert);
    let _ = writeln!(s, "    ssl_certificate_key {};", t.key);
    if t.stapling {
        s.push_str("    ssl_stapling on;\n");
        s.push_str("    ssl_stapling_verify on;\n");
        let _ = writeln!(s, "    ssl_trusted_certificate {};", t.cert);
    }
    if t.hsts {
        s.push_str("    add_header Strict-Transport-Security \"max-age=31536000\" always;\n");
    }
}

/// ACME http-01 challenges: a `^~` prefix location beats every other
/// location of the block (redirects, proxies, the suspension page).
fn acme(s: &mut String, spec: &VhostSpec) {
    if let Some(root) = &spec.acme_root {
        s.push_str("    location ^~ /.well-known/acme-challenge/ {\n");
        let _ = writeln!(s, "        root {root};");
        s.push_str("        default_type text/plain;\n");
        s.push_str("        try_files $uri =404;\n");
        s.push_str("    }\n");
    }
}

fn plain_listen(spec: &VhostSpec) -> Vec<String> {
    spec.listen.iter().map(ToString::to_string).collect()
}

fn tls_listen(t: &VhostTls) -> Vec<String> {
    t.listen.iter().map(|l| format!("{l} ssl http2")).collect()
}

/// `:port` when HTTPS is not on 443.
fn https_port(t: &VhostTls) -> String {
    match t.listen.first().map(|a| a.port()) {
        Some(443) | None => String::new(),
        Some(p) => format!(":{p}"),
    }
}

/// Path redirects and error pages, for kinds that serve the site's own URLs.
fn site_extras(s: &mut String, spec: &VhostSpec) {
    for (code, page) in &spec.error_pages {
        let _ = writeln!(s, "    error_page {code} {page};");
    }
    for r in &spec.redirects {
        let _ = writeln!(
            s,
            "    location = {} {{\n        return {} \"{}\";\n    }}",
            r.from, r.code, r.to
        );
    }
}

fn files(s: &mut String, root: &berth_proto::AbsPath, index: &str) {
    let _ = writeln!(s, "    root {root};");
    let _ = writeln!(s, "    index {index};");
    // A tenant's symlink to another tenant's file must not be served
    // (measured: without this nginx follows it; isolation-probe.md).
    // `from=` skips the root-owned directories above the web root.
    s.push_str("    disable_symlinks if_not_owner from=$document_root;\n");
    s.push_str(DENY_HIDDEN);
}

/// The server blocks of one site: the site itself, the `www.` redirect
/// when it has one, and with force-HTTPS the plain-HTTP block that only
/// answers challenges and redirects.
pub fn render_vhost(spec: &VhostSpec) -> String {
    let mut s = String::from(HEADER);
    let _ = writeln!(s, "# site {}", spec.site);
    let names: Vec<&str> = spec
        .server_names
        .iter()
        .filter(|n| spec.name_redirect.as_ref().is_none_or(|r| r.from != **n))
        .map(|n| n.as_str())
        .collect();
    let force = spec.tls.as_ref().filter(|t| t.force_https);
    let main_listen = match (&spec.tls, force) {
        (Some(t), Some(_)) => tls_listen(t),
        (Some(t), None) => plain_listen(spec).into_iter().chain(tls_listen(t)).collect(),
        (None, _) => plain_listen(spec),
    };
    head(&mut s, spec, &main_listen, &names);
    if let Some(t) = &spec.tls {
        tls_lines(&mut s, t);
    }
    acme(&mut s, spec);
    match &spec.kind {
        VhostKind::Static { root } => {
            files(&mut s, root, "index.html index.htm");
            site_extras(&mut s, spec);
            s.push_str("    location / {\n        try_files $uri $uri/ =404;\n    }\n");
        }
        VhostKind::Php { root, socket } => {
            files(&mut s, root, "index.php index.html index.htm");
            site_extras(&mut s, spec);
            // Front-controller routing (WordPress, Laravel…): a missing file
            // goes to /index.php.
            s.push_str("    location / {\n        try_files $uri $uri/ /index.php$is_args$args;\n    }\n");
            s.push_str("    location ~ [^/]\\.php$ {\n");
            // Only existing scripts reach PHP (no `/upload.jpg/x.php` tricks).
            s.push_str("        try_files $uri =404;\n");
            s.push_str("        include /etc/nginx/fastcgi_params;\n");
            s.push_str("        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n");
            let _ = writeln!(s, "        fastcgi_pass unix:{socket};");
            s.push_str("    }\n");
        }
        VhostKind::Proxy { upstream } => {
            site_extras(&mut s, spec);
            s.push_str("    location / {\n");
            let _ = writeln!(s, "        proxy_pass http://{upstream};");
            s.push_str("        proxy_http_version 1.1;\n");
            s.push_str("        proxy_set_header Host $host;\n");
            s.push_str("        proxy_set_header X-Real-IP $remote_addr;\n");
            s.push_str("        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n");
            s.push_str("        proxy_set_header X-Forwarded-Proto $scheme;\n");
            s.push_str("    }\n");
        }
        VhostKind::Redirect { to, permanent } => {
            let code = if *permanent { 301 } else { 302 };
            let _ = writeln!(s, "    location / {{\n        return {code} \"{to}\";\n    }}");
        }
        VhostKind::Suspended => {
            s.push_str("    location / {\n");
            s.push_str("        default_type text/html;\n");
            s.push_str(
                "        return 503 \"<!doctype html><title>Suspended</title><h1>This site is suspended</h1>\";\n",
            );
            s.push_str("    }\n");
        }
    }
    s.push_str("}\n");
    if let Some(r) = &spec.name_redirect {
        // With force-HTTPS, plain HTTP for every name is the block below.
        let listen = match (&spec.tls, force) {
            (Some(t), Some(_)) => tls_listen(t),
            (Some(t), None) => plain_listen(spec).into_iter().chain(tls_listen(t)).collect(),
            (None, _) => plain_listen(spec),
        };
        head(&mut s, spec, &listen, &[r.from.as_str()]);
        if let Some(t) = &spec.tls {
            tls_lines(&mut s, t);
        }
        acme(&mut s, spec);
        // A location, not a server-level `return`: that would run before
        // the challenge location could match.
        let target = match force {
            Some(t) => format!("https://{}{}", r.to, https_port(t)),
            None => format!("$scheme://{}", r.to),
        };
        let _ = writeln!(s, "    location / {{\n        return 301 {target}$request_uri;\n    }}");
        s.push_str("}\n");
    }
    if let Some(t) = force {
        let all: Vec<&str> = spec.server_names.iter().map(|n| n.as_str()).collect();
        head(&mut s, spec, &plain_listen(spec), &all);
        acme(&mut s, spec);
        let _ = writeln!(
            s,
            "    location / {{\n        return 301 https://$host{}$request_uri;\n    }}",
            https_port(t)
        );
        s.push_str("}\n");
    }
    s
}
