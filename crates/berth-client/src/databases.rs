//! Routes of databases and database users.

use crate::{Client, ClientError};
use berth_proto::api::Page;
use berth_proto::api::databases::{
    CreateDatabase, CreateDatabaseUser, Database, DatabaseChange, DatabaseQuery, DatabaseUser, DatabaseUserChange,
    DbEngineInfo, JobsStarted, RotateDbPassword, UpdateDatabaseUser,
};
use berth_proto::{DatabaseId, DatabaseUserId};
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
}
