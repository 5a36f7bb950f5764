//! Routes of websites.

use crate::{Client, ClientError};
use berth_proto::SiteId;
use berth_proto::api::Page;
use berth_proto::api::sites::{
    CreateSite, PhpVersions, Site, SiteChange, SiteLog, SiteLogQuery, SiteQuery, UpdateSite,
};
use reqwest::Method;

impl Client {
    /// `GET /api/v1/sites`.
    pub async fn list_sites(&self, q: &SiteQuery) -> Result<Page<Site>, ClientError> {
        self.get_query("/api/v1/sites", q).await
    }

    /// `POST /api/v1/sites` (201): the site and the job that applies it.
    pub async fn create_site(&self, req: &CreateSite) -> Result<SiteChange, ClientError> {
        self.send_json(Method::POST, "/api/v1/sites", req).await
    }

    /// `GET /api/v1/sites/{id}`.
    pub async fn get_site(&self, id: SiteId) -> Result<Site, ClientError> {
        self.get(&format!("/api/v1/sites/{id}")).await
    }

    /// `PATCH /api/v1/sites/{id}`.
    pub async fn update_site(&self, id: SiteId, req: &UpdateSite) -> Result<SiteChange, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/sites/{id}"), req).await
    }

    /// `DELETE /api/v1/sites/{id}` (202): the job that takes it off its
    /// node (and deletes its files with `delete_files`).
    pub async fn delete_site(&self, id: SiteId, delete_files: bool) -> Result<SiteChange, ClientError> {
        let q = if delete_files { "?delete_files=true" } else { "" };
        self.delete_json(&format!("/api/v1/sites/{id}{q}")).await
    }

    /// `GET /api/v1/sites/{id}/logs`.
    pub async fn site_logs(&self, id: SiteId, q: &SiteLogQuery) -> Result<SiteLog, ClientError> {
        self.get_query(&format!("/api/v1/sites/{id}/logs"), q).await
    }

    /// `GET /api/v1/php/versions`.
    pub async fn php_versions(&self) -> Result<PhpVersions, ClientError> {
        self.get("/api/v1/php/versions").await
    }

    /// `POST /api/v1/sites/{id}/suspend`.
    pub async fn suspend_site(&self, id: SiteId) -> Result<SiteChange, ClientError> {
        self.post_empty(&format!("/api/v1/sites/{id}/suspend")).await
    }

    /// `POST /api/v1/sites/{id}/unsuspend`.
    pub async fn unsuspend_site(&self, id: SiteId) -> Result<SiteChange, ClientError> {
        self.post_empty(&format!("/api/v1/sites/{id}/unsuspend")).await
    }
}
