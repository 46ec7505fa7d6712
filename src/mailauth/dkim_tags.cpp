// The tag-lists of DKIM (RFC 6376 3.2): the DKIM-Signature's tags (3.5) and the key record's
// (3.6.1), checked before any DNS or hashing is done. Every error is a permerror for the
// caller; the reason goes into the result's detail.
#include <algorithm>
#include <cctype>
#include <map>

#include "src/core/base64.h"
#include "src/mailauth/dkim_internal.h"
#include "src/mailauth/dkim_verify_internal.h"

namespace mailroom::mailauth::detail {
namespace {

// FWS is WSP and folds (CRLF WSP); a verifier reading folded input sees all four bytes.
bool dkimv_is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string dkimv_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view dkimv_trim(std::string_view s) {
  while (!s.empty() && dkimv_is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && dkimv_is_fws(s.back())) s.remove_suffix(1);
  return s;
}

bool dkimv_valid_tag_name(std::string_view name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

// A colon-separated list (h=, q=, key h=, s=, t=), items trimmed of FWS.
std::vector<std::string_view> dkimv_split_colons(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t colon = value.find(':', pos);
    std::size_t end = colon == std::string_view::npos ? value.size() : colon;
    out.push_back(dkimv_trim(value.substr(pos, end - pos)));
    if (colon == std::string_view::npos) return out;
    pos = colon + 1;
  }
}

bool dkimv_contains(const std::vector<std::string_view>& items, std::string_view wanted) {
  return std::any_of(items.begin(), items.end(),
                     [&](std::string_view item) { return dkimv_lower(item) == wanted; });
}

// 1*DIGIT of at most `max_digits` (t= and x= are 1*12DIGIT, l= 1*76DIGIT; a count beyond
// 18 digits cannot be true of any message or clock, so it is refused rather than wrapped).
bool dkimv_parse_number(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

core::Status dkimv_error(std::string why) { return core::invalid_argument(std::move(why)); }

// Decodes a base64 tag (b=, bh=, p=) after removing the FWS it may be folded with.
bool dkimv_decode(std::string_view value, std::string* out) {
  auto decoded = core::base64_decode(strip_fws(value));
  if (!decoded) return false;
  *out = std::move(*decoded);
  return true;
}

}  // namespace

std::string strip_fws(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (!dkimv_is_fws(c)) out.push_back(c);
  }
  return out;
}

core::Result<std::vector<DkimTag>> parse_tag_list(std::string_view text) {
  std::vector<DkimTag> tags;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t semi = text.find(';', pos);
    std::size_t end = semi == std::string_view::npos ? text.size() : semi;
    std::string_view spec = text.substr(pos, end - pos);
    if (dkimv_trim(spec).empty()) {
      // Only the tag-list's optional final ";" may leave nothing behind it.
      if (semi != std::string_view::npos || tags.empty()) {
        return dkimv_error(tags.empty() ? "empty tag-list" : "empty tag-spec (\";;\")");
      }
      break;
    }
    std::size_t eq = spec.find('=');
    if (eq == std::string_view::npos) {
      return dkimv_error("tag without \"=\": \"" + std::string(dkimv_trim(spec)) + "\"");
    }
    std::string_view name = dkimv_trim(spec.substr(0, eq));
    if (!dkimv_valid_tag_name(name)) {
      return dkimv_error("invalid tag name \"" + std::string(name) + "\"");
    }
    DkimTag tag;
    tag.name = std::string(name);
    tag.value_begin = pos + eq + 1;
    std::size_t value_start = tag.value_begin;
    while (value_start < end && dkimv_is_fws(text[value_start])) ++value_start;
    tag.value_end = end;
    while (tag.value_end > value_start && dkimv_is_fws(text[tag.value_end - 1])) --tag.value_end;
    tag.value = std::string(text.substr(value_start, tag.value_end - value_start));
    for (unsigned char c : tag.value) {
      if ((c < 0x21 && !dkimv_is_fws(static_cast<char>(c))) || c == 0x7f) {
        return dkimv_error("control character in " + tag.name + "=");
      }
    }
    if (std::any_of(tags.begin(), tags.end(), [&](const DkimTag& t) { return t.name == name; })) {
      return dkimv_error("duplicate tag " + tag.name + "=");
    }
    tags.push_back(std::move(tag));
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return tags;
}

core::Status parse_signature(std::string_view value, DkimSignatureTags* tags,
                             DkimSignatureResult* report) {
  auto list = parse_tag_list(value);
  if (!list) return list.status();
  std::map<std::string, const DkimTag*> by_name;
  for (const DkimTag& t : *list) by_name[t.name] = &t;
  auto find = [&by_name](const char* name) -> const DkimTag* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };

