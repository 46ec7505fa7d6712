// Where one recipient's copy goes: a local mailbox or a remote address. Produced by the
// Resolver (auth/resolver.h), carried by the queue (src/queue), which needs nothing else of
// the resolver.
#pragma once

#include <cstdint>
#include <string>

namespace mailroom::auth {

// A final destination of one recipient address.
struct Destination {
  enum class Kind { mailbox, remote };
  Kind kind = Kind::mailbox;
  std::string account_id;  // for mailbox
  std::string address;     // the account's primary address, or the remote address
  std::string folder;      // target folder ("INBOX" unless a rule says otherwise)
  uint64_t quota_bytes = 0;
  uint64_t quota_messages = 0;
  // The account whose forwarding (Account::forward_to) produced this copy, "" when the copy
  // is not a forward. Mail recall searches by sender match the forwarder for such copies.
  std::string forwarded_by;
  // The recipient's policy limit on message size (auth/policy), set by the SMTP session for
  // its end-of-DATA check; 0 = none. Not kept in the queue.
  uint64_t max_message_bytes = 0;
};

}  // namespace mailroom::auth
