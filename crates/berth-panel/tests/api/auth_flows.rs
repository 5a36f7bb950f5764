//! Sessions, cookies and CSRF, throttling, two-factor, API tokens,
//! suspension, password reset by email, and sessions shared by two panels.

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestPanel, code, serve};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_csrf_for_writes() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let r = p
            .http
            .post(format!("{}/api/v1/auth/login", p.url))
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await?;
        let set_cookie = r.headers()["set-cookie"].to_str()?.to_owned();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        let v: Value = r.json().await?;
        let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
        let csrf = v["csrf_token"].as_str().unwrap_or_default();
        let url = format!("{}/api/v1/tenants", p.url);
        let body = json!({ "name": "cookie-t", "display_name": "Cookie" });

        let r = p.http.get(&url).header("cookie", &cookie).send().await?;
        assert_eq!(r.status(), StatusCode::OK, "reads work with the cookie alone");
        let r = p.http.post(&url).header("cookie", &cookie).json(&body).send().await?;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(code(&r.json().await?), "csrf_failed");
        let r = p
            .http
            .post(&url)
            .header("cookie", &cookie)
            .header("x-csrf-token", "wrong")
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = p
            .http
            .post(&url)
            .header("cookie", &cookie)
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::CREATED);
        // A tab that did not log in learns the session's CSRF token.
        let r = p
            .http
            .get(format!("{}/api/v1/auth/session", p.url))
            .header("cookie", &cookie)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::OK);
        let cur: Value = r.json().await?;
        assert_eq!(cur["csrf_token"].as_str(), Some(csrf));
        assert_eq!(cur["user"]["email"], ADMIN_EMAIL);
        let r = p.http.get(format!("{}/api/v1/auth/session", p.url)).send().await?;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no session, no token");
        // Bearer writes need no CSRF token.
        let token = v["token"].as_str().unwrap_or_default();
        let (s, cur) = p.get("/api/v1/auth/session", token).await?;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            cur["csrf_token"],
            Value::Null,
            "API tokens and bearer sessions send no cookie"
        );
        let (s, _) = p
            .post(
                "/api/v1/tenants",
                token,
                json!({ "name": "bearer-t", "display_name": "B" }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED);

        // Logout ends the session for both transports.
        let (s, _) = p.call(Method::POST, "/api/v1/auth/logout", Some(token), None).await?;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = p.get("/api/v1/me", token).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_lock_the_account_across_restarts() -> anyhow::Result<()> {
    for mut p in TestPanel::all().await? {
        let bad = json!({ "email": ADMIN_EMAIL, "password": "wrong-password" });
        for i in 0..5 {
            let (s, v) = p
                .call(Method::POST, "/api/v1/auth/login", None, Some(bad.clone()))
                .await?;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}: {v}");
            assert_eq!(v["message"], "wrong email or password");
        }
        let good = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
        let (s, v) = p
            .call(Method::POST, "/api/v1/auth/login", None, Some(good.clone()))
            .await?;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            "[{}]",
            p.backend
        );
        // Unknown accounts fail the same way (no account enumeration).
        let (s, v) = p
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": "ghost@example.com", "password": "x" })),
            )
            .await?;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
            "{v}"
        );

        // A restarted panel on the same database still refuses.
        p.stop().await;
        let (url, _db, stop, task) = serve(&p.db_url).await?;
        let r = p
            .http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&good)
            .send()
            .await?;
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "[{}] throttle survived the restart",
            p.backend
        );
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_login_replay_and_recovery() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let (s, setup) = p
            .call(Method::POST, "/api/v1/me/totp/setup", Some(&admin), None)
            .await?;
        assert_eq!(s, StatusCode::OK, "{setup}");
        let secret = setup["secret"].as_str().unwrap_or_default().to_owned();
        assert!(
            setup["otpauth_url"]
                .as_str()
                .unwrap_or_default()
                .starts_with("otpauth://totp/")
        );
        let now = berth_panel::auth::totp::now_secs();
        let (s, _) = p
            .post("/api/v1/me/totp/enable", &admin, json!({ "code": "000000" }))
            .await?;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a wrong code does not enable 2FA");
        let code_now = berth_panel::auth::totp::current_code(&secret, now).unwrap_or_default();
        let (s, rc) = p
            .post("/api/v1/me/totp/enable", &admin, json!({ "code": code_now }))
            .await?;
        assert_eq!(s, StatusCode::OK, "{rc}");
        let recovery: Vec<String> = rc["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(recovery.len(), 10);

        let login = |totp: Option<&str>| {
            let mut b = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
            if let Some(t) = totp {
                b["totp"] = json!(t);
            }
            p.call(Method::POST, "/api/v1/auth/login", None, Some(b))
        };
        let (s, v) = login(None).await?;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "totp_required"));
        // The code used to enable is already spent (replay protection); the
        // next step's code works once.
        let (s, _) = login(Some(&code_now)).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "[{}] replayed code refused", p.backend);
        let next = berth_panel::auth::totp::current_code(&secret, now + 30).unwrap_or_default();
        let (s, v) = login(Some(&next)).await?;
        assert_eq!(s, StatusCode::OK, "[{}] {v}", p.backend);
        let (s, _) = login(Some(&next)).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "the same code twice is refused");
        let (s, _) = login(Some(&recovery[0])).await?;
        assert_eq!(s, StatusCode::OK, "a recovery code works");
        let (s, _) = login(Some(&recovery[0])).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "once");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_scoped_hashed_and_ip_bound() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let (s, ro) = p
            .post(
                "/api/v1/tokens",
                &admin,
                json!({ "name": "ci read", "access": "read", "expires_in_days": 30 }),
            )
            .await?;
        assert_eq!(s, StatusCode::CREATED, "{ro}");
        let secret = ro["secret"].as_str().unwrap_or_default().to_owned();
        assert!(secret.starts_with("bt_"));
        let (s, _) = p.get("/api/v1/tenants", &secret).await?;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = p
            .post(
                "/api/v1/tenants",
                &secret,
                json!({ "name": "ro-t", "display_name": "X" }),
            )
            .await?;
        assert_eq!(s, StatusCode::FORBIDDEN, "read-only token cannot write: {v}");
        let (_, list) = p.get("/api/v1/tokens", &admin).await?;
        let text = list.to_string();
        assert!(!text.contains(&secret), "the secret is never shown again");
        // Stored as a hash only.
        let mut c = p.db.conn().await?;
        let found = berth_db::auth::find_token(&mut c, &secret).await?;
        assert!(found.is_none(), "the raw secret is not a key in the database");

        let (_, far) = p
            .post(
                "/api/v1/tokens",
                &admin,
                json!({ "name": "office", "access": "full", "ip_allowlist": ["10.0.0.0/8"] }),
            )
            .await?;
        let (s, _) = p.get("/api/v1/me", far["secret"].as_str().unwrap_or_default()).await?;
        assert_eq!(s, StatusCode::FORBIDDEN, "127.0.0.1 is not in 10.0.0.0/8");

        // A token cannot mint tokens (a stolen short-lived one could make
        // itself permanent and unrestricted).
        let (_, full) = p
            .post(
                "/api/v1/tokens",
                &admin,
                json!({ "name": "full", "access": "full", "expires_in_days": 1 }),
            )
            .await?;
        let full = full["secret"].as_str().unwrap_or_default().to_owned();
        let (s, _) = p
            .post("/api/v1/tokens", &full, json!({ "name": "forever", "access": "full" }))
            .await?;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let id = ro["token"]["id"].as_str().unwrap_or_default();
        let (s, _) = p.delete(&format!("/api/v1/tokens/{id}"), &admin).await?;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = p.get("/api/v1/tenants", &secret).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_tenants_cannot_log_in() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let admin = p.admin().await?;
        let t = p.tenant(&admin, "sleepy", None).await?;
        let (_, client) = p.user(&admin, "c@sleepy.example", "client", Some(&t)).await?;
        let (s, v) = p
            .post(
                &format!("/api/v1/tenants/{t}/suspend"),
                &admin,
                json!({ "reason": "unpaid invoice" }),
            )
            .await?;
        assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("suspended")));
        let (s, _) = p.get("/api/v1/me", &client).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "[{}] sessions ended", p.backend);
        let (s, v) = p
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": "c@sleepy.example", "password": "Good-Password-77" })),
            )
            .await?;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "suspended"));
        p.call(
            Method::POST,
            &format!("/api/v1/tenants/{t}/unsuspend"),
            Some(&admin),
            None,
        )
        .await?;
        p.login("c@sleepy.example", "Good-Password-77").await?;
        let (_, a) = p.get(&format!("/api/v1/audit?target_id={t}"), &admin).await?;
        let actions: Vec<&str> = a["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert!(
            actions.contains(&"tenant.suspend") && actions.contains(&"tenant.unsuspend"),
            "{actions:?}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_can_be_required_to_use_two_factor() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let (_, admin) = p.user(&root, "a2@example.com", "reseller", None).await?;
        let (s, _) = p
            .call(
                Method::PUT,
                "/api/v1/settings/auth.totp.required_roles",
                Some(&root),
                Some(json!({ "value": ["reseller"] })),
            )
            .await?;
        assert_eq!(s, StatusCode::OK);
        // The cache refreshes within 2 s.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let (s, v) = p.get("/api/v1/tenants", &admin).await?;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert!(v["message"].as_str().unwrap_or_default().contains("two-factor"));
        let (s, _) = p.get("/api/v1/me", &admin).await?;
        assert_eq!(s, StatusCode::OK, "setting it up stays possible");
        let (s, _) = p
            .call(Method::POST, "/api/v1/me/totp/setup", Some(&admin), None)
            .await?;
        assert_eq!(s, StatusCode::OK);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_and_admin_reset_end_sessions() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let (uid, s1) = p.user(&root, "pw@example.com", "reseller", None).await?;
        let s2 = p.login("pw@example.com", "Good-Password-77").await?;
        let (st, v) = p
            .post(
                "/api/v1/me/password",
                &s1,
                json!({ "current_password": "Good-Password-77", "new_password": "weak" }),
            )
            .await?;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (st, _) = p
            .post(
                "/api/v1/me/password",
                &s1,
                json!({ "current_password": "nope", "new_password": "Better-Password-88" }),
            )
            .await?;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = p
            .post(
                "/api/v1/me/password",
                &s1,
                json!({ "current_password": "Good-Password-77", "new_password": "Better-Password-88" }),
            )
            .await?;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(p.get("/api/v1/me", &s1).await?.0, StatusCode::OK, "this session stays");
        assert_eq!(
            p.get("/api/v1/me", &s2).await?.0,
            StatusCode::UNAUTHORIZED,
            "the other one ended"
        );

        let (st, v) = p
            .post(&format!("/api/v1/users/{uid}/password"), &root, json!({}))
            .await?;
        assert_eq!(st, StatusCode::OK);
        let generated = v["generated_password"].as_str().unwrap_or_default().to_owned();
        assert_eq!(p.get("/api/v1/me", &s1).await?.0, StatusCode::UNAUTHORIZED);
        p.login("pw@example.com", &generated).await?;
    }
    Ok(())
}

