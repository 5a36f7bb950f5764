//! The tenant-isolation matrix: for each resource route, each non-staff role
//! gets 404 (never 403, which would confirm the object exists) for objects of
//! another tenant or reseller, and nothing changes.

use crate::common::{TestPanel, code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    admin: String,
    reseller_a: String,
    reseller_b_id: String,
    client_a: String,
    tenant_a: String,
    tenant_b: String,
    user_b: String,
    package_b: String,
    job_b: String,
    site_b: String,
}

async fn world(p: &TestPanel) -> anyhow::Result<World> {
    let admin = p.admin().await?;
    let (ra_id, reseller_a) = p.user(&admin, "ra@example.com", "reseller", None).await?;
    let (rb_id, reseller_b) = p.user(&admin, "rb@example.com", "reseller", None).await?;
    let tenant_a = p.tenant(&admin, "alpha", Some(&ra_id)).await?;
    let tenant_b = p.tenant(&reseller_b, "bravo", None).await?;
    let (_ca, client_a) = p.user(&reseller_a, "ca@example.com", "client", Some(&tenant_a)).await?;
    let (user_b, _cb) = p.user(&reseller_b, "cb@example.com", "client", Some(&tenant_b)).await?;
    let (s, pkg) = p
        .post(
            "/api/v1/packages",
            &reseller_b,
            json!({ "name": "B small", "limits": { "sites": 1 } }),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{pkg}");
    let (s, job) = p
        .post(
            "/api/v1/jobs",
            &admin,
            json!({ "kind": "builtin.noop", "tenant_id": tenant_b }),
        )
        .await?;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    // This panel has no node to put sites on, so the API refuses a site
    // here (sites.rs covers creation); the row is made directly.
    let (s, refused) = p
        .post(
            "/api/v1/sites",
            &reseller_b,
            json!({ "tenant_id": tenant_b, "domain": "bravo.example", "kind": { "type": "static" } }),
        )
        .await?;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let mut c = p.db.conn().await?;
    let site = berth_db::sites::insert(
        &mut c,
        tenant_b.parse()?,
        &berth_proto::DomainName::parse("bravo.example")?,
        &[],
        &berth_proto::api::sites::SiteKind::Static,
        &Default::default(),
        None,
    )
    .await?;
    drop(c);
    Ok(World {
        site_b: site.id.to_string(),
        admin,
        reseller_a,
        reseller_b_id: rb_id,
        client_a,
        tenant_a,
        tenant_b,
        user_b,
        package_b: pkg["id"].as_str().unwrap_or_default().into(),
        job_b: job["id"].as_str().unwrap_or_default().into(),
    })
}

fn foreign_routes(w: &World) -> Vec<(Method, String, Option<Value>)> {
    let t = &w.tenant_b;
    let u = &w.user_b;
    let pk = &w.package_b;
    let j = &w.job_b;
    let st = &w.site_b;
    vec![
        (Method::GET, format!("/api/v1/sites/{st}"), None),
        (
            Method::PATCH,
            format!("/api/v1/sites/{st}"),
            Some(json!({ "aliases": ["pwned.example"] })),
        ),
        (Method::DELETE, format!("/api/v1/sites/{st}"), None),
        (Method::POST, format!("/api/v1/sites/{st}/suspend"), None),
        (Method::POST, format!("/api/v1/sites/{st}/unsuspend"), None),
        (Method::GET, format!("/api/v1/tenants/{t}"), None),
        (
            Method::PATCH,
            format!("/api/v1/tenants/{t}"),
            Some(json!({ "display_name": "pwned" })),
        ),
        (Method::DELETE, format!("/api/v1/tenants/{t}"), None),
        (Method::POST, format!("/api/v1/tenants/{t}/suspend"), Some(json!({}))),
        (Method::POST, format!("/api/v1/tenants/{t}/unsuspend"), None),
        (Method::GET, format!("/api/v1/tenants/{t}/usage"), None),
        (Method::GET, format!("/api/v1/users/{u}"), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{u}"),
            Some(json!({ "name": "pwned" })),
        ),
        (Method::DELETE, format!("/api/v1/users/{u}"), None),
        (
            Method::POST,
            format!("/api/v1/users/{u}/password"),
            Some(json!({ "password": "Pwned-Password-99" })),
        ),
        (Method::POST, format!("/api/v1/users/{u}/totp/reset"), None),
        (Method::GET, format!("/api/v1/packages/{pk}"), None),
        (
            Method::PATCH,
            format!("/api/v1/packages/{pk}"),
            Some(json!({ "name": "pwned" })),
        ),
        (Method::DELETE, format!("/api/v1/packages/{pk}"), None),
        (Method::GET, format!("/api/v1/jobs/{j}"), None),
        (Method::GET, format!("/api/v1/jobs/{j}/logs"), None),
        (Method::GET, format!("/api/v1/jobs/{j}/stream"), None),
        (Method::POST, format!("/api/v1/jobs/{j}/retry"), None),
        (Method::POST, format!("/api/v1/jobs/{j}/cancel"), None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tenants_objects_are_invisible() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let w = world(&p).await?;
        for (who, token) in [("reseller A", &w.reseller_a), ("client of A", &w.client_a)] {
            for (m, path, body) in foreign_routes(&w) {
                let (s, v) = p.call(m.clone(), &path, Some(token), body).await?;
                // Roles without the permission at all get 403 for writes
                // (e.g. a client suspending); nobody may get 2xx, and objects
                // are never confirmed to exist with 403 when reading.
                assert!(
                    s == StatusCode::NOT_FOUND || (s == StatusCode::FORBIDDEN && m != Method::GET),
                    "[{}] {who}: {m} {path} -> {s} {v}",
                    p.backend
                );
                if s == StatusCode::FORBIDDEN {
                    assert_eq!(code(&v), "forbidden");
                }
            }
        }
        // Lists only show what is in scope.
        let (_, v) = p.get("/api/v1/tenants", &w.reseller_a).await?;
        let names: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(names, vec!["alpha"], "[{}]", p.backend);
        let (_, v) = p.get("/api/v1/tenants", &w.client_a).await?;
        assert_eq!(v["total"], 1);
        let (_, v) = p.get("/api/v1/users", &w.client_a).await?;
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["tenant_id"] == w.tenant_a.as_str())
        );
        let (_, v) = p.get("/api/v1/jobs", &w.reseller_a).await?;
        assert_eq!(v["total"], 0, "[{}] jobs of B are not listed", p.backend);
        let (_, v) = p
            .get(&format!("/api/v1/audit?tenant_id={}", w.tenant_b), &w.reseller_a)
            .await?;
        assert_eq!(v["total"], 0, "[{}] audit rows of B are not listed", p.backend);
        // Filters cannot widen the scope.
        let (_, v) = p
            .get(&format!("/api/v1/tenants?owner_id={}", w.reseller_b_id), &w.reseller_a)
            .await?;
        assert_eq!(v["total"], 0);

        // Nothing changed: B's tenant and user are as they were.
        let (s, t) = p.get(&format!("/api/v1/tenants/{}", w.tenant_b), &w.admin).await?;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(t["display_name"], "Tenant bravo");
        assert_eq!(t["status"], "active");
        let (_, u) = p.get(&format!("/api/v1/users/{}", w.user_b), &w.admin).await?;
        assert_eq!(u["name"], "Someone");
        let (_, site) = p.get(&format!("/api/v1/sites/{}", w.site_b), &w.admin).await?;
        assert_eq!(
            (site["status"].as_str(), site["aliases"].as_array().map(Vec::len)),
            (Some("active"), Some(0))
        );
        let (_, v) = p.get("/api/v1/sites", &w.reseller_a).await?;
        assert_eq!(v["total"], 0, "[{}] sites of B are not listed", p.backend);
        let (_, j) = p.get(&format!("/api/v1/jobs/{}", w.job_b), &w.admin).await?;
        assert_ne!(j["state"], "cancelled");
        let _ = &w.tenant_a;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_cannot_climb() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let (_, admin) = p.user(&root, "plain-admin@example.com", "admin", None).await?;
        let (_, reseller) = p.user(&admin, "r@example.com", "reseller", None).await?;
        let t = p.tenant(&reseller, "gamma", None).await?;
        let (_, client) = p.user(&reseller, "c@example.com", "client", Some(&t)).await?;
        for (who, token, role) in [
            ("admin", &admin, "superadmin"),
            ("admin", &admin, "admin"),
            ("reseller", &reseller, "admin"),
            ("reseller", &reseller, "reseller"),
            ("client", &client, "client"),
        ] {
            let mut body = json!({ "email": format!("x-{who}-{role}@example.com"), "name": "X", "role": role });
            if role == "client" {
                body["tenant_id"] = json!(t);
            }
            let (s, v) = p.post("/api/v1/users", token, body).await?;
            assert_eq!(s, StatusCode::FORBIDDEN, "[{}] {who} creating {role}: {v}", p.backend);
        }
        // Settings are for superadmins; a client cannot even read them.
        let (s, _) = p
            .call(
                Method::PUT,
                "/api/v1/settings/platform.brand_name",
                Some(&admin),
                Some(json!({ "value": "X" })),
            )
            .await?;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = p.get("/api/v1/settings", &client).await?;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    Ok(())
}
