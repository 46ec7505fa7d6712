// libFuzzer target: an SMTP session's input side on arbitrary bytes: command lines through
// the command parser, and after DATA the DataReader until the end of data, as the session
// does (split into lines the way net::Connection::read_line splits them).
// Invariants: no crash, leak or UB; every refusal has a code; an accepted message has only
// CRLF line ends (no bare LF or CR-LF mix a smuggler could use at the next hop); a parse error
// has a reply.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/smtp/proto/command.h"
#include "src/smtp/proto/data.h"
#include "tests/fakes/line_splitter.h"

using namespace mailroom::smtp::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  DataLimits limits;
  limits.reject_bare_lf = (data[0] & 1) != 0;
  limits.max_size = 1 + (data[0] >> 1) * 512;
  std::optional<DataReader> reading;
  for (const auto& line : mailroom::testing::split_wire_lines(in, 998)) {
    if (reading) {
      if (!reading->add_line(line.text, line.bare_lf, line.too_long)) continue;
      auto refusal = reading->refusal();
      std::string body = reading->take_body();
      if (refusal) {
        if (refusal->code < 500 || !refusal->text) __builtin_trap();
      } else if (has_bare_lf(body) || (!body.empty() && body.size() < 2) ||
                 (!body.empty() && body.compare(body.size() - 2, 2, "\r\n") != 0)) {
        __builtin_trap();
      }
      reading.reset();
      continue;
    }
    if (line.too_long) continue;
    auto parsed = parse_command(line.text);
    if (auto* reply = std::get_if<Reply>(&parsed)) {
      if (reply->code < 400 || reply->wire().empty()) __builtin_trap();
      continue;
    }
    const auto& cmd = std::get<Command>(parsed);
    if (cmd.verb == Verb::data) reading.emplace(limits);
    if (!cmd.envid.empty()) (void)decode_xtext(cmd.envid);
  }
  return 0;
}
