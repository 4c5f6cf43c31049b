-- The SQLite twin of this migration makes blobs.sha256 NOT NULL; a PostgreSQL primary key
-- already is. Stated again so both dialects say the same.
ALTER TABLE blobs ALTER COLUMN sha256 SET NOT NULL;
