#include "src/sieve/delivery.h"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/base64.h"
#include "src/core/clock.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/mime/facts.h"
#include "src/mime/header_fields.h"
#include "src/sieve/vacation_response.h"
#include "src/store/mail_store.h"

namespace mailroom::sieve {
namespace {

constexpr int64_t kNoticeSeconds = 30 * 86400;

// Check-and-record of vacation and notice records: two deliveries to one user run on two
// queue threads at once. A single-node shortcut (one process writes a user's records; several
// nodes keep a user on one node, DESIGN.md "Beyond one machine").
std::mutex& records_mutex() {
  static std::mutex mu;
  return mu;
}

std::string resolve_path(const std::string& p, const std::string& base) {
  if (p.empty() || p[0] == '/') return p;
  return base + "/" + p;
}

class DeliveryEnvironment final : public Environment {
 public:
  DeliveryEnvironment(store::MailStore& store, std::string account, std::string dir)
      : store_(store), account_(std::move(account)), duplicates_(dir + "/duplicate.rec") {}
  bool mailbox_exists(const std::string& name) override {
    return static_cast<bool>(store_.mailbox_status(account_, name));
  }
  bool duplicate_seen(const std::string& id) override { return duplicates_.contains(id, now()); }
  int64_t now() override { return core::real_clock().unix_seconds(); }

 private:
  store::MailStore& store_;
  std::string account_;
  RecordFile duplicates_;
};

std::string one_line(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  if (s.size() > max) s.resize(max);
  return s;
}

std::string encode_if_needed(const std::string& v) {
  for (unsigned char c : v) {
    if (c >= 0x80) return "=?UTF-8?B?" + core::base64_encode(one_line(v, 900)) + "?=";
  }
  return one_line(v, 900);
}

std::string unfolded(const HeaderField& f) {
  std::string out;
  for (char c : f.raw_value) {
    if (c != '\r' && c != '\n') out += c;
  }
  size_t b = out.find_first_not_of(" \t");
  return b == std::string::npos ? "" : out.substr(b);
}

const HeaderField* field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (mime::ascii_iequals(f.name, name)) return &f;
  }
  return nullptr;
}

std::string message_id(const std::string& host) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return "<sieve." + std::string(buf) + "@" + host + ">";
}

// RFC 5230 4.5, 4.6 and 5: whether an auto-reply may go to this message's sender.
bool may_auto_reply(const queue::FilterInput& in, const std::vector<HeaderField>& fields,
                    const Action& v, std::string* why) {
  std::string sender = core::ascii_lower(in.envelope_sender);
  if (sender.empty()) return *why = "null sender", false;
  std::string local = sender.substr(0, sender.find('@'));
  if (local == "mailer-daemon" || local == "postmaster" || local.rfind("owner-", 0) == 0 ||
      (local.size() > 8 && local.compare(local.size() - 8, 8, "-request") == 0) ||
      local == "listserv" || local == "majordomo") {
    return *why = "sender is a list or daemon", false;
  }
  for (const auto& f : fields) {
    std::string name = core::ascii_lower(f.name);
    if (name.rfind("list-", 0) == 0) return *why = "list mail (" + f.name + ")", false;
    if (name == "auto-submitted" && !core::iequals(unfolded(f).substr(0, 2), "no")) {
      return *why = "auto-submitted", false;
    }
    if (name == "precedence") {
      std::string p = core::ascii_lower(unfolded(f));
      if (p == "bulk" || p == "list" || p == "junk") return *why = "precedence " + p, false;
    }
  }
  std::vector<std::string> mine = {core::ascii_lower(in.address), core::ascii_lower(in.rcpt)};
  for (const auto& a : v.addresses) mine.push_back(core::ascii_lower(a));
  if (std::find(mine.begin(), mine.end(), sender) != mine.end()) return *why = "own address", false;
  for (const auto& f : fields) {
    std::string name = core::ascii_lower(f.name);
    if (name != "to" && name != "cc" && name != "bcc" && name != "resent-to" &&
        name != "resent-cc" && name != "resent-bcc") {
      continue;
    }
    for (const auto& a : mime::parse_address_list(unfolded(f))) {
      if (a.kind != mime::EnvelopeAddress::Kind::mailbox || !a.mailbox) continue;
      std::string addr = core::ascii_lower(*a.mailbox + (a.host ? "@" + *a.host : ""));
      if (std::find(mine.begin(), mine.end(), addr) != mine.end()) return true;
    }
  }
  return *why = "not addressed to the user", false;
}

}  // namespace

