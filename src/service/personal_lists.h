// A user's personal block list and allow list and the choices that go with them (blocked mail
// discarded or filed to Junk; ads in the inbox or in "Ads"), for mailroomctl and the admin
// API. The file and its format are src/filter/personal_lists.h's; delivery reads it again
// when it changes, so an edit applies to the next message.
//
// A user is named by address, login or immutable id (as Mailboxes::owner finds it).
// Errors: not_found for an unknown user or an entry that is not on the list; already_exists
// when adding one that is; invalid_argument for a malformed entry, an unknown list or choice,
// or a list that is full (kMaxPersonalEntries); io_error from disk.
//
// Threading: blocks on disk I/O (worker pool or the command line); edits by several processes
// are serialized by the account's lock file.
#pragma once

#include <optional>
#include <string>

#include "auth/directory.h"
#include "src/core/status.h"
#include "src/filter/personal_lists.h"

namespace mailroom::store {
class MailStore;
}

namespace mailroom::service {

struct UserLists {
  auth::Account account;
  filter::PersonalLists lists;
};

class PersonalListsService {
 public:
  // Any may be null/empty (not configured): operations then return unavailable.
  PersonalListsService(auth::Directory* directory, store::MailStore* store, std::string mail_root)
      : directory_(directory), store_(store), mail_root_(std::move(mail_root)) {}

  // {"ads":"inbox|folder","blocked":"discard|junk","blocklist":[...],"allowlist":[...]}
  static std::string to_json(const filter::PersonalLists& lists);

  core::Result<UserLists> get(const std::string& user);
  // `list` is "blocklist" or "allowlist"; `entry` an address or a domain.
  core::Result<UserLists> add(const std::string& user, const std::string& list,
                              const std::string& entry);
  core::Result<UserLists> remove(const std::string& user, const std::string& list,
                                 const std::string& entry);
  // ads: "inbox" | "folder"; blocked: "discard" | "junk"; nullopt leaves it.
  core::Result<UserLists> set_options(const std::string& user, std::optional<std::string> ads,
                                      std::optional<std::string> blocked);

 private:
  core::Result<auth::Account> find(const std::string& user);
  core::Result<UserLists> change(const std::string& user, const std::string& list,
                                 const std::string& entry, bool add);
  auth::Directory* directory_;
  store::MailStore* store_;
  std::string mail_root_;
};

}  // namespace mailroom::service
