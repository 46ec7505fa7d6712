-- Mail recall's columns for a delivery_log table created before them (002_delivery_log.sql
-- now creates them itself). Mailroom runs this at start when create_table = true; DBAs who
-- manage the table by hand run it once. Idempotent (MariaDB's IF NOT EXISTS).
--   guid          the stored message file's id: recall follows a copy the user moved or copied
--   forwarded_by  the account whose forwarding made this copy: a search by sender matches it
-- mr-schema-begin
ALTER TABLE delivery_log
  ADD COLUMN IF NOT EXISTS guid VARCHAR(64) COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS forwarded_by VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  ADD INDEX IF NOT EXISTS delivery_log_forwarded_by (forwarded_by, time)
-- mr-schema-end
;
