// Who wants to hear that an account's JMAP records changed, internal to src/jmap. The mail
// store notifies its own watchers (MailStore::watch); the objects it does not keep (Identity
// and EmailSubmission in records.h's documents, the VacationResponse file) are written by
// this module's methods, which call records_changed() after each write, so that an open push
// stream (push.h) reports their new states (RFC 8620 7.1).
//
// Threading: any thread; callbacks run on the writer's thread, outside the registry's lock,
// and must only post work (http::Stream::notify). State: per process (a single-node
// shortcut: with several nodes, a stream on another node than the writer hears of the change
// only with the next store change of the account).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::core {
struct Services;
}

namespace mailroom::jmap {

class RecordWatch {
 public:
  virtual ~RecordWatch() = default;  // unsubscribes
};

// `on_change` is called after every records_changed(account_id) until the handle is gone.
std::unique_ptr<RecordWatch> watch_records(const std::string& account_id,
                                           std::function<void()> on_change);
void records_changed(const std::string& account_id);

// The state `type` ("Identity", "EmailSubmission", "VacationResponse") has now: the string its
// /get answers with (Identity's before the directory sync a /get makes, which saves and so
// reports any change it finds). nullopt when it cannot be read. Blocks (small files).
std::optional<std::string> record_type_state(core::Services& services,
                                             const std::string& account_id, std::string_view type);
// vacation_methods.cpp: VacationResponse's state.
std::optional<std::string> vacation_state(core::Services& services, const std::string& account_id);

}  // namespace mailroom::jmap
