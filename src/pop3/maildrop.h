// The maildrop of one POP3 session (RFC 1939 section 5): the INBOX as it was at login, with
// message numbers 1..n and the set of messages marked deleted. Pure state, no I/O.
//
// UIDL (RFC 1939 section 7) is "<uidvalidity>.<uid>" in decimal. Why not MessageMeta::guid:
// a guid follows the message file, so an IMAP COPY of a message into the same INBOX would give
// two maildrop entries one unique-id, which RFC 1939 forbids; and UIDVALIDITY+UID is exactly
// the name IMAP gives the message, so POP3 and IMAP clients agree without another index. The
// store never reuses a UID within a UIDVALIDITY, so the value is stable forever; if INBOX were
// ever re-created with a new UIDVALIDITY, POP3 clients re-download, as IMAP clients resync.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/store/mail_store.h"

namespace mailroom::pop3 {

class Maildrop {
 public:
  Maildrop() = default;
  explicit Maildrop(store::Snapshot snapshot);

  // Message numbers are 1-based. nullopt when out of range or marked deleted (RFC 1939
  // section 5: "may not refer to a message marked as deleted").
  const store::MessageMeta* find(uint32_t number) const;
  bool exists(uint32_t number) const { return number >= 1 && number <= messages_.size(); }
  bool is_deleted(uint32_t number) const { return exists(number) && deleted_[number - 1]; }
  uint32_t total() const { return static_cast<uint32_t>(messages_.size()); }

  // STAT / LIST totals, excluding deleted messages.
  uint32_t count() const;
  uint64_t octets() const;

  // DELE: false when the message does not exist or is already deleted.
  bool mark_deleted(uint32_t number);
  // RSET: unmarks every message.
  void reset();
  // UIDs of messages marked deleted, ascending (for the UPDATE state).
  std::vector<uint32_t> deleted_uids() const;

  std::string unique_id(uint32_t number) const;
  uint32_t uid_validity() const { return uid_validity_; }

 private:
  uint32_t uid_validity_ = 0;
  std::vector<store::MessageMeta> messages_;
  std::vector<bool> deleted_;
};

}  // namespace mailroom::pop3
