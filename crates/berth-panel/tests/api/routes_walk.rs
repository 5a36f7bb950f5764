//! Deny by default: every route in the OpenAPI document except the public
//! ones refuses a caller without credentials. A route added without the
//! `Authed` extractor fails here. Also: the document itself is snapshot-tested.

use crate::common::TestPanel;
use berth_panel::routes::PUBLIC_PATHS;
use reqwest::{Method, StatusCode};

fn concrete(path: &str) -> String {
    path.replace("{id}", "0190f3c4-1111-7000-8000-000000000001")
        .replace("{key}", "auth.password.min_length")
        .replace("{name}", "local")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_private_route_requires_credentials() -> anyhow::Result<()> {
    let doc = berth_panel::openapi_document();
    for p in TestPanel::all().await? {
        let mut checked = 0;
        for (path, item) in &doc.paths.paths {
            let ops = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (m, present) in ops {
                if !present {
                    continue;
                }
                let public = PUBLIC_PATHS.iter().any(|(pm, pp)| *pm == m && pp == path);
                let method = Method::from_bytes(m.as_bytes())?;
                let body = (m != "GET" && m != "DELETE").then(|| serde_json::json!({}));
                let (status, v) = p.call(method, &concrete(path), None, body).await?;
                if public {
                    assert_ne!(status, StatusCode::UNAUTHORIZED, "{m} {path} should be public");
                } else {
                    assert_eq!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "{m} {path} answered {status} {v} without credentials"
                    );
                    assert_eq!(v["code"], "unauthenticated", "{m} {path}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "only {checked} private routes found");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_json_404() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let (s, v) = p.call(Method::GET, "/api/v1/nope", None, None).await?;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(v["code"], "not_found");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_served_and_stable() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let (s, served) = p.call(Method::GET, "/api/openapi.json", None, None).await?;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(served["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
        let (s, _) = p.call(Method::GET, "/api/docs/", None, None).await?;
        assert_eq!(s, StatusCode::OK, "the offline Swagger UI is served");
        // Snapshot: a change to the API shows up as a reviewed diff, never silently.
        insta::assert_json_snapshot!("openapi", served);
    }
    Ok(())
}

/// The UI's API types are made from `web/openapi.json`; it must be this
/// API's document (the UI's build then checks its types against it).
#[test]
fn the_ui_is_typed_against_this_api() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/openapi.json");
    let committed: serde_json::Value = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let doc = serde_json::to_value(berth_panel::openapi_document()).unwrap_or_default();
    assert!(
        committed == doc,
        "web/openapi.json is stale: run `cargo run -q -p berth -- openapi > web/openapi.json && (cd web && npm run gen)`"
    );
}
