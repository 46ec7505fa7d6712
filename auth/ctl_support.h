// Helpers shared by the mailroomctl directory command files (internal header).
#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <string>

#include "auth/local/local_directory.h"
#include "src/ctl/ctl.h"

namespace mailroom::ctl::detail {

// The writable local directory, or nullptr after printing why not (sets *exit_code).
auth::LocalDirectory* local_directory(Context& ctx, int* exit_code);
// Runs `body` against the local directory and stores its exit code.
void run(Context& ctx, int* exit_code, const std::function<int(auth::LocalDirectory&)>& body);
// Prints `human` or the JSON document on success; the error otherwise.
int done(Context& ctx, const core::Status& st, const std::string& human,
         const boost::json::value& j);
// An account named by address, login or id.
core::Result<auth::Account> find_user(auth::LocalDirectory& dir, const std::string& name);
// "1G", "500M", "64K", "12345".
core::Result<uint64_t> parse_size(const std::string& text, const std::string& what);
// A "{SCHEME}..." hash for a new password, and its SCRAM-SHA-256 secret when `scram`.
core::Status hash_password(const std::string& pw, const std::string& scheme, bool scram,
                           std::string* hash, std::string* secret);

boost::json::value domain_json(const auth::Domain& d);
boost::json::value account_json(const auth::AccountRecord& r);
boost::json::value alias_json(const auth::Alias& a);
boost::json::value group_json(const auth::Group& g);
// "key: value" lines for a JSON object (human output of show commands).
std::string human(const boost::json::value& j);

}  // namespace mailroom::ctl::detail
