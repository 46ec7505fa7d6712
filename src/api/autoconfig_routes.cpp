// The autoconfiguration routes (autoconfig.h). Unauthenticated: each answer depends only on
// whether the address's domain is one of ours (one directory lookup, on the worker pool
// where handlers run), never on the user.
#include <cctype>
#include <optional>

#include "auth/directory.h"
#include "auth/resolver.h"
#include "src/api/autoconfig.h"
#include "src/api/context.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/http/http.h"

namespace mailroom::api {

namespace {

constexpr const char* kAutoconfigXmlType = "text/xml; charset=utf-8";

// The first query parameter with this name, compared case-insensitively (Outlook sends
// "Email" and "Protocol", others lower-case).
std::optional<std::string> autoconfig_param(const http::Request& r, std::string_view name) {
  for (auto& [k, v] : r.query_params()) {
    if (core::iequals(k, name)) return v;
  }
  return std::nullopt;
}

core::Result<core::Address> autoconfig_parse_email(std::string_view text) {
  if (text.empty()) return core::invalid_argument("an email address is required");
  if (text.size() > kAutoconfigMaxAddress) return core::invalid_argument("address too long");
  auto address = core::parse_address(text);
  if (!address) return core::invalid_argument("not a mail address");
  return *address;
}

// A DNS name from the Host field (RFC 9110 7.2), port removed; nullopt for an IP literal or
// anything that is not letters, digits, '-' and '.'.
std::optional<std::string> autoconfig_host_domain(const http::Request& r) {
  auto host = r.header("host");
  if (!host || host->empty() || host->size() > 255) return std::nullopt;
  std::string name = core::ascii_lower(*host);
  if (auto colon = name.rfind(':'); colon != std::string::npos) name.resize(colon);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty() || name.front() == '.' || name.find("..") != std::string::npos) {
    return std::nullopt;
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '.') return std::nullopt;
  }
  return name;
}

// found: ok; not ours: not_found; the directory cannot tell: unavailable. A server with no
// TLS listener for clients has nothing to advertise: not_found too (a document without
// servers would only make the client give up later, on a worse message).
core::Status autoconfig_local_domain(Context& ctx, const std::string& domain) {
  if (advertised_endpoints(*ctx.autoconfig, ctx.client_endpoints).empty()) {
    return core::not_found("no client endpoints are configured",
                           "autoconfig: no imap, pop3 or submission listener with TLS");
  }
  core::Services* s = ctx.services;
  if (s == nullptr || (!s->resolver && !s->directory)) {
    return core::internal_error("autoconfig: the API context has no directory");
  }
  auto found = s->resolver ? s->resolver->local_domain(domain) : s->directory->find_domain(domain);
  if (found) return core::Status::ok();
  if (found.code() == core::Code::not_found) {
    return core::not_found("no mail configuration for this domain");
  }
  if (found.code() == core::Code::unavailable) {
    return core::unavailable("the directory cannot answer now; try again later",
                             found.status().to_string());
  }
  return core::internal_error("autoconfig: domain lookup: " + found.status().to_string());
}

// For the answers that are not problem documents (problem_from_status logs the others).
void autoconfig_log_failure(const core::Status& st) {
  MR_LOG_WARN("event=autoconfig.error code={} detail={}", core::code_name(st.code()),
              core::quote(st.log_detail()));
}

AutoconfigSite autoconfig_site(const Context& ctx, std::string domain) {
  AutoconfigSite site;
  site.options = ctx.autoconfig.get();
  site.endpoints = advertised_endpoints(*ctx.autoconfig, ctx.client_endpoints);
  site.domain = std::move(domain);
  return site;
}

// "example.com.mobileconfig"; anything but a plain DNS name falls back to a fixed name, so
// the header needs no quoting rules.
std::string autoconfig_file_name(const std::string& domain) {
  for (unsigned char c : domain) {
    if (!std::isalnum(c) && c != '-' && c != '.') return "mail.mobileconfig";
  }
  return domain + ".mobileconfig";
}

http::Response autoconfig_thunderbird(Context& ctx, const http::Request& r, bool on_subdomain) {
  std::string domain;
  if (auto email = autoconfig_param(r, "emailaddress")) {
    auto address = autoconfig_parse_email(*email);
    if (!address) return problem_from_status(address.status());
    domain = core::ascii_lower(address->domain);
  } else if (auto host = autoconfig_host_domain(r)) {
    // https://autoconfig.<domain>/mail/config-v1.1.xml names the domain in the host.
    domain = *host;
    if (on_subdomain && domain.rfind("autoconfig.", 0) == 0) domain.erase(0, 11);
  } else {
    return problem_from_status(core::invalid_argument("add ?emailaddress= (no domain in Host)"));
  }
  if (auto st = autoconfig_local_domain(ctx, domain); !st) return problem_from_status(st);
  return http::Response::text(200, thunderbird_config(autoconfig_site(ctx, domain)),
                              kAutoconfigXmlType);
}

http::Response autoconfig_pox_error(int status, int error_code, std::string_view message) {
  auto response =
      http::Response::text(status, autodiscover_error(error_code, message), kAutoconfigXmlType);
  if (status == 503) response.set_header("Retry-After", "30");
  return response;
}

