// libFuzzer target: the IMAP wire decoder and command parser on arbitrary bytes.
// Invariants: no crash, no leak, no unbounded recursion, and every parse either yields a
// command or a non-empty client-safe error message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/imap/proto/command.h"
#include "src/imap/proto/command_reader.h"
#include "src/imap/proto/metadata.h"
#include "src/imap/proto/utf7.h"

using namespace mailroom::imap::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ReaderLimits limits;
  limits.max_literal = 4096;
  limits.max_command = 16384;
  WireDecoder decoder(limits, 8192);
  for (const auto& ev : decoder.feed(in)) {
    if (ev.error || ev.continuation) continue;
    auto r = parse_command(ev.command_or_error);
    if (!r.ok() && r.error.message.empty()) __builtin_trap();
    if (r.ok()) {
      auto& c = *r.command;
      if (c.set.ranges.size() < 64) (void)c.set.expand(1000);
      // APPEND has 1*append-message (RFC 3502), REPLACE one message and one number (RFC 8508).
      if (c.name == "APPEND" && c.appends.empty()) __builtin_trap();
      if (c.name == "REPLACE" && (c.appends.size() != 1 || c.set.ranges.size() != 1))
        __builtin_trap();
      // "$" (RFC 5182) stands alone: a saved set carries no ranges, and REPLACE takes none.
      if (c.set.saved && (!c.set.ranges.empty() || c.name == "REPLACE")) __builtin_trap();
      // RFC 5464 3.2: every entry name the parser let through is canonical and valid again.
      for (const auto& e : c.metadata.entries) {
        auto again = metadata_entry_name(e, nullptr);
        if (!again || *again != e) __builtin_trap();
      }
      for (const auto& [e, v] : c.metadata.values) {
        if (!metadata_entry_name(e, nullptr)) __builtin_trap();
      }
      for (const auto& a : c.args) {
        if (auto u = mutf7_to_utf8(a)) {
          auto back = utf8_to_mutf7(*u);
          if (!back || *back != a) __builtin_trap();  // strict decoding round-trips exactly
        }
      }
    }
  }
  // The parser alone on the raw input, too (literals announced but short, etc.).
  auto r = parse_command(in);
  if (!r.ok() && r.error.message.empty()) __builtin_trap();
  return 0;
}
