-- Migration 005: an account's manager as the directory names it (issue 22, G7 offboarding):
-- AD / LDAP `manager` (a DN, which the sync turns into the manager's account id while the
-- account is not active), or the SQL column `manager` (an address or account id). The
-- offboarding workflow forwards a departed user's new mail to that account
-- (auth/offboarding.h). '' = none.
ALTER TABLE accounts ADD COLUMN manager TEXT NOT NULL DEFAULT '';
-- Sync marks are dropped so the next pass reads every entry again and fills the column.
DELETE FROM sync_state WHERE key IN ('ldap.cookie', 'ldap.usn', 'sql.changed_at');
