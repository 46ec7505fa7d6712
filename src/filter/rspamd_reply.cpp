// rspamd's /checkv2 answer and the verdict made of it (rspamd_reply.h).
#include "src/filter/rspamd_reply.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
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

namespace {

// rspamd 3.4's symbols for each result (its spf.lua, dkim_check, dmarc.lua).
const char* spf_symbol(const std::string& r) {
  if (r == "pass") return "R_SPF_ALLOW";
  if (r == "fail") return "R_SPF_FAIL";
  if (r == "softfail") return "R_SPF_SOFTFAIL";
  if (r == "neutral") return "R_SPF_NEUTRAL";
  if (r == "none") return "R_SPF_NA";
  if (r == "temperror") return "R_SPF_DNSFAIL";
  if (r == "permerror") return "R_SPF_PERMFAIL";
  return nullptr;
}

const char* dkim_symbol(const std::string& r) {
  if (r == "pass") return "R_DKIM_ALLOW";
  if (r == "fail") return "R_DKIM_REJECT";
  if (r == "none" || r == "neutral" || r == "policy") return "R_DKIM_NA";
  if (r == "temperror") return "R_DKIM_TEMPFAIL";
  if (r == "permerror") return "R_DKIM_PERMFAIL";
  return nullptr;
}

const char* dmarc_symbol(const std::string& r, std::string_view resinfo) {
  if (r == "pass") return "DMARC_POLICY_ALLOW";
  if (r == "fail") {
    if (resinfo.find("p=reject") != std::string_view::npos) return "DMARC_POLICY_REJECT";
    if (resinfo.find("p=quarantine") != std::string_view::npos) return "DMARC_POLICY_QUARANTINE";
    return "DMARC_POLICY_SOFTFAIL";
  }
  if (r == "none") return "DMARC_NA";
  if (r == "temperror") return "DMARC_DNSFAIL";
  if (r == "permerror") return "DMARC_BAD_POLICY";
  return nullptr;
}

}  // namespace

std::string rspamd_auth_settings(std::string_view value) {
  // RFC 8601 2.2: authserv-id, then "; method=result ..." resinfo; several DKIM results: the
  // best one counts (a pass among failures is a pass, as rspamd treats several signatures).
  std::string spf, dkim, dmarc;
  std::string_view dmarc_info;
  size_t pos = value.find(';');
  while (pos != std::string_view::npos) {
    size_t next = value.find(';', pos + 1);
    std::string_view info = value.substr(
        pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1);
    pos = next;
    size_t a = info.find_first_not_of(" \t\r\n");
    if (a == std::string_view::npos) continue;
    info = info.substr(a);
    size_t eq = info.find('=');
    if (eq == std::string_view::npos) continue;
    std::string method = core::ascii_lower(info.substr(0, eq));
    size_t end = eq + 1;
    while (end < info.size() && std::isalpha(static_cast<unsigned char>(info[end]))) ++end;
    std::string result = core::ascii_lower(info.substr(eq + 1, end - eq - 1));
    if (method == "spf" && spf.empty()) {
      spf = result;
    } else if (method == "dkim" && (dkim.empty() || result == "pass")) {
      dkim = result;
    } else if (method == "dmarc" && dmarc.empty()) {
      dmarc = result;
      dmarc_info = info;
    }
  }
  std::vector<std::string> groups, symbols;
  if (const char* s = spf_symbol(spf)) {
    groups.push_back("spf");
    symbols.push_back(s);
  }
  if (const char* s = dkim_symbol(dkim)) {
    groups.push_back("dkim");
    symbols.push_back(s);
  }
  if (const char* s = dmarc_symbol(dmarc, dmarc_info)) {
    groups.push_back("dmarc");
    symbols.push_back(s);
  }
  if (groups.empty()) return "";
  auto list = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", \"" : "\"") + v[i] + "\"";
    return out + "]";
  };
  return "{groups_disabled = " + list(groups) + "; symbols = " + list(symbols) + "}";
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
