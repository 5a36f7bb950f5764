//! Repository tests, each run on SQLite and on PostgreSQL.

use berth_core::{Credential, Principal, Scope};
use berth_db::audit::{AuditEvent, AuditMeta};
use berth_db::jobs::NewJob;
use berth_db::{Db, DbError, audit, jobs, packages, tenants, users};
use berth_proto::api::audit::AuditQuery;
use berth_proto::api::jobs::JobState;
use berth_proto::api::packages::Limits;
use berth_proto::api::tenants::TenantQuery;
use berth_proto::api::users::UserQuery;
use berth_proto::{AccountName, Email, Role, TenantId, Text, UserId};
use sqlx::Executor;

async fn each_db() -> anyhow::Result<Vec<(String, Db)>> {
    let mut out = Vec::new();
    for t in berth_testkit::databases().await? {
        let db = Db::connect(&t.url).await?;
        // Keep the temp dir alive for the test by leaking the guard.
        out.push((t.backend.to_owned(), db));
        std::mem::forget(t);
    }
    Ok(out)
}

async fn user(db: &Db, email: &str, role: Role, tenant: Option<TenantId>) -> anyhow::Result<UserId> {
    let mut c = db.conn().await?;
    let u = users::insert(
        &mut c,
        users::NewUser {
            email: Email::parse(email)?,
            name: Text::parse("Test User")?,
            role,
            tenant_id: tenant,
            allocation_package_id: None,
            password_hash: "x".into(),
        },
    )
    .await?;
    Ok(u.id)
}

fn principal(id: UserId, role: Role, tenant: Option<TenantId>) -> Principal {
    Principal {
        user_id: id,
        role,
        tenant_id: tenant,
        credential: Credential::Session,
    }
}

#[tokio::test]
async fn scopes_hide_other_tenants() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let admin = user(&db, "admin@example.com", Role::Admin, None).await?;
        let r1 = user(&db, "r1@example.com", Role::Reseller, None).await?;
        let r2 = user(&db, "r2@example.com", Role::Reseller, None).await?;
        let mut c = db.conn().await?;
        let mk = |n: &str, owner| tenants::NewTenant {
            name: AccountName::parse(n).unwrap(),
            display_name: Text::parse(n).unwrap(),
            owner_id: owner,
            package_id: None,
        };
        let t1 = tenants::insert(&mut c, mk("alpha", r1)).await?;
        let t2 = tenants::insert(&mut c, mk("bravo", r2)).await?;
        let dup = tenants::insert(&mut c, mk("alpha", r2)).await;
        assert!(matches!(dup, Err(DbError::Conflict(_))), "{backend}: duplicate name");
        drop(c);
        let c1 = user(&db, "c1@example.com", Role::Client, Some(t1.id)).await?;

        let mut c = db.conn().await?;
        let s_admin = principal(admin, Role::Admin, None).authorize(berth_core::Permission::TenantsRead)?;
        let s_r1 = principal(r1, Role::Reseller, None).authorize(berth_core::Permission::TenantsRead)?;
        let s_c1 = principal(c1, Role::Client, Some(t1.id)).authorize(berth_core::Permission::TenantsRead)?;

        assert_eq!(
            tenants::list(&mut c, &s_admin, &TenantQuery::default()).await?.1,
            2,
            "{backend}"
        );
        let (mine, n) = tenants::list(&mut c, &s_r1, &TenantQuery::default()).await?;
        assert_eq!((n, mine[0].id), (1, t1.id), "{backend}");
        assert!(
            matches!(tenants::get(&mut c, &s_r1, t2.id).await, Err(DbError::NotFound)),
            "{backend}"
        );
        assert!(
            matches!(tenants::get(&mut c, &s_c1, t2.id).await, Err(DbError::NotFound)),
            "{backend}"
        );
        assert_eq!(tenants::get(&mut c, &s_c1, t1.id).await?.id, t1.id);

        // Users: the reseller sees itself and its clients, not the other reseller.
        let (us, _) = users::list(&mut c, &s_r1, &UserQuery::default()).await?;
        let ids: Vec<UserId> = us.iter().map(|u| u.id).collect();
        assert!(
            ids.contains(&r1) && ids.contains(&c1) && !ids.contains(&r2) && !ids.contains(&admin),
            "{backend}"
        );
        assert!(
            matches!(users::get(&mut c, &s_c1, r1).await, Err(DbError::NotFound)),
            "{backend}"
        );
        // Search does not widen the scope.
        let q = UserQuery {
            q: Some("example".into()),
            ..Default::default()
        };
        assert_eq!(users::list(&mut c, &s_c1, &q).await?.1, 1, "{backend}");
    }
    Ok(())
}

