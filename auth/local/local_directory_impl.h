// Internals shared by the local_directory*.cpp files (not a public header).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/db/sqlite.h"

namespace mailroom::auth {

struct LocalDirectory::Impl {
  std::unique_ptr<db::Sqlite> db;
  std::recursive_mutex mu;
  int tx_depth = 0;

  // Runs body in a write transaction unless one is already open on this connection.
  Status write(const std::function<Status()>& body);
};

namespace local_detail {

int64_t now();
std::string join_lines(const std::vector<std::string>& items);
std::vector<std::string> split_lines(const std::string& text);
// Lower-cased "local@domain" or invalid_argument naming `what` and the text.
Result<std::string> normalize_address(const std::string& text, const std::string& what);
Result<std::string> normalize_domain(const std::string& text);
std::string domain_of(const std::string& address);
// Sorted, de-duplicated, normalized addresses.
Result<std::vector<std::string>> normalize_addresses(const std::vector<std::string>& list,
                                                     const std::string& what);
const char* policy_name(GroupSendPolicy p);
GroupSendPolicy parse_policy(const std::string& s);
AccountStatus parse_status(const std::string& s);

}  // namespace local_detail
}  // namespace mailroom::auth
