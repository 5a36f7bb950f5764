//! The HTTP API: one module per resource. Every handler is registered with
//! `routes!` so the OpenAPI document is generated from the same list the
//! router serves; the route-walk test proves that every path outside
//! `PUBLIC_PATHS` refuses anonymous callers.

pub mod audit;
pub mod auth;
pub mod certificates;
pub mod databases;
pub mod dns;
pub mod jobs;
pub mod me;
pub mod nodes;
pub mod packages;
pub mod schedules;
pub mod settings;
pub mod sites;
pub mod system;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use berth_db::Conn;
use berth_db::audit::AuditEvent;
use berth_proto::api::Page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Paths that answer without credentials (method, path).
pub const PUBLIC_PATHS: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/nodes/join"),
];

pub fn api() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::current_session))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::forgot_password))
        .routes(routes!(auth::reset_password))
        .routes(routes!(me::get_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(me::totp_setup))
        .routes(routes!(me::totp_enable))
        .routes(routes!(me::totp_disable))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(tenants::list_tenants, tenants::create_tenant))
        .routes(routes!(
            tenants::get_tenant,
            tenants::update_tenant,
            tenants::delete_tenant
        ))
        .routes(routes!(tenants::suspend_tenant))
        .routes(routes!(tenants::unsuspend_tenant))
        .routes(routes!(tenants::tenant_usage))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user, users::delete_user))
        .routes(routes!(users::set_user_password))
        .routes(routes!(users::reset_user_totp))
        .routes(routes!(packages::list_packages, packages::create_package))
        .routes(routes!(
            packages::get_package,
            packages::update_package,
            packages::delete_package
        ))
        .routes(routes!(settings::list_settings))
        .routes(routes!(settings::get_setting, settings::put_setting))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(jobs::list_jobs, jobs::create_job))
        .routes(routes!(jobs::job_kinds))
        .routes(routes!(jobs::get_job))
        .routes(routes!(jobs::job_logs))
        .routes(routes!(jobs::job_stream))
        .routes(routes!(jobs::retry_job))
        .routes(routes!(jobs::cancel_job))
        .routes(routes!(schedules::list_schedules, schedules::create_schedule))
        .routes(routes!(schedules::update_schedule, schedules::delete_schedule))
        .routes(routes!(sites::list_sites, sites::create_site))
        .routes(routes!(sites::get_site, sites::update_site, sites::delete_site))
        .routes(routes!(sites::suspend_site))
        .routes(routes!(sites::unsuspend_site))
        .routes(routes!(sites::php_versions))
        .routes(routes!(sites::site_logs))
        .routes(routes!(nodes::revisions))
        .routes(routes!(nodes::journal))
        .routes(routes!(nodes::drift, nodes::resolve_drift))
        .routes(routes!(nodes::rollback))
        .routes(routes!(nodes::rebuild))
        .routes(routes!(nodes::list_nodes, nodes::create_node))
        .routes(routes!(nodes::get_node, nodes::delete_node))
        .routes(routes!(nodes::join))
        .routes(routes!(nodes::new_token))
        .routes(routes!(nodes::rotate_cert))
        .routes(routes!(nodes::heartbeat))
        .routes(routes!(nodes::activate_templates))
        .routes(routes!(databases::list_databases, databases::create_database))
        .routes(routes!(databases::get_database, databases::delete_database))
        .routes(routes!(databases::list_users, databases::create_user))
        .routes(routes!(
            databases::get_user,
            databases::update_user,
            databases::delete_user
        ))
        .routes(routes!(databases::rotate_password))
        .routes(routes!(databases::engines))
        .routes(routes!(databases::export_database))
        .routes(routes!(databases::download_export))
        .routes(routes!(databases::import_database))
        .merge(
            // Whole zones travel in one body: a larger limit for these.
            OpenApiRouter::new()
                .routes(routes!(dns::list_zones, dns::create_zone))
                .routes(routes!(dns::list_records, dns::create_record, dns::replace_records))
                .layer(axum::extract::DefaultBodyLimit::max(dns::MAX_ZONE_BODY)),
        )
        .routes(routes!(dns::get_zone, dns::update_zone, dns::delete_zone))
        .routes(routes!(
            certificates::list_certificates,
            certificates::order_certificate
        ))
        .routes(routes!(certificates::summary))
        .routes(routes!(certificates::upload_certificate))
        .routes(routes!(certificates::get_certificate, certificates::delete_certificate))
        .routes(routes!(certificates::renew_certificate))
        .routes(routes!(dns::update_record, dns::delete_record))
        .routes(routes!(dns::export_zone))
        .routes(routes!(dns::import_zone))
        .routes(routes!(dns::mail_auth, dns::set_mail_auth))
}

pub(crate) fn page<T>(items: Vec<T>, total: i64, limit: Option<i64>, offset: Option<i64>) -> Page<T> {
    let (limit, offset) = berth_proto::api::page_bounds(limit, offset);
    Page {
        items,
        total,
        limit,
        offset,
    }
}

/// Write an audit row for `a`'s request on the change's own transaction.
pub(crate) async fn audit(c: &mut Conn, a: &Authed, ev: AuditEvent) -> ApiResult<()> {
    berth_db::audit::append(c, &a.audit_meta(), ev).await?;
    Ok(())
}

/// Check a new password against the policy in settings.
pub(crate) async fn check_password_policy(st: &SharedState, password: &str, email: &str) -> ApiResult<()> {
    let policy = berth_core::password_policy::PasswordPolicy {
        min_length: st.settings.i64("auth.password.min_length").await.max(1) as usize,
        min_classes: st.settings.i64("auth.password.min_classes").await.max(1) as usize,
    };
    policy
        .check(password, email)
        .map_err(|m| ApiError::invalid_field("password", m))
}

pub(crate) async fn hash(st: &SharedState, password: &str) -> ApiResult<String> {
    st.hash_password(password).await
}

/// The node a tenant's database or zone goes on: the local node when none
/// is named (`local` too), else an enrolled, trusted node with `role`.
pub(crate) async fn node_for(
    st: &SharedState,
    c: &mut berth_db::Conn,
    node: Option<&berth_proto::AccountName>,
    role: berth_proto::api::nodes::NodeRole,
) -> crate::error::ApiResult<Option<berth_proto::NodeId>> {
    use crate::error::ApiError;
    match node.map(|n| n.as_str()) {
        None | Some("local") => {
            if st.node.is_none() {
                return Err(ApiError::invalid_field(
                    "node",
                    format!(
                        "this panel runs no local node: name an enrolled node with the {} role",
                        role.as_str()
                    ),
                ));
            }
            Ok(None)
        }
        Some(name) => {
            let row = match berth_db::nodes::get(c, name).await {
                Ok(r) => r,
                Err(berth_db::DbError::NotFound) => return Err(ApiError::invalid_field("node", "no such node")),
                Err(e) => return Err(e.into()),
            };
            if row.node.state != berth_proto::api::nodes::NodeState::Trusted {
                return Err(ApiError::invalid_field(
                    "node",
                    format!("node {name} is {}", row.node.state.as_str()),
                ));
            }
            if !row.node.roles.contains(&role) {
                return Err(ApiError::invalid_field(
                    "node",
                    format!("node {name} has no {} role", role.as_str()),
                ));
            }
            Ok(Some(row.id))
        }
    }
}