  // What the report shows, as written, before anything is judged.
  const DkimTag* d = find("d");
  const DkimTag* s = find("s");
  const DkimTag* a = find("a");
  const DkimTag* b = find("b");
  const DkimTag* i = find("i");
  if (d) report->domain = dkimv_lower(d->value);
  if (s) report->selector = dkimv_lower(s->value);
  if (a) report->algorithm = dkimv_lower(a->value);
  if (b) report->b_prefix = strip_fws(b->value).substr(0, 8);
  report->identity = i ? i->value : "@" + report->domain;

  // 3.5: v=, a=, b=, bh=, d=, h= and s= are required.
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"}) {
    if (!find(required)) return dkimv_error(std::string("missing ") + required + "= tag");
  }
  if (find("v")->value != "1") return dkimv_error("unsupported version v=" + find("v")->value);

  std::string algorithm = dkimv_lower(a->value);
  if (algorithm == "rsa-sha256") {
    tags->algorithm = DkimAlgorithm::rsa_sha256;
  } else if (algorithm == "ed25519-sha256") {
    tags->algorithm = DkimAlgorithm::ed25519_sha256;
  } else if (algorithm == "rsa-sha1") {
    return dkimv_error("a=rsa-sha1 is not accepted (RFC 8301)");
  } else {
    return dkimv_error("unknown algorithm a=" + a->value);
  }

  if (!dkimv_decode(b->value, &tags->signature) || tags->signature.empty()) {
    return dkimv_error("b= is not a base64 signature");
  }
  tags->b_begin = b->value_begin;
  tags->b_end = b->value_end;
  if (!dkimv_decode(find("bh")->value, &tags->body_hash) || tags->body_hash.empty()) {
    return dkimv_error("bh= is not a base64 hash");
  }

  if (const DkimTag* c = find("c")) {
    std::string canon = dkimv_lower(c->value);
    std::size_t slash = canon.find('/');
    auto read = [](std::string_view name, DkimCanonicalization* out) {
      if (name == "simple") {
        *out = DkimCanonicalization::simple;
      } else if (name == "relaxed") {
        *out = DkimCanonicalization::relaxed;
      } else {
        return false;
      }
      return true;
    };
    std::string_view whole = canon;
    if (!read(whole.substr(0, slash), &tags->header_canon) ||
        (slash != std::string_view::npos && !read(whole.substr(slash + 1), &tags->body_canon))) {
      return dkimv_error("unknown canonicalization c=" + c->value);
    }
  }

  auto domain = normalize_domain(d->value);
  if (!domain) return dkimv_error("invalid d=" + d->value);
  tags->domain = *domain;
  auto selector = normalize_selector(s->value);
  if (!selector) return dkimv_error("invalid s=" + s->value);
  tags->selector = *selector;

  // h=: a hostile list is refused before it costs anything (100 names is far beyond any
  // signer's list, over-signing included).
  auto names = dkimv_split_colons(find("h")->value);
  if (names.size() > kDkimMaxSignedHeaders) {
    return dkimv_error("h= names more than " + std::to_string(kDkimMaxSignedHeaders) +
                       " header fields");
  }
  tags->headers.clear();
  for (std::string_view name : names) {
    bool printable =
        std::all_of(name.begin(), name.end(), [](unsigned char c) { return c > ' ' && c <= '~'; });
    if (name.empty() || !printable) return dkimv_error("invalid header name in h=");
    tags->headers.push_back(dkimv_lower(name));
  }
  if (std::find(tags->headers.begin(), tags->headers.end(), "from") == tags->headers.end()) {
    return dkimv_error("h= does not sign From");  // 5.4: From MUST be signed
  }

  // i= (3.5): [local-part] "@" domain, the domain d= or a subdomain of it. The local-part may
  // be quoted and hold an "@", so the last one counts.
  tags->identity_domain = tags->domain;
  if (i) {
    std::size_t at = i->value.rfind('@');
    if (at == std::string::npos) return dkimv_error("i= without \"@\"");
    auto identity = normalize_domain(i->value.substr(at + 1));
    if (!identity) return dkimv_error("invalid domain in i=" + i->value);
    const std::string& id = *identity;
    bool inside = id == tags->domain || (id.size() > tags->domain.size() &&
                                         id.compare(id.size() - tags->domain.size(),
                                                    std::string::npos, tags->domain) == 0 &&
                                         id[id.size() - tags->domain.size() - 1] == '.');
    if (!inside) return dkimv_error("i= domain " + id + " is not d= or under it");
    tags->identity_domain = id;
  }

  tags->body_length.reset();
  if (const DkimTag* l = find("l")) {
    uint64_t n = 0;
    if (!dkimv_parse_number(l->value, &n)) return dkimv_error("invalid l=" + l->value);
    tags->body_length = n;
  }
  if (const DkimTag* q = find("q")) {
    if (!dkimv_contains(dkimv_split_colons(q->value), "dns/txt")) {
      return dkimv_error("unsupported query method q=" + q->value);
    }
  }
  tags->timestamp.reset();
  tags->expiration.reset();
  uint64_t n = 0;
  if (const DkimTag* t = find("t")) {
    if (!dkimv_parse_number(t->value, &n)) return dkimv_error("invalid t=" + t->value);
    tags->timestamp = static_cast<int64_t>(n);
  }
  if (const DkimTag* x = find("x")) {
    if (!dkimv_parse_number(x->value, &n)) return dkimv_error("invalid x=" + x->value);
    tags->expiration = static_cast<int64_t>(n);
  }
  if (tags->timestamp && tags->expiration && *tags->expiration < *tags->timestamp) {
    return dkimv_error("x= is before t=");  // 3.5: x= MUST be greater than t=
  }
  return core::Status::ok();
}