http::Response autoconfig_pox(Context& ctx, const http::Request& r) {
  if (r.body.size() > kAutodiscoverMaxBody) {
    return autoconfig_pox_error(413, 600, "Invalid Request");
  }
  auto request = parse_autodiscover_request(r.body);
  if (!request) return autoconfig_pox_error(400, 600, "Invalid Request");
  if (!request->schema.empty() && request->schema != kAutodiscoverOutlookSchema) {
    // MS-OXDSCLI: a schema we do not provide (mobilesync: ActiveSync) is error 601, in a
    // 200 response, and the client moves on.
    return autoconfig_pox_error(200, 601, "Provider is not available");
  }
  auto address = autoconfig_parse_email(request->email);
  if (!address) return autoconfig_pox_error(400, 600, "Invalid Request");
  std::string domain = core::ascii_lower(address->domain);
  if (auto st = autoconfig_local_domain(ctx, domain); !st) {
    if (st.code() == core::Code::not_found) {
      return autoconfig_pox_error(404, 500, "No configuration for this domain");
    }
    autoconfig_log_failure(st);
    return autoconfig_pox_error(st.code() == core::Code::unavailable ? 503 : 500, 603,
                                "Internal error");
  }
  return http::Response::text(
      200, autodiscover_response(autoconfig_site(ctx, domain), address->str()), kAutoconfigXmlType);
}

http::Response autoconfig_json_response(const AutodiscoverJson& answer) {
  auto response = http::Response::json(answer.status, answer.body);
  if (answer.status == 503) response.set_header("Retry-After", "30");
  return response;
}

// GET /autodiscover/autodiscover.json?Email=..&Protocol=.. or
//     /autodiscover/autodiscover.json/v1.0/<address>?Protocol=..
http::Response autoconfig_json(Context& ctx, const http::Request& r) {
  std::optional<std::string> email = autoconfig_param(r, "email");
  if (!email && !r.params.empty()) {
    const std::string& rest = r.params.back();
    email = rest.substr(rest.rfind('/') + 1);
  }
  auto protocol = autoconfig_param(r, "protocol");
  if (!protocol || protocol->empty()) {
    return autoconfig_json_response(
        autodiscover_json_error(400, "InvalidProtocol", "A Protocol parameter is required"));
  }
  auto address = autoconfig_parse_email(email.value_or(""));
  if (!address) {
    return autoconfig_json_response(
        autodiscover_json_error(400, "InvalidUser", address.status().client_message()));
  }
  if (auto st = autoconfig_local_domain(ctx, core::ascii_lower(address->domain)); !st) {
    if (st.code() == core::Code::not_found) {
      return autoconfig_json_response(
          autodiscover_json_error(404, "InvalidDomain", "No configuration for this domain"));
    }
    autoconfig_log_failure(st);
    bool unavailable = st.code() == core::Code::unavailable;
    return autoconfig_json_response(autodiscover_json_error(
        unavailable ? 503 : 500, "InternalServerError",
        unavailable ? "The directory cannot answer now; try again later" : "Internal error"));
  }
  return autoconfig_json_response(autodiscover_json(*ctx.autoconfig, *protocol));
}

http::Response autoconfig_mobileconfig(Context& ctx, const http::Request& r) {
  auto email = autoconfig_param(r, "email");
  if (!email) email = autoconfig_param(r, "emailaddress");
  auto address = autoconfig_parse_email(email.value_or(""));
  if (!address) return problem_from_status(address.status());
  std::string domain = core::ascii_lower(address->domain);
  if (auto st = autoconfig_local_domain(ctx, domain); !st) return problem_from_status(st);
  auto response =
      http::Response::text(200, apple_mobileconfig(autoconfig_site(ctx, domain), address->str()),
                           "application/x-apple-aspen-config");
  response.set_header("Content-Disposition",
                      "attachment; filename=\"" + autoconfig_file_name(domain) + "\"");
  return response;
}

}  // namespace

void add_autoconfig_routes(http::Router& router, std::shared_ptr<Context> c) {
  if (!c->autoconfig || !c->autoconfig->enabled) return;
  router.add("GET", "/.well-known/autoconfig/mail/config-v1.1.xml",
             [c](http::Request& r) { return autoconfig_thunderbird(*c, r, false); });
  router.add("GET", "/mail/config-v1.1.xml",
             [c](http::Request& r) { return autoconfig_thunderbird(*c, r, true); });
  // Outlook spells the path either way.
  for (const char* path : {"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"}) {
    router.add("POST", path, [c](http::Request& r) { return autoconfig_pox(*c, r); });
  }
  for (const char* path : {"/autodiscover/autodiscover.json", "/Autodiscover/Autodiscover.json"}) {
    router.add("GET", path, [c](http::Request& r) { return autoconfig_json(*c, r); });
    router.add("GET", std::string(path) + "/{rest...}",
               [c](http::Request& r) { return autoconfig_json(*c, r); });
  }
  router.add("GET", "/mobileconfig",
             [c](http::Request& r) { return autoconfig_mobileconfig(*c, r); });
}

}  // namespace mailroom::api
