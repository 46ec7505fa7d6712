// The autoconfiguration documents (autoconfig.h). Pure string building: every interpolated
// value goes through autoconfig_xml_escape or autoconfig_json_string.
#include "src/api/autoconfig.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>

#include "src/core/address.h"
#include "src/core/json_text.h"
#include "src/core/utf8.h"

namespace mailroom::api {

namespace {

// Appends the UTF-8 encoding of a code point XML 1.0 allows (2.2 Char), else U+FFFD.
void autoconfig_append_char(std::string& out, uint32_t cp) {
  autoconfig_append_utf8(out, autoconfig_xml_char(cp) ? cp : 0xFFFD);
}

// Decodes one UTF-8 sequence at text[i]; returns its length, 0 when malformed (overlong,
// surrogate, beyond U+10FFFF, truncated).
std::size_t autoconfig_decode_utf8(std::string_view text, std::size_t i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(text[i]);
  std::size_t len = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
  if (len == 0 || i + len > text.size()) return 0;
  cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// <name>escaped text</name>
std::string autoconfig_element(std::string_view name, std::string_view text) {
  std::string out = "<";
  out += name;
  out += '>';
  out += autoconfig_xml_escape(text);
  out += "</";
  out += name;
  out += '>';
  return out;
}

std::string autoconfig_display_name(const AutoconfigSite& site) {
  return site.options->display_name.empty() ? site.domain : site.options->display_name;
}

// The host of the issuer URL: Thunderbird names OAuth2 providers by host
// ("accounts.google.com"), not by the full OIDC issuer.
std::string autoconfig_issuer_host(const std::string& issuer) {
  std::string_view rest = issuer;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
  }
  return std::string(rest.substr(0, rest.find_first_of("/:?#")));
}

const ClientEndpoint* autoconfig_first(const AutoconfigSite& site, std::string_view protocol) {
  for (const auto& e : site.endpoints) {
    if (e.protocol == protocol) return &e;
  }
  return nullptr;
}

// Reversed domain labels for Apple's reverse-DNS identifiers: example.com -> com.example.
std::string autoconfig_reverse_domain(std::string_view domain) {
  std::string out;
  while (!domain.empty()) {
    auto dot = domain.rfind('.');
    std::string_view label = dot == std::string_view::npos ? domain : domain.substr(dot + 1);
    if (!out.empty()) out += '.';
    out += label;
    domain = dot == std::string_view::npos ? std::string_view{} : domain.substr(0, dot);
  }
  return out;
}

int autoconfig_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Mailroom's namespace for the profile's UUIDs (a random UUID, fixed forever: changing it
// would make every installed profile a different one).
constexpr std::string_view kAutoconfigNamespace = "5b0c1e3a-7d2f-4c61-9a4e-3f8d2b6c1a70";

}  // namespace

std::string autoconfig_xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    switch (c) {
      case '&':
        out += "&amp;";
        ++i;
        continue;
      case '<':
        out += "&lt;";
        ++i;
        continue;
      case '>':
        out += "&gt;";
        ++i;
        continue;
      case '"':
        out += "&quot;";
        ++i;
        continue;
      case '\'':
        out += "&apos;";
        ++i;
        continue;
      default:
        break;
    }
    uint32_t cp = 0;
    std::size_t len = autoconfig_decode_utf8(text, i, cp);
    if (len == 0) {
      autoconfig_append_char(out, 0xFFFD);
      ++i;
      continue;
    }
    autoconfig_append_char(out, cp);
    i += len;
  }
  return out;
}

