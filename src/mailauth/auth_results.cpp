// The Authentication-Results header field (RFC 8601): writing ours (auth_results_read.cpp
// removes the ones a sender forged in our name).
//
// Everything written is ASCII: DNS and peer data (DKIM d=, s=, b=, SPF and DKIM details) reach
// the header only as RFC 2045 tokens, quoted strings or comments, with CR, LF and other
// controls replaced, so no value can end the field or add one.
#include <cctype>
#include <string>
#include <string_view>

#include "src/core/address.h"
#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {
namespace {

constexpr std::size_t kArCommentMax = 200;

// RFC 2045 token: printable ASCII without SP and tspecials.
bool ar_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || detail::ar_tspecial(c)) return false;
  }
  return true;
}

// A quoted-string of `s`: '"' and '\' escaped, controls and non-ASCII replaced by '?'.
std::string ar_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// RFC 8601 "value": a token when it is one, else a quoted string.
std::string ar_value(std::string_view s) { return ar_token(s) ? std::string(s) : ar_quoted(s); }

bool ar_atext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool ar_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.' ? s[i - 1] == '.' : !ar_atext(s[i])) return false;
  }
  return true;
}

// RFC 8601 pvalue for smtp.mailfrom: [ [ local-part ] "@" ] domain-name, the local part a
// dot-atom or a quoted string (RFC 5322 3.4.1).
std::string ar_mailbox(std::string_view address) {
  std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return ar_value(address);
  std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  if (detail::psl_ascii_domain(domain).empty()) return ar_quoted(address);
  std::string out = ar_dot_atom(local) ? std::string(local) : ar_quoted(local);
  return out + "@" + std::string(domain);
}

// A comment " (text)" of untrusted text, or "" when nothing printable is left: CR, LF and
// other controls become spaces, non-ASCII '?', parentheses and backslashes are quoted-pairs
// (RFC 5322 3.2.2), so the comment always closes where we close it.
std::string ar_comment(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= kArCommentMax) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (u >= 0x80) {
      out += '?';
    } else if (c == '(' || c == ')' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c != ' ' || (!out.empty() && out.back() != ' ')) {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "" : " (" + out + ")";
}

// The resinfo of the SPF check: smtp.helo= when HELO was the identity checked (MAIL FROM <>),
// else smtp.mailfrom= with the envelope address when given, or the domain checked.
std::string ar_spf(const SpfOutcome& spf, const std::string& mail_from) {
  std::string out = std::string("spf=") + spf_result_name(spf.result);
  if (spf.result != SpfResult::pass) out += ar_comment(spf.detail);
  if (spf.identity == "helo") {
    if (!spf.domain.empty()) out += " smtp.helo=" + ar_value(spf.domain);
  } else if (!mail_from.empty()) {
    out += " smtp.mailfrom=" + ar_mailbox(mail_from);
  } else if (!spf.domain.empty()) {
    out += " smtp.mailfrom=" + ar_value(spf.domain);
  }
  return out;
}

std::string ar_dkim(const DkimSignatureResult& sig) {
  std::string out = std::string("dkim=") + dkim_result_name(sig.result);
  if (sig.result != DkimResult::pass) out += ar_comment(sig.detail);
  if (!sig.domain.empty()) out += " header.d=" + ar_value(sig.domain);
  if (!sig.selector.empty()) out += " header.s=" + ar_value(sig.selector);
  if (!sig.b_prefix.empty()) out += " header.b=" + ar_value(sig.b_prefix);
  return out;
}

std::string ar_dmarc(const DmarcOutcome& dmarc) {
  std::string out = std::string("dmarc=") + dmarc_result_name(dmarc.result);
  if (dmarc.result == DmarcResult::fail) {
    std::string why = std::string("p=") + dmarc_policy_name(dmarc.policy);
    if (dmarc.sampled_out) why += ", sampled out by pct=";
    out += ar_comment(why);
  } else if (dmarc.result != DmarcResult::pass) {
    out += ar_comment(dmarc.detail);
  }
  if (!dmarc.from_domain.empty()) out += " header.from=" + ar_value(dmarc.from_domain);
  return out;
}

}  // namespace

std::string authentication_results(const std::string& authserv_id, const SpfOutcome& spf,
                                   const DkimVerification& dkim, const DmarcOutcome& dmarc,
                                   const std::string& mail_from) {
  std::vector<std::string> results;
  results.push_back(ar_spf(spf, mail_from));
  if (dkim.signatures.empty()) results.emplace_back("dkim=none");
  for (const DkimSignatureResult& sig : dkim.signatures) results.push_back(ar_dkim(sig));
  results.push_back(ar_dmarc(dmarc));
  // One resinfo per line (RFC 5322 folding), so that no line nears the 998-octet limit.
  std::string out = "Authentication-Results: " + ar_value(authserv_id);
  for (const std::string& r : results) out += ";\r\n\t" + r;
  return out + "\r\n";
}

}  // namespace mailroom::mailauth
