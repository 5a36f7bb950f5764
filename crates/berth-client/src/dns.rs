//! Routes of DNS zones and records.

use crate::{Client, ClientError};
use berth_proto::api::Page;
use berth_proto::api::databases::JobsStarted;
use berth_proto::api::dns::{
    CreateZone, DnsRecord, DnsZone, ImportDiff, MailAuthReport, RecordChanged, RecordsReplaced, SetMailAuth,
    UpdateZone, ZoneChanged, ZoneCreated, ZoneQuery,
};
use berth_proto::dns::RecordWire;
use berth_proto::{DnsRecordId, DnsZoneId};
use reqwest::Method;

impl Client {
    /// `GET /api/v1/dns/zones`.
    pub async fn list_zones(&self, q: &ZoneQuery) -> Result<Page<DnsZone>, ClientError> {
        self.get_query("/api/v1/dns/zones", q).await
    }

    /// `POST /api/v1/dns/zones` (201): the zone, its records and the job.
    pub async fn create_zone(&self, req: &CreateZone) -> Result<ZoneCreated, ClientError> {
        self.send_json(Method::POST, "/api/v1/dns/zones", req).await
    }

    /// `GET /api/v1/dns/zones/{id}`.
    pub async fn get_zone(&self, id: DnsZoneId) -> Result<DnsZone, ClientError> {
        self.get(&format!("/api/v1/dns/zones/{id}")).await
    }

    /// `PATCH /api/v1/dns/zones/{id}`.
    pub async fn update_zone(&self, id: DnsZoneId, req: &UpdateZone) -> Result<ZoneChanged, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/dns/zones/{id}"), req)
            .await
    }

    /// `DELETE /api/v1/dns/zones/{id}` (202).
    pub async fn delete_zone(&self, id: DnsZoneId) -> Result<JobsStarted, ClientError> {
        self.delete_json(&format!("/api/v1/dns/zones/{id}")).await
    }

    /// `GET /api/v1/dns/zones/{id}/records`.
    pub async fn list_records(&self, zone: DnsZoneId) -> Result<Vec<DnsRecord>, ClientError> {
        self.get(&format!("/api/v1/dns/zones/{zone}/records")).await
    }

    /// `POST /api/v1/dns/zones/{id}/records` (201).
    pub async fn create_record(&self, zone: DnsZoneId, r: &RecordWire) -> Result<RecordChanged, ClientError> {
        self.send_json(Method::POST, &format!("/api/v1/dns/zones/{zone}/records"), r)
            .await
    }

    /// `PUT /api/v1/dns/zones/{id}/records/{record_id}`.
    pub async fn update_record(
        &self,
        zone: DnsZoneId,
        id: DnsRecordId,
        r: &RecordWire,
    ) -> Result<RecordChanged, ClientError> {
        self.send_json(Method::PUT, &format!("/api/v1/dns/zones/{zone}/records/{id}"), r)
            .await
    }

    /// `DELETE /api/v1/dns/zones/{id}/records/{record_id}`.
    pub async fn delete_record(&self, zone: DnsZoneId, id: DnsRecordId) -> Result<RecordChanged, ClientError> {
        self.delete_json(&format!("/api/v1/dns/zones/{zone}/records/{id}"))
            .await
    }

    /// `PUT /api/v1/dns/zones/{id}/records`: every record replaced.
    pub async fn replace_records(&self, zone: DnsZoneId, r: &[RecordWire]) -> Result<RecordsReplaced, ClientError> {
        self.send_json(Method::PUT, &format!("/api/v1/dns/zones/{zone}/records"), r)
            .await
    }

    /// `POST /api/v1/dns/zones/{id}/import[?apply=true]` with a zone file.
    pub async fn import_zone(&self, zone: DnsZoneId, text: String, apply: bool) -> Result<ImportDiff, ClientError> {
        let path = format!(
            "/api/v1/dns/zones/{zone}/import{}",
            if apply { "?apply=true" } else { "" }
        );
        let rb = self
            .request(Method::POST, self.endpoint(&path)?)
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(text);
        self.call(rb).await
    }

    /// `GET /api/v1/dns/zones/{id}/mail-auth`: the checker's findings.
    pub async fn mail_auth(&self, zone: DnsZoneId) -> Result<MailAuthReport, ClientError> {
        self.get(&format!("/api/v1/dns/zones/{zone}/mail-auth")).await
    }

    /// `PUT /api/v1/dns/zones/{id}/mail-auth`: write SPF and/or DMARC.
    pub async fn set_mail_auth(&self, zone: DnsZoneId, req: &SetMailAuth) -> Result<MailAuthReport, ClientError> {
        self.send_json(Method::PUT, &format!("/api/v1/dns/zones/{zone}/mail-auth"), req)
            .await
    }

    /// `GET /api/v1/dns/zones/{id}/export`: the zone file.
    pub async fn export_zone(&self, zone: DnsZoneId) -> Result<String, ClientError> {
        let url = self.endpoint(&format!("/api/v1/dns/zones/{zone}/export"))?;
        let resp = crate::check(self.request(Method::GET, url).send().await?).await?;
        Ok(resp.text().await?)
    }
}
