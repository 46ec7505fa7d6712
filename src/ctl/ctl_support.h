// Helpers shared by the mailroomctl command files (internal header): running a command
// against the writable local directory, printing a result or its error, and the JSON
// shapes of the directory objects (scripts parse them: keep them stable).
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>

#include "auth/local/local_directory.h"
#include "src/ctl/ctl.h"
#include "src/service/admin_access.h"
#include "src/service/journal.h"
#include "src/service/json_shapes.h"

namespace mailroom::ctl::detail {

// The writable local directory, or nullptr after printing why not (sets *exit_code).
auth::LocalDirectory* local_directory(Context& ctx, int* exit_code);
// Runs `body` against the local directory and stores its exit code.
void run(Context& ctx, int* exit_code, const std::function<int(auth::LocalDirectory&)>& body);
// For commands that only read (user list/show, conflicts, group list/show): as run() on the
// embedded directory; on an LDAP / SQL backend `body` reads the replica the sync keeps
// (directory.db), and a human-readable run says on stderr that the answer is a read-only
// copy of that directory. --json output has the same shape either way.
void read_run(Context& ctx, int* exit_code, const std::function<int(auth::LocalDirectory&)>& body);
// The journal side of one mailroomctl invocation: the caller "mailroomctl(<unix user>)" of
// front end "cli", the journal <data_dir>/journal.db, and the records its writes made.
struct CliChanges {
  service::Caller caller;
  std::unique_ptr<service::ChangeJournal> journal;
  std::vector<service::ChangeRecord> records;
};
// The ChangeContext every write command gives the service (ctx.dry_run included); null
// journal when the services cannot be opened (the command fails on that first anyway).
service::ChangeContext change_context(Context& ctx);
// The journal of ctx's data directory (opened on first use; the file on first write).
service::ChangeJournal* journal(Context& ctx);

// One journal record as JSON (before/after parsed back into documents) and as text lines.
boost::json::value change_record_json(const service::ChangeRecord& r);
std::string change_record_text(const service::ChangeRecord& r, bool with_documents);
// "2026-12-05T03:40:37Z"
std::string iso_time(int64_t unix_seconds);

// Prints `human` or the JSON document on success; the error otherwise. After a --dry-run it
// prints instead "dry run: nothing changed" and the records that would have been made
// (JSON: {"dry_run": true, "result": <j>, "changes": [...]}).
int done(Context& ctx, const core::Status& st, const std::string& human,
         const boost::json::value& j);

using service::account_json;
using service::alias_json;
using service::domain_json;
using service::group_json;
// The effective policy of `account` (auth/policy/policy.h) as JSON; "policy.<attr>: value
// (from)" lines appended to *text when given (ctl_policies.cpp; `user show` uses it too).
boost::json::value effective_policy_for(auth::LocalDirectory& d, const auth::Account& account,
                                        std::string* text);
// "key: value" lines for a JSON object (human output of show commands).
std::string human(const boost::json::value& j);

}  // namespace mailroom::ctl::detail
