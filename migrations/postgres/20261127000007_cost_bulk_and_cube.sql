-- Faster cost imports and in-memory reports (app/src/costs/cube.rs). Same tables and columns as
-- migrations/sqlite (a test compares them); the reasons are written there.

ALTER TABLE cost_batches ADD COLUMN extra_columns TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cost_batches ADD COLUMN first_item_id BIGINT;
ALTER TABLE cost_batches ADD COLUMN last_item_id BIGINT;
ALTER TABLE cost_batches ADD COLUMN rollup_rev BIGINT NOT NULL DEFAULT 0;

UPDATE cost_batches SET
    first_item_id = (SELECT MIN(id) FROM cost_line_items WHERE batch_id = cost_batches.id),
    last_item_id = (SELECT MAX(id) FROM cost_line_items WHERE batch_id = cost_batches.id);

DROP INDEX cost_line_items_batch;
ALTER TABLE cost_line_items ALTER COLUMN extra SET DEFAULT '[]';

-- The UNIQUE constraints were created unnamed; drop them by what they are.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
             WHERE contype = 'u' AND conrelid IN ('cost_daily'::regclass, 'cost_daily_tags'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END $$;
DROP INDEX cost_daily_day;
DROP INDEX cost_daily_tags_key;
CREATE INDEX cost_daily_batch ON cost_daily (batch_id, day);
CREATE INDEX cost_daily_tags_batch ON cost_daily_tags (batch_id, day);

DROP TABLE cost_daily_dims;
