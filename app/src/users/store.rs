//! User records: validation and SQL, shared by the admin page, first-run bootstrap and the CLI.

use crate::audit::chain::AuditCtx;
use crate::auth::password::{check_policy, PasswordHasher};
use crate::auth::session;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::policy::Role;
use crate::users::{NewUser, UserChange, UserRow};
use crate::util::{parse_ts, ts};
use sqlx::Row;
use time::OffsetDateTime;

pub fn validate_username(raw: &str) -> Result<String, AppError> {
    let u = raw.trim().to_lowercase();
    let n = u.chars().count();
    if !(3..=64).contains(&n) {
        return Err(AppError::invalid(format!(
            "Username: must be 3 to 64 characters (it has {n})."
        )));
    }
    if let Some(bad) = u.chars().find(|c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@'))
    }) {
        return Err(AppError::invalid(format!(
            "Username: '{bad}' is not allowed (use letters, digits, '.', '_', '-', '@')."
        )));
    }
    Ok(u)
}

fn validate_display_name(raw: &str) -> Result<String, AppError> {
    let d = raw.trim().to_string();
    let n = d.chars().count();
    if n == 0 || n > 100 {
        return Err(AppError::invalid("Name: must be 1 to 100 characters."));
    }
    if d.chars().any(|c| c.is_control()) {
        return Err(AppError::invalid(
            "Name: must not contain control characters.",
        ));
    }
    Ok(d)
}

fn validate_email(raw: Option<&str>) -> Result<Option<String>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(e) => {
            let valid = e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !e.chars().any(|c| c.is_whitespace() || c.is_control());
            if valid {
                Ok(Some(e.to_string()))
            } else {
                Err(AppError::invalid(format!(
                    "Email: '{e}' is not an email address."
                )))
            }
        }
    }
}

/// Access end as stored: the day after the given date at 00:00 UTC (access lasts through it).
pub fn parse_access_until(
    raw: Option<&str>,
    role: Role,
    now: OffsetDateTime,
) -> Result<Option<String>, AppError> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty());
    let Some(raw) = raw else {
        return if role == Role::Auditor {
            Err(AppError::invalid(
                "Access until: required for auditors (their access is time-boxed).",
            ))
        } else {
            Ok(None)
        };
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw, fmt).map_err(|_| {
        AppError::invalid(format!("Access until: '{raw}' is not a date (YYYY-MM-DD)."))
    })?;
    let end = date.midnight().assume_utc() + time::Duration::days(1);
    if end <= now {
        return Err(AppError::invalid(format!(
            "Access until: {raw} is in the past."
        )));
    }
    if end > now + time::Duration::days(366) {
        return Err(AppError::invalid("Access until: at most one year ahead."));
    }
    Ok(Some(ts(end)))
}

/// The stored access end shown as the last day of access.
pub fn access_until_date(stored: &str) -> String {
    parse_ts(stored)
        .map(|t| (t - time::Duration::days(1)).date().to_string())
        .unwrap_or_else(|| stored.to_string())
}

/// Creates a user. `must_change`: the password was chosen by someone else (an administrator),
/// so its owner must replace it at their first sign-in.
pub async fn create(
    db: &Db,
    hasher: &PasswordHasher,
    ctx: &AuditCtx,
    new: NewUser,
    must_change: bool,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    let username = validate_username(&new.username)?;
    let display = validate_display_name(&new.display_name)?;
    let email = validate_email(new.email.as_deref())?;
    let role: Role = new
        .role
        .parse()
        .map_err(|e: String| AppError::invalid(format!("Role: {e}.")))?;
    let access = parse_access_until(new.access_until.as_deref(), role, now)?;
    check_policy(&new.password, &username)?;
    let hash = hasher.hash(&new.password).await?;
    let mut tx = db.write().await?;
    let id = insert(
        &mut tx,
        &username,
        &display,
        email.as_deref(),
        role,
        &hash,
        access.as_deref(),
        now,
    )
    .await?;
    if must_change {
        sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(ctx.event(
        "user.create",
        "user",
        id,
        format!(
                "created '{username}': role {role}, name '{display}'{}",
                access
                    .as_deref()
                    .map(|a| format!(", access until {}", access_until_date(a)))
                    .unwrap_or_default()
            ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut WriteTx,
    username: &str,
    display: &str,
    email: Option<&str>,
    role: Role,
    hash: &str,
    access: Option<&str>,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(tx.conn())
        .await?;
    if exists > 0 {
        return Err(AppError::Conflict(format!(
            "Username: '{username}' is already taken."
        )));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, email, role, password_hash, active, \
         access_expires_at, created_at, updated_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7, $7) RETURNING id",
    )
    .bind(username)
    .bind(display)
    .bind(email)
    .bind(role.as_str())
    .bind(hash)
    .bind(access)
    .bind(ts(now))
    .fetch_one(tx.conn())
    .await?;
    Ok(id)
}

fn row_to_user(r: &sqlx::any::AnyRow) -> Result<UserRow, AppError> {
    let role: String = r.try_get("role")?;
    Ok(UserRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        role: role.parse().map_err(AppError::internal)?,
        active: r.try_get::<i64, _>("active")? == 1,
        access_until: r
            .try_get::<Option<String>, _>("access_expires_at")?
            .map(|a| access_until_date(&a)),
        created_at: r.try_get("created_at")?,
        last_login_at: r.try_get("last_login_at")?,
    })
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.email, u.role, u.active, \
    u.access_expires_at, u.created_at, \
    (SELECT MAX(s.created_at) FROM sessions s WHERE s.user_id = u.id) AS last_login_at";

pub async fn list(db: &Db) -> Result<Vec<UserRow>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u ORDER BY u.username"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(row_to_user).collect()
}

async fn get(tx: &mut WriteTx, id: i64) -> Result<UserRow, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    row_to_user(&row)
}

async fn other_active_admins(tx: &mut WriteTx, id: i64) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1 AND id <> $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?)
}

