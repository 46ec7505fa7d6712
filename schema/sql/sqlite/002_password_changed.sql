-- Migration 002: when the source directory last changed an account's password (LDAP
-- pwdChangedTime, AD pwdLastSet, the SQL column password_changed), copied by directory sync
-- as the directory writes it. A different value revokes the account's app passwords
-- (auth/app_passwords.h). '' = not reported (local accounts: the password hash tells).
ALTER TABLE accounts ADD COLUMN password_changed TEXT NOT NULL DEFAULT '';
