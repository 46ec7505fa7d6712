// The delivery log in MariaDB, shared by several Mailroom nodes (DESIGN.md "Beyond one
// machine"): [delivery_log] backend = "mariadb". Implements queue::DeliveryLog
// (src/queue/delivery_log.h) on the MariaDB pool of src/db (failover between servers, Galera,
// reconnect after a restart, timeouts); the table is schema/sql/mariadb/002_delivery_log.sql.
//
// record() writes a batch in one transaction (multi-row INSERTs of up to 500 rows each).
// query() builds a WHERE clause from the non-empty fields with bound parameters only; every
// searchable field has an index ending in `time`, so recall searches stay fast at 10M rows.
// Errors: unavailable when no server answers (the queue retries the log write later).
//
// Threading: thread-safe; calls block (worker pool / queue threads).
#pragma once

#include <memory>
#include <string>

#include "src/db/mariadb_options.h"
#include "src/queue/delivery_log.h"

namespace mailroom::queue {

struct MariaDbDeliveryLogOptions {
  db::MariaDbOptions pool;
  std::string table = "delivery_log";  // letters, digits and '_' only, at most 40
  bool create_table = true;            // CREATE TABLE IF NOT EXISTS at open
};

// Parses the [delivery_log] keys of the mariadb backend (everything but `backend`): servers,
// database, user, password | password_file, pool_size, connect_timeout, read_timeout,
// write_timeout, pool_wait, retry_after, max_connection_age, tls, tls_ca, table,
// create_table. Errors are added to the section's ConfigErrors; calls section.finish().
MariaDbDeliveryLogOptions parse_mariadb_delivery_log_options(core::ConfigSection& section);

// Opens (and creates the table unless create_table = false). Errors name the option:
// "delivery_log.user: ...", "delivery_log.database: ...", "delivery_log.table: ...".
core::Result<std::shared_ptr<DeliveryLog>> open_mariadb_delivery_log(
    const MariaDbDeliveryLogOptions& options);

// The CREATE TABLE statement for `table` (the text of 002_delivery_log.sql for the default).
std::string mariadb_delivery_log_schema(const std::string& table = "delivery_log");
// The ALTER TABLE that gives a table made before mail recall its guid and forwarded_by columns
// (the text of 003_delivery_log_recall.sql for the default); idempotent.
std::string mariadb_delivery_log_recall_columns(const std::string& table = "delivery_log");

}  // namespace mailroom::queue