/// A minimal SMTP receiver: accepts one message and hands over its text.
async fn smtp_receiver() -> anyhow::Result<(u16, tokio::sync::oneshot::Receiver<String>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok((sock, _)) = listener.accept().await else { return };
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        let _ = w.write_all(b"220 test ESMTP\r\n").await;
        let mut data = String::new();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    let _ = w.write_all(b"250 queued\r\n").await;
                    continue;
                }
                data.push_str(&line);
                data.push('\n');
                continue;
            }
            let up = line.to_ascii_uppercase();
            let reply: &[u8] = if up.starts_with("EHLO") || up.starts_with("HELO") {
                b"250 test\r\n"
            } else if up.starts_with("DATA") {
                in_data = true;
                b"354 go ahead\r\n"
            } else if up.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n").await;
                break;
            } else {
                b"250 ok\r\n"
            };
            let _ = w.write_all(reply).await;
        }
        let _ = tx.send(data);
    });
    Ok((port, rx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_service_password_reset_by_email() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let root = p.admin().await?;
        let (port, mail) = smtp_receiver().await?;
        for (k, v) in [
            ("smtp.host", json!("127.0.0.1")),
            ("smtp.port", json!(port)),
            ("smtp.from", json!("panel@example.com")),
            ("panel.public_url", json!("https://panel.example.com")),
        ] {
            let (s, r) = p
                .call(
                    Method::PUT,
                    &format!("/api/v1/settings/{k}"),
                    Some(&root),
                    Some(json!({ "value": v })),
                )
                .await?;
            assert_eq!(s, StatusCode::OK, "{k}: {r}");
        }
        p.user(&root, "forgetful@example.com", "reseller", None).await?;
        let forgot = |email: &str| {
            p.call(
                Method::POST,
                "/api/v1/auth/password/forgot",
                None,
                Some(json!({ "email": email })),
            )
        };
        let (s, _) = forgot("nobody@example.com").await?;
        assert_eq!(s, StatusCode::ACCEPTED, "unknown addresses look the same");
        let (s, _) = forgot("forgetful@example.com").await?;
        assert_eq!(s, StatusCode::ACCEPTED);
        let text = tokio::time::timeout(std::time::Duration::from_secs(10), mail).await??;
        assert!(text.contains("To: forgetful@example.com"), "{text}");
        let code = text
            .lines()
            .find_map(|l| l.strip_prefix("Your reset code: "))
            .map(|c| c.trim().to_owned())
            .ok_or_else(|| anyhow::anyhow!("no code in {text}"))?;
        assert!(text.contains("https://panel.example.com/reset-password?code="));

        let reset = |pw: &str| {
            p.call(
                Method::POST,
                "/api/v1/auth/password/reset",
                None,
                Some(json!({ "token": code, "new_password": pw })),
            )
        };
        let (s, _) = reset("weak").await?;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy applies and the code is not used up"
        );
        let (s, v) = reset("Fresh-Password-2026").await?;
        assert_eq!(s, StatusCode::OK, "[{}] {v}", p.backend);
        p.login("forgetful@example.com", "Fresh-Password-2026").await?;
        let (s, _) = reset("Another-Password-2027").await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a code works once");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_panels_share_sessions() -> anyhow::Result<()> {
    for p in TestPanel::all().await? {
        let token = p.admin().await?;
        let (url2, _db, stop, task) = serve(&p.db_url).await?;
        let r = p
            .http
            .get(format!("{url2}/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "[{}] a session from panel 1 works on panel 2",
            p.backend
        );
        let r = p
            .http
            .post(format!("{url2}/api/v1/auth/logout"))
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (s, _) = p.get("/api/v1/me", &token).await?;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "and logging out on panel 2 ends it on panel 1"
        );
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(())
}
