//! Hostile input: each case gets a clear 4xx with our error body and changes
//! nothing.

use crate::common::{TestPanel, code};
use reqwest::StatusCode;
use serde_json::json;

async fn tenant_count(p: &TestPanel, admin: &str) -> anyhow::Result<i64> {
    let (_, v) = p.get("/api/v1/tenants", admin).await?;
    Ok(v["total"].as_i64().unwrap_or(-1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_names_are_refused_and_change_nothing() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let before = tenant_count(&p, &admin).await?;
        let url = format!("{}/api/v1/tenants", p.url);

        // Malformed JSON.
        let r = p
            .http
            .post(&url)
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let v: serde_json::Value = r.json().await?;
        assert_eq!(code(&v), "malformed_request", "{v}");
        assert!(v["request_id"].is_string(), "errors carry the request id");

        // Not JSON at all.
        let r = p.http.post(&url).bearer_auth(&admin).body("name=x").send().await?;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        // Oversized body.
        let big = "x".repeat(200 * 1024);
        let r = p
            .http
            .post(&url)
            .bearer_auth(&admin)
            .json(&json!({ "name": "big", "display_name": big }))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let v: serde_json::Value = r.json().await?;
        assert_eq!(code(&v), "payload_too_large");

        let cases = [
            json!({ "name": "ok-name", "display_name": 5 }),
            json!({ "name": "ok-name" }),
            json!({ "name": "ok-name", "display_name": "X", "surprise": true }),
            json!({ "name": "a;rm -rf", "display_name": "X" }),
            json!({ "name": "../etc", "display_name": "X" }),
            json!({ "name": "a{b}", "display_name": "X" }),
            json!({ "name": "acme\nx", "display_name": "X" }),
            json!({ "name": "it's", "display_name": "X" }),
            json!({ "name": "ok-name", "display_name": "Line\r\nInjected: yes" }),
            json!({ "name": "ok-name", "display_name": "nul\u{0}byte" }),
            json!({ "name": "UPPER", "display_name": "X" }),
            json!({ "name": "ok-name", "display_name": "X", "owner_id": "not-a-uuid" }),
            json!({ "name": "root", "display_name": "X" }),
            json!({ "name": "www-data", "display_name": "X" }),
            json!({ "name": "berth-web", "display_name": "X" }),
        ];
        for body in cases {
            let (s, v) = p.post("/api/v1/tenants", &admin, body.clone()).await?;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {body} -> {s} {v}", p.backend);
            assert_eq!(code(&v), "invalid_input");
        }

        // Users: bad emails, weak passwords, wrong role shapes.
        for body in [
            json!({ "email": "not-an-email", "name": "X", "role": "admin" }),
            json!({ "email": "a@b.c\r\nBcc: x@y.z", "name": "X", "role": "admin" }),
            json!({ "email": "ok@example.com", "name": "X", "role": "root" }),
            json!({ "email": "ok@example.com", "name": "X", "role": "admin", "password": "short" }),
            json!({ "email": "ok@example.com", "name": "X", "role": "client" }),
        ] {
            let (s, v) = p.post("/api/v1/users", &admin, body.clone()).await?;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {body} -> {s} {v}", p.backend);
        }
        let (s, _) = p.get("/api/v1/users?role=root", &admin).await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "bad query values are 422");
        let (s, _) = p.get("/api/v1/audit?since=yesterday", &admin).await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = p.get("/api/v1/tenants/..%2F..%2Fetc", &admin).await?;
        assert_eq!(s, StatusCode::NOT_FOUND, "a malformed id names nothing");

        // Duplicates conflict.
        p.tenant(&admin, "dupe", None).await?;
        let (s, v) = p
            .post(
                "/api/v1/tenants",
                &admin,
                json!({ "name": "dupe", "display_name": "Again" }),
            )
            .await?;
        assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));

        assert_eq!(
            tenant_count(&p, &admin).await?,
            before + 1,
            "[{}] only the one valid tenant exists",
            p.backend
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_or_generated() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let rid = "0190f3c4-2222-7000-8000-00000000abcd";
        let r = p
            .http
            .get(format!("{}/api/v1/me", p.url))
            .bearer_auth(&admin)
            .header("x-request-id", rid)
            .send()
            .await?;
        assert_eq!(r.headers()["x-request-id"], rid);
        let r = p
            .http
            .get(format!("{}/api/v1/me", p.url))
            .bearer_auth(&admin)
            .header("x-request-id", "evil\"value")
            .send()
            .await?;
        let got = r.headers()["x-request-id"].to_str()?.to_owned();
        assert_ne!(got, "evil\"value");
        assert!(got.parse::<uuid::Uuid>().is_ok());

        // The audit row of a change carries the request id that made it.
        let rid2 = "0190f3c4-3333-7000-8000-00000000beef";
        let r = p
            .http
            .post(format!("{}/api/v1/tenants", p.url))
            .bearer_auth(&admin)
            .header("x-request-id", rid2)
            .json(&json!({ "name": "traced", "display_name": "Traced" }))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::CREATED);
        let (_, v) = p.get("/api/v1/audit?action=tenant.create", &admin).await?;
        assert_eq!(v["items"][0]["request_id"], rid2);
        assert_eq!(v["items"][0]["ip"], "127.0.0.1");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let create = |name: &'static str| {
            p.http
                .post(format!("{}/api/v1/tenants", p.url))
                .bearer_auth(&root)
                .header("x-forwarded-for", "203.0.113.5")
                .json(&json!({ "name": name, "display_name": name }))
                .send()
        };
        assert_eq!(create("spoof-one").await?.status(), StatusCode::CREATED);
        let (_, v) = p.get("/api/v1/audit?action=tenant.create&limit=1", &root).await?;
        assert_eq!(
            v["items"][0]["ip"], "127.0.0.1",
            "[{}] an untrusted peer cannot pick its IP",
            p.backend
        );

        let (s, _) = p
            .call(
                reqwest::Method::PUT,
                "/api/v1/settings/http.trusted_proxies",
                Some(&root),
                Some(json!({ "value": ["127.0.0.1/32"] })),
            )
            .await?;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(create("spoof-two").await?.status(), StatusCode::CREATED);
        let (_, v) = p.get("/api/v1/audit?action=tenant.create&limit=1", &root).await?;
        assert_eq!(
            v["items"][0]["ip"], "203.0.113.5",
            "[{}] behind a trusted proxy",
            p.backend
        );
    }
    Ok(())
}
