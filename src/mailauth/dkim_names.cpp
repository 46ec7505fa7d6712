// Algorithm names and the checks on domains and selectors: both become path components of
// the key store and DNS names in the TXT record, so anything else is refused.
#include <cctype>

#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth {
namespace {

// Dot-separated labels of letters, digits and hyphens, no hyphen at either end of a label
// (RFC 1035 2.3.1; RFC 6376 3.1 sub-domain for selectors), lower-cased into *out.
bool lower_dns_labels(const std::string& name, std::size_t max_total, std::string* out) {
  if (name.empty() || name.size() > max_total) return false;
  out->clear();
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (c == '-' && label == 0) return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    out->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return label > 0 && name.back() != '-';
}

}  // namespace

const char* dkim_algorithm_name(DkimAlgorithm a) {
  switch (a) {
    case DkimAlgorithm::rsa_sha256:
      return "rsa-sha256";
    case DkimAlgorithm::ed25519_sha256:
      return "ed25519-sha256";
  }
  return "rsa-sha256";
}

namespace detail {

core::Result<std::string> normalize_domain(const std::string& domain) {
  std::string name = domain;
  if (!name.empty() && name.back() == '.') name.pop_back();
  std::string out;
  if (!lower_dns_labels(name, 253, &out)) {
    return core::invalid_argument("invalid DKIM domain \"" + domain + "\"");
  }
  return out;
}

core::Result<std::string> normalize_selector(const std::string& selector) {
  std::string out;
  if (!lower_dns_labels(selector, 253, &out)) {
    return core::invalid_argument("invalid DKIM selector \"" + selector +
                                  "\" (letters, digits, hyphens; dots between labels)");
  }
  return out;
}

}  // namespace detail
}  // namespace mailroom::mailauth
