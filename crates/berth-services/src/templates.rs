//! Operator overrides of rendered configs. An override is a MiniJinja
//! template (strict: an unknown variable is an error) rendered with the same
//! desired state as the built-in renderer (`site`) and the built-in output
//! itself (`builtin`), so an operator can add to Berth's block or write
//! their own. Overrides live in the node's config directory, never in what
//! an upgrade ships, and a node uses one only after it rendered every site
//! and passed the service's checker (see `berth-agent::node`).

use berth_proto::desired::VhostSpec;
use minijinja::{Environment, UndefinedBehavior};

/// File name of the nginx server-block override in a templates directory.
pub const NGINX_VHOST: &str = "nginx-vhost.conf.j2";

/// File name of the PHP-FPM master config override (global settings and
/// the tenant's default pool; a site's own pool stays built-in).
pub const PHP_POOL: &str = "php-fpm-pool.conf.j2";

/// Largest override accepted.
pub const MAX_TEMPLATE: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct Override {
    source: String,
}

fn env() -> Environment<'static> {
    let mut e = Environment::new();
    e.set_undefined_behavior(UndefinedBehavior::Strict);
    e.set_keep_trailing_newline(true);
    e
}

impl Override {
    /// Check that `source` is a template (syntax only; variables are
    /// checked when it renders).
    pub fn parse(source: String) -> Result<Override, String> {
        if source.len() > MAX_TEMPLATE {
            return Err(format!("the template is larger than {MAX_TEMPLATE} bytes"));
        }
        if source.contains('\0') {
            return Err("the template contains a NUL byte".into());
        }
        env().template_from_str(&source).map_err(|e| e.to_string())?;
        Ok(Override { source })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// One site's server block(s) through the override.
    pub fn render_vhost(&self, spec: &VhostSpec) -> Result<String, String> {
        let e = env();
        let t = e.template_from_str(&self.source).map_err(|e| e.to_string())?;
        let builtin = crate::nginx::render_vhost(spec);
        let site = serde_json::to_value(spec).map_err(|e| e.to_string())?;
        t.render(minijinja::context! { site => site, builtin => builtin })
            .map_err(|e| format!("{e:#}"))
    }
}

impl Override {
    /// A tenant's PHP-FPM master config through the override.
    pub fn render_pool(
        &self,
        spec: &berth_proto::desired::FpmPoolSpec,
        include_dir: &berth_proto::AbsPath,
    ) -> Result<String, String> {
        let e = env();
        let t = e.template_from_str(&self.source).map_err(|e| e.to_string())?;
        let builtin = crate::php_fpm::render_pool(spec, include_dir);
        let pool = serde_json::to_value(spec).map_err(|e| e.to_string())?;
        t.render(minijinja::context! { pool => pool, builtin => builtin })
            .map_err(|e| format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VhostSpec {
        serde_json::from_value(serde_json::json!({
            "site": "0190f3c4-0000-7000-8000-000000000001", "listen": ["127.0.0.1:80"],
            "server_names": ["example.com"], "access_log": "/l/a.log", "error_log": "/l/e.log",
            "kind": {"type": "static", "root": "/w"}
        }))
        .unwrap()
    }

    #[test]
    fn extends_or_replaces_the_builtin_block() {
        let o = Override::parse("{{ builtin }}# for {{ site.server_names[0] }}\n".into()).unwrap();
        let out = o.render_vhost(&spec()).unwrap();
        assert!(out.starts_with(&crate::nginx::render_vhost(&spec())));
        assert!(out.ends_with("# for example.com\n"));
    }

    #[test]
    fn refuses_bad_templates() {
        assert!(Override::parse("{{ builtin ".into()).is_err());
        assert!(Override::parse("x\0y".into()).is_err());
        assert!(Override::parse("x".repeat(MAX_TEMPLATE + 1)).is_err());
        // Unknown variables are errors when rendering, not empty text.
        let o = Override::parse("{{ sitee.server_names }}".into()).unwrap();
        assert!(o.render_vhost(&spec()).is_err());
    }
}
