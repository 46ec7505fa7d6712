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

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"
#include "src/jmap/methods.h"

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

// Writes `text` to <dir>/<name> (temp file, fsync, rename, fsync of the directory; 0600),
// creating <dir> (0700) and its parent when missing.
core::Status write_file_durably(const std::string& dir, const std::string& name,
                                const std::string& text);

// The shape every record shares: {"seq": state counter, "floor": oldest state /changes can
// answer from, "items": [{"id", "created": seq, "seq": seq of the last change, ...}],
// "gone": [{"id", "seq"}] (tombstones, at most `max_tombstones`)}. ensure_record_keys() adds
// the missing keys; call it before taking references into the object (an insertion may move
// the object's storage).
void ensure_record_keys(boost::json::object& doc);
uint64_t record_uint(const boost::json::object& o, const char* key);
std::string record_str(const boost::json::object& o, const char* key);
std::string record_state(const boost::json::object& doc);  // "seq" as a string
// The item of "items" with this id; nullptr when none.
boost::json::object* find_record_item(boost::json::array& items, std::string_view id);
void add_tombstone(boost::json::object& doc, const std::string& id, uint64_t seq,
                   size_t max_tombstones);
// A /get answer (RFC 8620 5.1) from the record: state, and list (every item when `ids` is
// null; the lists are bounded) and notFound, each item rendered by `to_json`.
void record_get(boost::json::object& doc, const std::optional<std::vector<std::string>>& ids,
                const std::function<boost::json::object(const boost::json::object&)>& to_json,
                boost::json::object& response);
// The item an update names (an id or "#creationId", RFC 8620 5.3); nullptr after writing
// notFound or invalidPatch (a patch that is not an object) into `not_updated`.
boost::json::object* update_target(CallContext& ctx, boost::json::array& items, std::string_view id,
                                   const boost::json::value& patch,
                                   boost::json::object& not_updated);
// The destroy list of a /set call on a record: each id that names an item and that
// `may_destroy` (which may write its own SetError and answer false) accepts is removed, with a
// tombstone at `seq`; the others are notFound. invalidArguments for an id that is no string.
// Returns whether anything was removed.
MethodResult destroy_record_items(
    CallContext& ctx, boost::json::object& doc, const boost::json::array& destroy, uint64_t seq,
    size_t max_tombstones,
    const std::function<bool(const boost::json::object& item, boost::json::object* error)>&
        may_destroy,
    boost::json::array& destroyed, boost::json::object& not_destroyed, bool* changed);
// A /changes answer (RFC 8620 5.2) from the record: sinceState and maxChanges of `args`;
// cannotCalculateChanges for a state older than "floor", from the future, malformed, or with
// more changes than maxChanges (the lists are bounded, so one answer holds them otherwise).
MethodResult record_changes(CallContext& ctx, const boost::json::object& args,
                            boost::json::object& doc, boost::json::object& response);

}  // namespace mailroom::jmap
