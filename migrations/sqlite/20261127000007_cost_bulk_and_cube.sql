-- Faster cost imports and in-memory reports (app/src/costs/cube.rs). Same tables and columns as
-- migrations/postgres (a test compares them).
--
-- * Line items lose their batch_id index and AUTOINCREMENT: every index and the sequence table
--   are paid for on each of millions of inserted rows. A batch records the id range of its line
--   items instead, and deletes go by that range (primary key) plus batch_id.
-- * `extra` of new rows is a JSON array aligned with the batch's `extra_columns` (names once
--   per batch, not once per row). Rows imported before keep their JSON object.
-- * The daily rollups lose their wide UNIQUE keys (the importer sums each key once in memory)
--   and their day indexes: reports read them through the in-memory cube, which loads a batch's
--   rows by (batch_id, day) and reloads them when `rollup_rev` changes.
-- * The per-dimension day sums (cost_daily_dims) are gone: the cube answers those queries.

ALTER TABLE cost_batches ADD COLUMN extra_columns TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cost_batches ADD COLUMN first_item_id INTEGER;
ALTER TABLE cost_batches ADD COLUMN last_item_id INTEGER;
-- Bumped whenever rows of this batch's rollups are deleted (a newer file or sync replaced some).
ALTER TABLE cost_batches ADD COLUMN rollup_rev INTEGER NOT NULL DEFAULT 0;

UPDATE cost_batches SET
    first_item_id = (SELECT MIN(id) FROM cost_line_items WHERE batch_id = cost_batches.id),
    last_item_id = (SELECT MAX(id) FROM cost_line_items WHERE batch_id = cost_batches.id);

CREATE TABLE cost_line_items_new (
    id                    INTEGER PRIMARY KEY,
    batch_id              INTEGER NOT NULL REFERENCES cost_batches (id),
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
    charge_period_start   TEXT NOT NULL,
    charge_period_end     TEXT NOT NULL,
    usage_date            TEXT NOT NULL,
    billed_cost           TEXT NOT NULL,
    effective_cost        TEXT NOT NULL,
    list_cost             TEXT NOT NULL,
    currency              TEXT NOT NULL,
    tags                  TEXT NOT NULL DEFAULT '{}',
    extra                 TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO cost_line_items_new SELECT * FROM cost_line_items;
DROP TABLE cost_line_items;
ALTER TABLE cost_line_items_new RENAME TO cost_line_items;

CREATE TABLE cost_daily_new (
    id                    INTEGER PRIMARY KEY,
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
    row_count             INTEGER NOT NULL
);
INSERT INTO cost_daily_new SELECT * FROM cost_daily;
DROP TABLE cost_daily;
ALTER TABLE cost_daily_new RENAME TO cost_daily;
CREATE INDEX cost_daily_batch ON cost_daily (batch_id, day);

CREATE TABLE cost_daily_tags_new (
    id                    INTEGER PRIMARY KEY,
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
    row_count             INTEGER NOT NULL
);
INSERT INTO cost_daily_tags_new SELECT * FROM cost_daily_tags;
DROP TABLE cost_daily_tags;
ALTER TABLE cost_daily_tags_new RENAME TO cost_daily_tags;
CREATE INDEX cost_daily_tags_batch ON cost_daily_tags (batch_id, day);

DROP TABLE cost_daily_dims;
