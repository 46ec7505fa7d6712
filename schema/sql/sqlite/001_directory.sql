-- Mailroom embedded directory, migration 001 (applied by auth/local at open; PRAGMA
-- user_version records the last applied migration number).
-- Keys (addresses, logins, domain names) are stored lower-cased; NOCASE makes lookups
-- case-insensitive for ASCII as well. Timestamps are unix seconds.

CREATE TABLE domains (
  name       TEXT PRIMARY KEY COLLATE NOCASE,
  kind       TEXT NOT NULL DEFAULT 'local' CHECK (kind IN ('local', 'alias')),
  alias_of   TEXT NOT NULL DEFAULT '' COLLATE NOCASE,   -- target domain for kind = 'alias'
  catch_all  TEXT NOT NULL DEFAULT '' COLLATE NOCASE,   -- '' = none
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- One row per account. id is immutable (UUID locally, entryUUID/objectGUID when synced):
-- mailboxes are keyed by it, so renaming login or primary address never moves mail.
CREATE TABLE accounts (
  id                TEXT PRIMARY KEY,
  login             TEXT NOT NULL UNIQUE COLLATE NOCASE,
  address           TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- primary address
  domain            TEXT NOT NULL COLLATE NOCASE,         -- domain part of address
  display_name      TEXT NOT NULL DEFAULT '',
  password_hash     TEXT NOT NULL DEFAULT '',             -- "{SCHEME}..."
  scram_secret      TEXT NOT NULL DEFAULT '',             -- SCRAM-SHA-256$iter:salt$stored:server
  status            TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'disabled', 'deleted')),
  quota_bytes       INTEGER NOT NULL DEFAULT 0,           -- 0 = unlimited
  quota_messages    INTEGER NOT NULL DEFAULT 0,
  forward_to        TEXT NOT NULL DEFAULT '',             -- addresses, one per line
  forward_keep_copy INTEGER NOT NULL DEFAULT 1,
  send_as           TEXT NOT NULL DEFAULT '',             -- addresses, one per line
  source            TEXT NOT NULL DEFAULT 'local',        -- 'local', 'ldap', 'sql'
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain, address);
CREATE INDEX accounts_source ON accounts(source);

-- Secondary addresses of an account (not aliases: they deliver to the account itself).
CREATE TABLE account_addresses (
  address    TEXT PRIMARY KEY COLLATE NOCASE,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE
);
CREATE INDEX account_addresses_account ON account_addresses(account_id);

CREATE TABLE aliases (
  address    TEXT PRIMARY KEY COLLATE NOCASE,
  domain     TEXT NOT NULL COLLATE NOCASE,
  source     TEXT NOT NULL DEFAULT 'local',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE alias_targets (
  alias    TEXT NOT NULL REFERENCES aliases(address) ON DELETE CASCADE COLLATE NOCASE,
  position INTEGER NOT NULL,
  target   TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY (alias, position)
);
CREATE INDEX alias_targets_target ON alias_targets(target);

-- "groups" is an SQL keyword (window frames), hence mail_groups.
CREATE TABLE mail_groups (
  address         TEXT PRIMARY KEY COLLATE NOCASE,
  domain          TEXT NOT NULL COLLATE NOCASE,
  display_name    TEXT NOT NULL DEFAULT '',
  send_policy     TEXT NOT NULL DEFAULT 'anyone'
                  CHECK (send_policy IN ('anyone', 'domain', 'members', 'moderators')),
  allowed_senders TEXT NOT NULL DEFAULT '',   -- addresses, one per line
  source          TEXT NOT NULL DEFAULT 'local',
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE TABLE group_members (
  group_address TEXT NOT NULL REFERENCES mail_groups(address) ON DELETE CASCADE COLLATE NOCASE,
  member        TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY (group_address, member)
);
CREATE INDEX group_members_member ON group_members(member);

-- Directory sync cookies (contextCSN, last change stamp, ...), owned by auth/sync.
CREATE TABLE sync_state (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- A login or an address belongs to one account only: a secondary address may not be another
-- account's primary address, and a primary address may not be another account's secondary.
CREATE TRIGGER account_addresses_unique BEFORE INSERT ON account_addresses
WHEN EXISTS (SELECT 1 FROM accounts WHERE address = NEW.address AND id <> NEW.account_id)
  OR EXISTS (SELECT 1 FROM accounts WHERE login = NEW.address AND id <> NEW.account_id)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: address already used by another account');
END;
CREATE TRIGGER accounts_address_unique_insert BEFORE INSERT ON accounts
WHEN EXISTS (SELECT 1 FROM account_addresses WHERE address = NEW.address OR address = NEW.login)
  OR EXISTS (SELECT 1 FROM accounts WHERE login = NEW.address OR address = NEW.login)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: address already used by another account');
END;
CREATE TRIGGER accounts_address_unique_update BEFORE UPDATE OF address, login ON accounts
WHEN EXISTS (SELECT 1 FROM account_addresses
             WHERE (address = NEW.address OR address = NEW.login) AND account_id <> NEW.id)
  OR EXISTS (SELECT 1 FROM accounts
             WHERE (login = NEW.address OR address = NEW.login) AND id <> NEW.id)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: address already used by another account');
END;
