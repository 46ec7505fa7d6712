// The identity rules of DESIGN.md, applied once, on top of a Directory.
//
// Resolution order for an address: real account, alias, group, domain catch-all. A real
// account always wins over an alias of the same address (the conflict is listed by
// `mailroomctl conflicts`). Subaddressing: "user+tag@" resolves as "user@" when "user+tag@"
// itself does not exist. Domain aliases rewrite the domain first. Groups expand recursively
// with a depth limit, loop detection and a member limit.
//
// Threading: thread-safe; blocking (calls the Directory). Call from the worker pool.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "auth/destination.h"
#include "auth/directory.h"

namespace mailroom::auth {

struct ResolverOptions {
  // Single-domain edition: logins are local parts of this domain. Empty: multi-domain (full
  // address required; a bare local part is accepted only if exactly one local domain exists).
  std::string default_domain;
  char subaddress_separator = '+';  // '\0' disables subaddressing
  size_t max_group_depth = 8;
  size_t max_expansion = 10000;  // recipients one address may expand to
  bool allow_utf8_local_parts = true;
  // Mail for a disabled account ([auth] disabled_recipients): "reject" answers 550 5.2.1;
  // "hold" accepts it into the account's mailbox, which nobody can read while the account is
  // disabled (logins refused, sessions closed) and which is there again if the directory
  // re-enables it (or goes to the retention archive). Forwarding is not applied to held mail.
  // Deleted accounts are always rejected.
  bool hold_for_disabled = false;
  // Offboarding (auth/offboarding.h, [offboarding] enabled): held mail also goes to the
  // account's forward_to, which the offboarding decorator sets to the manager (or clears).
  // The copy in the mailbox is always kept: never lose mail.
  bool forward_held = false;
  // RFC 5321 4.5.1: where mail for postmaster@<any local domain> goes when that domain has no
  // postmaster account, alias or group of its own ([auth] postmaster). Empty: nowhere (such
  // mail is refused as unknown, and mailroomd warns at start).
  std::string postmaster;
};

enum class RecipientOutcome {
  deliver,      // destinations filled (also for mail held for a disabled account)
  unknown,      // no such address (550 5.1.1)
  disabled,     // account disabled/deleted (550 5.2.1)
  not_local,    // the domain is not ours (relay decision is the SMTP server's)
  unavailable,  // could not tell (451 4.4.3)
  too_many,     // expansion limit exceeded (552 5.3.4? config) -> treated as 451 by default
  not_allowed,  // group send policy refused this sender (550 5.7.1)
};

struct Resolution {
  RecipientOutcome outcome = RecipientOutcome::unknown;
  std::vector<Destination> destinations;  // de-duplicated by account id / remote address
  std::string detail;                     // for logs
};

class Resolver {
 public:
  // `directory` is wrapped to count its calls (auth/metered_directory.h); directory() returns
  // the wrapper.
  Resolver(std::shared_ptr<Directory> directory, ResolverOptions options);

  Directory& directory() { return *directory_; }
  const ResolverOptions& options() const { return options_; }

  // Is `domain` one of ours (local or alias)? not_found = not ours; unavailable = can't tell.
  Result<Domain> local_domain(const std::string& domain);

  // Resolves an envelope recipient. `sender` (may be empty for <>), `sender_account_id`
  // (empty when not authenticated) and `sender_verified` are used for group send policies:
  // an envelope sender in one of our own domains counts only when the session is
  // authenticated or `sender_verified` (a trusted gateway); foreign senders count as given.
  Resolution resolve_recipient(const std::string& address, const std::string& sender,
                               const std::string& sender_account_id, bool sender_verified = false);

  // Finds the account a login name denotes (single/multi-domain rules). not_found covers
  // unknown logins; disabled accounts are returned (the caller refuses them).
  Result<Account> find_login(const std::string& login);

  // May `account` use `address` as envelope sender or From:? (own addresses, aliases pointing
  // to it, send_as, groups whose allowed senders include it). unavailable when unsure.
  Result<bool> may_send_as(const Account& account, const std::string& address);

 private:
  std::shared_ptr<Directory> directory_;
  ResolverOptions options_;
};

}  // namespace mailroom::auth
