#include "src/imap/sort_display.h"

#include <cstddef>
#include <cstdint>

namespace mailroom::imap {

namespace {

// A reader of the IMAP data the envelope is written in (RFC 3501 9: nil, quoted, literal,
// parenthesized lists).
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool consume(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }

  // nstring: false when malformed; `out` nullopt for NIL.
  bool nstring(std::optional<std::string>& out) {
    if (s_.substr(i_, 3) == "NIL") {
      i_ += 3;
      out.reset();
      return true;
    }
    std::string v;
    if (consume('"')) {
      while (i_ < s_.size() && s_[i_] != '"') {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        v.push_back(s_[i_++]);
      }
      if (!consume('"')) return false;
    } else if (consume('{')) {
      uint64_t n = 0;
      size_t digits = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9' && digits < 12) {
        n = n * 10 + static_cast<uint64_t>(s_[i_++] - '0');
        ++digits;
      }
      if (digits == 0 || !consume('}') || !consume('\r') || !consume('\n')) return false;
      if (n > s_.size() - i_) return false;
      v.assign(s_.substr(i_, n));
      i_ += n;
    } else {
      return false;
    }
    out = std::move(v);
    return true;
  }

  // Skips one value (nstring or parenthesized list of values): false when malformed.
  bool skip(int depth = 0) {
    if (depth > 8) return false;
    if (consume('(')) {
      while (!consume(')')) {
        if (!skip(depth + 1)) return false;
        consume(' ');
      }
      return true;
    }
    std::optional<std::string> ignored;
    return nstring(ignored);
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<EnvelopeAddressFields> first_envelope_address(std::string_view envelope,
                                                            EnvelopeList list) {
  Reader r(envelope);
  if (!r.consume('(')) return std::nullopt;
  for (int field = 0; field < static_cast<int>(list); ++field) {
    if (!r.skip() || !r.consume(' ')) return std::nullopt;
  }
  // The list: NIL or "(" 1*address ")"; address = "(" name SP adl SP mailbox SP host ")".
  if (!r.consume('(') || !r.consume('(')) return std::nullopt;
  EnvelopeAddressFields a;
  if (!r.nstring(a.name) || !r.consume(' ') || !r.nstring(a.route) || !r.consume(' ') ||
      !r.nstring(a.mailbox) || !r.consume(' ') || !r.nstring(a.host) || !r.consume(')'))
    return std::nullopt;
  return a;
}

std::string display_value(const std::optional<EnvelopeAddressFields>& address,
                          const std::optional<std::string>& decoded_name) {
  if (!address) return {};
  // RFC 5957 3: the decoded display name if it is not empty; else addr-mailbox@addr-host when
  // both are present; else addr-mailbox (e.g. the start of a group); else the empty string.
  if (decoded_name && !decoded_name->empty()) return *decoded_name;
  if (address->mailbox && address->host) return *address->mailbox + "@" + *address->host;
  if (address->mailbox) return *address->mailbox;
  return {};
}

}  // namespace mailroom::imap