pub async fn update(
    db: &Db,
    ctx: &AuditCtx,
    change: UserChange,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let display = validate_display_name(&change.display_name)?;
    let email = validate_email(change.email.as_deref())?;
    let role: Role = change
        .role
        .parse()
        .map_err(|e: String| AppError::invalid(format!("Role: {e}.")))?;
    let active = change.active.is_some();
    let mut tx = db.write().await?;
    let before = get(&mut tx, change.id).await?;
    // Keep the access end as it is unless a new date is given (a past end stays valid to store).
    let access = if change
        .access_until
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .is_empty()
        && before.access_until.is_some()
        && role == Role::Auditor
    {
        sqlx::query_scalar::<_, Option<String>>("SELECT access_expires_at FROM users WHERE id = $1")
            .bind(change.id)
            .fetch_one(tx.conn())
            .await?
    } else {
        parse_access_until(change.access_until.as_deref(), role, now)?
    };
    if Some(change.id) == ctx.actor_id && (role != before.role || !active) {
        return Err(AppError::invalid(
            "You cannot change your own role or deactivate yourself.",
        ));
    }
    if before.role == Role::Admin
        && before.active
        && (role != Role::Admin || !active)
        && other_active_admins(&mut tx, change.id).await? == 0
    {
        return Err(AppError::invalid(
            "At least one active administrator must remain.",
        ));
    }
    sqlx::query(
        "UPDATE users SET display_name = $1, email = $2, role = $3, active = $4, \
         access_expires_at = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&display)
    .bind(email.as_deref())
    .bind(role.as_str())
    .bind(if active { 1i64 } else { 0i64 })
    .bind(access.as_deref())
    .bind(ts(now))
    .bind(change.id)
    .execute(tx.conn())
    .await?;
    let mut diffs = Vec::new();
    if before.display_name != display {
        diffs.push(format!("name: '{}' → '{display}'", before.display_name));
    }
    if before.email != email {
        diffs.push(format!(
            "email: {} → {}",
            before.email.as_deref().unwrap_or("-"),
            email.as_deref().unwrap_or("-")
        ));
    }
    if before.role != role {
        diffs.push(format!("role: {} → {role}", before.role));
    }
    if before.active != active {
        diffs.push(format!(
            "active: {} → {}",
            yes_no(before.active),
            yes_no(active)
        ));
    }
    let access_after = access.as_deref().map(access_until_date);
    if before.access_until != access_after {
        diffs.push(format!(
            "access until: {} → {}",
            before.access_until.as_deref().unwrap_or("-"),
            access_after.as_deref().unwrap_or("-")
        ));
    }
    // Deactivation and role changes end the user's sessions (they sign in again with the new rights).
    if !active || before.role != role {
        let ended = session::end_all(tx.conn(), change.id).await?;
        if ended > 0 {
            diffs.push(format!("{ended} session(s) ended"));
        }
    }
    if diffs.is_empty() {
        diffs.push("no changes".into());
    }
    let action = if before.role != role {
        "user.role_change"
    } else {
        "user.update"
    };
    tx.audit(ctx.event(
        action,
        "user",
        change.id,
        format!("'{}': {}", before.username, diffs.join("; ")),
    ))
    .await?;
    tx.commit().await
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub async fn reset_password(
    db: &Db,
    hasher: &PasswordHasher,
    ctx: &AuditCtx,
    id: i64,
    password: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)?;
    check_policy(password, &username)?;
    let hash = hasher.hash(password).await?;
    // Someone else's password, set by an administrator, must be replaced by its owner.
    let must_change = ctx.actor_id != Some(id);
    let mut tx = db.write().await?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, \
         must_change_password = $4 WHERE id = $3",
    )
    .bind(&hash)
    .bind(ts(now))
    .bind(id)
    .bind(i64::from(must_change))
    .execute(tx.conn())
    .await?;
    let ended = session::end_all(tx.conn(), id).await?;
    // Browsers trusted under the old password are not trusted under the new one.
    let devices = session::forget_devices(tx.conn(), id).await?;
    tx.audit(ctx.event(
        "user.password_reset",
        "user",
        id,
        format!(
            "password of '{username}' reset by an administrator; {ended} session(s) ended, \
             {devices} trusted device(s) forgotten{}",
            if must_change {
                "; must be changed at next sign-in"
            } else {
                ""
            }
        ),
    ))
    .await?;
    tx.commit().await
}
