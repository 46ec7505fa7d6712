// core::Status -> problem details, for every HTTP front end (http.h).
#include "src/core/log.h"
#include "src/http/http.h"

namespace mailroom::http {

Response problem_from_status(const core::Status& status) {
  int code = 500;
  std::string_view title = "Internal Server Error";
  switch (status.code()) {
    case core::Code::not_found:
      code = 404;
      title = "Not Found";
      break;
    case core::Code::already_exists:
      code = 409;
      title = "Conflict";
      break;
    case core::Code::invalid_argument:
      code = 400;
      title = "Bad Request";
      break;
    case core::Code::permission_denied:
      code = 403;
      title = "Forbidden";
      break;
    case core::Code::over_quota:
    case core::Code::too_large:
      code = 413;
      title = "Content Too Large";
      break;
    case core::Code::busy:
      code = 409;
      title = "Conflict";
      break;
    case core::Code::unavailable:
      code = 503;
      title = "Service Unavailable";
      break;
    case core::Code::ok:
    case core::Code::io_error:
    case core::Code::internal:
      break;
  }
  std::string detail = status.client_message();
  if (code >= 500) {
    MR_LOG_WARN("event=http.error code={} message={} detail={}", core::code_name(status.code()),
                core::quote(status.client_message()), core::quote(status.log_detail()));
    if (code == 500) detail = "internal error";
  }
  auto response = Response::problem(code, title, detail);
  if (code == 503) response.set_header("Retry-After", "30");
  return response;
}

}  // namespace mailroom::http
