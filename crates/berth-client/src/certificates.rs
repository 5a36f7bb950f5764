//! Routes of sites' TLS certificates: list, summary, show, order (ACME),
//! upload, renew, delete.

use crate::{Client, ClientError};
use berth_proto::CertificateId;
use berth_proto::api::Page;
use berth_proto::api::certificates::{
    Certificate, CertificateJob, CertificateQuery, CertificateSummary, OrderCertificate, UploadCertificate,
};
use berth_proto::api::databases::JobsStarted;
use reqwest::Method;

impl Client {
    /// `GET /api/v1/certificates`, soonest expiry first.
    pub async fn list_certificates(&self, q: &CertificateQuery) -> Result<Page<Certificate>, ClientError> {
        self.get_query("/api/v1/certificates", q).await
    }

    /// `GET /api/v1/certificates/summary`: counts by status.
    pub async fn certificate_summary(&self) -> Result<CertificateSummary, ClientError> {
        self.get("/api/v1/certificates/summary").await
    }

    /// `GET /api/v1/certificates/{id}`.
    pub async fn get_certificate(&self, id: CertificateId) -> Result<Certificate, ClientError> {
        self.get(&format!("/api/v1/certificates/{id}")).await
    }

    /// `POST /api/v1/certificates` (202): order from the ACME server, or
    /// re-order the site's certificate.
    pub async fn order_certificate(&self, req: &OrderCertificate) -> Result<CertificateJob, ClientError> {
        self.send_json(Method::POST, "/api/v1/certificates", req).await
    }

    /// `POST /api/v1/certificates/upload`: install a certificate and its key.
    pub async fn upload_certificate(&self, req: &UploadCertificate) -> Result<CertificateJob, ClientError> {
        self.send_json(Method::POST, "/api/v1/certificates/upload", req).await
    }

    /// `POST /api/v1/certificates/{id}/renew` (202): renew now.
    pub async fn renew_certificate(&self, id: CertificateId) -> Result<CertificateJob, ClientError> {
        // The route takes a JSON body; `{}` asks for nothing beyond the renewal.
        let empty = serde_json::Map::new();
        self.send_json(Method::POST, &format!("/api/v1/certificates/{id}/renew"), &empty)
            .await
    }

    /// `DELETE /api/v1/certificates/{id}`: the jobs that remove it.
    pub async fn delete_certificate(&self, id: CertificateId) -> Result<JobsStarted, ClientError> {
        self.delete_json(&format!("/api/v1/certificates/{id}")).await
    }
}
