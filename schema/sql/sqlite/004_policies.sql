-- Migration 004: policy bundles assigned to directory groups (issue 22, G6; auth/policy/).
--
-- Groups get an immutable id, as accounts have: the directory's own (entryUUID / objectGUID)
-- when a sync writes them, a random one for local groups. A policy is assigned to a group by
-- that id, so a group renamed upstream keeps its policies; the replica may briefly hold the
-- old and the new row of a renamed group during a sync pass, hence no UNIQUE.
ALTER TABLE mail_groups ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE mail_groups SET id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
                                   substr(hex(randomblob(2)), 2) || '-a' ||
                                   substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
 WHERE id = '';
CREATE INDEX IF NOT EXISTS mail_groups_id ON mail_groups(id);

-- A bundle: every value column NULL means "this bundle does not set it" (the next bundle
-- or the built-in default decides); quotas and sizes 0 mean unlimited, retention 0 forever.
-- login_methods: one method per line ("password", "app-password", "sso", "kerberos").
CREATE TABLE IF NOT EXISTS policies (
  name              TEXT PRIMARY KEY COLLATE NOCASE,
  description       TEXT NOT NULL DEFAULT '',
  priority          INTEGER NOT NULL DEFAULT 0,
  quota_bytes       INTEGER,
  quota_messages    INTEGER,
  max_message_bytes INTEGER,
  send_outside      INTEGER,
  receive_outside   INTEGER,
  pop3              INTEGER,
  retention_seconds INTEGER,
  login_methods     TEXT,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);

-- Who a bundle applies to: scope 'user' (target: account id), 'group' (group id), 'domain'
-- (domain name) or 'everyone' (target ''). label: the address or name the administrator
-- gave, kept to show an assignment whose group or account is gone.
CREATE TABLE IF NOT EXISTS policy_assignments (
  policy     TEXT NOT NULL REFERENCES policies(name) ON DELETE CASCADE COLLATE NOCASE,
  scope      TEXT NOT NULL CHECK (scope IN ('user', 'group', 'domain', 'everyone')),
  target     TEXT NOT NULL COLLATE NOCASE,
  label      TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (policy, scope, target)
);
CREATE INDEX IF NOT EXISTS policy_assignments_target ON policy_assignments(scope, target);
