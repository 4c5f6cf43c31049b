//! First run: the organisation, an administrator with a random password, and (with `--demo`)
//! one demo user per role so a newcomer can see every view. Also `create-admin`.

use crate::error::ServerError;
use app::audit::chain::AuditCtx;
use app::auth::password::PasswordHasher;
use app::db::Db;
use app::policy::Role;
use app::util::{ts, Clock};
use rand::Rng;

#[derive(Debug, Clone)]
pub struct Credential {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct FirstRun {
    pub organisation: String,
    pub users: Vec<Credential>,
}

/// A random password people can type: 5 groups of 4 from an alphabet without look-alikes
/// (about 119 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..5)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub fn system_ctx(clock: &Clock, actor: &str) -> AuditCtx {
    AuditCtx {
        actor: actor.into(),
        at: ts(clock.now()),
        ..Default::default()
    }
}

/// Records the organisation this installation serves, with its audit event; returns false (and
/// writes nothing) when it is already recorded.
async fn ensure_organisation(
    tx: &mut app::db::WriteTx,
    ctx: &AuditCtx,
    name: &str,
    why: &str,
) -> Result<bool, ServerError> {
    let inserted = sqlx::query(
        "INSERT INTO organisation (id, name, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(name)
    .bind(&ctx.at)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if inserted > 0 {
        tx.audit(ctx.event(
            "system.bootstrap",
            "organisation",
            1,
            format!("installation created for '{name}' ({why})"),
        ))
        .await?;
    }
    Ok(inserted > 0)
}

/// Sets up an empty database; does nothing (returns `None`) when users exist already.
pub async fn first_run(
    db: &Db,
    hasher: &PasswordHasher,
    clock: &Clock,
    org_name: &str,
    demo: bool,
) -> Result<Option<FirstRun>, ServerError> {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db.pool())
        .await?;
    if users > 0 {
        return Ok(None);
    }
    let mut wanted = vec![("admin", "Administrator", Role::Admin)];
    if demo {
        wanted.extend([
            ("compliance", "Casey Compliance (demo)", Role::Compliance),
            ("finance", "Frankie Finance (demo)", Role::Finance),
            ("auditor", "Avery Auditor (demo)", Role::Auditor),
        ]);
    }
    let mut creds = Vec::new();
    for (username, display_name, role) in wanted {
        let password = generate_password();
        let hash = hasher.hash(&password).await?;
        creds.push((
            Credential {
                username: username.into(),
                display_name: display_name.into(),
                role,
                password,
            },
            hash,
        ));
    }
    let now = clock.now();
    let ctx = system_ctx(clock, "system");
    let mut tx = db.write().await?;
    // Another process may have bootstrapped between the count and the lock.
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(tx.conn())
        .await?;
    if users > 0 {
        return Ok(None);
    }
    ensure_organisation(&mut tx, &ctx, org_name, "first run").await?;
    for (c, hash) in &creds {
        // Demo auditors get the time-boxed access real auditors have.
        let access = (c.role == Role::Auditor).then(|| ts(now + time::Duration::days(30)));
        let id = app::users::store::insert(
            &mut tx,
            &c.username,
            &c.display_name,
            None,
            c.role,
            hash,
            access.as_deref(),
            now,
        )
        .await?;
        tx.audit(ctx.event(
            "user.create",
            "user",
            id,
            format!(
                "created '{}': role {}{}",
                c.username,
                c.role,
                if c.role == Role::Admin {
                    ""
                } else {
                    " (demo user)"
                }
            ),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(Some(FirstRun {
        organisation: org_name.into(),
        users: creds.into_iter().map(|(c, _)| c).collect(),
    }))
}

pub fn print_credentials(fr: &FirstRun, url: &str) {
    let mut s = String::new();
    s.push_str("\n┌──────────────────────────────────────────────────────────────────────\n");
    s.push_str(&format!(
        "│ Steward is set up for \"{}\". Sign in at {url}\n",
        fr.organisation
    ));
    s.push_str("│ These passwords are shown once and stored only as argon2id hashes.\n│\n");
    for c in &fr.users {
        s.push_str(&format!(
            "│   {:<11} {:<25} password: {}\n",
            c.username,
            c.role.label(),
            c.password
        ));
    }
    s.push_str("└──────────────────────────────────────────────────────────────────────\n");
    // Best effort: whoever started the server may have stopped reading (a closed pipe must not
    // take the server down with a panic, as `println!` would).
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|()| out.flush());
}

/// `steward create-admin`: adds an administrator; prints the generated password once.
pub async fn create_admin(
    db: &Db,
    hasher: &PasswordHasher,
    username: &str,
    display_name: &str,
    password: Option<String>,
) -> Result<String, ServerError> {
    let clock = Clock::default();
    let generated = password.is_none();
    let password = password.unwrap_or_else(generate_password);
    let ctx = system_ctx(&clock, "cli");
    let mut tx = db.write().await?;
    if ensure_organisation(&mut tx, &ctx, "Your organisation", "create-admin").await? {
        tx.commit().await?;
    } else {
        // Nothing written: release the chain head before `create` asks for it again.
        drop(tx);
    }
    app::users::store::create(
        db,
        hasher,
        &ctx,
        app::users::NewUser {
            username: username.into(),
            display_name: display_name.into(),
            email: None,
            role: "admin".into(),
            password: password.clone(),
            access_until: None,
        },
        // The operator running the command chose (or was shown) this password.
        false,
        clock.now(),
    )
    .await?;
    Ok(if generated { password } else { String::new() })
}
