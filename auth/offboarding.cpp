#include "auth/offboarding.h"

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"
#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/config_section.h"
#include "src/core/log.h"

namespace mailroom::auth {
namespace {

constexpr const char* kDefaultText =
    "%n is no longer with the company and will not read your message.\r\n"
    "Please write to %c instead.\r\n";
constexpr const char* kDefaultTextNoContact =
    "%n is no longer with the company and will not read your message.\r\n";

std::string expand(const std::string& text, const Account& a, const std::string& contact) {
  std::string out;
  const std::string name = a.display_name.empty() ? a.address : a.display_name;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 1 < text.size() && (text[i + 1] == 'c' || text[i + 1] == 'n')) {
      out += text[i + 1] == 'c' ? contact : name;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

OffboardingOptions parse_offboarding_options(core::ConfigSection& s) {
  OffboardingOptions o;
  o.enabled = s.get_bool("enabled", false);
  o.auto_reply_s = s.get_int("auto_reply_days", o.auto_reply_s / 86400, 0, 3650) * 86400;
  o.reply_interval_s = s.get_seconds("reply_interval", o.reply_interval_s);
  if (o.reply_interval_s < 86400) {
    // RFC 5230 4.1: :days is at least 1 (RFC 6131 :seconds is not implemented here).
    s.error("reply_interval", "must be at least 1d (one reply per sender per day)");
  }
  o.contact = s.get_string("contact", "");
  if (!o.contact.empty() && !core::parse_address(o.contact))
    s.error("contact", "'" + o.contact + "' is not a mail address");
  o.reply_subject = s.get_string("reply_subject", o.reply_subject);
  o.reply_text = s.get_string("reply_text", "");
  o.forward_to_manager = s.get_choice("forward", "manager", {"manager", "none"}) == "manager";
  o.forward_s = s.get_int("forward_days", 0, 0, 3650) * 86400;
  s.finish();
  return o;
}

OffboardingState decide_offboarding(const OffboardingOptions& o, const Account& a,
                                    std::optional<int64_t> inactive_since, int64_t now) {
  OffboardingState st;
  // Deleted accounts are gone (mail refused, retention as today); an account disabled
  // without a recorded date was not disabled by a sync (the embedded directory).
  if (!o.enabled || a.status != AccountStatus::disabled || !inactive_since) return st;
  st.offboarded = true;
  st.since = *inactive_since;
  if (o.auto_reply_s > 0) {
    st.auto_reply_until = st.since + o.auto_reply_s;
    st.auto_reply = now < st.auto_reply_until;
  }
  if (o.forward_to_manager) {
    st.forward_until = o.forward_s > 0 ? st.since + o.forward_s : 0;
    st.forward = st.forward_until == 0 || now < st.forward_until;
  }
  return st;
}

std::string sieve_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string offboarding_sieve_script(const OffboardingOptions& o, const Account& a) {
  std::string text = o.reply_text.empty()
                         ? (o.contact.empty() ? kDefaultTextNoContact : kDefaultText)
                         : o.reply_text;
  text = expand(text, a, o.contact);
  const int64_t days = std::max<int64_t>(1, o.reply_interval_s / 86400);
  // RFC 5230: the interpreter applies RFC 3834 (lists, bulk, auto-submitted, null sender) and
  // keeps one reply per sender and :days in the user's vacation.rec.
  return "require [\"vacation\"];\r\nvacation :days " + std::to_string(days) +
         " :handle \"offboarding\" :subject " +
         sieve_quoted(expand(o.reply_subject, a, o.contact)) + " " + sieve_quoted(text) +
         ";\r\nkeep;\r\n";
}

Offboarding::Offboarding(OffboardingOptions options, std::shared_ptr<LocalDirectory> replica,
                         std::shared_ptr<Directory> directory)
    : options_(std::move(options)),
      replica_(std::move(replica)),
      directory_(std::move(directory)) {}

Result<OffboardingState> Offboarding::state(const Account& account, int64_t now) {
  if (!options_.enabled || account.status != AccountStatus::disabled) {
    return decide_offboarding(options_, account, std::nullopt, now);
  }
  auto since = sync::inactive_since(*replica_, account.id);
  if (!since && since.code() != core::Code::not_found) return since.status();
  return decide_offboarding(options_, account,
                            since ? std::optional<int64_t>(*since) : std::nullopt, now);
}

Result<Account> Offboarding::manager_of(const Account& account) {
  const std::string& ref = account.manager;
  if (ref.empty()) return core::not_found("account " + account.address + " has no manager");
  auto m = directory_->find_account_by_id(ref);
  if (!m && m.code() == core::Code::not_found && ref.find('@') != std::string::npos)
    m = directory_->find_account_by_address(core::ascii_lower(ref));
  if (!m) {
    if (m.code() != core::Code::not_found) return m.status();
    return core::not_found("manager " + ref + " of " + account.address + " is not an account");
  }
  if (m->status != AccountStatus::active)
    return core::not_found("manager " + m->address + " of " + account.address + " is " +
                           account_status_name(m->status));
  return m;
}

Result<Account> OffboardingDirectory::find_account_by_address(const std::string& address) {
  auto found = inner().find_account_by_address(address);
  if (!found || found->status != AccountStatus::disabled) return found;
  auto st = offboarding_->state(*found, core::real_clock().unix_seconds());
  if (!st) return st.status();  // cannot tell: 451, never a bounce
  Account a = std::move(*found);
  // Held mail is never forwarded by the user's own forwards (ResolverOptions), whether or not
  // the account is offboarded; the manager's forward replaces them.
  a.forward_to.clear();
  a.forward_keep_copy = true;
  if (!st->offboarded || !st->forward) return a;
  auto manager = offboarding_->manager_of(a);
  if (!manager) {
    if (manager.code() != core::Code::not_found) return manager.status();
    MR_LOG_WARN("event=offboarding_no_manager account={} detail={}", a.id,
                core::quote(manager.status().log_detail()));
    return a;  // kept in the mailbox
  }
  MR_LOG_INFO("event=offboarding_step step=forward account={} manager={} to={}", a.id, manager->id,
              manager->address);
  a.forward_to = {manager->address};
  return a;
}

}  // namespace mailroom::auth
