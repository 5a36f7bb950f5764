//! Jobs through the API: enqueue, dedupe, follow over SSE, retry, cancel,
//! schedules; and the metrics that count them.

use crate::common::TestPanel;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

async fn wait_state(p: &TestPanel, token: &str, id: &str, want: &str) -> anyhow::Result<Value> {
    for _ in 0..200 {
        let (_, j) = p.get(&format!("/api/v1/jobs/{id}"), token).await?;
        if j["state"] == want {
            return Ok(j);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("job {id} never reached {want}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_follow_retry_cancel() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let (s, kinds) = p.get("/api/v1/jobs/kinds", &admin).await?;
        assert_eq!(s, StatusCode::OK);
        assert!(kinds.as_array().unwrap().iter().any(|k| k["kind"] == "builtin.noop"));

        let (s, j) = p
            .post(
                "/api/v1/jobs",
                &admin,
                json!({ "kind": "builtin.noop", "idempotency_key": "once-1" }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{j}");
        let id = j["id"].as_str().unwrap_or_default().to_owned();
        let (s, again) = p
            .post(
                "/api/v1/jobs",
                &admin,
                json!({ "kind": "builtin.noop", "idempotency_key": "once-1" }),
            )
            .await?;
        assert_eq!(
            (s, again["id"].as_str()),
            (StatusCode::OK, Some(id.as_str())),
            "deduplicated"
        );
        let done = wait_state(&p, &admin, &id, "succeeded").await?;
        assert_eq!(done["steps"][0]["state"], "succeeded");

        // Unknown kinds and bad payloads never enter the queue.
        let (s, _) = p
            .post(
                "/api/v1/jobs",
                &admin,
                json!({ "kind": "shell.exec", "payload": { "cmd": "id" } }),
            )
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = p
            .post(
                "/api/v1/jobs",
                &admin,
                json!({ "kind": "builtin.sleep", "payload": { "ms": -1 } }),
            )
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

        // Follow a failing job over SSE to its end.
        let (_, j) = p
            .post(
                "/api/v1/jobs",
                &admin,
                json!({ "kind": "builtin.fail_n", "max_attempts": 1, "payload": { "fail_times": 5 } }),
            )
            .await?;
        let fid = j["id"].as_str().unwrap_or_default().to_owned();
        let resp = p
            .http
            .get(format!("{}/api/v1/jobs/{fid}/stream", p.url))
            .bearer_auth(&admin)
            .send()
            .await?;
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let body = tokio::time::timeout(Duration::from_secs(20), resp.text()).await??;
        assert!(body.contains("event: log"), "{body}");
        assert!(body.contains("planned failure"), "{body}");
        assert!(body.contains("event: end"), "{body}");
        let (_, dead) = p.get(&format!("/api/v1/jobs/{fid}"), &admin).await?;
        assert_eq!(dead["state"], "dead");
        let (s, r) = p
            .call(Method::POST, &format!("/api/v1/jobs/{fid}/retry"), Some(&admin), None)
            .await?;
        assert_eq!((s, r["state"].as_str()), (StatusCode::OK, Some("queued")));
        let (s, _) = p
            .call(Method::POST, &format!("/api/v1/jobs/{id}/retry"), Some(&admin), None)
            .await?;
        assert_eq!(s, StatusCode::CONFLICT, "a succeeded job is not retried");

        // Cancel a long job while it runs.
        let (_, j) = p
            .post(
                "/api/v1/jobs",
                &admin,
                json!({ "kind": "builtin.sleep", "payload": { "ms": 60000 } }),
            )
            .await?;
        let sid = j["id"].as_str().unwrap_or_default().to_owned();
        wait_state(&p, &admin, &sid, "running").await?;
        let (s, _) = p
            .call(Method::POST, &format!("/api/v1/jobs/{sid}/cancel"), Some(&admin), None)
            .await?;
        assert_eq!(s, StatusCode::OK);
        wait_state(&p, &admin, &sid, "cancelled").await?;

        let (_, list) = p.get("/api/v1/jobs?state=succeeded", &admin).await?;
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["state"] == "succeeded")
        );

        // Metrics count requests and jobs.
        let r = p
            .http
            .get(format!("{}/metrics", p.url))
            .bearer_auth(&admin)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await?;
        assert!(text.contains("berth_http_requests_total"), "{text}");
        assert!(text.contains("berth_jobs{state=\"succeeded\"}"), "{text}");
        assert!(text.contains("berth_jobs_queue_lag_seconds"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_managed_and_validated() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let (_, list) = p.get("/api/v1/schedules", &admin).await?;
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        assert!(names.contains(&"prune expired sessions"), "{names:?}");
        let (s, _) = p
            .post(
                "/api/v1/schedules",
                &admin,
                json!({ "name": "bad", "cron": "every day", "kind": "builtin.noop" }),
            )
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, v) = p
            .post(
                "/api/v1/schedules",
                &admin,
                json!({ "name": "nightly noop", "cron": "0 3 * * *", "kind": "builtin.noop" }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap_or_default();
        let (s, v) = p
            .patch(&format!("/api/v1/schedules/{id}"), &admin, json!({ "enabled": false }))
            .await?;
        assert_eq!((s, v["enabled"].as_bool()), (StatusCode::OK, Some(false)));
        let (s, _) = p.delete(&format!("/api/v1/schedules/{id}"), &admin).await?;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    Ok(())
}