#[tokio::test]
async fn audit_chain_detects_tampering() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let meta = AuditMeta::default();
        for n in 0..5 {
            let mut tx = db.begin().await?;
            audit::append(
                &mut tx,
                &meta,
                AuditEvent {
                    tenant_id: None,
                    action: "test.event",
                    target_type: "test",
                    target_id: Some(n.to_string()),
                    summary: serde_json::json!({ "n": n }),
                },
            )
            .await?;
            tx.commit().await?;
        }
        let mut c = db.conn().await?;
        let r = audit::verify(&mut c).await?;
        assert!(r.ok && r.checked == 5, "{backend}: {r:?}");
        let (rows, total) = audit::list(&mut c, &Scope::system(), &AuditQuery::default()).await?;
        assert_eq!((total, rows[0].seq), (5, 5), "{backend}: newest first");
        let q = AuditQuery {
            action: Some("test.".into()),
            ..Default::default()
        };
        assert_eq!(
            audit::list(&mut c, &Scope::system(), &q).await?.1,
            5,
            "{backend}: prefix filter"
        );

        c.execute("UPDATE audit_log SET summary = '{\"n\":99}' WHERE seq = 3")
            .await?;
        let r = audit::verify(&mut c).await?;
        assert_eq!((r.ok, r.first_bad_seq), (false, Some(3)), "{backend}");
        c.execute("UPDATE audit_log SET summary = '{\"n\":2}' WHERE seq = 3")
            .await?;
        assert!(audit::verify(&mut c).await?.ok, "{backend}: restored");
        c.execute("DELETE FROM audit_log WHERE seq = 5").await?;
        let r = audit::verify(&mut c).await?;
        assert!(!r.ok, "{backend}: truncation is detected");
    }
    Ok(())
}

#[tokio::test]
async fn packages_and_usage() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let mut c = db.conn().await?;
        let l = Limits {
            sites: Some(3),
            ..Default::default()
        };
        let p = packages::insert(&mut c, &Text::parse("Basic")?, None, &l).await?;
        assert_eq!(p.limits.sites, Some(3));
        let again = packages::insert(&mut c, &Text::parse("Basic")?, None, &l).await;
        assert!(matches!(again, Err(DbError::Conflict(_))), "{backend}");
        assert!(!packages::in_use(&mut c, p.id).await?);
    }
    Ok(())
}

fn job(kind: &str, key: Option<&str>) -> NewJob {
    NewJob {
        queue: "default".into(),
        kind: kind.into(),
        payload: serde_json::json!({}),
        priority: 0,
        max_attempts: 3,
        run_at: berth_db::now_ms(),
        idempotency_key: key.map(str::to_owned),
        tenant_id: None,
        created_by: None,
    }
}

#[tokio::test]
async fn jobs_claim_once_and_dedupe() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let mut c = db.conn().await?;
        let (a, created) = jobs::insert(&mut c, job("noop", Some("k1"))).await?;
        assert!(created);
        let (b, created) = jobs::insert(&mut c, job("noop", Some("k1"))).await?;
        assert!(!created && a.id == b.id, "{backend}: idempotency key");
        drop(c);

        // Two claimers race; exactly one wins.
        let (x, y) = tokio::join!(
            async {
                let mut tx = db.begin().await?;
                let j = jobs::claim(&mut tx, db.backend(), "w1", 30_000).await?;
                tx.commit().await?;
                anyhow::Ok(j)
            },
            async {
                let mut tx = db.begin().await?;
                let j = jobs::claim(&mut tx, db.backend(), "w2", 30_000).await?;
                tx.commit().await?;
                anyhow::Ok(j)
            }
        );
        let (x, y) = (x?, y?);
        assert_eq!(x.is_some() as u8 + y.is_some() as u8, 1, "{backend}: claimed once");
        let claimed = x.or(y).unwrap();
        assert_eq!((claimed.state, claimed.attempts), (JobState::Running, 1));

        let mut c = db.conn().await?;
        // A worker that does not hold the job cannot finish it.
        assert!(!jobs::finish(&mut c, claimed.id, "intruder", JobState::Succeeded, None, None).await?);
        let holder = if jobs::heartbeat(&mut c, claimed.id, "w1", 1000).await?.is_some() {
            "w1"
        } else {
            "w2"
        };
        assert_eq!(jobs::heartbeat(&mut c, claimed.id, holder, 1000).await?, Some(false));
        assert!(jobs::finish(&mut c, claimed.id, holder, JobState::Succeeded, None, None).await?);
        assert_eq!(jobs::get_unscoped(&mut c, claimed.id).await?.state, JobState::Succeeded);
    }
    Ok(())
}

