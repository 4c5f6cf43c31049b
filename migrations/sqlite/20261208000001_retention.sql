-- Retention: data categories and where they are held (systems, vendors), rules (an ISO-8601
-- period from a trigger, legal basis, action, review cadence), records tracked under a rule
-- with their computed disposal date, disposals (approved, performed, certified as evidence),
-- legal holds as cases whose scope suspends disposal; Steward's own data as built-in
-- categories; and the audit chain's base, which retention may move forward (never back).
-- Same tables and columns as migrations/postgres.

CREATE TABLE retention_categories (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    -- Steward's own data: the key its disposal job knows (sessions, audit_events, …).
    builtin      TEXT UNIQUE,
    personal     INTEGER NOT NULL DEFAULT 0 CHECK (personal IN (0, 1)),
    created_at   TEXT NOT NULL
);

CREATE TABLE retention_locations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id  INTEGER NOT NULL REFERENCES retention_categories (id),
    system_id    INTEGER REFERENCES systems (id),
    vendor_id    INTEGER REFERENCES vendors (id),
    CHECK ((system_id IS NULL) <> (vendor_id IS NULL))
);
CREATE UNIQUE INDEX retention_locations_system ON retention_locations (category_id, system_id);
CREATE UNIQUE INDEX retention_locations_vendor ON retention_locations (category_id, vendor_id);

CREATE TABLE retention_rules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id    INTEGER NOT NULL REFERENCES retention_categories (id),
    name           TEXT NOT NULL,
    -- ISO-8601 duration (P7Y, P1Y6M, P30D) counted from the trigger.
    period         TEXT NOT NULL,
    trigger_event  TEXT NOT NULL CHECK (trigger_event IN ('creation', 'contract_end',
                       'relationship_end', 'fiscal_year_end', 'expiry', 'superseded', 'event')),
    legal_basis    TEXT NOT NULL DEFAULT '',
    reference      TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL CHECK (action IN ('delete', 'anonymise', 'archive', 'review')),
    review_every   TEXT NOT NULL DEFAULT 'P1Y',
    last_reviewed  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (category_id, name)
);

CREATE TABLE retention_records (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    description    TEXT NOT NULL,
    rule_id        INTEGER NOT NULL REFERENCES retention_rules (id),
    system_id      INTEGER REFERENCES systems (id),
    vendor_id      INTEGER REFERENCES vendors (id),
    -- The day the trigger happened (held from), and the day disposal falls due.
    trigger_date   TEXT NOT NULL,
    disposal_date  TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'approved', 'disposed')),
    approved_by    INTEGER REFERENCES users (id),
    approved_at    TEXT,
    created_by     INTEGER REFERENCES users (id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX retention_records_due ON retention_records (status, disposal_date);

CREATE TABLE retention_disposals (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id           INTEGER NOT NULL UNIQUE REFERENCES retention_records (id),
    method              TEXT NOT NULL,
    note                TEXT NOT NULL DEFAULT '',
    performed_by        INTEGER NOT NULL REFERENCES users (id),
    approved_by         INTEGER NOT NULL REFERENCES users (id),
    disposed_at         TEXT NOT NULL,
    evidence_id         INTEGER REFERENCES evidence (id),
    certificate_sha256  TEXT NOT NULL
);

CREATE TABLE legal_holds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    custodian_id   INTEGER REFERENCES users (id),
    starts_on      TEXT NOT NULL,
    released_at    TEXT,
    released_by    INTEGER REFERENCES users (id),
    release_note   TEXT NOT NULL DEFAULT '',
    created_by     INTEGER REFERENCES users (id),
    created_at     TEXT NOT NULL
);

CREATE TABLE legal_hold_scopes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hold_id      INTEGER NOT NULL REFERENCES legal_holds (id),
    category_id  INTEGER REFERENCES retention_categories (id),
    system_id    INTEGER REFERENCES systems (id),
    vendor_id    INTEGER REFERENCES vendors (id),
    record_id    INTEGER REFERENCES retention_records (id),
    CHECK ((category_id IS NOT NULL) + (system_id IS NOT NULL) + (vendor_id IS NOT NULL)
           + (record_id IS NOT NULL) = 1)
);
CREATE INDEX legal_hold_scopes_hold ON legal_hold_scopes (hold_id);

-- Where the audit chain now starts: events up to `seq` were disposed of under retention and
-- `hash` is the last one's hash (a tombstone event in the chain vouches for both). Moves
-- forward only; an event may be deleted only once the base covers it.
CREATE TABLE audit_base (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_base (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TRIGGER audit_base_forward BEFORE UPDATE ON audit_base
WHEN NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit_base only moves forward');
END;
CREATE TRIGGER audit_base_no_delete BEFORE DELETE ON audit_base
BEGIN
    SELECT RAISE(ABORT, 'audit_base cannot be deleted');
END;

DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.seq > (SELECT seq FROM audit_base WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (only events retention has disposed of may go)');
END;

-- Steward's own data under default rules (the disposal job: `steward retention run`).
INSERT INTO retention_categories (name, description, builtin, personal, created_at) VALUES
    ('Steward: sessions', 'Sign-in sessions (who, from where, when)', 'sessions', 1, '2026-12-08T00:00:00.000000Z'),
    ('Steward: login failures', 'Failed and throttled sign-in attempts', 'login_failures', 1, '2026-12-08T00:00:00.000000Z'),
    ('Steward: notifications', 'Sent and dead-lettered emails, webhooks and in-app messages', 'notifications', 1, '2026-12-08T00:00:00.000000Z'),
    ('Steward: cost line items', 'Imported and synced cost rows (the daily rollups stay)', 'cost_line_items', 0, '2026-12-08T00:00:00.000000Z'),
    ('Steward: evidence versions', 'Superseded evidence versions (never the current one)', 'evidence_versions', 0, '2026-12-08T00:00:00.000000Z'),
    ('Steward: audit events', 'The audit trail (never kept less than the configured minimum)', 'audit_events', 1, '2026-12-08T00:00:00.000000Z');
INSERT INTO retention_rules (category_id, name, period, trigger_event, legal_basis, reference, action, review_every, created_at, updated_at)
SELECT id, 'Default', CASE builtin
        WHEN 'sessions' THEN 'P30D'
        WHEN 'login_failures' THEN 'P90D'
        WHEN 'notifications' THEN 'P1Y'
        WHEN 'cost_line_items' THEN 'P7Y'
        WHEN 'evidence_versions' THEN 'P7Y'
        ELSE 'P7Y' END,
    CASE builtin WHEN 'sessions' THEN 'expiry' WHEN 'evidence_versions' THEN 'superseded' ELSE 'creation' END,
    CASE builtin
        WHEN 'sessions' THEN 'Security logging; storage limitation (GDPR art. 5(1)(e))'
        WHEN 'login_failures' THEN 'Security monitoring; storage limitation (GDPR art. 5(1)(e))'
        WHEN 'notifications' THEN 'Operational record of what was sent'
        WHEN 'cost_line_items' THEN 'Financial records'
        WHEN 'evidence_versions' THEN 'Audit evidence'
        ELSE 'Audit trail (SOC 2 CC7.2, ISO 27001 A.8.15)' END,
    '', 'delete', 'P1Y', '2026-12-08T00:00:00.000000Z', '2026-12-08T00:00:00.000000Z'
FROM retention_categories WHERE builtin IS NOT NULL;
