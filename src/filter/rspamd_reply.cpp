// rspamd's /checkv2 answer and the verdict made of it (rspamd_reply.h).
#include "src/filter/rspamd_reply.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>

#include "src/core/address.h"
#include "src/filter/header_block.h"

namespace mailroom::filter {
namespace json = boost::json;

namespace {

core::Status bad_reply(const std::string& why) {
  return core::Status::error(core::Code::invalid_argument, "invalid answer from rspamd",
                             "rspamd reply: " + why);
}

bool finite_number(const json::value& v, double* out) {
  double d;
  if (v.is_double()) {
    d = v.get_double();
  } else if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else {
    return false;
  }
  if (!std::isfinite(d) || std::fabs(d) > kMaxScore) return false;
  *out = d;
  return true;
}

bool symbol_name_ok(std::string_view s) {
  if (s.empty() || s.size() > kMaxSymbolName) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// rspamd 3.4's actions (src/libserver/cfg_file.h there) and the two later versions add.
bool known_action(std::string_view a) {
  for (std::string_view k : {"no action", "greylist", "add header", "rewrite subject",
                             "soft reject", "reject", "discard", "quarantine"}) {
    if (a == k) return true;
  }
  return false;
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

std::string score_text(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", d);
  return buf;
}

}  // namespace

bool RspamdReply::has_symbol(std::string_view name) const {
  for (const auto& s : symbols) {
    if (s.name == name) return true;
  }
  return false;
}

core::Result<RspamdReply> parse_rspamd_reply(std::string_view body) {
  if (body.size() > kMaxReplyBytes) return bad_reply("larger than 4 MiB");
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 32;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) return bad_reply("not JSON: " + ec.message());
  if (!v.is_object()) return bad_reply("not a JSON object");
  const json::object& o = v.as_object();
  if (auto* e = o.if_contains("error")) {
    std::string text = e->is_string() ? printable(e->get_string(), 200) : "(not a string)";
    return bad_reply("error: " + text);
  }
  RspamdReply r;
  auto* score = o.if_contains("score");
  if (!score || !finite_number(*score, &r.score)) return bad_reply("no finite \"score\"");
  auto* required = o.if_contains("required_score");
  if (!required || !finite_number(*required, &r.required_score)) {
    return bad_reply("no finite \"required_score\"");
  }
  auto* action = o.if_contains("action");
  if (!action || !action->is_string() || !known_action(action->get_string())) {
    return bad_reply("no known \"action\"");
  }
  r.action = std::string(action->get_string());
  if (auto* skipped = o.if_contains("is_skipped")) {
    if (!skipped->is_bool()) return bad_reply("\"is_skipped\" is not a boolean");
    r.is_skipped = skipped->get_bool();
  }
  if (auto* symbols = o.if_contains("symbols")) {
    if (!symbols->is_object()) return bad_reply("\"symbols\" is not an object");
    const auto& so = symbols->get_object();
    if (so.size() > kMaxSymbols) return bad_reply("too many symbols");
    for (const auto& member : so) {
      if (!symbol_name_ok(member.key())) return bad_reply("a symbol name is not a word");
      if (!member.value().is_object()) return bad_reply("a symbol is not an object");
      RspamdSymbol sym;
      sym.name = std::string(member.key());
      auto* s = member.value().get_object().if_contains("score");
      if (s && !finite_number(*s, &sym.score)) return bad_reply("a symbol's score is not finite");
      r.symbols.push_back(std::move(sym));
    }
    std::sort(r.symbols.begin(), r.symbols.end(), [](const auto& a, const auto& b) {
      return a.score != b.score ? a.score > b.score : a.name < b.name;
    });
    // JSON objects may repeat a key; Boost.JSON keeps the last, so names are unique here.
  }
  if (auto* messages = o.if_contains("messages")) {
    if (messages->is_object()) {
      if (auto* m = messages->get_object().if_contains("smtp_message"); m && m->is_string()) {
        r.smtp_message = printable(m->get_string(), 200);
      }
    }
  }
  return r;
}

SpamPolicy merge_policies(const std::vector<const SpamPolicy*>& policies) {
  if (policies.empty()) return SpamPolicy{};
  SpamPolicy out = *policies.front();
  for (const SpamPolicy* p : policies) {
    out.enabled = out.enabled || p->enabled;
    out.junk_score = std::max(out.junk_score, p->junk_score);
    out.reject_score = std::max(out.reject_score, p->reject_score);
    out.add_headers = out.add_headers || p->add_headers;
    out.ads = out.ads && p->ads;  // a domain that keeps ads in the inbox wins
  }
  return out;
}

namespace {

std::string trimmed_lower(std::string_view s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string_view::npos) return "";
  size_t b = s.find_last_not_of(" \t");
  return core::ascii_lower(s.substr(a, b - a + 1));
}

}  // namespace

bool has_bulk_headers(std::string_view message) {
  for (const auto& [name, value] : header_fields(message)) {
    if (name == "list-unsubscribe") return true;
    if (name == "precedence") {
      auto v = trimmed_lower(value);
      if (v == "bulk" || v == "list" || v == "junk") return true;
    }
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> spam_headers(const RspamdReply& reply,
                                                              const SpamPolicy& policy) {
  const bool spam = reply.score >= policy.junk_score;
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("X-Spam-Flag", spam ? "YES" : "NO");
  h.emplace_back("X-Spam-Score", score_text(reply.score));
  h.emplace_back("X-Spam-Status", std::string(spam ? "Yes" : "No") +
                                      ", score=" + score_text(reply.score) +
                                      " required=" + score_text(policy.junk_score));
  std::string symbols;
  bool cut = false;
  for (const auto& s : reply.symbols) {
    std::string item = s.name + "(" + score_text(s.score) + ")";
    size_t need = (symbols.empty() ? 0 : 2) + item.size();
    if (symbols.size() + need + 5 > policy.symbols_header_bytes) {
      cut = true;
      break;
    }
    if (!symbols.empty()) symbols += ", ";
    symbols += item;
  }
  if (cut) symbols += symbols.empty() ? "..." : ", ...";
  if (!symbols.empty()) h.emplace_back("X-Spam-Symbols", symbols);
  return h;
}

ContentVerdict decide_spam(const RspamdReply& reply, const SpamPolicy& policy, bool bulk_headers) {
  ContentVerdict v;
  if (policy.add_headers) v.add_headers = spam_headers(reply, policy);
  if (reply.score >= policy.reject_score) {
    v.action = ContentAction::reject;
    v.reason = "spam (score " + score_text(reply.score) + ")";
    return v;
  }
  if (reply.score >= policy.junk_score) {
    v.action = ContentAction::junk;
    v.reason = "spam score " + score_text(reply.score);
    return v;
  }
  if (policy.ads) {
    bool bulk = bulk_headers;
    for (const auto& s : policy.ads_symbols) bulk = bulk || reply.has_symbol(s);
    if (bulk) {
      v.action = ContentAction::ads;
      v.reason = "advertising or bulk mail";
    }
  }
  return v;
}

}  // namespace mailroom::filter
