// Reading Authentication-Results fields (RFC 8601) of an inbound message: the header block
// with byte positions, the authserv-id, and removing the fields a sender forged in our name
// (section 5). Apart from auth_results.cpp, which writes ours, so that the fuzz target reaches
// this code without the SPF, DKIM and DMARC checkers (and their DNS).
#include <cctype>
#include <string>
#include <string_view>

#include "src/core/address.h"
#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {

namespace detail {

bool ar_tspecial(char c) {
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos;
}

std::vector<ArField> ar_header_fields(std::string_view message, std::size_t* header_end) {
  std::vector<ArField> fields;
  std::size_t at = 0;
  while (at < message.size()) {
    std::size_t eol = message.find('\n', at);
    std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = message.substr(at, next - at);
    if (line == "\r\n" || line == "\n") break;  // the end of the header block
    bool continuation = line.front() == ' ' || line.front() == '\t';
    if (continuation && !fields.empty()) {
      ArField& f = fields.back();
      f.end = next;
      if (!f.name.empty()) {
        f.value = std::string_view(
            f.value.data(), static_cast<std::size_t>(message.data() + next - f.value.data()));
      }
    } else {
      ArField f;
      f.begin = at;
      f.end = next;
      std::size_t colon = line.find(':');
      if (!continuation && colon != std::string_view::npos) {
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        bool printable = !name.empty();
        for (char c : name) printable = printable && c > 0x20 && c < 0x7f;
        if (printable) {
          f.name = name;
          f.value = message.substr(at + colon + 1, next - at - colon - 1);
        }
      }
      fields.push_back(f);
    }
    at = next;
  }
  if (header_end != nullptr) *header_end = at;
  return fields;
}

std::string ar_authserv_id(std::string_view value) {
  std::size_t i = 0;
  // CFWS: whitespace, folds and (nested) comments.
  while (i < value.size()) {
    char c = value[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      int depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\') {
          ++i;
        } else if (value[i] == '(') {
          ++depth;
        } else if (value[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else {
      break;
    }
  }
  std::string id;
  if (i < value.size() && value[i] == '"') {
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      if (value[i] != '\r' && value[i] != '\n') id += value[i];
    }
    return i < value.size() ? id : "";  // an unterminated quote claims nothing
  }
  for (; i < value.size(); ++i) {
    auto u = static_cast<unsigned char>(value[i]);
    if (u <= 0x20 || u == 0x7f || ar_tspecial(value[i])) break;
    id += value[i];
  }
  return id;
}

}  // namespace detail

std::string remove_forged_results(const std::string& message, const std::string& authserv_id) {
  std::size_t header_end = 0;
  std::vector<detail::ArField> fields = detail::ar_header_fields(message, &header_end);
  std::string out;
  out.reserve(message.size());
  for (const detail::ArField& f : fields) {
    // A field whose first token is our id claims to be ours, whatever follows it (a missing
    // ";" included): a lenient reader downstream would believe it.
    bool forged = !authserv_id.empty() && core::iequals(f.name, "Authentication-Results") &&
                  core::iequals(detail::ar_authserv_id(f.value), authserv_id);
    if (!forged) out.append(message, f.begin, f.end - f.begin);
  }
  out.append(message, header_end, std::string::npos);
  return out;
}

}  // namespace mailroom::mailauth
