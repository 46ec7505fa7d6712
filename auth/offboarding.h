// Offboarding (issue 22, G7): what happens to a user the corporate directory disabled — by
// userAccountControl / accountExpires (AD), the mapped status attribute (LDAP, SQL), or by
// moving them to the leavers OU or group ([directory.ldap] leavers_ou / leavers_group).
//
// The workflow is derived, not stored: an account is offboarded while it is disabled in the
// replica and the sync has recorded since when ("inactive_since:<id>", account_policy.h). Each
// step follows from [offboarding] and that date, so a re-hire (the same immutable id enabled
// again) stops every step at the sync that brings it, and nothing is left to clean up:
//  (a) sessions cut and app passwords revoked: the account sweep does it for every disabled
//      account (src/server/account_sweep.h; event=session_revoked,
//      event=auth.app_password_revoked) — not repeated here;
//  (b) auto-reply for auto_reply_days after the account was disabled, naming `contact`: a
//      Sieve vacation (RFC 5230, so RFC 3834's rules: no reply to lists, bulk, auto-submitted
//      mail or the null sender; one reply per sender per reply_interval) that replaces the
//      user's own script (src/sieve/offboarding_filter.h);
//  (c) forward = "manager": new mail is forwarded to the manager's account (Account::manager)
//      for forward_days (0: until the account is removed); the copy in the mailbox is always
//      kept (the Resolver holds it: ResolverOptions::hold_for_disabled + forward_held);
//  (d) retention / archive as today ([directory] retention, auth/sync/retention.h).
//
// Never lose mail: mail to an offboarded account is delivered to its mailbox, and forwarded
// too while forwarding runs. When the manager lookup cannot be answered (directory.db busy,
// LDAP down) the lookup answers unavailable: SMTP says 451 and the sender retries. When there
// is no manager (no attribute, an unknown or disabled manager) the mail stays in the mailbox
// and the log says why (event=offboarding_no_manager).
//
// Threading: thread-safe (LocalDirectory is); every call blocks (SQLite): use the worker pool.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/forwarding_directory.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth {

class LocalDirectory;

struct OffboardingOptions {
  bool enabled = false;
  int64_t auto_reply_s = 30 * 86400;     // auto_reply_days; 0 = no auto-reply
  int64_t reply_interval_s = 7 * 86400;  // reply_interval: one reply per sender per period
  std::string contact;                   // named in the reply ("" = no contact line)
  std::string reply_subject = "No longer with the company";
  // The reply's body; "%c" becomes the contact, "%n" the user's display name (or address).
  std::string reply_text;
  bool forward_to_manager = true;  // forward = "manager" | "none"
  int64_t forward_s = 0;           // forward_days; 0 = until the account is removed
};

// Reads [offboarding]: enabled, auto_reply_days, reply_interval (seconds, or "7d"), contact,
// reply_subject, reply_text, forward ("manager" | "none"), forward_days.
OffboardingOptions parse_offboarding_options(core::ConfigSection& section);

// Where an account is in the workflow at `now` (the pure decision; unit-tested).
struct OffboardingState {
  bool offboarded = false;  // disabled with a recorded start: the workflow applies
  int64_t since = 0;        // when the sync first saw the account disabled
  bool auto_reply = false;
  int64_t auto_reply_until = 0;  // 0 when no auto-reply is configured
  bool forward = false;
  int64_t forward_until = 0;  // 0 = no end (until retention removes the account)
};
OffboardingState decide_offboarding(const OffboardingOptions& options, const Account& account,
                                    std::optional<int64_t> inactive_since, int64_t now);

// The Sieve script of step (b) for `account` (vacation, then keep).
std::string offboarding_sieve_script(const OffboardingOptions& options, const Account& account);

// Escapes a Sieve quoted string (RFC 5228 2.4.2: backslash and double quote).
std::string sieve_quoted(const std::string& text);

class Offboarding {
 public:
  // `replica`: directory.db (the inactive_since dates); `directory`: the lookups of accounts
  // and managers (undecorated by offboarding).
  Offboarding(OffboardingOptions options, std::shared_ptr<LocalDirectory> replica,
              std::shared_ptr<Directory> directory);
  const OffboardingOptions& options() const { return options_; }

  // The account's state now; unavailable when directory.db cannot be read.
  Result<OffboardingState> state(const Account& account, int64_t now);
  // The manager's account. not_found: no manager, or an unknown / inactive one (the text
  // says which); unavailable: the directory could not tell.
  Result<Account> manager_of(const Account& account);

 private:
  OffboardingOptions options_;
  std::shared_ptr<LocalDirectory> replica_;
  std::shared_ptr<Directory> directory_;
};

// The Directory decorator of step (c): an offboarded account found by address carries the
// manager as its only forward (or none), so the Resolver holds and forwards it; an unknown
// state or manager it cannot tell about makes the lookup unavailable (451).
class OffboardingDirectory : public ForwardingDirectory {
 public:
  OffboardingDirectory(std::shared_ptr<Directory> inner, std::shared_ptr<Offboarding> offboarding)
      : ForwardingDirectory(std::move(inner)), offboarding_(std::move(offboarding)) {}
  Result<Account> find_account_by_address(const std::string& address) override;

 private:
  std::shared_ptr<Offboarding> offboarding_;
};

}  // namespace mailroom::auth
