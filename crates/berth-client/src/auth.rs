//! Routes of the caller's own account: login and logout, password, sessions,
//! second factor, API tokens.

use crate::{Client, ClientError};
use berth_proto::api::auth::{
    Ack, ChangePasswordRequest, ForgotPasswordRequest, LoginRequest, LoginResponse, PasswordConfirm, RecoveryCodes,
    ResetPasswordRequest, SessionInfo, TotpEnableRequest, TotpSetupResponse,
};
use berth_proto::api::tokens::{ApiToken, CreateToken, CreatedToken};
use berth_proto::api::users::User;
use berth_proto::{SessionId, TokenId};
use reqwest::Method;

impl Client {
    /// `POST /api/v1/auth/login`. The response carries the session token; use
    /// it with [`Client::with_token`] (the cookie the server also sets is ignored).
    pub async fn login(&self, req: &LoginRequest) -> Result<LoginResponse, ClientError> {
        self.send_json(Method::POST, "/api/v1/auth/login", req).await
    }

    /// `POST /api/v1/auth/password/forgot` (202; the same answer whether or not
    /// the account exists).
    pub async fn forgot_password(&self, req: &ForgotPasswordRequest) -> Result<Ack, ClientError> {
        self.send_json(Method::POST, "/api/v1/auth/password/forgot", req).await
    }

    /// `POST /api/v1/auth/password/reset`.
    pub async fn reset_password(&self, req: &ResetPasswordRequest) -> Result<Ack, ClientError> {
        self.send_json(Method::POST, "/api/v1/auth/password/reset", req).await
    }

    /// `POST /api/v1/auth/logout`: end the session of this client's token.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let rb = self.build::<()>(Method::POST, "/api/v1/auth/logout", &[], None)?;
        self.call_empty(rb).await
    }

    /// `POST /api/v1/auth/logout-all`: end every session of the caller.
    pub async fn logout_all(&self) -> Result<Ack, ClientError> {
        self.post_empty("/api/v1/auth/logout-all").await
    }

    /// `GET /api/v1/me`.
    pub async fn me(&self) -> Result<User, ClientError> {
        self.get("/api/v1/me").await
    }

    /// `POST /api/v1/me/password`.
    pub async fn change_password(&self, req: &ChangePasswordRequest) -> Result<Ack, ClientError> {
        self.send_json(Method::POST, "/api/v1/me/password", req).await
    }

    /// `GET /api/v1/me/sessions`.
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>, ClientError> {
        self.get("/api/v1/me/sessions").await
    }

    /// `DELETE /api/v1/me/sessions/{id}`.
    pub async fn revoke_session(&self, id: SessionId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/me/sessions/{id}")).await
    }

    /// `POST /api/v1/me/totp/setup`: a new secret, not active until enabled.
    pub async fn totp_setup(&self) -> Result<TotpSetupResponse, ClientError> {
        self.post_empty("/api/v1/me/totp/setup").await
    }

    /// `POST /api/v1/me/totp/enable`: returns the one-time recovery codes.
    pub async fn totp_enable(&self, req: &TotpEnableRequest) -> Result<RecoveryCodes, ClientError> {
        self.send_json(Method::POST, "/api/v1/me/totp/enable", req).await
    }

    /// `POST /api/v1/me/totp/disable`.
    pub async fn totp_disable(&self, req: &PasswordConfirm) -> Result<Ack, ClientError> {
        self.send_json(Method::POST, "/api/v1/me/totp/disable", req).await
    }

    /// `GET /api/v1/tokens`.
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, ClientError> {
        self.get("/api/v1/tokens").await
    }

    /// `POST /api/v1/tokens` (201): the secret is in the answer, only there.
    pub async fn create_token(&self, req: &CreateToken) -> Result<CreatedToken, ClientError> {
        self.send_json(Method::POST, "/api/v1/tokens", req).await
    }

    /// `DELETE /api/v1/tokens/{id}`.
    pub async fn delete_token(&self, id: TokenId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/tokens/{id}")).await
    }
}
