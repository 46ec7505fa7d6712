// Per-account records of the JMAP objects the mail store does not keep (Identity,
// EmailSubmission), internal to src/jmap: one JSON document per kind in
//
//   <mail_root>/<account id>/jmap/            0700
//     identities.json, submissions.json        0600
//
// next to the account's index, so with several nodes they live with the mailbox on the shared
// store and the owning node writes them (DESIGN.md "Beyond one machine"). Writes are temp
// file, fsync, rename: a crash leaves the old or the new document. Readers and writers of one
// account hold records_lock() around load .. save (a process-wide mutex: a single-node
// shortcut, as sieve::ScriptStore's).
#pragma once

#include <mutex>
#include <string>

#include "src/core/status.h"

namespace boost::json {
class object;
}

namespace mailroom::jmap {

std::unique_lock<std::mutex> records_lock();
// The document `kind` ("identities"); an empty object when there is none yet. A document that
// is not a JSON object is an internal error (never replaced silently).
core::Status load_record(const std::string& mail_root, const std::string& account_id,
                         const std::string& kind, boost::json::object* out);
core::Status save_record(const std::string& mail_root, const std::string& account_id,
                         const std::string& kind, const boost::json::object& doc);

}  // namespace mailroom::jmap
