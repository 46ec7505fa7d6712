#include "src/mime/conversation.h"

#include <cstdint>
#include <cstdio>

namespace mailroom::mime {
namespace {

// The first "<...>" msg-id of a field (RFC 5322 3.6.4), or "" when there is none.
std::string_view first_msg_id(std::string_view field) {
  auto open = field.find('<');
  if (open == std::string_view::npos) return {};
  auto close = field.find('>', open + 1);
  if (close == std::string_view::npos || close - open > 998) return {};
  return field.substr(open, close - open + 1);
}

}  // namespace

std::string thread_root(std::string_view message_id, std::string_view in_reply_to,
                        std::string_view references) {
  std::string_view root = first_msg_id(references);
  if (root.empty()) root = first_msg_id(in_reply_to);
  if (root.empty()) root = first_msg_id(message_id);
  return std::string(root);
}

std::string thread_id_of(std::string_view root, std::string_view guid) {
  if (root.empty()) return "T" + std::string(guid);
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : root) h = (h ^ c) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "T%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace mailroom::mime
