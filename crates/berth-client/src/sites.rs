//! Routes of websites.

use crate::{Client, ClientError};
use berth_proto::SiteId;
use berth_proto::api::Page;
use berth_proto::api::sites::{CreateSite, Site, SiteChange, SiteQuery, UpdateSite};
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

    /// `DELETE /api/v1/sites/{id}` (202): the job that takes it off its node.
    pub async fn delete_site(&self, id: SiteId) -> Result<SiteChange, ClientError> {
        self.delete_json(&format!("/api/v1/sites/{id}")).await
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
