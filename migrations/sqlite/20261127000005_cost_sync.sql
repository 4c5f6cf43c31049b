-- AWS Cost Explorer sync runs: what each run asked for, what it got, and how it ended.
-- Same tables and columns as migrations/postgres (a test compares them).
CREATE TABLE cost_sync_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    triggered_by    TEXT NOT NULL,
    -- Days [range_from, range_to) requested.
    range_from      TEXT NOT NULL,
    range_to        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    pages           INTEGER NOT NULL DEFAULT 0,
    groups_read     INTEGER NOT NULL DEFAULT 0,
    retries         INTEGER NOT NULL DEFAULT 0,
    -- The first day AWS still marked Estimated: the next run starts there.
    estimated_from  TEXT,
    batch_id        INTEGER REFERENCES cost_batches (id),
    error           TEXT
);
CREATE INDEX cost_sync_runs_started ON cost_sync_runs (started_at);
