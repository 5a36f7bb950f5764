//! Login, sessions, second factor, password changes.

use crate::api::users::User;
use crate::{Email, OneTimeCode, Password, SessionId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: Email,
    pub password: Password,
    /// A TOTP code or a recovery code, when the account has 2FA.
    #[serde(default)]
    pub totp: Option<OneTimeCode>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send as `Authorization: Bearer <token>`; the same value is set as the session cookie.
    pub token: String,
    /// Send as `X-CSRF-Token` on writes authenticated by the cookie.
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// Who is signed in, and (for a browser's cookie session) the CSRF token
/// its writes need: a new tab gets it here instead of from the login.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurrentSession {
    pub user: User,
    /// `null` when the request came with `Authorization: Bearer` (no cookie,
    /// so no CSRF token is needed).
    pub csrf_token: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub id: SessionId,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    /// True for the session that made this request.
    pub current: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TotpSetupResponse {
    /// Base32 secret, for typing into an authenticator by hand.
    pub secret: String,
    /// `otpauth://` URL, for a QR code.
    pub otpauth_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpEnableRequest {
    /// A current code from the authenticator, proving it was set up.
    pub code: OneTimeCode,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Shown once; each works once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirm {
    pub password: Password,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: Password,
    pub new_password: Password,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    pub email: Email,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub token: OneTimeCode,
    pub new_password: Password,
}

/// A plain acknowledgement with a human message.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ack {
    pub message: String,
}
