// libFuzzer target: what DMARC (RFC 7489) reads from a message and from DNS, on arbitrary
// bytes: the author domains of the From fields, the DMARC record, the removal of forged
// Authentication-Results (RFC 8601 5), and the organizational domain over a small Public
// Suffix List (with wildcard, exception and UTF-8 rules). The first byte picks what is
// fuzzed; the rest is the text.
// Invariants: no crash, leak or UB; author domains are A-labels that map to themselves and
// have an organizational domain that ends them; a record's pct is 0..100; removing forged
// results only removes whole fields, keeps the body and is idempotent; an organizational
// domain is the lookup name or ends it at a label boundary.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

using namespace mailroom::mailauth;
using namespace mailroom::mailauth::detail;

namespace {

const PublicSuffixList& fuzz_psl() {
  static const std::shared_ptr<const PublicSuffixList> psl = PublicSuffixList::from_text(
      "// ===BEGIN ICANN DOMAINS===\n"
      "com\nnet\norg\nuk\nco.uk\n*.ck\n!www.ck\njp\n*.kawasaki.jp\n!city.kawasaki.jp\n"
      "\xe5\x85\xac\xe5\x8f\xb8.cn\ncn\n"
      "// ===END ICANN DOMAINS===\n"
      "// ===BEGIN PRIVATE DOMAINS===\n"
      "github.io\nblogspot.com\n"
      "// ===END PRIVATE DOMAINS===\n");
  return *psl;
}

bool ends_at_label(const std::string& name, const std::string& suffix) {
  if (suffix.size() > name.size()) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  return suffix.size() == name.size() || name[name.size() - suffix.size() - 1] == '.';
}

void check_organizational(std::string_view text) {
  const std::string domain(text);
  std::string org = fuzz_psl().organizational_domain(domain);
  std::string ascii = psl_ascii_domain(domain);
  if (org.empty() != ascii.empty()) __builtin_trap();
  if (ascii.empty()) return;
  if (psl_ascii_domain(ascii) != ascii) __builtin_trap();
  if (!ends_at_label(ascii, org)) __builtin_trap();
  if (fuzz_psl().organizational_domain(org) != org) __builtin_trap();
}

void check_authors(std::string_view text) {
  DmarcAuthors authors = dmarc_author_domains(text);
  if (authors.from_fields == 0 && !authors.domains.empty()) __builtin_trap();
  for (const std::string& d : authors.domains) {
    if (d.empty() || psl_ascii_domain(d) != d) __builtin_trap();
    if (!ends_at_label(d, fuzz_psl().organizational_domain(d))) __builtin_trap();
  }
}

void check_record(std::string_view text) {
  if (!dmarc_is_record(text)) return;
  DmarcRecord r = dmarc_parse_record(text);
  if (r.pct < 0 || r.pct > 100) __builtin_trap();
}

void check_forged(std::string_view text) {
  const std::string message(text);
  std::size_t header_end = 0;
  auto fields = ar_header_fields(message, &header_end);
  std::size_t at = 0;
  for (const ArField& f : fields) {
    if (f.begin != at || f.end <= f.begin || f.end > header_end) __builtin_trap();
    at = f.end;
    (void)ar_authserv_id(f.value);
  }
  if (at != header_end || header_end > message.size()) __builtin_trap();
  std::string cleaned = remove_forged_results(message, "mx.example.org");
  if (cleaned.size() > message.size()) __builtin_trap();
  const std::size_t body = message.size() - header_end;
  if (cleaned.compare(cleaned.size() - body, body, message, header_end, body) != 0) {
    __builtin_trap();
  }
  if (remove_forged_results(cleaned, "mx.example.org") != cleaned) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      check_authors(text);
      break;
    case 1:
      check_record(text);
      break;
    case 2:
      check_forged(text);
      break;
    default:
      check_organizational(text);
      break;
  }
  return 0;
}
