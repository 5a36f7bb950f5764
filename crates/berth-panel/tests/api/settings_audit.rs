//! Settings (typed, validated, superadmin-only writes), packages and limits,
//! usage, and the audit log with its hash chain.

use crate::common::{TestPanel, code};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_typed_and_audited() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let (s, all) = p.get("/api/v1/settings", &root).await?;
        assert_eq!(s, StatusCode::OK);
        assert!(
            all.as_array()
                .unwrap()
                .iter()
                .any(|s| s["key"] == "jobs.retry.base_delay_ms" && s["is_set"] == false)
        );
        let put = |k: &str, v: serde_json::Value| {
            let path = format!("/api/v1/settings/{k}");
            let (p, root) = (&p, root.clone());
            async move {
                p.call(Method::PUT, &path, Some(&root), Some(json!({ "value": v })))
                    .await
            }
        };
        assert_eq!(
            put("auth.password.min_length", json!("twelve")).await?.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            put("auth.password.min_length", json!(3)).await?.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(put("no.such_key", json!(3)).await?.0, StatusCode::NOT_FOUND);
        assert_eq!(
            put("smtp.host", json!("evil.example\nRCPT TO:<x>")).await?.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let (s, v) = put("auth.password.min_length", json!(16)).await?;
        assert_eq!(
            (s, v["value"].as_i64(), v["is_set"].as_bool()),
            (StatusCode::OK, Some(16), Some(true))
        );
        // The new policy applies at once through this panel.
        let (s, v) = p
            .post(
                "/api/v1/users",
                &root,
                json!({ "email": "p@example.com", "name": "P", "role": "admin", "password": "Only-14-chars!" }),
            )
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["message"].as_str().unwrap_or_default().contains("16"));
        let (s, v) = put("auth.password.min_length", json!(null)).await?;
        assert_eq!(
            (s, v["value"].as_i64(), v["is_set"].as_bool()),
            (StatusCode::OK, Some(12), Some(false))
        );
        let (_, a) = p.get("/api/v1/audit?action=setting.update", &root).await?;
        assert_eq!(a["total"], 2, "[{}]", p.backend);
        assert_eq!(a["items"][1]["summary"]["new"], 16);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_allocations_cap_packages_and_tenants() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let (s, alloc) = p
            .post(
                "/api/v1/packages",
                &root,
                json!({ "name": "Reseller S", "limits": { "tenants": 1, "sites": 10, "disk_mb": 5000 } }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{alloc}");
        let alloc_id = alloc["id"].as_str().unwrap_or_default();
        let (rid, reseller) = p.user(&root, "res@example.com", "reseller", None).await?;
        let (s, _) = p
            .patch(
                &format!("/api/v1/users/{rid}"),
                &root,
                json!({ "allocation_package_id": alloc_id }),
            )
            .await?;
        assert_eq!(s, StatusCode::OK);

        let (s, v) = p
            .post(
                "/api/v1/packages",
                &reseller,
                json!({ "name": "Too big", "limits": { "sites": 11, "disk_mb": 100 } }),
            )
            .await?;
        assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "limit_exceeded"), "{v}");
        assert!(v["message"].as_str().unwrap_or_default().contains("sites"));
        let (s, v) = p
            .post(
                "/api/v1/packages",
                &reseller,
                json!({ "name": "Unlimited disk", "limits": { "sites": 1 } }),
            )
            .await?;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::CONFLICT, "limit_exceeded"),
            "unlimited inside a limited allocation: {v}"
        );
        let (s, small) = p
            .post(
                "/api/v1/packages",
                &reseller,
                json!({ "name": "Small", "limits": { "sites": 2, "disk_mb": 500, "tenants": 0 } }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{small}");
        let (s, _) = p
            .patch(
                &format!("/api/v1/packages/{alloc_id}"),
                &reseller,
                json!({ "name": "mine now" }),
            )
            .await?;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "the allocation is visible but not editable by the reseller"
        );

        let (s, t) = p
            .post(
                "/api/v1/tenants",
                &reseller,
                json!({ "name": "first", "display_name": "First", "package_id": small["id"] }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let (s, v) = p
            .post(
                "/api/v1/tenants",
                &reseller,
                json!({ "name": "second", "display_name": "Second" }),
            )
            .await?;
        assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "limit_exceeded"), "{v}");
        assert_eq!(v["details"]["limit"], "tenants");

        let tid = t["id"].as_str().unwrap_or_default();
        let (s, u) = p.get(&format!("/api/v1/tenants/{tid}/usage"), &reseller).await?;
        assert_eq!(s, StatusCode::OK);
        let sites = u["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["resource"] == "sites")
            .cloned()
            .unwrap_or_default();
        assert_eq!(sites["limit"], 2);
        let (s, _) = p
            .delete(
                &format!("/api/v1/packages/{}", small["id"].as_str().unwrap_or_default()),
                &reseller,
            )
            .await?;
        assert_eq!(s, StatusCode::CONFLICT, "in use by a tenant");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_is_filterable_scoped_and_verifiable() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let t = p.tenant(&root, "audited", None).await?;
        p.patch(
            &format!("/api/v1/tenants/{t}"),
            &root,
            json!({ "display_name": "Renamed" }),
        )
        .await?;
        let (_, v) = p
            .get(&format!("/api/v1/audit?target_type=tenant&target_id={t}"), &root)
            .await?;
        let actions: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(actions, vec!["tenant.update", "tenant.create"], "[{}]", p.backend);
        assert_eq!(
            v["items"][0]["summary"]["display_name"],
            json!(["Tenant audited", "Renamed"])
        );
        let (_, v) = p.get("/api/v1/audit?action=auth.&limit=1", &root).await?;
        assert_eq!(v["limit"], 1);
        assert!(
            v["items"][0]["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("auth.")
        );
        let (_, v) = p
            .get(
                "/api/v1/audit?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z",
                &root,
            )
            .await?;
        assert_eq!(v["total"], 0);
        let (s, r) = p.get("/api/v1/audit/verify", &root).await?;
        assert_eq!((s, r["ok"].as_bool()), (StatusCode::OK, Some(true)), "{r}");

        // Tampering in the database is detected.
        let mut c = p.db.conn().await?;
        sqlx::query("UPDATE audit_log SET summary = '{}' WHERE seq = 2")
            .execute(&mut *c)
            .await?;
        let (_, r) = p.get("/api/v1/audit/verify", &root).await?;
        assert_eq!(
            (r["ok"].as_bool(), r["first_bad_seq"].as_i64()),
            (Some(false), Some(2)),
            "[{}] {r}",
            p.backend
        );
    }
    Ok(())
}

#[test]
fn every_setting_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md")).unwrap_or_default();
    for d in berth_core::settings::REGISTRY {
        assert!(
            doc.contains(&format!("`{}`", d.key)),
            "docs/operations.md does not document {}",
            d.key
        );
    }
}