core::Result<DkimKeyRecord> parse_key_record(std::string_view text) {
  auto list = parse_tag_list(text);
  if (!list) return list.status();
  DkimKeyRecord record;
  bool have_p = false;
  for (std::size_t n = 0; n < list->size(); ++n) {
    const DkimTag& tag = (*list)[n];
    if (tag.name == "v") {
      // 3.6.1: if present, v= MUST be the first tag and be DKIM1.
      if (n != 0 || tag.value != "DKIM1") return dkimv_error("key record v= is not DKIM1 first");
    } else if (tag.name == "h") {
      if (!dkimv_contains(dkimv_split_colons(tag.value), "sha256")) {
        return dkimv_error("key record h=" + tag.value + " does not allow sha256");
      }
    } else if (tag.name == "k") {
      std::string k = dkimv_lower(tag.value);
      if (k == "rsa") {
        record.key_type = DkimAlgorithm::rsa_sha256;
      } else if (k == "ed25519") {
        record.key_type = DkimAlgorithm::ed25519_sha256;
      } else {
        return dkimv_error("unknown key type k=" + tag.value);
      }
    } else if (tag.name == "p") {
      have_p = true;
      // An empty p= is a revoked key (3.6.1): the caller fails the signature.
      if (!dkimv_decode(tag.value, &record.public_key)) {
        return dkimv_error("key record p= is not base64");
      }
    } else if (tag.name == "s") {
      auto services = dkimv_split_colons(tag.value);
      if (!dkimv_contains(services, "*") && !dkimv_contains(services, "email")) {
        return dkimv_error("key is not for email (s=" + tag.value + ")");
      }
    } else if (tag.name == "t") {
      for (std::string_view flag : dkimv_split_colons(tag.value)) {
        if (flag == "y") record.testing = true;
        if (flag == "s") record.strict = true;
      }
    }
  }
  if (!have_p) return dkimv_error("key record without p=");
  return record;
}

}  // namespace mailroom::mailauth::detail
