-- Mailroom directory schema for MariaDB 10.5+ (and Galera clusters: every table has a
-- primary key and uses InnoDB, as Galera requires).
--
-- Apply once:  mariadb -u root mailroom < schema/sql/mariadb/001_directory.sql
-- The default queries of [directory.sql] (auth/sql/sql_options.cpp) read these tables.
-- Companies with their own tables do not need this file: map them with queries instead
-- (auth/sql/README.md).
--
-- Keys (addresses, logins, ids, domain names) use utf8mb4_nopad_bin: compared byte for byte,
-- so "alice " (trailing space), "alicé" or "alice\u00a0" never match "alice" as they would
-- under a _ci / PAD SPACE collation. Mailroom lower-cases (ASCII) every key before asking:
-- store addresses, logins and domain names lower-case. `changed_at` columns let the SQL -> local replica sync poll for
-- changes; deletions are found by the sync's periodic full id listing, or you may mark rows
-- status = 'deleted' instead of deleting them.

CREATE TABLE IF NOT EXISTS domains (
  name        VARCHAR(253) COLLATE utf8mb4_nopad_bin NOT NULL,
  kind        ENUM('local', 'alias') NOT NULL DEFAULT 'local',
  alias_of    VARCHAR(253) COLLATE utf8mb4_nopad_bin NULL,           -- for kind = 'alias': the target domain
  catch_all   VARCHAR(320) COLLATE utf8mb4_nopad_bin NULL,           -- deliver unknown local parts here
  changed_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS accounts (
  id                VARCHAR(64) COLLATE utf8mb4_nopad_bin  NOT NULL,  -- immutable: mailboxes are keyed by it (UUID())
  login             VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,  -- local part (single-domain) or full address
  address           VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,  -- primary address, local@domain
  display_name      VARCHAR(255) NOT NULL DEFAULT '',
  password_hash     VARCHAR(512) NOT NULL DEFAULT '',  -- "{ARGON2ID}...", "{SHA512-CRYPT}..."
  scram_secret      VARCHAR(512) NULL,      -- "SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>"
  status            ENUM('active', 'disabled', 'deleted') NOT NULL DEFAULT 'active',
  quota_bytes       BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- 0 = unlimited
  quota_messages    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  forward_keep_copy BOOLEAN NOT NULL DEFAULT TRUE,
  changed_at        TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY accounts_login (login),
  UNIQUE KEY accounts_address (address),
  KEY accounts_changed_at (changed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Secondary addresses ('other'), forwarding targets ('forward') and extra sender addresses
-- ('send_as') of an account.
CREATE TABLE IF NOT EXISTS account_addresses (
  account_id  VARCHAR(64) COLLATE utf8mb4_nopad_bin  NOT NULL,
  kind        ENUM('other', 'forward', 'send_as') NOT NULL,
  address     VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  PRIMARY KEY (account_id, kind, address),
  KEY account_addresses_address (address, kind),
  CONSTRAINT account_addresses_account FOREIGN KEY (account_id) REFERENCES accounts (id)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (alias, target).
CREATE TABLE IF NOT EXISTS aliases (
  address     VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  target      VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  changed_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (address, target)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `groups` (
  address      VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  display_name VARCHAR(255) NOT NULL DEFAULT '',
  send_policy  ENUM('anyone', 'domain', 'members', 'moderators') NOT NULL DEFAULT 'anyone',
  changed_at   TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (address)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Members are addresses: accounts, aliases or other groups (nesting is loop-safe).
CREATE TABLE IF NOT EXISTS group_members (
  group_address VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  member        VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  PRIMARY KEY (group_address, member),
  CONSTRAINT group_members_group FOREIGN KEY (group_address) REFERENCES `groups` (address)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- For send_policy = 'moderators': who may send to the group.
CREATE TABLE IF NOT EXISTS group_senders (
  group_address VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  sender        VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL,
  PRIMARY KEY (group_address, sender),
  CONSTRAINT group_senders_group FOREIGN KEY (group_address) REFERENCES `groups` (address)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A change to an account's secondary, forwarding or send-as addresses counts as a change of the
-- account, so the sync (polling accounts.changed_at) picks it up.
CREATE TRIGGER IF NOT EXISTS account_addresses_ai AFTER INSERT ON account_addresses FOR EACH ROW
  UPDATE accounts SET changed_at = CURRENT_TIMESTAMP(6) WHERE id = NEW.account_id;
CREATE TRIGGER IF NOT EXISTS account_addresses_au AFTER UPDATE ON account_addresses FOR EACH ROW
  UPDATE accounts SET changed_at = CURRENT_TIMESTAMP(6) WHERE id IN (OLD.account_id, NEW.account_id);
CREATE TRIGGER IF NOT EXISTS account_addresses_ad AFTER DELETE ON account_addresses FOR EACH ROW
  UPDATE accounts SET changed_at = CURRENT_TIMESTAMP(6) WHERE id = OLD.account_id;
