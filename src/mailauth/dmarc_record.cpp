// The pure parsers of DMARC: the author domain of the From field (RFC 5322 3.4, 3.6.2) and
// the policy record (RFC 7489 6.3, 6.4).
#include <cctype>
#include <string>
#include <string_view>

#include "src/core/address.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth::detail {
namespace {

std::string_view dmarc_trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The mailbox being read: the text outside angle brackets (comments removed, quoted strings
// kept) and the angle-addr, when there is one.
struct DmarcMailbox {
  std::string outside;
  std::string angle;
  bool has_angle = false;
};

// The domain of one mailbox, in A-label form, or "" with *error set.
std::string dmarc_mailbox_domain(const DmarcMailbox& box, std::string* error) {
  std::string addr(dmarc_trim(box.has_angle ? box.angle : box.outside));
  // obs-route "<@relay1,@relay2:user@domain>".
  if (box.has_angle && !addr.empty() && addr.front() == '@') {
    std::size_t colon = addr.find(':');
    addr = colon == std::string::npos ? "" : addr.substr(colon + 1);
  }
  std::size_t at = std::string::npos;
  bool quoted = false;
  for (std::size_t i = 0; i < addr.size(); ++i) {
    if (quoted && addr[i] == '\\') {
      ++i;
    } else if (addr[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && addr[i] == '@') {
      at = i;
    }
  }
  if (at == std::string::npos) {
    *error = "From mailbox without a domain";
    return "";
  }
  std::string_view domain = dmarc_trim(std::string_view(addr).substr(at + 1));
  std::string ascii = psl_ascii_domain(domain);
  if (ascii.empty()) *error = "From domain is not a host name";
  return ascii;
}

// Every mailbox of one From value (RFC 5322 mailbox-list, and group syntax, which a From
// should not have but which costs nothing to read).
void dmarc_read_mailboxes(std::string_view value, DmarcAuthors* out) {
  DmarcMailbox box;
  int comment = 0;
  bool quoted = false, in_angle = false;
  auto finish = [&] {
    bool empty = !box.has_angle && dmarc_trim(box.outside).empty();
    if (!empty) {
      std::string error;
      std::string domain = dmarc_mailbox_domain(box, &error);
      if (domain.empty()) {
        if (out->error.empty()) out->error = error;
      } else {
        out->domains.push_back(std::move(domain));
      }
    }
    box = DmarcMailbox{};
  };
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    std::string& buf = in_angle ? box.angle : box.outside;
    if (comment > 0) {
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++comment;
      } else if (c == ')') {
        --comment;
      }
    } else if (quoted) {
      buf.push_back(c);
      if (c == '\\' && i + 1 < value.size()) {
        buf.push_back(value[++i]);
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
      buf.push_back(c);
    } else if (c == '(') {
      comment = 1;
      buf.push_back(' ');
    } else if (c == '<' && !in_angle) {
      in_angle = true;
      box.has_angle = true;
      box.angle.clear();
    } else if (c == '>' && in_angle) {
      in_angle = false;
    } else if (!in_angle && (c == ',' || c == ';')) {
      finish();
    } else if (!in_angle && c == ':') {
      box = DmarcMailbox{};  // a group's display name
    } else if (c == '\r' || c == '\n') {
      buf.push_back(' ');
    } else {
      buf.push_back(c);
    }
  }
  if (comment > 0 || quoted || in_angle) {
    if (out->error.empty()) out->error = "From field with an unterminated comment, quote or <>";
    return;
  }
  finish();
}

bool dmarc_read_policy(std::string_view v, DmarcPolicy* out) {
  if (core::iequals(v, "none")) {
    *out = DmarcPolicy::none;
  } else if (core::iequals(v, "quarantine")) {
    *out = DmarcPolicy::quarantine;
  } else if (core::iequals(v, "reject")) {
    *out = DmarcPolicy::reject;
  } else {
    return false;
  }
  return true;
}

// rua= holds at least one URI with a scheme (RFC 7489 6.4 dmarc-uri: URI [ "!" size ]).
bool dmarc_valid_rua(std::string_view v) {
  std::size_t start = 0;
  while (start <= v.size()) {
    std::size_t comma = v.find(',', start);
    if (comma == std::string_view::npos) comma = v.size();
    std::string_view uri = dmarc_trim(v.substr(start, comma - start));
    std::size_t colon = uri.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < uri.size() &&
        std::isalpha(static_cast<unsigned char>(uri[0]))) {
      bool scheme = true;
      for (std::size_t i = 0; i < colon; ++i) {
        auto u = static_cast<unsigned char>(uri[i]);
        scheme = scheme && (std::isalnum(u) || u == '+' || u == '-' || u == '.');
      }
      if (scheme) return true;
    }
    start = comma + 1;
  }
  return false;
}

}  // namespace

