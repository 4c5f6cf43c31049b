-- The notification outbox: one row per message, recipient and channel, written in the same
-- transaction as the event that causes it; a delivery worker sends email and webhook rows
-- with retries (in-app rows are delivered when written). `recipient` is 'user:<id>' or
-- 'webhook:<id>', so the unique key makes enqueueing the same event twice a no-op.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    -- Shared with the receiver, which checks X-Steward-Signature with it.
    secret      TEXT NOT NULL,
    -- Comma-separated event kinds, or '*'.
    events      TEXT NOT NULL DEFAULT '*',
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL
);

CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('inapp', 'email', 'webhook')),
    recipient        TEXT NOT NULL,
    user_id          INTEGER REFERENCES users (id),
    webhook_id       INTEGER REFERENCES webhooks (id),
    address          TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    link             TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    read_at          TEXT,
    -- An email held for the recipient's daily digest (sent with the others at 07:00 UTC).
    digest           INTEGER NOT NULL DEFAULT 0 CHECK (digest IN (0, 1)),
    UNIQUE (event_key, channel, recipient)
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_inbox ON notifications (user_id, channel, read_at);

-- Per user: email or not, kinds not wanted by email (comma-separated), daily digest.
CREATE TABLE notification_prefs (
    user_id      INTEGER NOT NULL PRIMARY KEY REFERENCES users (id),
    email        INTEGER NOT NULL DEFAULT 1 CHECK (email IN (0, 1)),
    muted_kinds  TEXT NOT NULL DEFAULT '',
    -- One email a day (07:00 UTC) instead of one per message.
    digest       INTEGER NOT NULL DEFAULT 0 CHECK (digest IN (0, 1)),
    updated_at   TEXT NOT NULL
);
