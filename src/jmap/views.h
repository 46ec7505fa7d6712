// How JMAP objects map onto the store (internal to src/jmap; no JSON here).
//
// Ids (RFC 8620 1.2), the same as IMAP's OBJECTID (RFC 8474) so a client using both sees one
// object: Mailbox "F" + MAILBOXID, Email "M" + EMAILID (the guid of the message file: COPY and
// MOVE keep it, so an Email in two mailboxes is one Email), Thread "T" + the guid (one thread
// per message: the store keeps no threads; IMAP answers THREADID NIL for the same reason).
// Blob of a whole message "B" + guid; of one part "B" + guid + "." + IMAP part number.
//
// State strings are derived from the store, never stored:
//   Mailbox state  "m" then per mailbox ",<MAILBOXID>.<props hash>.<counts hash>"
//   Email state    "e" then per mailbox holding messages ",<UIDVALIDITY>.<UIDNEXT>.<HIGHESTMODSEQ>"
//                  (hex): Email/changes asks the store what changed after each MODSEQ
//                  (RFC 7162 CHANGEDSINCE), so IMAP's changes show at once, and JMAP's show in
//                  IMAP's CONDSTORE/QRESYNC as any other change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {

struct MailboxView {
  store::MailboxInfo info;
  std::string id;         // "F" + object id
  std::string name;       // the last component of info.name
  std::string parent_id;  // "" at the top (or when the parent is not a mailbox)
  std::string role;       // RFC 8621 2: "inbox", "sent", ... ("" none)
};

// Every mailbox of the account, with its parent's id.
core::Result<std::vector<MailboxView>> load_mailboxes(store::MailStore& store,
                                                      const std::string& account_id);
const MailboxView* find_mailbox_by_id(const std::vector<MailboxView>& all, std::string_view id);
const MailboxView* find_mailbox_by_name(const std::vector<MailboxView>& all, std::string_view name);

std::string mailbox_state(const std::vector<MailboxView>& all);
struct MailboxStateEntry {
  std::string id;
  uint32_t props = 0;   // name, parent, role, subscription
  uint32_t counts = 0;  // totalEmails, unreadEmails
};
uint32_t mailbox_props_hash(const MailboxView& m);
uint32_t mailbox_counts_hash(const MailboxView& m);
std::optional<std::vector<MailboxStateEntry>> decode_mailbox_state(std::string_view state);

struct EmailStateEntry {
  uint32_t uid_validity = 0;
  uint32_t uid_next = 0;
  uint64_t modseq = 0;
};
std::string email_state(const std::vector<MailboxView>& all);
std::optional<std::vector<EmailStateEntry>> decode_email_state(std::string_view state);

inline std::string email_id(std::string_view guid) { return "M" + std::string(guid); }
inline std::string thread_id(std::string_view guid) { return "T" + std::string(guid); }
inline std::string blob_id(std::string_view guid) { return "B" + std::string(guid); }
// The guid inside an Email ("M"), Thread ("T") or blob ("B") id; nullopt when malformed.
std::optional<std::string> guid_of(std::string_view id, char prefix);

// The copies of the message an Email ("M"), Thread ("T") or blob ("B") id names, in the
// store's order; empty for a malformed id or a message that is gone.
core::Result<std::vector<store::MessageCopy>> copies_of(store::MailStore& store,
                                                        const std::string& account_id,
                                                        std::string_view id, char prefix);

// RFC 8621 4.1.1 keywords <-> IMAP flags: $seen \Seen, $flagged \Flagged, $answered
// \Answered, $draft \Draft; other keywords as IMAP keywords, lower-cased. \Deleted has no
// keyword (IMAP's business) and is kept as it is by JMAP updates.
std::vector<std::string> keywords_of(const store::MessageMeta& meta);
// A keyword as JMAP allows it (1-255 of %x21-%x7E but ( ) { ] % * " \).
bool valid_keyword(std::string_view k);
// Splits JMAP keywords into flag bits and IMAP keywords.
void flags_of(const std::vector<std::string>& keywords, uint32_t& flags,
              std::vector<std::string>& imap_keywords);

}  // namespace mailroom::jmap
