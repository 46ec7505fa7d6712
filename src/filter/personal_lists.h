// A user's personal block list and allow list (senders and domains) and the two choices that
// go with them: where blocked mail goes (discarded or Junk) and whether ads stay in the inbox.
//
// Where: one small text file per account, <store root>/<account id>/personal-lists.txt, mode
// 0600, next to the user's index. It lives with the mailbox (on the shared store when several
// nodes run: written by mailroomctl and the admin API, read by the node delivering to the
// mailbox), needs no schema change of the user index, and is read without opening the index
// database on the delivery path. Format, one item a line ("#" comments):
//   option ads inbox|folder          advertising stays in INBOX / goes to "Ads" (default)
//   option blocked discard|junk      blocked mail is dropped / filed to "Junk" (default)
//   block sender spam@bad.example    an exact address (envelope sender or From:)
//   block domain bad.example         that domain or any subdomain
//   allow sender boss@corp.example   never Junk/Ads by spam verdicts
//   allow domain partner.example
// Edits are read-modify-write under an flock on personal-lists.lock, written to a temp file,
// fsync'd and renamed, so a reader sees the old or the new list.
//
// Threading: the functions are thread-safe (each call opens the files it needs);
// PersonalListScanner caches each account's list and re-reads it when the file changes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/core/status.h"
#include "src/filter/scanner.h"

namespace mailroom::filter {

enum class BlockedAction { junk, discard };

struct PersonalEntry {
  std::string kind;   // "sender" | "domain"
  std::string value;  // lower-case address or domain
  bool operator==(const PersonalEntry&) const = default;
};

struct PersonalLists {
  std::vector<PersonalEntry> block;
  std::vector<PersonalEntry> allow;
  bool ads_in_inbox = false;
  BlockedAction blocked = BlockedAction::junk;
};

inline constexpr size_t kMaxPersonalEntries = 1000;  // per list

// "spam@bad.example" is a sender, "bad.example" or "@bad.example" a domain; invalid_argument
// names what is wrong.
core::Result<PersonalEntry> make_personal_entry(const std::string& text);

std::string personal_lists_path(const std::string& store_root, const std::string& account_id);

// A missing file is the defaults; a malformed line is an error naming the line.
core::Result<PersonalLists> read_personal_lists(const std::string& store_root,
                                                const std::string& account_id);
core::Status write_personal_lists(const std::string& store_root, const std::string& account_id,
                                  const PersonalLists& lists);
// Read, change with `edit` (which may fail), write; under the account's lock.
core::Result<PersonalLists> update_personal_lists(
    const std::string& store_root, const std::string& account_id,
    const std::function<core::Status(PersonalLists&)>& edit);

// Which list a message matches: the envelope sender and every From: address are checked; the
// allow list wins over the block list, and is ignored when the message's topmost
// Authentication-Results says dmarc=fail (a forged From: must not reach the inbox by it).
enum class PersonalMatch { none, blocked, allowed };
PersonalMatch match_personal_lists(const PersonalLists& lists, const std::string& envelope_sender,
                                   std::string_view message);

// The per-recipient Scanner at local delivery (src/queue/local_delivery.cpp): blocked mail is
// discarded or filed to Junk, allowed mail leaves Junk/Ads for INBOX, ads go back to INBOX
// for users who keep them there. A list that cannot be read is logged and ignored.
class PersonalListScanner : public Scanner {
 public:
  explicit PersonalListScanner(std::string store_root);
  std::string name() const override { return "personal-lists"; }
  Verdict scan(const ScanInput& input) override;

 private:
  struct Cached {
    std::string stamp;
    std::shared_ptr<const PersonalLists> lists;
  };
  std::shared_ptr<const PersonalLists> lists_for(const std::string& account_id);

  std::string root_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // per node, disposable
};

}  // namespace mailroom::filter
