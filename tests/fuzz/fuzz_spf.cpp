// libFuzzer target: the SPF record grammar and macro expansion (RFC 7208 sections 7 and 12)
// on arbitrary bytes, as a TXT record or a domain-spec from DNS brings them. The first byte
// picks what is fuzzed (and an IPv4 or IPv6 client); the rest is the text. The sender, HELO
// name and addresses are fixed.
// Invariants: no crash, leak or UB; a parsed record has only valid cidr lengths and an IP
// network of the mechanism's family, and is parsed again the same from its terms; an expanded
// domain is at most 253 octets unless it is one label; an expansion outside explanations has
// no control character, nor a space unless "%_" asked for one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/mailauth/spf_internal.h"

using namespace mailroom::mailauth::spf_internal;

namespace {

SpfMacroContext fuzz_context(bool v6) {
  SpfMacroContext ctx;
  ctx.sender = "strong-bad+tag@email.example.com";
  ctx.local_part = "strong-bad+tag";
  ctx.sender_domain = "email.example.com";
  ctx.domain = "email.example.com";
  ctx.ip = *parse_spf_ip(v6 ? "2001:db8::cb01" : "192.0.2.3");
  ctx.helo = "mx.example.org";
  ctx.receiver = "mx.example.net";
  ctx.now = 1700000000;
  return ctx;
}

bool no_space_or_control(const std::string& s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

void check_record(std::string_view text) {
  SpfRecord record;
  std::string error;
  bool ok = parse_spf_record(text, &record, &error);
  if (!ok) {
    if (error.empty()) __builtin_trap();
    return;
  }
  if (!is_spf_record(text)) __builtin_trap();
  std::string again = "v=spf1";
  for (const SpfDirective& d : record.directives) {
    if (d.cidr4 < 0 || d.cidr4 > 32 || d.cidr6 < 0 || d.cidr6 > 128) __builtin_trap();
    if (d.mechanism == SpfMechanism::ip4 && d.network.v6) __builtin_trap();
    if (d.mechanism == SpfMechanism::ip6 && !d.network.v6) __builtin_trap();
    if (d.text.empty()) __builtin_trap();
    again += " " + d.text;
    (void)spf_prefix_match(d.network, fuzz_context(d.network.v6).ip,
                           d.network.v6 ? d.cidr6 : d.cidr4);
  }
  for (const auto* spec : {&record.redirect, &record.exp}) {
    if (*spec && !expand_spf_domain(**spec, fuzz_context(false))) __builtin_trap();
  }
  SpfRecord reparsed;
  if (!parse_spf_record(again, &reparsed, &error)) __builtin_trap();
  if (reparsed.directives.size() != record.directives.size()) __builtin_trap();
  for (const SpfDirective& d : record.directives) {
    if (!d.domain_spec.empty() && !expand_spf_domain(d.domain_spec, fuzz_context(true))) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const SpfMacroContext ctx = fuzz_context((data[0] & 0x80) != 0);
  switch (data[0] % 5) {
    case 0:
      check_record(text);
      break;
    case 1: {
      // Macro-literals are visible ASCII and the context holds no control character; "%_"
      // is the only way to a space.
      auto out = expand_spf_macros(text, ctx, false);
      if (out && text.find("%_") == std::string_view::npos && !no_space_or_control(*out)) {
        __builtin_trap();
      }
      break;
    }
    case 2:
      (void)expand_spf_macros(text, ctx, true);
      break;
    case 3: {
      auto out = expand_spf_domain(text, ctx);
      if (out && out->size() > 253 && out->find('.') != std::string::npos) __builtin_trap();
      if (out) (void)valid_spf_domain(*out);
      break;
    }
    default: {
      (void)valid_spf_domain(text);
      auto ip = parse_spf_ip(text);
      if (ip) (void)spf_prefix_match(*ip, ctx.ip, static_cast<int>(text.size()) - 20);
      break;
    }
  }
  return 0;
}
