-- The shared delivery log for several Mailroom nodes ([delivery_log] backend = "mariadb").
-- One row per (message, final recipient) and attempt; never updated in place.
-- Mailroom creates this table itself when it is missing (create_table = true, the default);
-- this file is the same DDL for DBAs who create tables by hand (tests/unit/sql checks that
-- the two stay identical).
--
-- Indexes serve the recall and audit searches at 10M+ rows, newest first:
-- by recipient, sender, recipient/sender domain, account, Message-ID, queue id, subject
-- (exact or prefix) and time range. Each search index ends with `time` so
-- "WHERE recipient = ? AND time BETWEEN ? AND ? ORDER BY time DESC" is one range scan.
-- mr-schema-begin
CREATE TABLE IF NOT EXISTS delivery_log (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  time             BIGINT NOT NULL,
  queue_id         VARCHAR(64)   COLLATE utf8mb4_nopad_bin NOT NULL,
  message_id       VARCHAR(998)  COLLATE utf8mb4_nopad_bin NOT NULL,
  envelope_sender  VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL,
  sender_domain    VARCHAR(253)  COLLATE utf8mb4_nopad_bin
                   AS (LOWER(SUBSTRING_INDEX(envelope_sender, '@', -1))) PERSISTENT,
  header_from      VARCHAR(998)  NOT NULL,
  subject          VARCHAR(998)  NOT NULL,
  recipient        VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL,
  recipient_domain VARCHAR(253)  COLLATE utf8mb4_nopad_bin
                   AS (LOWER(SUBSTRING_INDEX(recipient, '@', -1))) PERSISTENT,
  final_address    VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL,
  account_id       VARCHAR(64)   COLLATE utf8mb4_nopad_bin NOT NULL,
  mailbox          VARCHAR(255)  NOT NULL,
  uid_validity     INT UNSIGNED  NOT NULL,
  uid              INT UNSIGNED  NOT NULL,
  size             BIGINT UNSIGNED NOT NULL,
  result           VARCHAR(16)   NOT NULL,
  detail           VARCHAR(1000) NOT NULL,
  guid             VARCHAR(64)   COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  forwarded_by     VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY delivery_log_time (time),
  KEY delivery_log_message_id (message_id(255), time),
  KEY delivery_log_queue_id (queue_id),
  KEY delivery_log_recipient (recipient, time),
  KEY delivery_log_sender (envelope_sender, time),
  KEY delivery_log_recipient_domain (recipient_domain, time),
  KEY delivery_log_sender_domain (sender_domain, time),
  KEY delivery_log_account (account_id, time),
  KEY delivery_log_subject (subject(191), time),
  KEY delivery_log_forwarded_by (forwarded_by, time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
-- mr-schema-end
;
