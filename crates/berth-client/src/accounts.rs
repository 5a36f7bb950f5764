//! Routes of the account hierarchy: tenants, users, packages.

use crate::{Client, ClientError};
use berth_proto::api::auth::Ack;
use berth_proto::api::packages::{CreatePackage, Package, UpdatePackage};
use berth_proto::api::tenants::{CreateTenant, SuspendRequest, Tenant, TenantQuery, TenantUsage, UpdateTenant};
use berth_proto::api::users::{
    CreateUser, CreatedUser, SetPasswordRequest, SetPasswordResponse, UpdateUser, User, UserQuery,
};
use berth_proto::api::{Page, PageQuery};
use berth_proto::{PackageId, TenantId, UserId};
use reqwest::Method;

impl Client {
    /// `GET /api/v1/tenants`.
    pub async fn list_tenants(&self, q: &TenantQuery) -> Result<Page<Tenant>, ClientError> {
        self.get_query("/api/v1/tenants", q).await
    }

    /// `POST /api/v1/tenants` (201).
    pub async fn create_tenant(&self, req: &CreateTenant) -> Result<Tenant, ClientError> {
        self.send_json(Method::POST, "/api/v1/tenants", req).await
    }

    /// `GET /api/v1/tenants/{id}`.
    pub async fn get_tenant(&self, id: TenantId) -> Result<Tenant, ClientError> {
        self.get(&format!("/api/v1/tenants/{id}")).await
    }

    /// `PATCH /api/v1/tenants/{id}`.
    pub async fn update_tenant(&self, id: TenantId, req: &UpdateTenant) -> Result<Tenant, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/tenants/{id}"), req)
            .await
    }

    /// `DELETE /api/v1/tenants/{id}`.
    pub async fn delete_tenant(&self, id: TenantId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/tenants/{id}")).await
    }

    /// `POST /api/v1/tenants/{id}/suspend`.
    pub async fn suspend_tenant(&self, id: TenantId, req: &SuspendRequest) -> Result<Tenant, ClientError> {
        self.send_json(Method::POST, &format!("/api/v1/tenants/{id}/suspend"), req)
            .await
    }

    /// `POST /api/v1/tenants/{id}/unsuspend`.
    pub async fn unsuspend_tenant(&self, id: TenantId) -> Result<Tenant, ClientError> {
        self.post_empty(&format!("/api/v1/tenants/{id}/unsuspend")).await
    }

    /// `GET /api/v1/tenants/{id}/usage`.
    pub async fn tenant_usage(&self, id: TenantId) -> Result<TenantUsage, ClientError> {
        self.get(&format!("/api/v1/tenants/{id}/usage")).await
    }

    /// `GET /api/v1/users`.
    pub async fn list_users(&self, q: &UserQuery) -> Result<Page<User>, ClientError> {
        self.get_query("/api/v1/users", q).await
    }

    /// `POST /api/v1/users` (201); a generated password comes back once.
    pub async fn create_user(&self, req: &CreateUser) -> Result<CreatedUser, ClientError> {
        self.send_json(Method::POST, "/api/v1/users", req).await
    }

    /// `GET /api/v1/users/{id}`.
    pub async fn get_user(&self, id: UserId) -> Result<User, ClientError> {
        self.get(&format!("/api/v1/users/{id}")).await
    }

    /// `PATCH /api/v1/users/{id}`.
    pub async fn update_user(&self, id: UserId, req: &UpdateUser) -> Result<User, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/users/{id}"), req).await
    }

    /// `DELETE /api/v1/users/{id}`.
    pub async fn delete_user(&self, id: UserId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/users/{id}")).await
    }

    /// `POST /api/v1/users/{id}/password`: set or generate another user's password.
    pub async fn set_user_password(
        &self,
        id: UserId,
        req: &SetPasswordRequest,
    ) -> Result<SetPasswordResponse, ClientError> {
        self.send_json(Method::POST, &format!("/api/v1/users/{id}/password"), req)
            .await
    }

    /// `POST /api/v1/users/{id}/totp/reset`: remove a user's second factor.
    pub async fn reset_user_totp(&self, id: UserId) -> Result<Ack, ClientError> {
        self.post_empty(&format!("/api/v1/users/{id}/totp/reset")).await
    }

    /// `GET /api/v1/packages`.
    pub async fn list_packages(&self, q: &PageQuery) -> Result<Page<Package>, ClientError> {
        self.get_query("/api/v1/packages", q).await
    }

    /// `POST /api/v1/packages` (201).
    pub async fn create_package(&self, req: &CreatePackage) -> Result<Package, ClientError> {
        self.send_json(Method::POST, "/api/v1/packages", req).await
    }

    /// `GET /api/v1/packages/{id}`.
    pub async fn get_package(&self, id: PackageId) -> Result<Package, ClientError> {
        self.get(&format!("/api/v1/packages/{id}")).await
    }

    /// `PATCH /api/v1/packages/{id}` (`limits`, when present, replaces all limits).
    pub async fn update_package(&self, id: PackageId, req: &UpdatePackage) -> Result<Package, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/packages/{id}"), req)
            .await
    }

    /// `DELETE /api/v1/packages/{id}`.
    pub async fn delete_package(&self, id: PackageId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/packages/{id}")).await
    }
}
