-- Migration 003: SCIM 2.0 attributes (src/api/scim) that the directory has no column for
-- (externalId, name parts, title, phone numbers, the enterprise extension ...), one JSON
-- object per resource. kind 'User' is keyed by the account's immutable id, kind 'Group' by the
-- group's address. externalId is the provisioning client's key (Entra ID, Okta) and is looked
-- up by filter (externalId eq "..."), hence the index; it is case-exact (RFC 7643 3.1).
-- IF NOT EXISTS: a test (and a downgrade) may set user_version back and run it again.
CREATE TABLE IF NOT EXISTS scim_attributes (
  kind        TEXT NOT NULL CHECK (kind IN ('User', 'Group')),
  key         TEXT NOT NULL COLLATE NOCASE,
  external_id TEXT NOT NULL DEFAULT '',
  attributes  TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS scim_attributes_external_id ON scim_attributes(kind, external_id);
-- Whoever removes the account or group (SCIM, mailroomctl, directory sync) drops its overlay.
CREATE TRIGGER IF NOT EXISTS scim_attributes_account_removed AFTER DELETE ON accounts
BEGIN
  DELETE FROM scim_attributes WHERE kind = 'User' AND key = OLD.id;
END;
CREATE TRIGGER IF NOT EXISTS scim_attributes_group_removed AFTER DELETE ON mail_groups
BEGIN
  DELETE FROM scim_attributes WHERE kind = 'Group' AND key = OLD.address;
END;
