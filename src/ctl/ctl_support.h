// Helpers shared by the mailroomctl command files (internal header): running a command
// against the writable local directory, printing a result or its error, and the JSON
// shapes of the directory objects (scripts parse them: keep them stable).
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>

#include "auth/local/local_directory.h"
#include "src/ctl/ctl.h"
#include "src/service/json_shapes.h"

namespace mailroom::ctl::detail {

// The writable local directory, or nullptr after printing why not (sets *exit_code).
auth::LocalDirectory* local_directory(Context& ctx, int* exit_code);
// Runs `body` against the local directory and stores its exit code.
void run(Context& ctx, int* exit_code, const std::function<int(auth::LocalDirectory&)>& body);
// Prints `human` or the JSON document on success; the error otherwise.
int done(Context& ctx, const core::Status& st, const std::string& human,
         const boost::json::value& j);

using service::account_json;
using service::alias_json;
using service::domain_json;
using service::group_json;
// "key: value" lines for a JSON object (human output of show commands).
std::string human(const boost::json::value& j);

}  // namespace mailroom::ctl::detail