#[tokio::test]
async fn expired_leases_are_taken_over() -> anyhow::Result<()> {
    for (backend, db) in each_db().await? {
        let mut c = db.conn().await?;
        let (j, _) = jobs::insert(&mut c, job("noop", None)).await?;
        let mut tx = db.begin().await?;
        let got = jobs::claim(&mut tx, db.backend(), "dead-worker", -1).await?;
        tx.commit().await?;
        assert_eq!(got.map(|g| g.id), Some(j.id));
        assert_eq!(jobs::reap_expired(&mut c).await?, 1, "{backend}");
        let j2 = jobs::get_unscoped(&mut c, j.id).await?;
        assert_eq!(j2.state, JobState::Queued);
        assert!(j2.last_error.unwrap().contains("lease expired"));
        // The dead worker can no longer write.
        assert!(!jobs::finish(&mut c, j.id, "dead-worker", JobState::Succeeded, None, None).await?);
    }
    Ok(())
}

#[tokio::test]
async fn sites_list_their_aliases_and_reserve_the_www_partner() -> anyhow::Result<()> {
    use berth_proto::DomainName;
    use berth_proto::api::sites::{SiteKind, SiteOptions, SiteQuery, WwwMode};
    for (backend, db) in each_db().await? {
        let owner = user(&db, "owner@example.com", Role::Admin, None).await?;
        let mut c = db.conn().await?;
        let t = tenants::insert(
            &mut c,
            tenants::NewTenant {
                name: AccountName::parse("sitesco")?,
                display_name: Text::parse("Sites Co")?,
                owner_id: owner,
                package_id: None,
            },
        )
        .await?;
        let www = SiteOptions {
            www: WwwMode::Alias,
            ..Default::default()
        };
        for i in 0..3 {
            let d = DomainName::parse(&format!("s{i}.example"))?;
            let aliases = vec![
                DomainName::parse(&format!("a{i}.example"))?,
                DomainName::parse(&format!("b{i}.example"))?,
            ];
            berth_db::sites::insert(&mut c, t.id, &d, &aliases, &SiteKind::Static, &www, None).await?;
        }
        let (page, total) = berth_db::sites::list(&mut c, &Scope::system(), &SiteQuery::default()).await?;
        assert_eq!(total, 3, "[{backend}]");
        for (i, s) in page.iter().enumerate() {
            let got: Vec<&str> = s.aliases.iter().map(|a| a.as_str()).collect();
            assert_eq!(
                got,
                vec![format!("a{i}.example"), format!("b{i}.example")],
                "[{backend}]"
            );
            assert_eq!(s.node, "local");
        }
        // The www partner is reserved, but is not an alias and not counted.
        // (The API inserts in a transaction: a refused site leaves no row.)
        let mut tx = db.begin().await?;
        let taken = berth_db::sites::insert(
            &mut tx,
            t.id,
            &DomainName::parse("www.s0.example")?,
            &[],
            &SiteKind::Static,
            &SiteOptions::default(),
            None,
        )
        .await;
        assert!(matches!(taken, Err(DbError::Conflict(_))), "[{backend}] {taken:?}");
        drop(tx);
        assert_eq!(berth_db::sites::counts(&mut c, t.id).await?, (3, 9), "[{backend}]");
        let all = berth_db::sites::all(&mut c, None).await?;
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].aliases.len(), 2);
    }
    Ok(())
}
