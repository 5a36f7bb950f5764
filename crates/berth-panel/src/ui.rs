//! The web UI: the single-page app built by `npm run build` in `web/`
//! (`web/dist`), embedded in the binary by release builds (debug builds
//! read the directory). Any GET outside `/api` that is not a file answers
//! `index.html`, so the app's own routes work on reload. Without a build
//! the panel says so plainly instead of failing.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

/// Which UI build this binary carries (see build.rs).
pub const BUILD_STAMP: &str = env!("BERTH_WEB_DIST_STAMP");

/// The UI's pages may load only the panel's own scripts, styles and images.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Berth</title>\
<h1>The web UI was not built</h1>\
<p>The API works (<a href=\"/api/docs/\">/api/docs/</a>). To build the UI: \
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then build and start <code>berth</code> again \
(<code>./scripts/run</code> does both).</p>\n";

/// Is the UI in this binary (or, for debug builds, on disk)?
pub fn built() -> bool {
    Assets::get("index.html").is_some()
}

fn file(path: &str) -> Option<Response> {
    let f = Assets::get(path)?;
    let mime = f.metadata.mimetype().to_owned();
    // Vite names what it builds under assets/ by content hash.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = Response::new(Body::from(f.data.into_owned()));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    Some(r)
}

/// The fallback of the panel's router: the API's JSON 404 under `/api`,
/// the UI everywhere else.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") || (method != Method::GET && method != Method::HEAD) {
        return crate::error::ApiError::new(berth_proto::ErrorCode::NotFound, "no such route").into_response();
    }
    let rel = path.trim_start_matches('/');
    if !rel.is_empty()
        && !rel.split('/').any(|s| s == ".." || s.starts_with('.'))
        && let Some(r) = file(rel)
    {
        return r;
    }
    // A file-like path that is not there is a 404, not the app.
    if rel.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match file("index.html") {
        Some(r) => r,
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response(),
    }
}
