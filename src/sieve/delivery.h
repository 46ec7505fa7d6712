// Sieve at local delivery: the queue's DeliveryFilter (src/queue/delivery_filter.h). Per
// recipient it runs the administrator's "before" script, the user's active script and the
// "after" script (in that order, on one interpreter Run: interpreter.h) and turns the outcome
// into a plan: folder copies with flags, the edited message, a refusal, redirects and the
// vacation reply through the queue.
//
// A broken script never loses mail: a user script that does not parse or fails at run time
// (CPU, action or redirect limits, a runtime error) makes the message go to INBOX as if there
// were no script (the before/after scripts' actions of that run are dropped too), and the
// user gets one short notice message in INBOX per script and error (notice.rec, 30 days).
//
// Vacation (RFC 5230): no reply to the null sender, MAILER-DAEMON, owner-*, *-request,
// list mail (List-Id and other List-* fields, Precedence bulk/list/junk), auto-submitted mail
// (Auto-Submitted other than "no"), to the user's own addresses, or when none of the user's
// addresses (the primary address, RCPT TO, :addresses) is in To/Cc/Bcc/Resent-*. A sender gets
// at most one reply per :days and handle (vacation.rec). Replies carry
// "Auto-Submitted: auto-replied" and an empty envelope sender.
//
// Redirect: the message goes out unchanged but for a header "X-Sieve-Redirected-By: <user
// address>"; a message already carrying the user's address there (a loop) or more than
// max_redirect_hops of them is kept instead of redirected.
//
// Spamtest and virustest read X-Spam-Score (and X-Spam-Threshold, default 5) and
// X-Virus-Status (Clean / Infected ...): headers a trusted scanner adds (interpreter.cpp).
#pragma once

#include <memory>
#include <string>

#include "src/queue/delivery_filter.h"
#include "src/sieve/interpreter.h"
#include "src/sieve/script_store.h"

namespace mailroom::core {
class ConfigSection;
}
namespace mailroom::auth {
class Resolver;
}
namespace mailroom::store {
class MailStore;
}

namespace mailroom::sieve {

struct Options {
  bool enabled = true;
  std::string before_path;  // the administrator's scripts ("" = none)
  std::string after_path;
  Limits parse;       // max_script_size, nesting, commands
  RunLimits run;      // max_steps, max_actions, max_redirects
  StoreLimits store;  // max_scripts, max_user_bytes
  std::size_t max_redirect_hops = 5;
};

// Reads [sieve]: enabled, before, after, max_script_size, max_scripts, max_user_bytes,
// max_steps, max_actions, max_redirects. Paths relative to `config_dir`.
Options parse_options(core::ConfigSection& section, const std::string& config_dir);

class SieveFilter final : public queue::DeliveryFilter {
 public:
  // Parses the global scripts (an error names the file and line: start-up fails).
  static core::Result<std::shared_ptr<SieveFilter>> open(const Options& options,
                                                         std::shared_ptr<ScriptStore> scripts,
                                                         std::shared_ptr<store::MailStore> store,
                                                         std::shared_ptr<auth::Resolver> resolver,
                                                         std::string hostname);
  queue::DeliveryPlan plan(const queue::FilterInput& input) override;
  // As plan(), with `script` (named `name`) run in place of the user's active script: the
  // offboarding auto-reply (offboarding_filter.h). A script that does not parse is the
  // user's broken script (kept in INBOX).
  queue::DeliveryPlan plan_with_script(const queue::FilterInput& input, const std::string& name,
                                       const std::string& script);

 private:
  SieveFilter() = default;
  queue::DeliveryPlan plan_run(const queue::FilterInput& input,
                               const std::pair<std::string, std::string>* replacement);
  // Resolves `address` and adds its destinations to `envelope` (a remote address as it is);
  // returns the resolver's detail for logs. Nothing is added for unknown or failing addresses.
  std::string add_recipient(queue::Envelope& envelope, const std::string& address,
                            const std::string& sender, const std::string& account_id);
  Options options_;
  std::shared_ptr<ScriptStore> scripts_;
  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<auth::Resolver> resolver_;
  std::string hostname_;
  std::unique_ptr<Script> before_, after_;
};

}  // namespace mailroom::sieve
