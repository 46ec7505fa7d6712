// c-ares parses the records; this file adds the TTLs ares_parse_mx_reply and
// ares_parse_txt_reply_ext leave out (c-ares 1.18 has no ares_dns_record API) and the SOA
// minimum of negative answers, by walking the sections with ares_expand_name.
#include "src/dns/answers.h"

#include <ares.h>
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace mailroom::dns {
namespace {

// More addresses than this for one name are not used (a reply that large is not normal).
constexpr int kMaxAddressesPerReply = 64;
// RFC 1035 4.1: the header; a question's type and class; a record's type, class, TTL, length.
constexpr long kHeaderSize = 12;
constexpr long kQuestionFixedSize = 4;
constexpr long kRecordFixedSize = 10;

uint16_t read_be16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t read_be32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}
// RFC 2181 section 8: a TTL with the top bit set counts as zero.
uint32_t sane_ttl(uint32_t ttl) { return ttl > 0x7fffffffU ? 0 : ttl; }

// The length of the (possibly compressed) name at `p` on the wire, or -1.
long wire_name_length(const unsigned char* p, const unsigned char* abuf, int alen) {
  char* name = nullptr;
  long length = 0;
  if (ares_expand_name(p, abuf, alen, &name, &length) != ARES_SUCCESS) {
    return -1;
  }
  ares_free_string(name);
  return length;
}

struct ReplyTtls {
  bool have_answer_ttl = false;
  uint32_t answer_ttl = 0;  // the smallest TTL in the answer section (CNAMEs included)
  bool have_soa = false;
  uint32_t negative_ttl = 0;  // min(SOA TTL, SOA MINIMUM) from the authority section
};

ReplyTtls scan_reply_ttls(const unsigned char* abuf, int alen) {
  ReplyTtls r;
  if (abuf == nullptr || alen < kHeaderSize) {
    return r;
  }
  const unsigned char* end = abuf + alen;
  const unsigned questions = read_be16(abuf + 4);
  const unsigned answers = read_be16(abuf + 6);
  const unsigned authority = read_be16(abuf + 8);
  const unsigned char* p = abuf + kHeaderSize;
  for (unsigned i = 0; i < questions; ++i) {
    long n = wire_name_length(p, abuf, alen);
    if (n < 0 || end - p < n + kQuestionFixedSize) {
      return ReplyTtls{};
    }
    p += n + kQuestionFixedSize;
  }
  for (unsigned i = 0; i < answers + authority; ++i) {
    long n = wire_name_length(p, abuf, alen);
    if (n < 0 || end - p < n + kRecordFixedSize) {
      return ReplyTtls{};
    }
    p += n;
    const uint16_t type = read_be16(p);
    const uint32_t ttl = sane_ttl(read_be32(p + 4));
    const uint16_t rdlength = read_be16(p + 8);
    p += kRecordFixedSize;
    if (end - p < rdlength) {
      return ReplyTtls{};
    }
    if (i < answers) {
      r.answer_ttl = r.have_answer_ttl ? std::min(r.answer_ttl, ttl) : ttl;
      r.have_answer_ttl = true;
    } else if (type == kTypeSoa && rdlength >= 4) {
      // SOA RDATA ends with SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 3.3.13).
      r.negative_ttl = std::min(ttl, sane_ttl(read_be32(p + rdlength - 4)));
      r.have_soa = true;
    }
    p += rdlength;
  }
  return r;
}

std::string lower_host(const char* host) {
  std::string h = host == nullptr ? "" : host;
  while (!h.empty() && h.back() == '.') {
    h.pop_back();
  }
  for (char& c : h) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return h;
}

int parse_mx(const unsigned char* abuf, int alen, Answer* a) {
  ares_mx_reply* head = nullptr;
  int rc = ares_parse_mx_reply(abuf, alen, &head);
  if (rc != ARES_SUCCESS) {
    return rc;
  }
  for (ares_mx_reply* r = head; r != nullptr; r = r->next) {
    // c-ares expands the root name "." of a null MX (RFC 7505) to "".
    a->mx.push_back(Mx{r->priority, lower_host(r->host)});
  }
  ares_free_data(head);
  // A null MX is only meaningful alone; next to real hosts the "." is nothing to connect to.
  if (a->mx.size() > 1) {
    std::erase_if(a->mx, [](const Mx& m) { return m.host.empty(); });
  }
  return a->mx.empty() ? ARES_ENODATA : ARES_SUCCESS;
}

int parse_a(const unsigned char* abuf, int alen, Answer* a) {
  std::array<ares_addrttl, kMaxAddressesPerReply> ttls{};
  int n = static_cast<int>(ttls.size());
  int rc = ares_parse_a_reply(abuf, alen, nullptr, ttls.data(), &n);
  if (rc != ARES_SUCCESS) {
    return rc;
  }
  for (int i = 0; i < n; ++i) {
    char text[INET_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof text) != nullptr) {
      a->items.emplace_back(text);
    }
    uint32_t ttl = sane_ttl(static_cast<uint32_t>(std::max(ttls[i].ttl, 0)));
    a->ttl = i == 0 ? ttl : std::min(a->ttl, ttl);
  }
  return a->items.empty() ? ARES_ENODATA : ARES_SUCCESS;
}

