-- Budgets with accountable owners, and their threshold alerts; the `member` role.
--
-- SQLite cannot alter a CHECK constraint, so `users` is rebuilt (the documented twelve-step
-- procedure). This needs foreign keys off, or dropping `users` would cascade into sessions:
-- `Db::migrate` runs SQLite migrations on one connection with `foreign_keys = OFF` and checks
-- `foreign_key_check` before turning them back on.
CREATE TABLE users_new (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    email                TEXT,
    role                 TEXT NOT NULL
                         CHECK (role IN ('admin', 'compliance', 'finance', 'auditor', 'member')),
    password_hash        TEXT NOT NULL,
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    access_expires_at    TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1))
);
INSERT INTO users_new (id, username, display_name, email, role, password_hash, active,
                       access_expires_at, created_at, updated_at, password_changed_at,
                       must_change_password)
SELECT id, username, display_name, email, role, password_hash, active, access_expires_at,
       created_at, updated_at, password_changed_at, must_change_password
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE budgets (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL UNIQUE,
    owner_id         INTEGER NOT NULL REFERENCES users (id),
    deputy_id        INTEGER REFERENCES users (id),
    period           TEXT NOT NULL CHECK (period IN ('monthly', 'quarterly', 'annual')),
    -- Per period, an exact decimal in `currency`.
    amount           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    -- The first day of the first period, and of the last one (inclusive) when it ends.
    start_period     TEXT NOT NULL,
    end_period       TEXT,
    -- The scope: the cost explorer's filters; '' means any.
    provider         TEXT NOT NULL DEFAULT '',
    billing_account  TEXT NOT NULL DEFAULT '',
    sub_account      TEXT NOT NULL DEFAULT '',
    service          TEXT NOT NULL DEFAULT '',
    region           TEXT NOT NULL DEFAULT '',
    tag_key          TEXT NOT NULL DEFAULT '',
    tag_value        TEXT NOT NULL DEFAULT '',
    -- Canonical, e.g. '80%actual;100%actual;100%forecast' (budgets::threshold).
    thresholds       TEXT NOT NULL,
    notes            TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX budgets_owner ON budgets (owner_id);
CREATE INDEX budgets_deputy ON budgets (deputy_id);

-- One alert per budget, period and threshold, ever: raised once, kept when the spend falls
-- back below it (crossed = 0), acknowledged by the owner with a note.
CREATE TABLE budget_alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    budget_id        INTEGER NOT NULL REFERENCES budgets (id),
    period_start     TEXT NOT NULL,
    threshold        TEXT NOT NULL,
    -- The amount the threshold stood for, and the actual or forecast that crossed it.
    threshold_amount TEXT NOT NULL,
    value_at_raise   TEXT NOT NULL,
    raised_at        TEXT NOT NULL,
    crossed          INTEGER NOT NULL DEFAULT 1 CHECK (crossed IN (0, 1)),
    crossed_changed_at TEXT NOT NULL,
    acknowledged_at  TEXT,
    acknowledged_by  INTEGER REFERENCES users (id),
    ack_note         TEXT NOT NULL DEFAULT '',
    escalated_at     TEXT,
    UNIQUE (budget_id, period_start, threshold)
);
CREATE INDEX budget_alerts_open ON budget_alerts (acknowledged_at, budget_id);
