-- Sign-in throttling counts attempts before the password is checked: each attempt reserves a
-- row (pending until verified; a success deletes it), so concurrent guesses cannot all be
-- verified. `device` is the SHA-256 of a trusted-device token when the browser showed one
-- (those attempts count only against that device). Rows older than the window are pruned.
DROP TABLE login_failures;
CREATE TABLE login_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    client_key  TEXT NOT NULL,
    device      TEXT,
    purpose     TEXT NOT NULL CHECK (purpose IN ('login', 'password_change')),
    at          TEXT NOT NULL
);
CREATE INDEX login_attempts_account ON login_attempts (account, at);
CREATE INDEX login_attempts_client ON login_attempts (client_key, at);
CREATE INDEX login_attempts_device ON login_attempts (device, at);
CREATE INDEX login_attempts_at ON login_attempts (at);

-- A password an administrator set for someone else must be changed at their next sign-in.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));

CREATE INDEX trusted_devices_user ON trusted_devices (user_id);
