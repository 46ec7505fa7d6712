// One cheap status type for the whole server (STYLE.md example 6).
//
// A Status carries a code, a client-safe message (may be shown to a mail client) and a log
// detail (may name files, SQL or LDAP results; never sent to a client). An internal failure
// reaches a client only as "internal error" plus the log reference.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mailroom::core {

enum class Code {
  ok,
  not_found,         // the thing asked for does not exist (an authoritative "no")
  unavailable,       // could not tell: a backend is down or timed out (becomes 4xx, never 5xx)
  invalid_argument,  // malformed input from a client or an admin
  already_exists,
  permission_denied,
  over_quota,  // accepting would exceed the user's quota
  too_large,   // the item alone is larger than a limit (e.g. message larger than quota)
  io_error,    // local disk or OS failure
  busy,        // resource held by someone else (e.g. POP3 maildrop lock)
  internal,    // a bug or an impossible state; logged, shown as "internal error"
};

const char* code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(Code code, std::string client_message, std::string log_detail = {}) {
    Status s;
    s.code_ = code;
    s.client_message_ = std::move(client_message);
    s.log_detail_ = std::move(log_detail);
    return s;
  }

  bool is_ok() const { return code_ == Code::ok; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  // Safe to send to a client.
  const std::string& client_message() const { return client_message_; }
  // For the log only.
  const std::string& log_detail() const { return log_detail_; }
  // "code: client message (log detail)" for logs and test failures.
  std::string to_string() const;

 private:
  Code code_ = Code::ok;
  std::string client_message_;
  std::string log_detail_;
};

inline Status not_found(std::string msg, std::string detail = {}) {
  return Status::error(Code::not_found, std::move(msg), std::move(detail));
}
inline Status unavailable(std::string msg, std::string detail = {}) {
  return Status::error(Code::unavailable, std::move(msg), std::move(detail));
}
inline Status invalid_argument(std::string msg, std::string detail = {}) {
  return Status::error(Code::invalid_argument, std::move(msg), std::move(detail));
}
inline Status io_error(std::string msg, std::string detail = {}) {
  return Status::error(Code::io_error, std::move(msg), std::move(detail));
}
inline Status internal_error(std::string detail) {
  return Status::error(Code::internal, "internal error", std::move(detail));
}

// A value or a Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  // The error; Status::ok() when a value is present.
  Status status() const { return is_ok() ? Status::ok() : std::get<1>(v_); }
  Code code() const { return is_ok() ? Code::ok : std::get<1>(v_).code(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mailroom::core
