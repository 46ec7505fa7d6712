// mailroomctl dkim create|show|list|activate|remove (mailauth::DkimKeyStore in
// <data_dir>/dkim): signing keys per domain and the TXT records to publish for them. The
// human output of create and show is a zone-file fragment, ready to paste.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <ctime>

#include "src/ctl/ctl.h"
#include "src/mailauth/dkim.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

// "mr" and the year and month, UTC: a new selector each month keys are rotated.
std::string default_selector() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "mr%Y%m", &tm);
  return buf;
}

// <selector>._domainkey.<domain>. IN TXT "..." "...": a TXT string holds at most 255 bytes
// (RFC 1035 3.3.14), so longer values (RSA 2048 and up) are split into several.
std::string zone_record(const mailauth::DkimKey& key) {
  std::string out = key.selector + "._domainkey." + key.domain + ". IN TXT";
  for (std::size_t pos = 0; pos < key.dns_txt.size(); pos += 255) {
    out += " \"" + key.dns_txt.substr(pos, 255) + "\"";
  }
  return out;
}

json::object key_json(const mailauth::DkimKey& key, bool active) {
  json::object o;
  o["domain"] = key.domain;
  o["selector"] = key.selector;
  o["algorithm"] = mailauth::dkim_algorithm_name(key.algorithm);
  o["active"] = active;
  o["name"] = key.selector + "._domainkey." + key.domain + ".";
  o["txt"] = key.dns_txt;
  o["record"] = zone_record(key);
  return o;
}

// The key store of the configured data dir, or nullptr after reporting why not.
std::unique_ptr<mailauth::DkimKeyStore> dkim_store(Context& ctx, int* ec) {
  if (!ctx.services() || ctx.data_dir().empty()) {
    *ec = kSystemError;
    return nullptr;
  }
  return std::make_unique<mailauth::DkimKeyStore>(ctx.data_dir() + "/dkim");
}

bool is_active(const mailauth::DkimKeyStore& store, const mailauth::DkimKey& key) {
  auto active = store.active(key.domain);
  return active && active->selector == key.selector;
}

}  // namespace

void register_dkim_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* dkim =
      app.add_subcommand("dkim", "DKIM signing keys and their DNS records")->require_subcommand(1);
  struct Opts {
    std::string domain, selector, algorithm = "rsa";
    int bits = 2048;
    bool activate = false;
  };
  auto o = std::make_shared<Opts>();

  auto* create = dkim->add_subcommand("create", "Create a key and print its TXT record");
  create->add_option("domain", o->domain, "Signing domain (d=)")->required();
  create->add_option("--selector", o->selector, "Selector (s=; default mrYYYYMM)");
  create->add_option("--algorithm", o->algorithm, "rsa (default) or ed25519")
      ->check(CLI::IsMember({"rsa", "ed25519"}));
  create->add_option("--bits", o->bits, "RSA key size (default 2048)");
  create->add_flag("--activate", o->activate, "Sign with it from now on");
  create->callback([&ctx, ec, o] {
    auto store = dkim_store(ctx, ec);
    if (!store) return;
    std::string selector = o->selector.empty() ? default_selector() : o->selector;
    auto algorithm = o->algorithm == "ed25519" ? mailauth::DkimAlgorithm::ed25519_sha256
                                               : mailauth::DkimAlgorithm::rsa_sha256;
    auto key = store->create(o->domain, selector, algorithm, o->bits);
    if (!key) {
      *ec = ctx.fail(key.status());
      return;
    }
    if (o->activate) {
      if (auto s = store->activate(key->domain, key->selector); !s) {
        *ec = ctx.fail(s);
        return;
      }
    }
    std::string note = o->activate ? "active"
                                   : "not active until: mailroomctl dkim activate " + key->domain +
                                         " " + key->selector;
    ctx.print("; DKIM key " + key->selector + " for " + key->domain + " (" +
                  mailauth::dkim_algorithm_name(key->algorithm) + ", " + note + ")\n" +
                  zone_record(*key),
              json::serialize(key_json(*key, o->activate)));
    *ec = kOk;
  });

  auto* show = dkim->add_subcommand("show", "Print the TXT record of the active or named key");
  show->add_option("domain", o->domain, "Signing domain")->required();
  show->add_option("--selector", o->selector, "Selector (default: the active one)");
  show->callback([&ctx, ec, o] {
    auto store = dkim_store(ctx, ec);
    if (!store) return;
    auto key = o->selector.empty() ? store->active(o->domain) : store->load(o->domain, o->selector);
    if (!key) {
      *ec = ctx.fail(key.status());
      return;
    }
    bool active = is_active(*store, *key);
    ctx.print("; DKIM key " + key->selector + " for " + key->domain + " (" +
                  mailauth::dkim_algorithm_name(key->algorithm) +
                  (active ? ", active" : ", not active") + ")\n" + zone_record(*key),
              json::serialize(key_json(*key, active)));
    *ec = kOk;
  });

  auto* list = dkim->add_subcommand("list", "List a domain's selectors");
  list->add_option("domain", o->domain, "Signing domain")->required();
  list->callback([&ctx, ec, o] {
    auto store = dkim_store(ctx, ec);
    if (!store) return;
    auto active = store->active(o->domain);
    if (!active && active.code() != core::Code::not_found) {
      *ec = ctx.fail(active.status());
      return;
    }
    json::array arr;
    std::string human;
    for (const auto& selector : store->selectors(o->domain)) {
      auto key = store->load(o->domain, selector);
      if (!key) {
        *ec = ctx.fail(key.status());
        return;
      }
      bool is = active && active->selector == selector;
      json::object e;
      e["selector"] = selector;
      e["algorithm"] = mailauth::dkim_algorithm_name(key->algorithm);
      e["active"] = is;
      arr.push_back(std::move(e));
      human += selector + " " + mailauth::dkim_algorithm_name(key->algorithm) +
               (is ? " active" : "") + "\n";
    }
    if (human.empty()) human = "(no DKIM keys for " + o->domain + ")";
    ctx.print(human, json::serialize(arr));
    *ec = kOk;
  });

  auto* activate = dkim->add_subcommand("activate", "Sign the domain's mail with this key");
  activate->add_option("domain", o->domain, "Signing domain")->required();
  activate->add_option("selector", o->selector, "Selector")->required();
  activate->callback([&ctx, ec, o] {
    auto store = dkim_store(ctx, ec);
    if (!store) return;
    if (auto s = store->activate(o->domain, o->selector); !s) {
      *ec = ctx.fail(s);
      return;
    }
    json::object out;
    out["domain"] = o->domain;
    out["selector"] = o->selector;
    out["action"] = "activated";
    ctx.print("DKIM key " + o->selector + " is now active for " + o->domain, json::serialize(out));
    *ec = kOk;
  });

  auto* remove = dkim->add_subcommand("remove", "Delete a key that is not the active one");
  remove->add_option("domain", o->domain, "Signing domain")->required();
  remove->add_option("selector", o->selector, "Selector")->required();
  remove->callback([&ctx, ec, o] {
    auto store = dkim_store(ctx, ec);
    if (!store) return;
    if (auto s = store->remove(o->domain, o->selector); !s) {
      *ec = ctx.fail(s);
      return;
    }
    json::object out;
    out["domain"] = o->domain;
    out["selector"] = o->selector;
    out["action"] = "removed";
    ctx.print("DKIM key " + o->selector + " removed from " + o->domain, json::serialize(out));
    *ec = kOk;
  });
}

}  // namespace mailroom::ctl
