//! Typed async HTTP client of the Berth panel API (v1).
//!
//! One method per route, taking and returning the wire types of
//! `berth-proto`, so the CLI, the integration tests and scripts all speak the
//! API exactly as the panel defines it. Errors keep the API's error body
//! (`ClientError::Api`) so callers can branch on its stable code.
//!
//! TLS: reqwest is built without a crypto provider; the caller installs one
//! (`rustls::crypto::ring::default_provider().install_default()`) before
//! `Client::new`, which would otherwise panic inside reqwest.

mod accounts;
mod auth;
mod certificates;
mod databases;
mod dns;
mod error;
mod jobs;
mod nodes;
mod query;
mod sites;
mod sse;
mod system;

pub use error::{ClientError, code_str};
pub use jobs::StreamEvent;
pub use sse::{SseEvent, SseParser};

use reqwest::{Method, RequestBuilder, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

/// How long a regular call may take end to end. Event streams have no limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest silence while reading a response. The panel sends a keep-alive
/// comment on event streams every 15 s, so a followed job stream that is
/// silent this long is a dead connection, not a quiet job.
const READ_TIMEOUT: Duration = Duration::from_secs(90);

/// A client of one panel, optionally authenticated with a bearer token.
#[derive(Clone)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
    token: Option<String>,
}

// Written by hand so the token never reaches logs through `{:?}`.
impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Client {
    /// A client of the panel at `base_url` (`https://panel.example.com`, or
    /// with a path prefix when the panel sits behind a proxy under one).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let mut base = Url::parse(base_url.trim()).map_err(|e| ClientError::BadUrl(format!("{base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(format!(
                "{base_url:?}: the scheme must be http or https"
            )));
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(ClientError::BadUrl(format!("{base_url:?}: no host")));
        }
        if !base.username().is_empty() || base.password().is_some() {
            // Credentials in the URL would be sent to every route and logged by
            // proxies; the token is the only credential this client sends.
            return Err(ClientError::BadUrl(format!(
                "{}: must not contain a user name or password",
                base.host_str().unwrap_or_default()
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        // Paths are joined relative to the base, which only keeps its last
        // segment when the path ends with a slash.
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("berth-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()?;
        Ok(Client {
            base,
            http,
            token: None,
        })
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET` any path under the base (`/metrics`, a route with a query string
    /// …) with the token, returning the response whatever its status.
    pub async fn raw_get(&self, path: &str) -> Result<Response, ClientError> {
        let url = self.endpoint(path)?;
        Ok(self.request(Method::GET, url).send().await?)
    }

    /// The URL of `path` (absolute from the panel root, `/api/v1/...`).
    fn endpoint(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::BadUrl(format!("{path:?}: {e}")))
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let rb = self.http.request(method, url);
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Build a request to `path` with an optional query and JSON body.
    fn build<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&B>,
    ) -> Result<RequestBuilder, ClientError> {
        let mut url = self.endpoint(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let rb = self
            .request(method, url)
            .timeout(REQUEST_TIMEOUT)
            .header(reqwest::header::ACCEPT, "application/json");
        Ok(match body {
            Some(b) => rb.json(b),
            None => rb,
        })
    }

    /// Send and decode a JSON response, returning its status too.
    async fn call_with_status<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<(u16, T), ClientError> {
        let resp = check(rb.send().await?).await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Decode(format!("{e} (HTTP {status}, {} bytes)", bytes.len())))?;
        Ok((status, value))
    }

    async fn call<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T, ClientError> {
        self.call_with_status(rb).await.map(|(_, v)| v)
    }

    /// Send a request whose success has no body (204).
    async fn call_empty(&self, rb: RequestBuilder) -> Result<(), ClientError> {
        check(rb.send().await?).await.map(drop)
    }

    // Shorthands used by the route modules.

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(self.build::<()>(Method::GET, path, &[], None)?).await
    }

    async fn get_query<Q: Serialize, T: DeserializeOwned>(&self, path: &str, q: &Q) -> Result<T, ClientError> {
        let pairs = query::pairs(q)?;
        self.call(self.build::<()>(Method::GET, path, &pairs, None)?).await
    }

    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(self.build(method, path, &[], Some(body))?).await
    }

    /// A POST without a body.
    async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(self.build::<()>(Method::POST, path, &[], None)?).await
    }

    /// A DELETE whose answer has a body (202 with the change).
    async fn delete_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(self.build::<()>(Method::DELETE, path, &[], None)?).await
    }

    async fn delete(&self, path: &str) -> Result<(), ClientError> {
        self.call_empty(self.build::<()>(Method::DELETE, path, &[], None)?)
            .await
    }
}

/// Turn a non-2xx response into `ClientError::Api`.
pub(crate) async fn check(resp: Response) -> Result<Response, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    Err(ClientError::from_response(status.as_u16(), &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[test]
    fn base_urls() {
        init();
        let c = Client::new("http://127.0.0.1:8080").expect("client");
        assert_eq!(
            c.endpoint("/api/v1/me").expect("url").as_str(),
            "http://127.0.0.1:8080/api/v1/me"
        );
        let c = Client::new("https://example.com/berth?x=1#f").expect("client");
        assert_eq!(
            c.endpoint("/metrics").expect("url").as_str(),
            "https://example.com/berth/metrics"
        );
        for bad in ["ftp://x", "not a url", "https://u:p@example.com/", "mailto:a@b.c"] {
            assert!(Client::new(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn debug_hides_the_token() {
        init();
        let c = Client::new("http://localhost").expect("client").with_token("bs_secret");
        assert!(!format!("{c:?}").contains("bs_secret"));
        assert_eq!(c.token(), Some("bs_secret"));
    }
}
