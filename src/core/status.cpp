#include "src/core/status.h"

namespace mailroom::core {

const char* code_name(Code code) {
  switch (code) {
    case Code::ok:
      return "ok";
    case Code::not_found:
      return "not_found";
    case Code::unavailable:
      return "unavailable";
    case Code::invalid_argument:
      return "invalid_argument";
    case Code::already_exists:
      return "already_exists";
    case Code::permission_denied:
      return "permission_denied";
    case Code::over_quota:
      return "over_quota";
    case Code::too_large:
      return "too_large";
    case Code::io_error:
      return "io_error";
    case Code::busy:
      return "busy";
    case Code::internal:
      return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  std::string s = code_name(code_);
  if (!client_message_.empty()) s += ": " + client_message_;
  if (!log_detail_.empty()) s += " (" + log_detail_ + ")";
  return s;
}

}  // namespace mailroom::core