std::string thunderbird_config(const AutoconfigSite& site) {
  const AutoconfigOptions& o = *site.options;
  bool oauth2 = !o.oauth2_issuer.empty();
  auto server = [&](const ClientEndpoint& e, std::string_view tag, std::string_view type) {
    std::string s = "    <";
    s += tag;
    s += " type=\"";
    s += type;
    s += "\">\n";
    s += "      " + autoconfig_element("hostname", o.hostname) + "\n";
    s += "      " + autoconfig_element("port", std::to_string(e.port)) + "\n";
    s += "      " + autoconfig_element("socketType", e.socket) + "\n";
    s += "      <username>%EMAILADDRESS%</username>\n";
    // OAuth2 first: a client that knows the provider prefers single sign-on; one that does
    // not skips it and uses the password (an app password where SSO narrows passwords).
    if (oauth2) s += "      <authentication>OAuth2</authentication>\n";
    s += "      <authentication>password-cleartext</authentication>\n";
    s += "    </";
    s += tag;
    s += ">\n";
    return s;
  };
  std::string name = autoconfig_display_name(site);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n";
  x += "  <emailProvider id=\"" + autoconfig_xml_escape(site.domain) + "\">\n";
  x += "    " + autoconfig_element("domain", site.domain) + "\n";
  x += "    " + autoconfig_element("displayName", name) + "\n";
  x += "    " + autoconfig_element("displayShortName", name) + "\n";
  for (const auto& e : site.endpoints) {
    if (e.protocol == "imap" || e.protocol == "pop3") x += server(e, "incomingServer", e.protocol);
  }
  for (const auto& e : site.endpoints) {
    if (e.protocol == "submission") x += server(e, "outgoingServer", "smtp");
  }
  x += "  </emailProvider>\n";
  if (oauth2) {
    x += "  <oAuth2>\n";
    x += "    " + autoconfig_element("issuer", autoconfig_issuer_host(o.oauth2_issuer)) + "\n";
    x += "    " + autoconfig_element("scope", o.oauth2_scope) + "\n";
    if (!o.oauth2_auth_url.empty()) {
      x += "    " + autoconfig_element("authURL", o.oauth2_auth_url) + "\n";
    }
    if (!o.oauth2_token_url.empty()) {
      x += "    " + autoconfig_element("tokenURL", o.oauth2_token_url) + "\n";
    }
    x += "  </oAuth2>\n";
  }
  x += "</clientConfig>\n";
  return x;
}

std::string autodiscover_response(const AutoconfigSite& site, std::string_view email) {
  const AutoconfigOptions& o = *site.options;
  std::string x =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<Autodiscover "
      "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
      "  <Response xmlns=\"";
  x += kAutodiscoverOutlookSchema;
  x += "\">\n    <Account>\n      <AccountType>email</AccountType>\n"
       "      <Action>settings</Action>\n";
  struct Kind {
    const char* protocol;
    const char* type;
  };
  for (const Kind& k : {Kind{"imap", "IMAP"}, Kind{"pop3", "POP3"}, Kind{"submission", "SMTP"}}) {
    const ClientEndpoint* e = autoconfig_first(site, k.protocol);
    if (!e) continue;
    bool implicit = e->socket == "SSL";
    x += "      <Protocol>\n";
    x += "        " + autoconfig_element("Type", k.type) + "\n";
    x += "        " + autoconfig_element("Server", o.hostname) + "\n";
    x += "        " + autoconfig_element("Port", std::to_string(e->port)) + "\n";
    x += "        <DomainRequired>off</DomainRequired>\n";
    x += "        " + autoconfig_element("LoginName", email) + "\n";
    x += "        <SPA>off</SPA>\n";
    x += "        <SSL>on</SSL>\n";
    // MS-OXDSCLI 2.2.4.1.1.2.x: Encryption overrides SSL; "TLS" is STARTTLS.
    x += "        " + autoconfig_element("Encryption", implicit ? "SSL" : "TLS") + "\n";
    x += "        <AuthRequired>on</AuthRequired>\n";
    if (std::string_view(k.type) == "SMTP") {
      x += "        <UsePOPAuth>on</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>\n";
    }
    x += "      </Protocol>\n";
  }
  x += "    </Account>\n  </Response>\n</Autodiscover>\n";
  return x;
}

std::string autodiscover_error(int error_code, std::string_view message) {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<Autodiscover "
      "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
      "  <Response>\n    <Error Time=\"00:00:00\" Id=\"0\">\n";
  x += "      " + autoconfig_element("ErrorCode", std::to_string(error_code)) + "\n";
  x += "      " + autoconfig_element("Message", message) + "\n";
  x += "      <DebugData />\n    </Error>\n  </Response>\n</Autodiscover>\n";
  return x;
}

AutodiscoverJson autodiscover_json(const AutoconfigOptions& options, std::string_view protocol) {
  if (core::iequals(protocol, "AutodiscoverV1")) {
    return {200,
            "{\"Protocol\":\"AutodiscoverV1\",\"Url\":" +
                core::json_quote("https://" + options.hostname + "/autodiscover/autodiscover.xml") +
                "}"};
  }
  // What Exchange Online answers for a protocol it does not serve for the address; a client
  // then falls back to the next method (POX, then manual setup).
  return autodiscover_json_error(
      404, "ProtocolNotSupported",
      "The requested protocol is not served here; supported: AutodiscoverV1");
}

AutodiscoverJson autodiscover_json_error(int status, std::string_view code,
                                         std::string_view message) {
  return {status, "{\"ErrorCode\":" + core::json_quote(code) +
                      ",\"ErrorMessage\":" + core::json_quote(message) + "}"};
}