int parse_aaaa(const unsigned char* abuf, int alen, Answer* a) {
  std::array<ares_addr6ttl, kMaxAddressesPerReply> ttls{};
  int n = static_cast<int>(ttls.size());
  int rc = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls.data(), &n);
  if (rc != ARES_SUCCESS) {
    return rc;
  }
  for (int i = 0; i < n; ++i) {
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET6, &ttls[i].ip6addr, text, sizeof text) != nullptr) {
      a->items.emplace_back(text);
    }
    uint32_t ttl = sane_ttl(static_cast<uint32_t>(std::max(ttls[i].ttl, 0)));
    a->ttl = i == 0 ? ttl : std::min(a->ttl, ttl);
  }
  return a->items.empty() ? ARES_ENODATA : ARES_SUCCESS;
}

int parse_txt(const unsigned char* abuf, int alen, Answer* a) {
  ares_txt_ext* head = nullptr;
  int rc = ares_parse_txt_reply_ext(abuf, alen, &head);
  if (rc != ARES_SUCCESS) {
    return rc;
  }
  // One record may hold several <character-string>s (each at most 255 bytes); SPF and DKIM
  // (RFC 7208 3.3, RFC 6376 3.6.2.2) read them joined without separators.
  for (ares_txt_ext* t = head; t != nullptr; t = t->next) {
    if (t->record_start || a->items.empty()) {
      a->items.emplace_back();
    }
    a->items.back().append(reinterpret_cast<const char*>(t->txt), t->length);
  }
  ares_free_data(head);
  return a->items.empty() ? ARES_ENODATA : ARES_SUCCESS;
}

}  // namespace

const char* type_name(int type) {
  switch (type) {
    case kTypeMx:
      return "MX";
    case kTypeA:
      return "A";
    case kTypeAaaa:
      return "AAAA";
    case kTypeTxt:
      return "TXT";
    default:
      return "?";
  }
}

bool normalize_name(std::string_view name, std::string* out) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::string result;
  result.reserve(name.size());
  size_t label = 0;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') {
      return false;
    }
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
    } else if (++label > 63) {
      return false;
    }
    result.push_back(static_cast<char>(std::tolower(u)));
  }
  *out = std::move(result);
  return true;
}

Answer interpret_reply(int type, int status, const unsigned char* abuf, int alen,
                       int64_t negative_ttl_max) {
  Answer a;
  if (status == ARES_SUCCESS) {
    switch (type) {
      case kTypeMx:
        status = parse_mx(abuf, alen, &a);
        break;
      case kTypeA:
        status = parse_a(abuf, alen, &a);
        break;
      case kTypeAaaa:
        status = parse_aaaa(abuf, alen, &a);
        break;
      case kTypeTxt:
        status = parse_txt(abuf, alen, &a);
        break;
      default:
        status = ARES_ENOTIMP;
    }
    if (status == ARES_SUCCESS) {
      a.outcome = Outcome::ok;
      if (type == kTypeMx || type == kTypeTxt) {
        ReplyTtls ttls = scan_reply_ttls(abuf, alen);
        a.ttl = ttls.have_answer_ttl ? ttls.answer_ttl : 0;
      }
      a.ttl = std::min(a.ttl, kMaxPositiveTtl);
      return a;
    }
    a.mx.clear();
    a.items.clear();
    a.ttl = 0;
  }
  switch (status) {
    case ARES_ENOTFOUND:
      a.outcome = Outcome::nxdomain;
      a.detail = "domain does not exist (NXDOMAIN)";
      break;
    case ARES_ENODATA:
      a.outcome = Outcome::nodata;
      a.detail = std::string("no ") + type_name(type) + " records";
      break;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      a.outcome = Outcome::temporary;
      a.detail = "lookup cancelled: resolver shut down";
      return a;
    default:
      a.outcome = Outcome::temporary;
      a.detail = ares_strerror(status);
      return a;
  }
  ReplyTtls ttls = scan_reply_ttls(abuf, alen);
  if (ttls.have_soa && negative_ttl_max > 0) {
    a.ttl = static_cast<uint32_t>(
        std::min<int64_t>(ttls.negative_ttl, std::min<int64_t>(negative_ttl_max, kMaxPositiveTtl)));
  }
  return a;
}

}  // namespace mailroom::dns
