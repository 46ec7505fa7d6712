-- Migration 002: when the source directory last changed an account's password (LDAP
-- pwdChangedTime, AD pwdLastSet, the SQL column password_changed), copied by directory sync
-- as the directory writes it. A different value revokes the account's app passwords
-- (auth/app_passwords.h). '' = not reported (local accounts: the password hash tells).
ALTER TABLE accounts ADD COLUMN password_changed TEXT NOT NULL DEFAULT '';
-- Sync cookies are dropped so the next sync pass reads every entry again (RFC 4533 refresh
-- without a cookie, AD and SQL from the start) and fills the new column: an entry left with
-- '' until its next change upstream would then look like a password change.
DELETE FROM sync_state WHERE key IN ('ldap.cookie', 'ldap.usn', 'sql.changed_at');