std::string apple_mobileconfig(const AutoconfigSite& site, std::string_view email) {
  const AutoconfigOptions& o = *site.options;
  std::string key = core::ascii_lower(email);
  std::string seed = site.domain + "\n" + key;
  std::string profile_uuid = autoconfig_uuid("profile\n" + seed);
  std::string mail_uuid = autoconfig_uuid("mail\n" + seed);
  std::string identifier = autoconfig_reverse_domain(site.domain) + ".mailroom.autoconfig." +
                           core::ascii_lower(profile_uuid);
  const ClientEndpoint* in = autoconfig_first(site, "imap");
  if (!in) in = autoconfig_first(site, "pop3");
  const ClientEndpoint* out = autoconfig_first(site, "submission");
  std::string name = autoconfig_display_name(site);

  auto str = [](std::string_view k, std::string_view v) {
    return "      " + autoconfig_element("key", k) + autoconfig_element("string", v) + "\n";
  };
  auto num = [](std::string_view k, int v) {
    return "      " + autoconfig_element("key", k) +
           autoconfig_element("integer", std::to_string(v)) + "\n";
  };
  auto flag = [](std::string_view k, bool v) {
    return "      " + autoconfig_element("key", k) + (v ? "<true/>" : "<false/>") + "\n";
  };

  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n<dict>\n  <key>PayloadContent</key>\n  <array>\n    <dict>\n";
  x += str("EmailAccountDescription", std::string(email));
  x += str("EmailAccountType", in && in->protocol == "pop3" ? "EmailTypePOP" : "EmailTypeIMAP");
  x += str("EmailAddress", email);
  if (in) {
    x += str("IncomingMailServerAuthentication", "EmailAuthPassword");
    x += str("IncomingMailServerHostName", o.hostname);
    x += num("IncomingMailServerPortNumber", in->port);
    // Apple's "UseSSL" is TLS on the connection; on a STARTTLS port the client upgrades.
    x += flag("IncomingMailServerUseSSL", true);
    x += str("IncomingMailServerUsername", email);
  }
  if (out) {
    x += str("OutgoingMailServerAuthentication", "EmailAuthPassword");
    x += str("OutgoingMailServerHostName", o.hostname);
    x += num("OutgoingMailServerPortNumber", out->port);
    x += flag("OutgoingMailServerUseSSL", true);
    x += str("OutgoingMailServerUsername", email);
    x += flag("OutgoingPasswordSameAsIncomingPassword", true);
  }
  x += str("PayloadDescription", "Mail account " + std::string(email));
  x += str("PayloadDisplayName", name);
  x += str("PayloadIdentifier", identifier + ".mail");
  x += str("PayloadType", "com.apple.mail.managed");
  x += str("PayloadUUID", mail_uuid);
  x += num("PayloadVersion", 1);
  x += flag("PreventAppSheet", false);
  x += flag("PreventMove", false);
  x += flag("SMIMEEnabled", false);
  x += "    </dict>\n  </array>\n";
  auto top = [](std::string s) { return s.substr(2); };  // two spaces less indentation
  x += top(str("PayloadDescription", "Mail settings for " + std::string(email)));
  x += top(str("PayloadDisplayName", name + " mail"));
  x += top(str("PayloadIdentifier", identifier));
  x += top(str("PayloadOrganization", name));
  x += top(flag("PayloadRemovalDisallowed", false));
  x += top(str("PayloadType", "Configuration"));
  x += top(str("PayloadUUID", profile_uuid));
  x += top(num("PayloadVersion", 1));
  x += "</dict>\n</plist>\n";
  return x;
}

std::string autoconfig_uuid_in(std::string_view namespace_uuid, std::string_view name) {
  // RFC 4122 4.3: SHA-1 over the namespace's 16 bytes and the name; version 5, variant 10.
  std::array<unsigned char, 16> ns{};
  std::size_t n = 0;
  for (std::size_t i = 0; i + 1 < namespace_uuid.size() && n < ns.size();) {
    if (namespace_uuid[i] == '-') {
      ++i;
      continue;
    }
    int hi = autoconfig_hex(namespace_uuid[i]);
    int lo = autoconfig_hex(namespace_uuid[i + 1]);
    if (hi < 0 || lo < 0) return {};
    ns[n++] = static_cast<unsigned char>(hi * 16 + lo);
    i += 2;
  }
  if (n != ns.size()) return {};
  std::string input(reinterpret_cast<const char*>(ns.data()), ns.size());
  input += name;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1 ||
      digest_len < 16) {
    return {};
  }
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string autoconfig_uuid(std::string_view name) {
  return autoconfig_uuid_in(kAutoconfigNamespace, name);
}

bool autoconfig_xml_char(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

void autoconfig_append_utf8(std::string& out, uint32_t cp) { core::append_utf8(out, cp); }

}  // namespace mailroom::api
