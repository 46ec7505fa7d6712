// InboundVerifier: SPF and DKIM in parallel, then DMARC, on the verifier's own I/O thread.
#include "src/mailauth/inbound.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/mailauth/dkim_verify.h"
#include "src/mailauth/dmarc.h"
#include "src/mailauth/spf.h"

namespace mailroom::mailauth {
namespace asio = boost::asio;
namespace {

const std::vector<std::string> kActions = {"mark", "junk", "reject"};

Action action_of(const std::string& s) {
  if (s == "reject") return Action::reject;
  if (s == "junk") return Action::junk;
  return Action::mark;
}

const char* action_name(Action a) {
  switch (a) {
    case Action::reject:
      return "reject";
    case Action::junk:
      return "junk";
    case Action::mark:
      break;
  }
  return "mark";
}

class Verifier final : public InboundVerifier {
 public:
  explicit Verifier(InboundOptions options)
      : options_(std::move(options)), work_(asio::make_work_guard(io_)) {}
  ~Verifier() override { stop(); }

  core::Status init() {
    auto psl = PublicSuffixList::load(options_.public_suffix_list);
    if (!psl) {
      return core::invalid_argument("cannot read the Public Suffix List " +
                                    options_.public_suffix_list + " (Debian package publicsuffix)");
    }
    auto resolver = dns::Resolver::create(io_, options_.dns);
    if (!resolver) return resolver.status();
    resolver_ = *resolver;
    spf_ = std::make_unique<SpfChecker>(io_, *resolver_, options_.authserv_id);
    dkim_ = std::make_unique<DkimVerifier>(*resolver_);
    dmarc_ = std::make_unique<DmarcChecker>(*resolver_, psl);
    thread_ = std::thread([this] { io_.run(); });
    return core::Status::ok();
  }

  const InboundOptions& options() const override { return options_; }

  void stop() override {
    if (!thread_.joinable()) return;
    std::promise<void> quiet;
    asio::post(io_, [this, &quiet] {
      resolver_->shutdown();
      quiet.set_value();
    });
    quiet.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void verify(const std::string& client_ip, const std::string& helo, const std::string& mail_from,
              std::shared_ptr<const std::string> message,
              std::function<void(InboundVerdict)> done) override {
    struct State {
      std::shared_ptr<const std::string> message;
      std::function<void(InboundVerdict)> done;
      std::string mail_from;
      SpfOutcome spf;
      DkimVerification dkim;
      int pending = 2;
    };
    auto st = std::make_shared<State>();
    st->message = std::move(message);
    st->done = std::move(done);
    st->mail_from = mail_from;
    asio::post(io_, [this, st, client_ip, helo, mail_from] {
      auto then = [this, st] {
        if (--st->pending > 0) return;
        dmarc_->check(*st->message, st->spf, st->dkim, [this, st](DmarcOutcome d) {
          st->done(verdict(st->mail_from, st->spf, st->dkim, d));
        });
      };
      spf_->check(client_ip, helo, mail_from, [st, then](SpfOutcome o) {
        st->spf = std::move(o);
        then();
      });
      dkim_->verify(st->message, [st, then](DkimVerification v) {
        st->dkim = std::move(v);
        then();
      });
    });
  }

 private:
  InboundVerdict verdict(const std::string& mail_from, const SpfOutcome& spf,
                         const DkimVerification& dkim, const DmarcOutcome& dmarc) const {
    InboundVerdict v;
    v.authentication_results =
        authentication_results(options_.authserv_id, spf, dkim, dmarc, mail_from);
    v.summary = std::string("spf=") + spf_result_name(spf.result) + " dkim=";
    if (dkim.signatures.empty()) v.summary += "none";
    for (size_t i = 0; i < dkim.signatures.size(); ++i) {
      v.summary += (i ? "," : "") + std::string(dkim_result_name(dkim.signatures[i].result));
    }
    v.summary += std::string(" dmarc=") + dmarc_result_name(dmarc.result);
    if (dmarc.result == DmarcResult::fail) {
      // RFC 7489 6.6.4: a message that pct= leaves out gets the next less strict policy.
      DmarcPolicy p = dmarc.policy;
      if (dmarc.sampled_out)
        p = p == DmarcPolicy::reject ? DmarcPolicy::quarantine : DmarcPolicy::none;
      Action a = p == DmarcPolicy::reject       ? options_.dmarc_reject
                 : p == DmarcPolicy::quarantine ? options_.dmarc_quarantine
                                                : Action::mark;
      if (a != Action::mark) {
        v.action = a;
        v.reason = "DMARC policy of " + dmarc.from_domain + " (" + dmarc_policy_name(p) + ")";
      }
    }
    if (spf.result == SpfResult::fail && options_.spf_fail > v.action) {
      v.action = options_.spf_fail;
      v.reason = "SPF of " + spf.domain + " does not allow this server" +
                 (spf.explanation.empty() ? "" : ": " + spf.explanation);
    }
    if (v.action != Action::mark) v.summary += std::string(" action=") + action_name(v.action);
    return v;
  }

  InboundOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<dns::Resolver> resolver_;
  std::unique_ptr<SpfChecker> spf_;
  std::unique_ptr<DkimVerifier> dkim_;
  std::unique_ptr<DmarcChecker> dmarc_;
  std::thread thread_;
};

}  // namespace

InboundOptions parse_inbound_options(core::ConfigSection& s, const std::string& hostname) {
  InboundOptions o;
  o.enabled = s.get_bool("enabled", true);
  o.authserv_id = core::ascii_lower(s.get_string("authserv_id", hostname));
  o.dmarc_reject = action_of(s.get_choice("dmarc_reject", "reject", kActions));
  o.dmarc_quarantine = action_of(s.get_choice("dmarc_quarantine", "junk", kActions));
  o.spf_fail = action_of(s.get_choice("spf_fail", "mark", kActions));
  o.public_suffix_list = s.get_string("public_suffix_list", o.public_suffix_list);
  s.finish();
  return o;
}

core::Result<std::shared_ptr<InboundVerifier>> InboundVerifier::start(InboundOptions options) {
  auto v = std::make_shared<Verifier>(std::move(options));
  if (auto s = v->init(); !s) return s;
  return std::shared_ptr<InboundVerifier>(v);
}

}  // namespace mailroom::mailauth