DmarcAuthors dmarc_author_domains(std::string_view message) {
  DmarcAuthors out;
  for (const ArField& f : ar_header_fields(message)) {
    if (!core::iequals(f.name, "From")) continue;
    ++out.from_fields;
    std::size_t before = out.domains.size();
    dmarc_read_mailboxes(f.value, &out);
    if (out.domains.size() == before && out.error.empty())
      out.error = "From field without a mailbox";
  }
  return out;
}

bool dmarc_is_record(std::string_view txt) {
  if (txt.empty() || txt.front() == ' ' || txt.front() == '\t') return false;
  std::string_view first = txt.substr(0, txt.find(';'));
  std::size_t eq = first.find('=');
  if (eq == std::string_view::npos) return false;
  // The tag is "v" exactly first (no leading space: ABNF dmarc-record); WSP around "=".
  return dmarc_trim(first.substr(0, eq)) == "v" && dmarc_trim(first.substr(eq + 1)) == "DMARC1";
}

DmarcRecord dmarc_parse_record(std::string_view txt) {
  DmarcRecord r;
  bool has_p = false, bad_p = false, bad_sp = false, rua = false;
  std::size_t start = 0;
  while (start <= txt.size()) {
    std::size_t semi = txt.find(';', start);
    if (semi == std::string_view::npos) semi = txt.size();
    std::string_view tag = txt.substr(start, semi - start);
    start = semi + 1;
    std::size_t eq = tag.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = dmarc_trim(tag.substr(0, eq));
    std::string_view value = dmarc_trim(tag.substr(eq + 1));
    if (core::iequals(name, "p")) {
      has_p = true;
      bad_p = !dmarc_read_policy(value, &r.p);
    } else if (core::iequals(name, "sp")) {
      r.has_sp = dmarc_read_policy(value, &r.sp);
      bad_sp = !r.has_sp;
    } else if (core::iequals(name, "adkim")) {
      r.strict_dkim = core::iequals(value, "s");
    } else if (core::iequals(name, "aspf")) {
      r.strict_spf = core::iequals(value, "s");
    } else if (core::iequals(name, "pct")) {
      int pct = 0;
      bool digits = !value.empty() && value.size() <= 3;
      for (char c : value) {
        digits = digits && std::isdigit(static_cast<unsigned char>(c));
        if (digits) pct = pct * 10 + (c - '0');
      }
      r.pct = digits && pct <= 100 ? pct : 100;
    } else if (core::iequals(name, "rua")) {
      rua = rua || dmarc_valid_rua(value);
    }
  }
  if (has_p && !bad_p && !bad_sp) {
    r.usable = true;
    return r;
  }
  std::string why = !has_p ? "no p= tag" : (bad_p ? "invalid p= tag" : "invalid sp= tag");
  if (rua) {
    // RFC 7489 6.6.3 step 6.1: as if the record said p=none.
    r.usable = true;
    r.p = DmarcPolicy::none;
    r.has_sp = false;
    r.detail = why + ", read as p=none (rua= present)";
  } else {
    r = DmarcRecord{};
    r.detail = why;
  }
  return r;
}

}  // namespace mailroom::mailauth::detail
