// The Public Suffix List (https://publicsuffix.org/list/, "Formal algorithm") and the
// organizational domain of RFC 7489 3.2.
//
// Both sections of the list are used, ICANN and PRIVATE, as OpenDMARC and most DMARC
// implementations do: a PRIVATE entry such as github.io makes alice.github.io and
// bob.github.io different organizations, which is what their owners are. The list's labels
// are UTF-8 (U-labels) while mail carries A-labels, so every rule is converted with the
// Punycode encoder below; domains looked up go through the same conversion.
#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {

struct PublicSuffixList::Rules {
  std::unordered_set<std::string> exact;       // "co.uk"
  std::unordered_set<std::string> wildcard;    // "ck" for "*.ck"
  std::unordered_set<std::string> exceptions;  // "www.ck" for "!www.ck"
};

namespace {

// RFC 3492 6.1 bias adaptation, with the parameters of section 5.
constexpr uint32_t kPslBase = 36, kPslTmin = 1, kPslTmax = 26, kPslSkew = 38, kPslDamp = 700;

uint32_t psl_adapt(uint32_t delta, uint32_t points, bool first) {
  delta = first ? delta / kPslDamp : delta / 2;
  delta += delta / points;
  uint32_t k = 0;
  while (delta > ((kPslBase - kPslTmin) * kPslTmax) / 2) {
    delta /= kPslBase - kPslTmin;
    k += kPslBase;
  }
  return k + (kPslBase - kPslTmin + 1) * delta / (delta + kPslSkew);
}

char psl_digit(uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26)); }

bool psl_decode_utf8(std::string_view s, std::vector<uint32_t>* out) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    std::size_t n = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f, n = 1;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f, n = 2;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07, n = 3;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past Unicode are not text.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    out->push_back(cp);
    i += n + 1;
  }
  return true;
}

// The list's "formal algorithm": the public suffix of `labels` (a lower-case A-label domain
// split at its dots), as the number of trailing labels it covers.
using PslSet = std::unordered_set<std::string>;
std::size_t psl_suffix_labels(const PslSet& exact, const PslSet& wildcard, const PslSet& exceptions,
                              const std::vector<std::string>& labels) {
  const std::size_t n = labels.size();
  std::vector<std::string> suffixes(n);  // suffixes[i] = labels[i..n) joined
  for (std::size_t i = n; i-- > 0;) {
    suffixes[i] = i + 1 < n ? labels[i] + "." + suffixes[i + 1] : labels[i];
  }
  // An exception rule prevails over every other; its public suffix drops its first label.
  for (std::size_t i = 0; i < n; ++i) {
    if (exceptions.count(suffixes[i]) != 0) return n - i - 1;
  }
  // Else the matching rule with the most labels; "*.ck" covers foo.ck, not ck itself.
  for (std::size_t i = 0; i < n; ++i) {
    if (exact.count(suffixes[i]) != 0) return n - i;
    if (i + 1 < n && wildcard.count(suffixes[i + 1]) != 0) return n - i;
  }
  return 1;  // the implicit rule "*"
}

}  // namespace

namespace detail {

bool psl_punycode(std::string_view utf8_label, std::string* out) {
  std::vector<uint32_t> cps;
  if (!psl_decode_utf8(utf8_label, &cps)) return false;
  out->clear();
  for (uint32_t cp : cps) {
    if (cp < 0x80) out->push_back(static_cast<char>(cp));
  }
  const auto basic = static_cast<uint32_t>(out->size());
  uint32_t handled = basic;
  if (basic > 0) out->push_back('-');
  uint32_t n = 0x80, delta = 0, bias = 72;
  while (handled < cps.size()) {
    uint32_t m = UINT32_MAX;
    for (uint32_t cp : cps) {
      if (cp >= n && cp < m) m = cp;
    }
    // A DNS label is at most 63 octets: anything this long overflows nothing below.
    if (static_cast<uint64_t>(m - n) * (handled + 1) + delta > UINT32_MAX / 2) return false;
    delta += (m - n) * (handled + 1);
    n = m;
    for (uint32_t cp : cps) {
      if (cp < n) ++delta;
      if (cp != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kPslBase;; k += kPslBase) {
        uint32_t t = k <= bias ? kPslTmin : (k >= bias + kPslTmax ? kPslTmax : k - bias);
        if (q < t) break;
        out->push_back(psl_digit(t + (q - t) % (kPslBase - t)));
        q = (q - t) / (kPslBase - t);
      }
      out->push_back(psl_digit(q));
      bias = psl_adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out->size() <= 59;  // room for "xn--"
}

std::string psl_ascii_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return "";
  std::string out;
  std::size_t start = 0;
  while (start <= domain.size()) {
    std::size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) return "";
    std::string lower;
    bool ascii = true;
    for (char c : label) {
      auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) {
        ascii = false;
      } else if (std::isalnum(u) || c == '-' || c == '_') {
        u = static_cast<unsigned char>(std::tolower(u));
      } else {
        return "";
      }
      lower.push_back(static_cast<char>(u));
    }
    if (!ascii) {
      std::string encoded;
      if (!psl_punycode(lower, &encoded)) return "";
      lower = "xn--" + encoded;
    }
    if (lower.size() > 63) return "";
    if (!out.empty()) out.push_back('.');
    out += lower;
    start = dot + 1;
  }
  return out.size() <= 253 ? out : "";
}

}  // namespace detail

std::shared_ptr<const PublicSuffixList> PublicSuffixList::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return nullptr;
  auto list = from_text(text.str());
  if (list->rules_->exact.empty()) return nullptr;  // not a suffix list
  return list;
}

std::shared_ptr<const PublicSuffixList> PublicSuffixList::from_text(const std::string& text) {
  auto rules = std::make_shared<Rules>();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // A rule is the line up to its first whitespace; "//" starts a comment line. The section
    // markers (===BEGIN ICANN DOMAINS===, ===BEGIN PRIVATE DOMAINS===) are comments too:
    // both sections are read.
    std::size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos || line.compare(begin, 2, "//") == 0) continue;
    std::size_t end = line.find_first_of(" \t\r", begin);
    std::string_view rule(line.data() + begin,
                          (end == std::string::npos ? line.size() : end) - begin);
    auto* set = &rules->exact;
    if (rule.front() == '!') {
      set = &rules->exceptions;
      rule.remove_prefix(1);
    } else if (rule.substr(0, 2) == "*.") {
      set = &rules->wildcard;
      rule.remove_prefix(2);
    }
    std::string ascii = detail::psl_ascii_domain(rule);
    if (!ascii.empty()) set->insert(std::move(ascii));  // else not a rule we can match
  }
  auto list = std::make_shared<PublicSuffixList>();
  list->rules_ = std::move(rules);
  return list;
}

std::string PublicSuffixList::organizational_domain(const std::string& domain) const {
  std::string ascii = detail::psl_ascii_domain(domain);
  if (ascii.empty()) return "";
  std::vector<std::string> labels;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = ascii.find('.', start);
    labels.push_back(ascii.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::size_t suffix =
      psl_suffix_labels(rules_->exact, rules_->wildcard, rules_->exceptions, labels);
  // RFC 7489 3.2 step 4 prefixes one more label to the public suffix. A domain that is itself
  // a public suffix has none to add; like OpenDMARC we answer the domain itself.
  if (suffix >= labels.size()) return ascii;
  std::string out = labels[labels.size() - suffix - 1];
  for (std::size_t i = labels.size() - suffix; i < labels.size(); ++i) out += "." + labels[i];
  return out;
}

}  // namespace mailroom::mailauth
