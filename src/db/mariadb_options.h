// Where and how the MariaDB pool (mariadb_pool.h) connects, and the connection keys every
// MariaDB user of the configuration shares: [directory.sql] (auth/sql) and [delivery_log]
// backend = "mariadb" (src/queue). No mysql.h here: the options compile without the client.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::db {

struct ServerAddress {
  std::string host;  // host name or IP; empty when `socket` is used
  unsigned port = 3306;
  std::string socket;  // unix socket path ("/run/mysqld/mysqld.sock")
  std::string str() const;
};

// "host", "host:port", "[v6]:port" or an absolute socket path. nullopt when malformed.
std::optional<ServerAddress> parse_server_address(const std::string& text);

struct MariaDbOptions {
  std::vector<ServerAddress> servers;
  std::string database;
  std::string user;
  std::string password;
  size_t pool_size = 4;
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds pool_wait{10};            // how long a query waits for a free connection
  std::chrono::seconds retry_after{30};          // a failed server is tried last for this long
  std::chrono::seconds max_connection_age{600};  // recycle, so traffic fails back
  bool tls = false;                              // require TLS to the server
  std::string tls_ca;                            // CA file; with tls, the certificate is verified
  std::string charset = "utf8mb4";
};

// Reads the connection keys: servers, database, user, password | password_file, pool_size,
// connect_timeout, read_timeout, write_timeout, pool_wait, retry_after, max_connection_age,
// tls, tls_ca. Errors go to the section's ConfigErrors and name the key; the caller reads its
// own keys and calls section.finish().
MariaDbOptions parse_mariadb_options(core::ConfigSection& section,
                                     const std::string& default_database,
                                     const std::string& default_user);

}  // namespace mailroom::db