Options parse_options(core::ConfigSection& section, const std::string& config_dir) {
  Options o;
  o.enabled = section.get_bool("enabled", o.enabled);
  o.before_path = resolve_path(section.get_string("before", ""), config_dir);
  o.after_path = resolve_path(section.get_string("after", ""), config_dir);
  o.parse.max_script_bytes =
      static_cast<size_t>(section.get_size("max_script_size", o.parse.max_script_bytes));
  o.store.max_script_bytes = o.parse.max_script_bytes;
  o.store.max_scripts = static_cast<size_t>(
      section.get_int("max_scripts", static_cast<int64_t>(o.store.max_scripts), 1, 10000));
  o.store.max_total_bytes = section.get_size("max_user_bytes", o.store.max_total_bytes);
  o.run.max_steps = static_cast<uint64_t>(
      section.get_int("max_steps", static_cast<int64_t>(o.run.max_steps), 100, 1'000'000'000));
  o.run.max_actions = static_cast<size_t>(
      section.get_int("max_actions", static_cast<int64_t>(o.run.max_actions), 1, 10000));
  o.run.max_redirects = static_cast<size_t>(
      section.get_int("max_redirects", static_cast<int64_t>(o.run.max_redirects), 0, 100));
  section.finish();
  return o;
}

core::Result<std::shared_ptr<SieveFilter>> SieveFilter::open(
    const Options& options, std::shared_ptr<ScriptStore> scripts,
    std::shared_ptr<store::MailStore> store, std::shared_ptr<auth::Resolver> resolver,
    std::string hostname) {
  std::shared_ptr<SieveFilter> f(new SieveFilter());
  f->options_ = options;
  f->scripts_ = std::move(scripts);
  f->store_ = std::move(store);
  f->resolver_ = std::move(resolver);
  f->hostname_ = hostname.empty() ? "localhost" : std::move(hostname);
  for (auto [path, slot] : {std::make_pair(options.before_path, &f->before_),
                            std::make_pair(options.after_path, &f->after_)}) {
    if (path.empty()) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::invalid_argument("[sieve] cannot read the script " + path);
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = parse(text.str(), options.parse);
    if (!parsed) {
      return core::invalid_argument("[sieve] " + path + ": " + parsed.status().client_message());
    }
    *slot = std::make_unique<Script>(std::move(*parsed));
  }
  return f;
}

std::string SieveFilter::add_recipient(queue::Envelope& envelope, const std::string& address,
                                       const std::string& sender, const std::string& account_id) {
  auth::Resolution res = resolver_->resolve_recipient(address, sender, account_id);
  if (res.outcome == auth::RecipientOutcome::deliver) {
    for (auto& d : res.destinations) {
      queue::EnvelopeRecipient r;
      r.rcpt = address;
      r.destination = std::move(d);
      envelope.recipients.push_back(std::move(r));
    }
  } else if (res.outcome == auth::RecipientOutcome::not_local) {
    queue::EnvelopeRecipient r;
    r.rcpt = address;
    r.destination.kind = auth::Destination::Kind::remote;
    r.destination.address = address;
    envelope.recipients.push_back(std::move(r));
  }
  return res.detail;
}

queue::DeliveryPlan SieveFilter::plan(const queue::FilterInput& in) {
  return plan_run(in, nullptr);
}

queue::DeliveryPlan SieveFilter::plan_with_script(const queue::FilterInput& in,
                                                  const std::string& name,
                                                  const std::string& script) {
  const std::pair<std::string, std::string> replacement{name, script};
  return plan_run(in, &replacement);
}

queue::DeliveryPlan SieveFilter::plan_run(const queue::FilterInput& in,
                                          const std::pair<std::string, std::string>* replacement) {
  queue::DeliveryPlan plan;
  auto keep_only = [&] {
    plan.copies.clear();
    plan.copies.push_back({in.default_folder, 0, {}, false});
  };
  keep_only();
  if (!options_.enabled) return plan;
  std::string user_name, user_error;
  std::unique_ptr<Script> user;
  using NamedText = std::pair<std::string, std::string>;
  core::Result<NamedText> active =
      replacement ? core::Result<NamedText>(*replacement) : scripts_->active(in.account_id);
  if (active) {
    user_name = active->first;
    auto parsed = parse(active->second, options_.parse);
    if (parsed) {
      user = std::make_unique<Script>(std::move(*parsed));
    } else {
      user_error = parsed.status().client_message();
    }
  }
  // The JMAP VacationResponse (vacation_response.h): run apart, after the scripts.
  std::unique_ptr<Script> jmap_vacation;
  if (auto v = read_vacation_response(scripts_->dir(in.account_id));
      v && vacation_response_active(*v, core::real_clock().unix_seconds())) {
    auto parsed = parse(vacation_response_script(*v), options_.parse);
    if (parsed) {
      jmap_vacation = std::make_unique<Script>(std::move(*parsed));
    } else {
      MR_LOG_WARN("event=sieve_failed account={} script=jmap-vacation detail={}", in.account_id,
                  core::quote(parsed.status().client_message()));
    }
  }
  if (!before_ && !after_ && !user && user_error.empty() && !jmap_vacation) return plan;

  MessageInput mi{in.message, in.envelope_sender, in.rcpt, ""};
  std::string dir = scripts_->dir(in.account_id);
  DeliveryEnvironment env(*store_, in.account_id, dir);
  Run run(mi, env, options_.run);
  const char* failed_in = nullptr;
  if (before_ && !run.execute(*before_)) failed_in = "before";
  if (!failed_in && user && !run.execute(*user)) failed_in = "user";
  if (!failed_in && after_ && !run.execute(*after_)) failed_in = "after";
  if (failed_in && std::string(failed_in) == "user") user_error = run.error();
  if (failed_in || !user_error.empty()) {
    // A broken script never loses mail (delivery.h): INBOX, and the user is told once.
    MR_LOG_WARN(
        "event=sieve_failed account={} script={} detail={}", in.account_id,
        failed_in && std::string(failed_in) != "user" ? failed_in : core::quote(user_name),
        core::quote(failed_in && std::string(failed_in) != "user" ? run.error() : user_error));
    keep_only();
    plan.copies[0].mailbox = "INBOX";
    plan.summary = "script failed, kept in INBOX";
    if (!user_error.empty()) {
      const int64_t now = core::real_clock().unix_seconds();
      RecordFile notices(dir + "/notice.rec");
      std::string key = user_name + "\n" + user_error;
      std::lock_guard lock(records_mutex());
      // Recorded when decided (not after delivery): told at most once, even by two deliveries
      // at the same time; a notice whose append fails is not repeated.
      if (!notices.contains(key, now) && notices.add(key, now + kNoticeSeconds, now)) {
        std::string text =
            "From: Mail delivery <MAILER-DAEMON@" + hostname_ + ">\r\nTo: <" + in.address +
            ">\r\nSubject: Your Sieve filter failed\r\nDate: " + core::rfc5322_date(now) +
            "\r\nMessage-ID: " + message_id(hostname_) +
            "\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Your active Sieve script \"" +
            one_line(user_name, 200) + "\" could not be run:\r\n\r\n  " +
            one_line(user_error, 500) +
            "\r\n\r\nMessages are delivered to INBOX until the script is fixed.\r\n"
            "You are told once per error.\r\n";
        plan.notice = std::move(text);
      }
    }
    return plan;
  }

  // The JMAP vacation replies only when the scripts neither replied nor refused (one reply
  // per message, RFC 5230 4.7); what it decides besides its reply is ignored.
  std::vector<Action> actions = run.actions();
  if (jmap_vacation && std::none_of(actions.begin(), actions.end(), [](const Action& a) {
        return a.kind == Action::Kind::vacation || a.kind == Action::Kind::reject ||
               a.kind == Action::Kind::ereject;
      })) {
    Run vacation_run(mi, env, options_.run);
    if (vacation_run.execute(*jmap_vacation)) {
      for (const auto& a : vacation_run.actions())
        if (a.kind == Action::Kind::vacation) actions.push_back(a);
    }
  }
  plan.copies.clear();
  std::string message = run.header_edited() ? run.edited_message() : std::string(in.message);
  if (run.header_edited()) plan.message = message;
  auto add_copy = [&](const std::string& mailbox, const std::vector<std::string>& flags,
                      bool create) {
    queue::FolderCopy* c = nullptr;
    for (auto& existing : plan.copies) {
      bool same = core::iequals(existing.mailbox, "INBOX") && core::iequals(mailbox, "INBOX")
                      ? true
                      : existing.mailbox == mailbox;
      if (same) c = &existing;  // RFC 5228 2.10.3: one copy per mailbox
    }
    if (!c) {
      plan.copies.push_back({mailbox, 0, {}, create});
      c = &plan.copies.back();
    }
    for (const auto& f : flags) {
      if (f == "\\Seen")
        c->flags |= store::kSeen;
      else if (f == "\\Answered")
        c->flags |= store::kAnswered;
      else if (f == "\\Flagged")
        c->flags |= store::kFlagged;
      else if (f == "\\Deleted")
        c->flags |= store::kDeleted;
      else if (f == "\\Draft")
        c->flags |= store::kDraft;
      else if (!f.empty() && f[0] != '\\' &&
               std::find(c->keywords.begin(), c->keywords.end(), f) == c->keywords.end()) {
        c->keywords.push_back(f);
      }
    }
  };
  std::vector<std::string> summary;
  std::vector<std::function<void()>> commits;
  const int64_t now = core::real_clock().unix_seconds();
  for (const Action& a : actions) {
    switch (a.kind) {
      case Action::Kind::keep:
        add_copy(in.default_folder, a.flags, false);
        summary.push_back("keep");
        break;
      case Action::Kind::fileinto:
        add_copy(a.target, a.flags, a.create);
        summary.push_back("fileinto " + a.target);
        break;
      case Action::Kind::reject:
      case Action::Kind::ereject:
        // RFC 5429: after the message was accepted, a refusal goes back to the sender as a
        // report through the queue (a DSN, 5.7.1); over LMTP it is this recipient's 5xx.
        plan.refuse = true;
        plan.refuse_reason =
            one_line(a.text.empty() ? "Message refused by the recipient's filter" : a.text, 400);
        plan.summary = "reject";
        plan.copies.clear();
        return plan;
      case Action::Kind::redirect: {
        size_t hops = 0;
        bool loop = false;
        for (const auto& f : run.fields()) {
          if (!mime::ascii_iequals(f.name, "X-Sieve-Redirected-By")) continue;
          ++hops;
          loop = loop || core::iequals(unfolded(f), in.address);
        }
        if (loop || hops >= options_.max_redirect_hops) {
          MR_LOG_WARN("event=sieve_redirect_loop account={} to={}", in.account_id,
                      core::quote(a.target));
          add_copy(in.default_folder, {}, false);
          summary.push_back("redirect loop, kept");
          break;
        }
        queue::OutgoingMessage o;
        o.kind = "redirect";
        o.envelope.sender = in.envelope_sender;
        o.envelope.body = "8BITMIME";
        o.envelope.auth_account_id = in.account_id;
        std::string detail = add_recipient(o.envelope, a.target, in.envelope_sender, in.account_id);
        if (o.envelope.recipients.empty()) {
          MR_LOG_WARN("event=sieve_redirect_failed account={} to={} detail={}", in.account_id,
                      core::quote(a.target), core::quote(detail));
          add_copy(in.default_folder, {}, false);  // nowhere to go: keep rather than lose
          break;
        }
        o.message = "X-Sieve-Redirected-By: " + in.address + "\r\n" + message;
        plan.outgoing.push_back(std::move(o));
        summary.push_back("redirect " + a.target);
        break;
      }
      case Action::Kind::vacation: {
        std::string why;
        if (!may_auto_reply(in, run.fields(), a, &why)) {
          summary.push_back("vacation skipped (" + why + ")");
          break;
        }
        std::string key = core::ascii_lower(in.envelope_sender) + "\n" + a.handle;
        RecordFile replies(dir + "/vacation.rec");
        {
          // Recorded when decided: one reply per sender and period even when two messages of
          // that sender are delivered at once. If this delivery is deferred and retried, the
          // retry sends no reply (a missed reply rather than two).
          std::lock_guard lock(records_mutex());
          if (replies.contains(key, now)) {
            summary.push_back("vacation already sent");
            break;
          }
          if (auto s = replies.add(key, now + a.period_seconds, now); !s) {
            MR_LOG_WARN("event=sieve_record_failed file=vacation detail={}",
                        core::quote(s.log_detail()));
            break;  // without a record there is no "at most once": no reply
          }
        }
        std::string from = a.from.empty() ? in.address : a.from;
        if (!core::parse_address(from)) from = in.address;
        std::string subject = a.subject;
        if (subject.empty()) {
          const HeaderField* s = field(run.fields(), "Subject");
          subject = "Auto: " + (s ? mime::decode_header_text(unfolded(*s)) : std::string());
        }
        std::string text = "From: <" + from + ">\r\nTo: <" + in.envelope_sender +
                           ">\r\nSubject: " + encode_if_needed(subject) +
                           "\r\nDate: " + core::rfc5322_date(now) +
                           "\r\nMessage-ID: " + message_id(hostname_) + "\r\n";
        if (const HeaderField* id = field(run.fields(), "Message-ID")) {
          std::string mid = one_line(unfolded(*id), 900);
          text += "In-Reply-To: " + mid + "\r\n";
          const HeaderField* refs = field(run.fields(), "References");
          text += "References: " + (refs ? one_line(unfolded(*refs), 900) + " " : std::string()) +
                  mid + "\r\n";
        }
        text += "Auto-Submitted: auto-replied (vacation)\r\nMIME-Version: 1.0\r\n";  // RFC 5230 5
        if (a.mime) {
          text += a.text;  // RFC 5230 4.4: the reason is a MIME entity with its own header
        } else {
          text +=
              "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
              a.text;
        }
        if (text.size() < 2 || text.compare(text.size() - 2, 2, "\r\n") != 0) text += "\r\n";
        queue::OutgoingMessage o;
        o.kind = "vacation";
        o.envelope.sender = "";  // RFC 5230 5: replies go out with the null sender
        o.envelope.body = "8BITMIME";
        add_recipient(o.envelope, in.envelope_sender, "", in.account_id);
        if (o.envelope.recipients.empty()) break;
        o.message = std::move(text);
        plan.outgoing.push_back(std::move(o));
        summary.push_back("vacation");
        break;
      }
    }
  }
  if (run.implicit_keep()) add_copy(in.default_folder, run.implicit_flags(), false);
  if (plan.copies.empty() && run.actions().empty()) summary.push_back("discard");
  for (const DuplicateRecord& d : run.duplicates()) {
    int64_t expiry = now + d.seconds;
    std::string id = d.id;
    commits.push_back([dir, id, expiry, now] {
      if (auto s = RecordFile(dir + "/duplicate.rec").add(id, expiry, now); !s) {
        MR_LOG_WARN("event=sieve_record_failed file=duplicate detail={}",
                    core::quote(s.log_detail()));
      }
    });
  }
  if (!commits.empty()) {
    plan.commit = [commits = std::move(commits)] {
      for (const auto& c : commits) c();
    };
  }
  for (const auto& s : summary) plan.summary += (plan.summary.empty() ? "" : ", ") + s;
  return plan;
}

}  // namespace mailroom::sieve
