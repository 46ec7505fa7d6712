// The Authentication-Results header field (RFC 8601): writing ours, and removing the ones a
// sender forged in our name (section 5).
//
// Everything written is ASCII: DNS and peer data (DKIM d=, s=, b=, SPF and DKIM details) reach
// the header only as RFC 2045 tokens, quoted strings or comments, with CR, LF and other
// controls replaced, so no value can end the field or add one.
#include <cctype>
#include <string>
#include <string_view>

#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {
namespace {

constexpr std::size_t kArCommentMax = 200;

bool ar_tspecial(char c) {
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos;
}

// RFC 2045 token: printable ASCII without SP and tspecials.
bool ar_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || ar_tspecial(c)) return false;
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

bool ar_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
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

namespace detail {

std::vector<ArField> ar_header_fields(std::string_view message, std::size_t* header_end) {
  std::vector<ArField> fields;
  std::size_t at = 0;
  while (at < message.size()) {
    std::size_t eol = message.find('\n', at);
    std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = message.substr(at, next - at);
    if (line == "\r\n" || line == "\n") break;  // the end of the header block
    bool continuation = line.front() == ' ' || line.front() == '\t';
    if (continuation && !fields.empty()) {
      ArField& f = fields.back();
      f.end = next;
      if (!f.name.empty()) {
        f.value = std::string_view(
            f.value.data(), static_cast<std::size_t>(message.data() + next - f.value.data()));
      }
    } else {
      ArField f;
      f.begin = at;
      f.end = next;
      std::size_t colon = line.find(':');
      if (!continuation && colon != std::string_view::npos) {
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        bool printable = !name.empty();
        for (char c : name) printable = printable && c > 0x20 && c < 0x7f;
        if (printable) {
          f.name = name;
          f.value = message.substr(at + colon + 1, next - at - colon - 1);
        }
      }
      fields.push_back(f);
    }
    at = next;
  }
  if (header_end != nullptr) *header_end = at;
  return fields;
}

std::string ar_authserv_id(std::string_view value) {
  std::size_t i = 0;
  // CFWS: whitespace, folds and (nested) comments.
  while (i < value.size()) {
    char c = value[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      int depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\') {
          ++i;
        } else if (value[i] == '(') {
          ++depth;
        } else if (value[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else {
      break;
    }
  }
  std::string id;
  if (i < value.size() && value[i] == '"') {
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      if (value[i] != '\r' && value[i] != '\n') id += value[i];
    }
    return i < value.size() ? id : "";  // an unterminated quote claims nothing
  }
  for (; i < value.size(); ++i) {
    auto u = static_cast<unsigned char>(value[i]);
    if (u <= 0x20 || u == 0x7f || ar_tspecial(value[i])) break;
    id += value[i];
  }
  return id;
}

}  // namespace detail

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

std::string remove_forged_results(const std::string& message, const std::string& authserv_id) {
  std::size_t header_end = 0;
  std::vector<detail::ArField> fields = detail::ar_header_fields(message, &header_end);
  std::string out;
  out.reserve(message.size());
  for (const detail::ArField& f : fields) {
    // A field whose first token is our id claims to be ours, whatever follows it (a missing
    // ";" included): a lenient reader downstream would believe it.
    bool forged = !authserv_id.empty() && ar_iequal(f.name, "Authentication-Results") &&
                  ar_iequal(detail::ar_authserv_id(f.value), authserv_id);
    if (!forged) out.append(message, f.begin, f.end - f.begin);
  }
  out.append(message, header_end, std::string::npos);
  return out;
}

}  // namespace mailroom::mailauth
