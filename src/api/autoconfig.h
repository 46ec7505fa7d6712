// Client autoconfiguration: the documents mail clients fetch to set up an account, before they
// have credentials (so nothing here authenticates). Pure generators over the options and the
// advertised endpoints (autoconfig_options.h), plus the routes that serve them.
//
// Routes (add_autoconfig_routes; no authentication, handlers on the worker pool):
//   GET  /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a@d   Thunderbird, on d
//   GET  /mail/config-v1.1.xml?emailaddress=a@d      Thunderbird, on autoconfig.d
//        (without emailaddress the domain is the Host: d or autoconfig.d)
//   POST /autodiscover/autodiscover.xml              Outlook, the POX request (also
//        /Autodiscover/Autodiscover.xml)
//   GET  /autodiscover/autodiscover.json?Email=a@d&Protocol=AutodiscoverV1   Outlook, v2
//        (also /autodiscover/autodiscover.json/v1.0/a@d?Protocol=...)
//   GET  /mobileconfig?email=a@d                     Apple .mobileconfig profile (also
//        /apple/mobileconfig?email=...)
// Only local domains (local or alias kind) get a document; another domain answers 404, a
// directory that cannot answer 503. The answer depends only on the domain, never on whether
// the user exists: nothing is looked up but the domain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/api/autoconfig_options.h"
#include "src/core/status.h"

namespace mailroom::http {
class Router;
}

namespace mailroom::api {

struct Context;

// The POST body of an Autodiscover request is refused beyond this (Outlook sends ~400 bytes).
inline constexpr std::size_t kAutodiscoverMaxBody = 16 * 1024;
// An address longer than this is refused (RFC 5321 4.5.3.1: 64 + 1 + 255).
inline constexpr std::size_t kAutoconfigMaxAddress = 320;

// What a document is for: the domain (lower-case) and the advertised endpoints in order of
// preference (advertised_endpoints()).
struct AutoconfigSite {
  const AutoconfigOptions* options = nullptr;
  std::vector<ClientEndpoint> endpoints;
  std::string domain;
};

// Escapes & < > " ' for XML text and attribute values. Characters XML 1.0 cannot carry
// (controls other than tab/CR/LF, malformed UTF-8) become U+FFFD, so the output is always
// well-formed.
std::string autoconfig_xml_escape(std::string_view text);
// Whether XML 1.0 allows the code point (2.2 Char); used by the escaping and the request reader.
bool autoconfig_xml_char(uint32_t cp);
// Appends a code point (at most U+10FFFF) as UTF-8.
void autoconfig_append_utf8(std::string& out, uint32_t cp);

// Thunderbird config-v1.1.xml (the Mozilla autoconfig format): every IMAP and POP3 endpoint
// as an incomingServer, every submission endpoint as an outgoingServer, username
// %EMAILADDRESS% (the client fills it in), password-cleartext (inside TLS) and OAuth2 with an
// <oAuth2> block when an issuer is advertised.
std::string thunderbird_config(const AutoconfigSite& site);

// The Outlook Autodiscover request (MS-OXDSCLI 2.2.3): the EMailAddress and the
// AcceptableResponseSchema. A tiny reader, not an XML library: refuses bodies over
// kAutodiscoverMaxBody, any DTD, entity declaration, processing instruction other than the
// XML declaration, CDATA, and entity references other than the five predefined and numeric
// ones. invalid_argument when refused or no EMailAddress is found.
struct AutodiscoverRequest {
  std::string email;   // the text of EMailAddress, trimmed, references decoded
  std::string schema;  // AcceptableResponseSchema ("" when absent)
};
core::Result<AutodiscoverRequest> parse_autodiscover_request(std::string_view body);

// The "outlook" response schema (2006a): one Protocol element each for IMAP, POP3 and SMTP
// (the preferred endpoint of each), LoginName the address, SPA off, AuthRequired on, SSL and
// Encryption ("SSL" implicit TLS, "TLS" STARTTLS).
inline constexpr std::string_view kAutodiscoverOutlookSchema =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
std::string autodiscover_response(const AutoconfigSite& site, std::string_view email);
// An Autodiscover error response (MS-OXDSCLI 2.2.4.1.1.3): 500 address not found, 600
// invalid request, 601 the requested schema is not provided, 603 internal error.
std::string autodiscover_error(int error_code, std::string_view message);

// Autodiscover v2 (JSON): for Protocol=AutodiscoverV1 (case-insensitive) 200 and the POX
// URL on the public hostname; any other protocol (ActiveSync, Ews, Rest, ...) 404 with an
// Exchange-like {"ErrorCode","ErrorMessage"}.
struct AutodiscoverJson {
  int status = 200;
  std::string body;
};
AutodiscoverJson autodiscover_json(const AutoconfigOptions& options, std::string_view protocol);
// {"ErrorCode": code, "ErrorMessage": message} with that status.
AutodiscoverJson autodiscover_json_error(int status, std::string_view code,
                                         std::string_view message);

// The Apple configuration profile (an unsigned plist, Configuration Profile Reference):
// one com.apple.mail.managed payload, IMAP (else POP3) incoming and submission outgoing,
// password authentication, SSL on. PayloadUUIDs and identifiers are derived from the domain
// and the address, so installing the profile again replaces the first one.
std::string apple_mobileconfig(const AutoconfigSite& site, std::string_view email);

// An RFC 4122 version 5 (SHA-1) UUID of `name` in Mailroom's autoconfig namespace,
// upper-case as Apple writes them.
std::string autoconfig_uuid(std::string_view name);
// The same in another namespace ("6ba7b810-9dad-11d1-80b4-00c04fd430c8"); "" when the
// namespace is not a UUID.
std::string autoconfig_uuid_in(std::string_view namespace_uuid, std::string_view name);

// Registers the routes above when ctx->autoconfig is set and enabled (api::make_router does).
// Handlers use ctx->services->resolver (or ->directory) for the domain, ctx->autoconfig and
// ctx->client_endpoints; they keep ctx alive.
void add_autoconfig_routes(http::Router& router, std::shared_ptr<Context> ctx);

}  // namespace mailroom::api
