//! Routes of databases and database users.

use crate::{Client, ClientError, check};
use berth_proto::api::Page;
use berth_proto::api::databases::{
    CreateDatabase, CreateDatabaseUser, Database, DatabaseChange, DatabaseQuery, DatabaseUser, DatabaseUserChange,
    DbEngineInfo, JobsStarted, RotateDbPassword, UpdateDatabaseUser,
};
use berth_proto::{DatabaseId, DatabaseUserId, JobId};
use reqwest::Method;

impl Client {
    /// `GET /api/v1/databases`.
    pub async fn list_databases(&self, q: &DatabaseQuery) -> Result<Page<Database>, ClientError> {
        self.get_query("/api/v1/databases", q).await
    }

    /// `POST /api/v1/databases` (201): the database and the job that creates it.
    pub async fn create_database(&self, req: &CreateDatabase) -> Result<DatabaseChange, ClientError> {
        self.send_json(Method::POST, "/api/v1/databases", req).await
    }

    /// `GET /api/v1/databases/{id}`.
    pub async fn get_database(&self, id: DatabaseId) -> Result<Database, ClientError> {
        self.get(&format!("/api/v1/databases/{id}")).await
    }

    /// `DELETE /api/v1/databases/{id}` (202).
    pub async fn delete_database(&self, id: DatabaseId) -> Result<JobsStarted, ClientError> {
        self.delete_json(&format!("/api/v1/databases/{id}")).await
    }

    /// `GET /api/v1/database-users`.
    pub async fn list_database_users(&self, q: &DatabaseQuery) -> Result<Page<DatabaseUser>, ClientError> {
        self.get_query("/api/v1/database-users", q).await
    }

    /// `POST /api/v1/database-users` (201); `password` when generated.
    pub async fn create_database_user(&self, req: &CreateDatabaseUser) -> Result<DatabaseUserChange, ClientError> {
        self.send_json(Method::POST, "/api/v1/database-users", req).await
    }

    /// `GET /api/v1/database-users/{id}`.
    pub async fn get_database_user(&self, id: DatabaseUserId) -> Result<DatabaseUser, ClientError> {
        self.get(&format!("/api/v1/database-users/{id}")).await
    }

    /// `PATCH /api/v1/database-users/{id}`.
    pub async fn update_database_user(
        &self,
        id: DatabaseUserId,
        req: &UpdateDatabaseUser,
    ) -> Result<DatabaseUserChange, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/database-users/{id}"), req)
            .await
    }

    /// `POST /api/v1/database-users/{id}/rotate-password`.
    pub async fn rotate_database_password(
        &self,
        id: DatabaseUserId,
        req: &RotateDbPassword,
    ) -> Result<DatabaseUserChange, ClientError> {
        self.send_json(
            Method::POST,
            &format!("/api/v1/database-users/{id}/rotate-password"),
            req,
        )
        .await
    }

    /// `DELETE /api/v1/database-users/{id}` (202).
    pub async fn delete_database_user(&self, id: DatabaseUserId) -> Result<JobsStarted, ClientError> {
        self.delete_json(&format!("/api/v1/database-users/{id}")).await
    }

    /// `GET /api/v1/database-engines` (`node`: an enrolled node's name).
    pub async fn database_engines(&self, node: Option<&str>) -> Result<Vec<DbEngineInfo>, ClientError> {
        match node {
            Some(n) => self.get_query("/api/v1/database-engines", &[("node", n)]).await,
            None => self.get("/api/v1/database-engines").await,
        }
    }

    /// `POST /api/v1/databases/{id}/export` (202): the dump job.
    pub async fn export_database(&self, id: DatabaseId) -> Result<JobsStarted, ClientError> {
        self.post_empty(&format!("/api/v1/databases/{id}/export")).await
    }

    /// `GET /api/v1/databases/{id}/export/{job}` streamed into `to`;
    /// returns the bytes written.
    pub async fn download_export(&self, id: DatabaseId, job: JobId, to: &std::path::Path) -> Result<u64, ClientError> {
        use std::io::Write;
        let url = self.endpoint(&format!("/api/v1/databases/{id}/export/{job}"))?;
        let mut resp = check(self.request(Method::GET, url).send().await?).await?;
        let mut f = std::fs::File::create(to).map_err(|e| ClientError::Decode(format!("{}: {e}", to.display())))?;
        let mut n = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            f.write_all(&chunk)
                .map_err(|e| ClientError::Decode(format!("{}: {e}", to.display())))?;
            n += chunk.len() as u64;
        }
        Ok(n)
    }

    /// `POST /api/v1/databases/{id}/import` with the file streamed as the body.
    pub async fn import_database(&self, id: DatabaseId, from: &std::path::Path) -> Result<JobsStarted, ClientError> {
        let file = tokio::fs::File::open(from)
            .await
            .map_err(|e| ClientError::Decode(format!("{}: {e}", from.display())))?;
        let len = file.metadata().await.map(|m| m.len()).unwrap_or_default();
        let url = self.endpoint(&format!("/api/v1/databases/{id}/import"))?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let rb = self
            .request(Method::POST, url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        self.call(rb).await
    }
}
