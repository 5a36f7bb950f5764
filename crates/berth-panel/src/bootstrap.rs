//! First start: create the first superadmin (from `BERTH_ADMIN_EMAIL` and
//! `BERTH_ADMIN_PASSWORD`, or with a generated password shown once) and the
//! built-in maintenance schedules.

use crate::StartError;
use crate::auth::secrets::{generate_password, hash_password_async};
use berth_db::audit::{AuditEvent, AuditMeta};
use berth_db::{Db, schedules, users};
use berth_proto::{Email, Role, Text};
use serde_json::json;

/// What the first start created.
pub struct FirstAdmin {
    pub email: Email,
    /// Present when generated: print it once.
    pub generated_password: Option<String>,
}

/// Create the first superadmin when the database has no user at all.
pub async fn ensure_first_admin(
    db: &Db,
    email: Option<&str>,
    password: Option<&str>,
    argon2: (u32, u32),
) -> Result<Option<FirstAdmin>, StartError> {
    let mut c = db.conn().await?;
    if users::count_all(&mut c).await? > 0 {
        return Ok(None);
    }
    drop(c);
    let email = Email::parse(email.unwrap_or("admin@berth.localhost"))
        .map_err(|e| StartError::Config(format!("BERTH_ADMIN_EMAIL: {e}")))?;
    let (password, generated) = match password {
        Some(p) => {
            let policy = berth_core::password_policy::PasswordPolicy {
                min_length: 12,
                min_classes: 3,
            };
            policy
                .check(p, email.as_str())
                .map_err(|e| StartError::Config(format!("BERTH_ADMIN_PASSWORD: {e}")))?;
            (p.to_owned(), None)
        }
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password_async(password, argon2.0, argon2.1)
        .await
        .map_err(StartError::Config)?;
    let mut tx = db.begin().await?;
    // Two panels starting on an empty PostgreSQL: the unique email makes the
    // second insert fail, and it then finds the admin the first one made.
    let user = match users::insert(
        &mut tx,
        users::NewUser {
            email: email.clone(),
            name: Text::parse("Administrator").map_err(|e| StartError::Config(e.to_string()))?,
            role: Role::Superadmin,
            tenant_id: None,
            allocation_package_id: None,
            password_hash: hash,
        },
    )
    .await
    {
        Ok(u) => u,
        Err(berth_db::DbError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    berth_db::audit::append(
        &mut tx,
        &AuditMeta::default(),
        AuditEvent {
            tenant_id: None,
            action: "system.bootstrap",
            target_type: "user",
            target_id: Some(user.id.to_string()),
            summary: json!({ "email": user.email, "password_generated": generated.is_some() }),
        },
    )
    .await?;
    tx.commit().await.map_err(berth_db::DbError::from)?;
    Ok(Some(FirstAdmin {
        email,
        generated_password: generated,
    }))
}

/// The panel's own recurring work, created once.
pub async fn ensure_maintenance_schedules(db: &Db) -> Result<(), StartError> {
    let wanted = [
        ("prune expired sessions", "17 * * * *", "maintenance.prune_sessions"),
        ("verify the audit chain", "42 3 * * *", "maintenance.audit_verify"),
        ("node heartbeats", "* * * * *", "node.heartbeat"),
        ("measure database sizes", "23 * * * *", "databases.measure"),
        ("renew certificates", "*/10 * * * *", "certificates.renew"),
        ("prune certificate files", "37 4 * * *", "certificates.prune"),
    ];
    for (name, cron, kind) in wanted {
        let mut c = db.conn().await?;
        if schedules::find_by_name(&mut c, name).await?.is_some() {
            continue;
        }
        let next = berth_core::schedule::next_after(cron, berth_db::now_ms()).map_err(StartError::Config)?;
        let r = schedules::insert(
            &mut c,
            schedules::NewSchedule {
                name: &Text::parse(name).map_err(|e| StartError::Config(e.to_string()))?,
                cron,
                kind,
                queue: "maintenance",
                payload: &json!({}),
                next_run_at: next,
            },
        )
        .await;
        match r {
            Ok(_) | Err(berth_db::DbError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
