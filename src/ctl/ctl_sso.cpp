// mailroomctl sso check [--token-file PATH|-]: what mailroomd would make of the [sso]
// configuration, from this host: for each trusted issuer, discovery and the key set fetched
// now (the same HTTP client, CA file and timeouts as the server); with a token, its verdict,
// the claim that names the account and the account it resolves to. For an administrator
// setting up single sign-on or answering "why can't Alice log in with Outlook?". The token is
// read from a file or stdin, never from the command line (it would land in shell history).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "auth/resolver.h"
#include "src/ctl/ctl.h"
#include "sso/sso.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

std::string read_token(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

const char* verdict_name(auth::TokenVerdict v) {
  switch (v) {
    case auth::TokenVerdict::valid:
      return "valid";
    case auth::TokenVerdict::invalid:
      return "invalid";
    case auth::TokenVerdict::unavailable:
      return "unavailable";
  }
  return "?";
}

}  // namespace

void register_sso_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* sso = app.add_subcommand("sso", "Single sign-on: check the identity providers and tokens")
                  ->require_subcommand(1);
  auto token_file = std::make_shared<std::string>();
  auto* check = sso->add_subcommand(
      "check", "Fetch each trusted issuer's discovery and keys now; with a token, check it");
  check->add_option("--token-file", *token_file,
                    "Read an access token from this file (\"-\": stdin) and check it");
  check->callback([&ctx, ec, token_file] {
    auto* services = ctx.services();
    const sso::Options* options = ctx.sso_options;
    if (!services || !options) {
      *ec = kSystemError;
      return;
    }
    if (options->issuers.empty()) {
      *ec = ctx.fail(core::invalid_argument("[sso] trusts no issuer ([[sso.issuer]])"));
      return;
    }
    sso::Options o = *options;
    o.background_refresh = false;
    auto service = sso::TokenService::start(o);
    if (!service) {
      *ec = ctx.fail(service.status());
      return;
    }
    // refresh_now() answers "<issuer>: <error>" lines for the issuers that failed.
    std::string errors = (*service)->refresh_now();
    bool all_ok = true;
    json::array issuers;
    std::string human;
    for (const auto& is : o.issuers) {
      std::string prefix = is.issuer + ": ";
      std::string error;
      for (size_t pos = 0; pos < errors.size();) {
        size_t end = errors.find('\n', pos);
        if (end == std::string::npos) end = errors.size();
        std::string line = errors.substr(pos, end - pos);
        if (line.rfind(prefix, 0) == 0) error = line.substr(prefix.size());
        pos = end + 1;
      }
      all_ok = all_ok && error.empty();
      issuers.push_back(
          json::object{{"issuer", is.issuer}, {"ok", error.empty()}, {"error", error}});
      human +=
          "issuer " + is.issuer + ": " + (error.empty() ? "discovery and keys ok" : error) + "\n";
    }
    json::object out{{"issuers", issuers}};
    int code = all_ok ? kOk : kSystemError;
    if (!token_file->empty()) {
      std::string token = read_token(*token_file);
      auto c = (*service)->verify(token);
      json::object t{{"verdict", verdict_name(c.verdict)}, {"reason", c.reason}};
      human += std::string("token: ") + verdict_name(c.verdict);
      if (c.verdict == auth::TokenVerdict::valid) {
        t["issuer"] = c.identity.issuer;
        t["claim"] = c.identity.claim;
        t["value"] = c.identity.value;
        human += " (" + c.identity.claim + " " + c.identity.value + ")";
        auto account = c.identity.match == auth::TokenMatch::id
                           ? services->resolver->directory().find_account_by_id(c.identity.value)
                           : services->resolver->find_login(c.identity.value);
        if (account) {
          t["account"] = account->address;
          t["status"] = auth::account_status_name(account->status);
          human += " -> account " + account->address + " (" +
                   auth::account_status_name(account->status) + ")";
          if (account->status != auth::AccountStatus::active) code = kUserError;
        } else {
          t["account"] = nullptr;
          t["account_error"] = account.status().client_message();
          human += " -> no account: " + account.status().client_message();
          code = account.code() == core::Code::unavailable ? kSystemError : kUserError;
        }
      } else {
        human += ": " + c.reason;
        code = c.verdict == auth::TokenVerdict::unavailable ? kSystemError : kUserError;
      }
      human += "\n";
      out["token"] = t;
    }
    if (!human.empty() && human.back() == '\n') human.pop_back();
    ctx.print(human, json::serialize(out));
    *ec = code;
  });
}

}  // namespace mailroom::ctl
