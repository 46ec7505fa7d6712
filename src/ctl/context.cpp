#include <boost/json.hpp>
#include <iostream>

#include "src/ctl/ctl.h"

namespace mailroom::ctl {

core::Services* Context::services() {
  if (services_) return services_.get();
  if (!open_services) return nullptr;
  return open_services(*this);
}

const std::string& Context::data_dir() {
  services();
  return data_dir_;
}

void Context::print(const std::string& human, const std::string& json_text) const {
  if (json) {
    std::cout << json_text << "\n";
  } else if (!human.empty()) {
    std::cout << human << (human.back() == '\n' ? "" : "\n");
  }
}

int Context::fail(const core::Status& status) const {
  int code = kSystemError;
  switch (status.code()) {
    case core::Code::invalid_argument:
    case core::Code::not_found:
    case core::Code::already_exists:
    case core::Code::permission_denied:
      code = kUserError;
      break;
    default:
      break;
  }
  std::string message = status.client_message();
  if (code == kSystemError && !status.log_detail().empty()) {
    message += " (" + status.log_detail() + ")";
  }
  if (json) {
    boost::json::object o;
    o["error"] = message;
    o["code"] = core::code_name(status.code());
    std::cout << boost::json::serialize(o) << "\n";
  } else {
    std::cerr << "mailroomctl: " << message << "\n";
  }
  return code;
}

}  // namespace mailroom::ctl
