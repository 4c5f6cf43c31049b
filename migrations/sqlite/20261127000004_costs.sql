-- Cloud cost data: import batches with provenance, FOCUS-normalised line items, and daily
-- rollups that reports read instead of line items.
-- Same tables and columns as migrations/postgres (a test compares them). Instants are TEXT
-- 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC), days TEXT 'YYYY-MM-DD'. Money is TEXT holding the exact
-- decimal as the source wrote it (scale kept): all arithmetic happens in Rust with a decimal
-- type, never in SQL (SQLite has no exact decimal; the Any driver cannot read NUMERIC).
-- Dimensions a source leaves empty are stored as '' (not NULL) so they can be part of keys.

CREATE TABLE cost_batches (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    source_kind    TEXT NOT NULL CHECK (source_kind IN ('file', 'sync')),
    -- The file name as uploaded, or the name of the sync.
    source_name    TEXT NOT NULL,
    -- SHA-256 of the file's bytes as received (compressed if it was); re-importing it is a no-op.
    sha256         TEXT UNIQUE,
    -- focus-1.0, focus-1.1, focus-1.2, aws-cur-legacy, aws-cur-2.0
    format         TEXT NOT NULL,
    imported_by_id INTEGER REFERENCES users (id),
    imported_by    TEXT NOT NULL,
    imported_at    TEXT NOT NULL,
    rows_read      INTEGER NOT NULL DEFAULT 0,
    rows_accepted  INTEGER NOT NULL DEFAULT 0,
    rows_rejected  INTEGER NOT NULL DEFAULT 0,
    -- The charge periods the batch covers: earliest start, latest end.
    period_start   TEXT,
    period_end     TEXT,
    -- Per currency: {"USD": {"billed": "..", "effective": "..", "list": ".."}} (exact decimals).
    totals         TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'partially_replaced', 'replaced')),
    -- The batch that replaced (the last of) this batch's data.
    replaced_by    INTEGER REFERENCES cost_batches (id),
    replaced_at    TEXT
);
CREATE INDEX cost_batches_imported ON cost_batches (imported_at);

-- What a batch holds per source (provider + billing account) and billing period: the unit a
-- newer import replaces.
CREATE TABLE cost_batch_slices (
    batch_id              INTEGER NOT NULL REFERENCES cost_batches (id),
    provider              TEXT NOT NULL,
    billing_account_id    TEXT NOT NULL,
    billing_period_start  TEXT NOT NULL,
    billing_period_end    TEXT NOT NULL,
    billing_account_name  TEXT NOT NULL DEFAULT '',
    row_count             INTEGER NOT NULL,
    replaced_by           INTEGER REFERENCES cost_batches (id),
    PRIMARY KEY (batch_id, provider, billing_account_id, billing_period_start)
);
CREATE INDEX cost_batch_slices_source
    ON cost_batch_slices (provider, billing_account_id, billing_period_start);

CREATE TABLE cost_line_items (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id              INTEGER NOT NULL REFERENCES cost_batches (id),
    -- 1-based data row in the source file.
    row_number            INTEGER NOT NULL,
    provider              TEXT NOT NULL,
    billing_account_id    TEXT NOT NULL,
    billing_account_name  TEXT NOT NULL DEFAULT '',
    billing_period_start  TEXT NOT NULL,
    billing_period_end    TEXT NOT NULL,
    sub_account_id        TEXT NOT NULL DEFAULT '',
    sub_account_name      TEXT NOT NULL DEFAULT '',
    service_name          TEXT NOT NULL DEFAULT '',
    service_category      TEXT NOT NULL DEFAULT '',
    region_id             TEXT NOT NULL DEFAULT '',
    resource_id           TEXT NOT NULL DEFAULT '',
    charge_category       TEXT NOT NULL,
    -- [start, end)
    charge_period_start   TEXT NOT NULL,
    charge_period_end     TEXT NOT NULL,
    -- UTC day of charge_period_start.
    usage_date            TEXT NOT NULL,
    billed_cost           TEXT NOT NULL,
    effective_cost        TEXT NOT NULL,
    list_cost             TEXT NOT NULL,
    currency              TEXT NOT NULL,
    -- JSON object of tag key -> value (strings).
    tags                  TEXT NOT NULL DEFAULT '{}',
    -- JSON object of the source's other non-empty columns, by their header names.
    extra                 TEXT NOT NULL DEFAULT '{}'
);
-- Replacing a batch's slice deletes within the batch. One narrow index only: every index
-- slows the bulk insert, and reports read the rollups.
CREATE INDEX cost_line_items_batch ON cost_line_items (batch_id);

-- Sums per UTC day and dimensions, per batch: replacing a slice deletes its rows here instead
-- of subtracting (no read-modify-write of money). Reports add rows up in Rust.
CREATE TABLE cost_daily (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id              INTEGER NOT NULL REFERENCES cost_batches (id),
    provider              TEXT NOT NULL,
    billing_account_id    TEXT NOT NULL,
    billing_period_start  TEXT NOT NULL,
    day                   TEXT NOT NULL,
    sub_account_id        TEXT NOT NULL,
    sub_account_name      TEXT NOT NULL,
    service_name          TEXT NOT NULL,
    service_category      TEXT NOT NULL,
    region_id             TEXT NOT NULL,
    charge_category       TEXT NOT NULL,
    currency              TEXT NOT NULL,
    billed_cost           TEXT NOT NULL,
    effective_cost        TEXT NOT NULL,
    list_cost             TEXT NOT NULL,
    row_count             INTEGER NOT NULL,
    UNIQUE (batch_id, provider, billing_account_id, billing_period_start, day, sub_account_id,
            sub_account_name, service_name, service_category, region_id, charge_category, currency)
);
CREATE INDEX cost_daily_day ON cost_daily (day);

-- The same sums per tag key and value (only for tagged rows), so reports can group by any tag
-- key; untagged = the day's total from cost_daily minus the tagged sums. Fewer dimensions than
-- cost_daily (no sub-account, region or category): with them it grows towards the line items.
CREATE TABLE cost_daily_tags (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id              INTEGER NOT NULL REFERENCES cost_batches (id),
    provider              TEXT NOT NULL,
    billing_account_id    TEXT NOT NULL,
    billing_period_start  TEXT NOT NULL,
    day                   TEXT NOT NULL,
    service_name          TEXT NOT NULL,
    currency              TEXT NOT NULL,
    tag_key               TEXT NOT NULL,
    tag_value             TEXT NOT NULL,
    billed_cost           TEXT NOT NULL,
    effective_cost        TEXT NOT NULL,
    list_cost             TEXT NOT NULL,
    row_count             INTEGER NOT NULL,
    UNIQUE (batch_id, provider, billing_account_id, billing_period_start, day, service_name,
            currency, tag_key, tag_value)
);
CREATE INDEX cost_daily_tags_key ON cost_daily_tags (tag_key, day);
