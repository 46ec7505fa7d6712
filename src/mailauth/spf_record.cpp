// The SPF record grammar (RFC 7208 section 12): the whole record is checked before anything
// is evaluated, since a syntax error anywhere is a permerror (4.6).
#include <arpa/inet.h>

#include "src/mailauth/spf_internal.h"

namespace mailroom::mailauth::spf_internal {
namespace {

bool spf_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool spf_digit(char c) { return c >= '0' && c <= '9'; }
bool spf_alnum(char c) { return spf_alpha(c) || spf_digit(c); }

std::string spf_lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool spf_toplabel(std::string_view label) {
  if (label.empty() || !spf_alnum(label.front()) || !spf_alnum(label.back())) return false;
  bool alpha = false;
  bool hyphen = false;
  for (char c : label) {
    if (c == '-') {
      hyphen = true;
    } else if (spf_alpha(c)) {
      alpha = true;
    } else if (!spf_digit(c)) {
      return false;
    }
  }
  return alpha || hyphen;
}

// Where the last macro-expand of a (syntactically valid) macro-string ends, 0 if none.
size_t spf_last_macro_end(std::string_view s) {
  size_t end = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%' || i + 1 >= s.size()) continue;
    if (s[i + 1] == '{') {
      size_t close = s.find('}', i);
      if (close == std::string_view::npos) return end;
      i = close;
    } else {
      ++i;
    }
    end = i + 1;
  }
  return end;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand.
bool spf_domain_spec(std::string_view spec) {
  if (spec.empty() || !expand_spf_macros(spec, SpfMacroContext{}, false)) return false;
  size_t macro_end = spf_last_macro_end(spec);
  if (macro_end == spec.size()) return true;
  std::string_view s = spec;
  if (s.back() == '.') s.remove_suffix(1);
  size_t dot = s.rfind('.');
  if (dot == std::string_view::npos || dot < macro_end) return false;
  return spf_toplabel(s.substr(dot + 1));
}

// "0" / %x31-39 *DIGIT, at most `max`. -1 when malformed or too large.
int spf_cidr(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return -1;
  int v = 0;
  for (char c : digits) {
    if (!spf_digit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v <= max ? v : -1;
}

// Removes a trailing "/digits" (not "//digits" unless `double_slash`) from `s`; returns the
// digits, or nullopt when there is none.
std::optional<std::string_view> spf_strip_cidr(std::string_view* s, bool double_slash) {
  size_t i = s->size();
  while (i > 0 && spf_digit((*s)[i - 1])) --i;
  if (i == s->size() || i == 0 || (*s)[i - 1] != '/') return std::nullopt;
  bool two = i >= 2 && (*s)[i - 2] == '/';
  if (two != double_slash) return std::nullopt;
  std::string_view digits = s->substr(i);
  s->remove_suffix(s->size() - i + (double_slash ? 2 : 1));
  return digits;
}

bool spf_parse_mechanism(std::string_view term, SpfDirective* d, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = "\"" + std::string(term) + "\": " + why;
    return false;
  };
  d->text = std::string(term);
  std::string_view t = term;
  switch (t.front()) {
    case '+':
      d->qualifier = SpfResult::pass;
      break;
    case '-':
      d->qualifier = SpfResult::fail;
      break;
    case '~':
      d->qualifier = SpfResult::softfail;
      break;
    case '?':
      d->qualifier = SpfResult::neutral;
      break;
    default:
      break;
  }
  if (t.front() == '+' || t.front() == '-' || t.front() == '~' || t.front() == '?') {
    t.remove_prefix(1);
  }
  size_t name_end = t.find_first_of(":/");
  std::string name = spf_lowered(t.substr(0, name_end));
  std::string_view rest = name_end == std::string_view::npos ? "" : t.substr(name_end);

  if (name == "all") {
    d->mechanism = SpfMechanism::all;
    return rest.empty() ? true : fail("\"all\" takes no argument");
  }
  if (name == "include" || name == "exists") {
    d->mechanism = name == "include" ? SpfMechanism::include : SpfMechanism::exists;
    if (rest.empty() || rest[0] != ':' || !spf_domain_spec(rest.substr(1))) {
      return fail("needs \":\" and a valid domain-spec");
    }
    d->domain_spec = std::string(rest.substr(1));
    return true;
  }
  if (name == "a" || name == "mx") {
    d->mechanism = name == "a" ? SpfMechanism::a : SpfMechanism::mx;
    if (auto v6 = spf_strip_cidr(&rest, true)) {
      if ((d->cidr6 = spf_cidr(*v6, 128)) < 0) return fail("bad ip6-cidr-length");
    }
    if (auto v4 = spf_strip_cidr(&rest, false)) {
      if ((d->cidr4 = spf_cidr(*v4, 32)) < 0) return fail("bad ip4-cidr-length");
    }
    if (rest.empty()) return true;
    if (rest[0] != ':' || !spf_domain_spec(rest.substr(1))) return fail("bad domain-spec");
    d->domain_spec = std::string(rest.substr(1));
    return true;
  }
  if (name == "ptr") {
    d->mechanism = SpfMechanism::ptr;
    if (rest.empty()) return true;
    if (rest[0] != ':' || !spf_domain_spec(rest.substr(1))) return fail("bad domain-spec");
    d->domain_spec = std::string(rest.substr(1));
    return true;
  }
  if (name == "ip4" || name == "ip6") {
    bool v6 = name == "ip6";
    d->mechanism = v6 ? SpfMechanism::ip6 : SpfMechanism::ip4;
    if (rest.empty() || rest[0] != ':') return fail("needs \":\" and a network");
    rest.remove_prefix(1);
    size_t slash = rest.find('/');
    std::string network(rest.substr(0, slash));
    if (slash != std::string_view::npos) {
      int bits = spf_cidr(rest.substr(slash + 1), v6 ? 128 : 32);
      if (bits < 0) return fail("bad cidr-length");
      (v6 ? d->cidr6 : d->cidr4) = bits;
    }
    d->network.v6 = v6;
    if (::inet_pton(v6 ? AF_INET6 : AF_INET, network.c_str(), d->network.bytes.data()) != 1) {
      return fail("bad network address");
    }
    return true;
  }
  return fail("unknown mechanism");
}

}  // namespace

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && spf_lowered(txt.substr(0, 6)) == "v=spf1" &&
         (txt.size() == 6 || txt[6] == ' ');
}

bool parse_spf_record(std::string_view txt, SpfRecord* record, std::string* error) {
  *record = SpfRecord{};
  if (!is_spf_record(txt)) {
    *error = "not an SPF record";
    return false;
  }
  size_t at = 6;
  while (at < txt.size()) {
    if (txt[at] == ' ') {
      ++at;
      continue;
    }
    size_t end = txt.find(' ', at);
    if (end == std::string_view::npos) end = txt.size();
    std::string_view term = txt.substr(at, end - at);
    at = end;

    // modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    size_t n = 0;
    if (spf_alpha(term[0])) {
      n = 1;
      while (n < term.size() &&
             (spf_alnum(term[n]) || term[n] == '-' || term[n] == '_' || term[n] == '.')) {
        ++n;
      }
    }
    if (n > 0 && n < term.size() && term[n] == '=') {
      std::string name = spf_lowered(term.substr(0, n));
      std::string_view value = term.substr(n + 1);
      if (name == "redirect" || name == "exp") {
        std::optional<std::string>& slot = name == "redirect" ? record->redirect : record->exp;
        if (slot) {
          *error = "more than one " + name + "= modifier";
          return false;
        }
        if (!spf_domain_spec(value)) {
          *error = "\"" + std::string(term) + "\": bad domain-spec";
          return false;
        }
        slot = std::string(value);
      } else if (!expand_spf_macros(value, SpfMacroContext{}, true)) {
        // Unknown modifiers are ignored (6), but their value is still a macro-string.
        *error = "\"" + std::string(term) + "\": bad macro-string";
        return false;
      }
      continue;
    }
    SpfDirective d;
    if (!spf_parse_mechanism(term, &d, error)) return false;
    record->directives.push_back(std::move(d));
  }
  return true;
}

}  // namespace mailroom::mailauth::spf_internal
