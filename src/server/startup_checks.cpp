#include "src/server/startup_checks.h"

#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>

#include "src/server/module_options.h"
#include "src/server/wiring.h"

namespace mailroom::server {

namespace {

bool readable_by_others(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0;
}

bool loopback_address(const std::string& text) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(text, ec);
  return !ec && a.is_loopback();
}

}  // namespace

std::vector<std::string> startup_warnings(const LoadedConfig& config) {
  std::vector<std::string> out;
  for (const auto& l : config.server.listeners) {
    if (l.protocol == "lmtp" && l.allow.empty() && !loopback_address(l.address)) {
      out.push_back("listener " + l.name + ": LMTP on " + l.address +
                    " accepts mail for any local mailbox from any host that can reach it, "
                    "without authentication; set allow = [\"<gateway address>\", ...]");
    }
  }
  if (config.modules && config.modules->auth.resolver.postmaster.empty()) {
    out.push_back(
        "[auth] postmaster is not set: mail to postmaster@<domain> (RFC 5321 4.5.1) is "
        "refused for domains without their own postmaster account or alias");
  }
  if (readable_by_others(config.server.tls.private_key)) {
    out.push_back("[tls] private_key " + config.server.tls.private_key +
                  " is readable by other users (chmod 600)");
  }
  return out;
}

}  // namespace mailroom::server
