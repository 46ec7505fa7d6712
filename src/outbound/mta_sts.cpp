// MTA-STS records, policies and matching (RFC 8461 3.1, 3.2, 4.1) and the policy cache (5.1).
#include "src/outbound/mta_sts.h"

#include <algorithm>
#include <cctype>

#include "src/core/address.h"

namespace mailroom::outbound {
namespace {

bool sts_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view sts_trim(std::string_view s) {
  while (!s.empty() && sts_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sts_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool sts_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string sts_host(std::string_view h) {
  std::string out = core::ascii_lower(h);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// RFC 5321 Domain: dot-separated labels of letters, digits and inner hyphens.
bool sts_valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || !sts_alnum(label.front()) ||
        !sts_alnum(label.back())) {
      return false;
    }
    for (char c : label) {
      if (!sts_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool sts_fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

}  // namespace

const char* sts_mode_name(StsMode mode) {
  switch (mode) {
    case StsMode::enforce:
      return "enforce";
    case StsMode::testing:
      return "testing";
    case StsMode::none:
      break;
  }
  return "none";
}

bool sts_mx_matches(std::string_view pattern, std::string_view host) {
  std::string p = sts_host(pattern);
  std::string h = sts_host(host);
  if (p.empty() || h.empty()) return false;
  if (p.rfind("*.", 0) != 0) return p == h;
  // "*.example.net": one label, then exactly ".example.net".
  std::string_view suffix = std::string_view(p).substr(1);
  size_t first_dot = h.find('.');
  return first_dot != std::string::npos && first_dot > 0 &&
         std::string_view(h).substr(first_dot) == suffix;
}

bool StsPolicy::matches(std::string_view host) const {
  return std::any_of(mx.begin(), mx.end(),
                     [&](const std::string& p) { return sts_mx_matches(p, host); });
}

std::optional<StsPolicy> parse_sts_policy(std::string_view body, std::string* error) {
  StsPolicy policy;
  bool have_version = false;
  bool have_mode = false;
  bool have_max_age = false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find('\n', pos);
    std::string_view line = body.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? body.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (sts_trim(line).empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      sts_fail(error, "line without key: value");
      return std::nullopt;
    }
    std::string key = core::ascii_lower(line.substr(0, colon));
    std::string_view value = sts_trim(line.substr(colon + 1));
    for (char c : key) {
      if (!sts_alnum(c) && c != '_' && c != '-' && c != '.') {
        sts_fail(error, "bad key " + key);
        return std::nullopt;
      }
    }
    // RFC 8461 3.2: of a repeated field only the first counts, mx excepted.
    if (key == "version") {
      if (have_version) continue;
      have_version = true;
      if (value != "STSv1") {
        sts_fail(error, "version is not STSv1");
        return std::nullopt;
      }
    } else if (key == "mode") {
      if (have_mode) continue;
      have_mode = true;
      if (value == "enforce") {
        policy.mode = StsMode::enforce;
      } else if (value == "testing") {
        policy.mode = StsMode::testing;
      } else if (value == "none") {
        policy.mode = StsMode::none;
      } else {
        sts_fail(error, "unknown mode " + std::string(value));
        return std::nullopt;
      }
    } else if (key == "max_age") {
      if (have_max_age) continue;
      have_max_age = true;
      if (value.empty() || value.size() > 10 ||
          !std::all_of(value.begin(), value.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        sts_fail(error, "bad max_age");
        return std::nullopt;
      }
      policy.max_age = std::stoll(std::string(value));
      if (policy.max_age > kStsMaxAgeLimit) {
        sts_fail(error, "max_age above 31557600");
        return std::nullopt;
      }
    } else if (key == "mx") {
      std::string pattern = sts_host(value);
      std::string_view domain = pattern;
      if (domain.rfind("*.", 0) == 0) domain.remove_prefix(2);
      if (!sts_valid_domain(domain)) {
        sts_fail(error, "bad mx pattern " + std::string(value));
        return std::nullopt;
      }
      policy.mx.push_back(std::move(pattern));
    }
    // Other keys: extensions, ignored (RFC 8461 3.2).
  }
  if (!have_version) {
    sts_fail(error, "no version");
    return std::nullopt;
  }
  if (!have_mode) {
    sts_fail(error, "no mode");
    return std::nullopt;
  }
  if (!have_max_age) {
    sts_fail(error, "no max_age");
    return std::nullopt;
  }
  if (policy.mx.empty() && policy.mode != StsMode::none) {
    sts_fail(error, "no mx");
    return std::nullopt;
  }
  return policy;
}

std::optional<std::string> parse_sts_txt(const std::vector<std::string>& records,
                                         std::string* error) {
  // RFC 8461 3.1: sts-version = %s"v=STSv1", then fields separated by ";" with optional
  // whitespace around it.
  std::vector<std::string_view> candidates;
  for (const auto& r : records) {
    std::string_view v(r);
    if (v.rfind("v=STSv1", 0) != 0) continue;
    std::string_view rest = v.substr(7);
    if (!rest.empty() && rest.front() != ';' && !sts_wsp(rest.front())) continue;
    candidates.push_back(v);
  }
  if (candidates.empty()) {
    sts_fail(error, "no v=STSv1 record");
    return std::nullopt;
  }
  if (candidates.size() > 1) {
    sts_fail(error, "more than one v=STSv1 record");
    return std::nullopt;
  }
  std::string_view rest = candidates[0].substr(7);
  std::optional<std::string> id;
  while (!sts_trim(rest).empty()) {
    rest = sts_trim(rest);
    if (rest.front() != ';') {
      sts_fail(error, "missing ; in the record");
      return std::nullopt;
    }
    rest = sts_trim(rest.substr(1));
    if (rest.empty()) break;  // a trailing separator
    size_t end = rest.find(';');
    std::string_view field =
        sts_trim(rest.substr(0, end == std::string_view::npos ? rest.size() : end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == field.size()) {
      sts_fail(error, "malformed field in the record");
      return std::nullopt;
    }
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (name == "id") {
      if (id) continue;  // the first one counts
      if (value.size() > 32 || !std::all_of(value.begin(), value.end(), sts_alnum)) {
        sts_fail(error, "bad id");
        return std::nullopt;
      }
      id = std::string(value);
    } else if (std::any_of(value.begin(), value.end(),
                           [](char c) { return c <= ' ' || c == '=' || c > '~'; })) {
      sts_fail(error, "malformed extension field in the record");
      return std::nullopt;
    }
  }
  if (!id) {
    sts_fail(error, "no id in the record");
    return std::nullopt;
  }
  return id;
}

const StsCache::Entry* StsCache::find(const std::string& domain, int64_t now) {
  auto it = entries_.find(domain);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void StsCache::store(const std::string& domain, std::string id, StsPolicy policy, int64_t now) {
  if (max_entries_ == 0) return;
  if (entries_.size() >= max_entries_ && entries_.count(domain) == 0) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
      return a.second.expires < b.second.expires;
    });
    entries_.erase(oldest);
  }
  int64_t expires = now + policy.max_age;
  entries_[domain] = Entry{std::move(id), std::move(policy), expires};
}

}  // namespace mailroom::outbound
