// DkimSigner: the DKIM-Signature of RFC 6376 section 5, relaxed/relaxed, folded at 78 columns.
#include <algorithm>
#include <cctype>
#include <map>

#include "src/core/base64.h"
#include "src/core/clock.h"
#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth {
namespace {

constexpr std::size_t kMaxLine = 78;  // RFC 5322 2.1.1, without the CRLF

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Builds a folded header field: tokens joined by a space while the line stays within
// kMaxLine, otherwise by CRLF TAB (FWS, RFC 6376 3.2, so the break changes nothing the
// relaxed canonicalization sees but the space).
class Folder {
 public:
  explicit Folder(std::string start) : text_(std::move(start)), column_(text_.size()) {}

  // `token` after a space, or on a new line when it does not fit; with `spaced` false it
  // follows the text directly when it fits (the items of h=).
  void add(const std::string& token, bool spaced = true) {
    std::size_t space = spaced ? 1 : 0;
    if (column_ + space + token.size() > kMaxLine) {
      text_ += "\r\n\t";
      column_ = 1;
    } else if (spaced) {
      text_ += ' ';
      ++column_;
    }
    text_ += token;
    column_ += token.size();
  }
  // Appends a base64 value, which may be broken anywhere (FWS is allowed between its
  // characters): as much as fits on this line, the rest on lines of their own.
  void append_breakable(const std::string& value) {
    std::size_t pos = 0;
    while (pos < value.size()) {
      if (column_ >= kMaxLine) {
        text_ += "\r\n\t";
        column_ = 1;
      }
      std::size_t n = std::min(kMaxLine - column_, value.size() - pos);
      text_.append(value, pos, n);
      column_ += n;
      pos += n;
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::size_t column_;
};

class OpenSslDkimSigner final : public DkimSigner {
 public:
  OpenSslDkimSigner(DkimKey key, detail::PrivateKey private_key, DkimSignOptions options)
      : key_(std::move(key)), private_key_(std::move(private_key)), options_(std::move(options)) {}

  core::Result<std::string> sign(const std::string& message) const override {
    std::vector<detail::HeaderField> fields;
    std::string body;
    detail::split_message(message, &fields, &body);

    // Occurrences of each header name, top to bottom (names compared case-insensitively).
    std::map<std::string, std::vector<const detail::HeaderField*>> by_name;
    for (const auto& f : fields) {
      std::string name = f.name;
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
      by_name[lower(name)].push_back(&f);
    }
    if (!by_name.count("from")) {
      return core::invalid_argument("message has no From header; it cannot be DKIM-signed");
    }

    // h=: each configured header as often as it occurs, then From once more (over-signing:
    // that entry finds no instance when signing, so a From added later breaks the signature).
    std::vector<std::string> signed_names;
    std::vector<std::string> names = options_.headers;
    if (std::none_of(names.begin(), names.end(),
                     [](const std::string& n) { return lower(n) == "from"; })) {
      names.insert(names.begin(), "from");
    }
    std::map<std::string, bool> seen;
    for (const auto& configured : names) {
      std::string name = lower(configured);
      if (name.empty() || seen[name]) continue;
      seen[name] = true;
      auto it = by_name.find(name);
      std::size_t count = it == by_name.end() ? 0 : it->second.size();
      for (std::size_t i = 0; i < count; ++i) signed_names.push_back(name);
    }
    signed_names.push_back("from");

    // The header hash input (RFC 6376 3.7): the signed fields, each name taking its
    // instances from the bottom up (5.4.2), a name with none left contributing nothing.
    std::string data;
    std::map<std::string, std::size_t> used;
    for (const auto& name : signed_names) {
      const auto& instances = by_name[name];
      std::size_t& n = used[name];
      if (n >= instances.size()) continue;
      const detail::HeaderField* f = instances[instances.size() - 1 - n];
      ++n;
      data += relaxed_header(f->name, f->value);
      data += "\r\n";
    }

    int64_t t = options_.timestamp != 0 ? options_.timestamp : core::real_clock().unix_seconds();
    Folder header("DKIM-Signature:");
    header.add("v=1;");
    header.add(std::string("a=") + dkim_algorithm_name(key_.algorithm) + ";");
    header.add("c=relaxed/relaxed;");
    header.add("d=" + key_.domain + ";");
    header.add("s=" + key_.selector + ";");
    header.add("t=" + std::to_string(t) + ";");
    if (options_.expire_after > 0)
      header.add("x=" + std::to_string(t + options_.expire_after) + ";");
    // h= broken, where it must be, after a colon (FWS is allowed around them, 3.5).
    for (std::size_t i = 0; i < signed_names.size(); ++i) {
      std::string token = (i == 0 ? "h=" : "") + signed_names[i];
      token += i + 1 == signed_names.size() ? ";" : ":";
      header.add(token, /*spaced=*/i == 0);
    }
    header.add("bh=" + core::base64_encode(detail::sha256(relaxed_body(body))) + ";");
    header.add("b=");

    // The signature covers this field with b= empty and without its CRLF (3.7); what is
    // appended below is exactly what a verifier deletes before hashing.
    const std::string& unsigned_field = header.text();
    auto colon = unsigned_field.find(':');
    data += relaxed_header(unsigned_field.substr(0, colon), unsigned_field.substr(colon + 1));
    auto signature = private_key_.sign(data);
    if (!signature) return signature.status();
    header.append_breakable(core::base64_encode(*signature));
    return header.text() + "\r\n";
  }

 private:
  DkimKey key_;
  detail::PrivateKey private_key_;
  DkimSignOptions options_;
};

}  // namespace

core::Result<std::unique_ptr<DkimSigner>> DkimSigner::create(const DkimKey& key,
                                                             DkimSignOptions options) {
  auto domain = detail::normalize_domain(key.domain);
  if (!domain) return domain.status();
  auto selector = detail::normalize_selector(key.selector);
  if (!selector) return selector.status();
  // Header names (RFC 5322 2.2: printable ASCII but the colon) go into h= as they are.
  for (const auto& name : options.headers) {
    if (std::any_of(name.begin(), name.end(),
                    [](char c) { return c <= ' ' || c > '~' || c == ':'; })) {
      return core::invalid_argument("invalid header name \"" + name + "\" to sign");
    }
  }
  auto private_key = detail::PrivateKey::from_pem(key.private_key_pem);
  if (!private_key) return private_key.status();
  if (private_key->algorithm() != key.algorithm) {
    return core::invalid_argument(std::string("DKIM key is not ") +
                                  dkim_algorithm_name(key.algorithm));
  }
  DkimKey normalized = key;
  normalized.domain = *domain;
  normalized.selector = *selector;
  return std::unique_ptr<DkimSigner>(std::make_unique<OpenSslDkimSigner>(
      std::move(normalized), std::move(*private_key), std::move(options)));
}

}  // namespace mailroom::mailauth
