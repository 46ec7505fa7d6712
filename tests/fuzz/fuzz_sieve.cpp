// libFuzzer target: Sieve scripts (RFC 5228) as a user uploads them through ManageSieve and
// as delivery reads them. Invariants: no crash, leak, UB or deep recursion (nesting is
// bounded); an error names a line and column; a parsed script parses again the same way after
// being accepted (the checker is deterministic).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/sieve/script.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mailroom::sieve::Limits limits;
  limits.max_script_bytes = 16384;
  auto r = mailroom::sieve::parse(in, limits);
  if (!r) {
    std::string m = r.status().client_message();
    if (r.code() == mailroom::core::Code::invalid_argument && m.rfind("line ", 0) != 0)
      __builtin_trap();
    return 0;
  }
  auto again = mailroom::sieve::parse(in, limits);
  if (!again || again->commands.size() != r->commands.size()) __builtin_trap();
  return 0;
}
