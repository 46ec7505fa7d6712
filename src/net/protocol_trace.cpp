#include "src/net/protocol_trace.h"

#include <algorithm>

#include "src/core/address.h"
#include "src/core/log.h"

namespace mailroom::net {

namespace {

constexpr std::size_t kMaxLoggedLine = 200;
constexpr int kMaxLinesPerWrite = 40;

// Splits off the first space-separated word.
std::string_view next_word(std::string_view& rest) {
  std::size_t sp = rest.find(' ');
  std::string_view w = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return w;
}

// Keeps the first `keep` words and replaces the rest of the line by <secret>.
std::string keep_words(std::string_view line, int keep) {
  std::string_view rest = line;
  std::string out;
  for (int i = 0; i < keep && !rest.empty(); ++i) {
    if (!out.empty()) out += ' ';
    out += next_word(rest);
  }
  if (!rest.empty()) out += " <secret>";
  return out;
}

}  // namespace

std::string mask_client_line(std::string_view protocol, std::string_view line) {
  std::string_view rest = line;
  if (protocol == "imap") {
    std::string_view tag = next_word(rest);
    std::string_view verb = next_word(rest);
    (void)tag;
    // RFC 3501 6.2.3 LOGIN user password; 6.2.2 AUTHENTICATE mech [initial-response] (RFC 4959).
    if (core::iequals(verb, "LOGIN")) return keep_words(line, 3);
    if (core::iequals(verb, "AUTHENTICATE")) return keep_words(line, 3);
    return std::string(line);
  }
  std::string_view verb = next_word(rest);
  if (protocol == "pop3") {
    if (core::iequals(verb, "PASS")) return keep_words(line, 1);
    if (core::iequals(verb, "APOP")) return keep_words(line, 2);
    if (core::iequals(verb, "AUTH")) return keep_words(line, 2);  // RFC 5034 initial response
    return std::string(line);
  }
  if (core::iequals(verb, "AUTH")) return keep_words(line, 2);  // RFC 4954 initial response
  return std::string(line);
}

void ProtocolTrace::client(std::string_view line, bool secret) {
  std::string shown = secret ? std::string("<secret>") : mask_client_line(protocol_, line);
  if (shown.size() > kMaxLoggedLine) {
    shown.resize(kMaxLoggedLine);
    shown += "...";
  }
  MR_LOG_INFO("event=protocol.trace session={} account={} dir=C line={}", session_id_,
              account_.empty() ? "-" : account_, core::quote(shown));
}

void ProtocolTrace::literal(std::size_t octets) {
  MR_LOG_INFO("event=protocol.trace session={} account={} dir=C literal_octets={}", session_id_,
              account_.empty() ? "-" : account_, octets);
}

void ProtocolTrace::server(std::string_view data) {
  int lines = 0;
  std::size_t skipped_lines = 0, skipped_bytes = 0;
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    std::string_view l = data.substr(0, nl == std::string_view::npos ? data.size() : nl + 1);
    data.remove_prefix(l.size());
    if (lines >= kMaxLinesPerWrite) {
      ++skipped_lines;
      skipped_bytes += l.size();
      continue;
    }
    ++lines;
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.remove_suffix(1);
    std::string shown(l.substr(0, kMaxLoggedLine));
    if (l.size() > kMaxLoggedLine) shown += "...";
    MR_LOG_INFO("event=protocol.trace session={} account={} dir=S line={}", session_id_,
                account_.empty() ? "-" : account_, core::quote(shown));
  }
  if (skipped_lines > 0) {
    MR_LOG_INFO("event=protocol.trace session={} account={} dir=S more_lines={} more_octets={}",
                session_id_, account_.empty() ? "-" : account_, skipped_lines, skipped_bytes);
  }
}

TraceSelector::TraceSelector(std::vector<core::Cidr> networks, std::vector<std::string> addresses)
    : networks_(std::move(networks)) {
  for (auto& a : addresses) addresses_.push_back(core::ascii_lower(a));
}

bool TraceSelector::matches_ip(const std::string& ip) const {
  return std::any_of(networks_.begin(), networks_.end(),
                     [&ip](const core::Cidr& n) { return n.contains(ip); });
}

bool TraceSelector::matches_account(std::string_view address) const {
  std::string key = core::ascii_lower(address);
  return std::find(addresses_.begin(), addresses_.end(), key) != addresses_.end();
}

}  // namespace mailroom::net
