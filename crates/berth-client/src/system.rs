//! Routes of the install itself: health, settings, audit log, metrics.

use crate::{Client, ClientError, check};
use berth_proto::SettingKey;
use berth_proto::api::Health;
use berth_proto::api::Page;
use berth_proto::api::audit::{AuditEntry, AuditQuery, AuditVerifyReport};
use berth_proto::api::settings::{Setting, UpdateSetting};
use reqwest::Method;

impl Client {
    /// `GET /healthz`: the process is up.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get("/healthz").await
    }

    /// `GET /readyz`: the panel can serve (its database answers); an error
    /// with status 503 when not.
    pub async fn ready(&self) -> Result<Health, ClientError> {
        self.get("/readyz").await
    }

    /// `GET /api/v1/settings`.
    pub async fn list_settings(&self) -> Result<Vec<Setting>, ClientError> {
        self.get("/api/v1/settings").await
    }

    /// `GET /api/v1/settings/{key}`. `SettingKey` only holds path-safe
    /// characters, so it goes into the path as is.
    pub async fn get_setting(&self, key: &SettingKey) -> Result<Setting, ClientError> {
        self.get(&format!("/api/v1/settings/{key}")).await
    }

    /// `PUT /api/v1/settings/{key}`; a `null` value resets it to the default.
    pub async fn update_setting(&self, key: &SettingKey, req: &UpdateSetting) -> Result<Setting, ClientError> {
        self.send_json(Method::PUT, &format!("/api/v1/settings/{key}"), req)
            .await
    }

    /// `GET /api/v1/audit`.
    pub async fn list_audit(&self, q: &AuditQuery) -> Result<Page<AuditEntry>, ClientError> {
        self.get_query("/api/v1/audit", q).await
    }

    /// `GET /api/v1/audit/verify`: walk the hash chain.
    pub async fn verify_audit(&self) -> Result<AuditVerifyReport, ClientError> {
        self.get("/api/v1/audit/verify").await
    }

    /// `GET /metrics` (admin token): the Prometheus text exposition.
    pub async fn metrics(&self) -> Result<String, ClientError> {
        let resp = check(self.raw_get("/metrics").await?).await?;
        Ok(resp.text().await?)
    }
}
