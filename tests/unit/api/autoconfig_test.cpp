// Client autoconfiguration (src/api/autoconfig.h): the options, the documents (checked for
// well-formedness by a small strict XML reader below, then by value), the Autodiscover
// request reader against hostile bodies, and the routes against a fake directory.
#include "src/api/autoconfig.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/resolver.h"
#include "src/api/context.h"
#include "src/core/config_section.h"
#include "src/http/http.h"
#include "tests/fakes/fake_directory.h"

namespace mailroom::api {
namespace {

// ---------------------------------------------------------------------------------------
// A strict, small XML reader for the tests: elements, attributes, the declaration, a DOCTYPE
// without internal subset, the five predefined and numeric references, valid UTF-8. Anything
// else fails the test that parses it.
struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // character data directly inside, references decoded
  std::vector<XmlNode> children;

  std::vector<const XmlNode*> all(std::string_view n) const {
    std::vector<const XmlNode*> out;
    for (const auto& c : children) {
      if (c.name == n) out.push_back(&c);
    }
    return out;
  }
  const XmlNode* first(std::string_view n) const {
    auto v = all(n);
    return v.empty() ? nullptr : v.front();
  }
  std::string child_text(std::string_view n) const {
    auto* c = first(n);
    return c ? c->text : std::string("<missing ") + std::string(n) + ">";
  }
};

class XmlReader {
 public:
  explicit XmlReader(std::string_view doc) : s_(doc) {}

  std::optional<XmlNode> parse() {
    if (!valid_utf8()) return fail("invalid UTF-8");
    skip_space();
    if (s_.substr(i_, 5) == "<?xml") {
      auto end = s_.find("?>", i_);
      if (end == std::string_view::npos) return fail("declaration");
      i_ = end + 2;
    }
    skip_space();
    if (s_.substr(i_, 9) == "<!DOCTYPE") {
      auto end = s_.find('>', i_);
      if (end == std::string_view::npos || s_.substr(i_, end - i_).find('[') != std::string::npos) {
        return fail("doctype");
      }
      i_ = end + 1;
    }
    skip_space();
    XmlNode root;
    if (!element(root, 0)) return std::nullopt;
    skip_space();
    if (i_ != s_.size()) return fail("content after the root element");
    return root;
  }
  const std::string& error() const { return error_; }

 private:
  std::nullopt_t fail(std::string why) {
    if (error_.empty()) error_ = why + " at " + std::to_string(i_);
    return std::nullopt;
  }
  void skip_space() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  }
  std::string name() {
    std::size_t start = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  bool decode(std::string_view in, std::string& out) {
    for (std::size_t k = 0; k < in.size(); ++k) {
      if (in[k] == '<') return false;
      if (in[k] != '&') {
        out += in[k];
        continue;
      }
      auto semi = in.find(';', k);
      if (semi == std::string_view::npos) return false;
      std::string_view ref = in.substr(k + 1, semi - k - 1);
      static const std::map<std::string_view, char> named = {
          {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
      if (auto it = named.find(ref); it != named.end()) {
        out += it->second;
      } else {
        return false;  // the generators never need numeric references
      }
      k = semi;
    }
    return true;
  }
  bool element(XmlNode& node, int depth) {
    if (depth > 32 || i_ >= s_.size() || s_[i_] != '<') return fail("expected an element"), false;
    ++i_;
    node.name = name();
    if (node.name.empty()) return fail("empty name"), false;
    for (;;) {
      skip_space();
      if (i_ >= s_.size()) return fail("unterminated tag"), false;
      if (s_.substr(i_, 2) == "/>") {
        i_ += 2;
        return true;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      std::string attr = name();
      if (attr.empty() || i_ + 1 >= s_.size() || s_[i_] != '=' || s_[i_ + 1] != '"') {
        return fail("attribute"), false;
      }
      i_ += 2;
      auto end = s_.find('"', i_);
      if (end == std::string_view::npos) return fail("attribute value"), false;
      std::string value;
      if (!decode(s_.substr(i_, end - i_), value)) return fail("attribute text"), false;
      if (!node.attributes.emplace(attr, value).second) return fail("duplicate attribute"), false;
      i_ = end + 1;
    }
    for (;;) {
      auto lt = s_.find('<', i_);
      if (lt == std::string_view::npos) return fail("unterminated element " + node.name), false;
      if (!decode(s_.substr(i_, lt - i_), node.text)) return fail("text"), false;
      i_ = lt;
      if (s_.substr(i_, 2) == "</") {
        i_ += 2;
        if (name() != node.name) return fail("mismatched end tag of " + node.name), false;
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '>') return fail("end tag"), false;
        ++i_;
        auto first = node.text.find_first_not_of(" \n\r\t");
        node.text =
            first == std::string::npos
                ? std::string()
                : node.text.substr(first, node.text.find_last_not_of(" \n\r\t") - first + 1);
        return true;
      }
      node.children.emplace_back();
      if (!element(node.children.back(), depth + 1)) return false;
    }
  }
  bool valid_utf8() const {
    for (std::size_t k = 0; k < s_.size();) {
      auto c = static_cast<unsigned char>(s_[k]);
      std::size_t len = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
      if (len == 0 || k + len > s_.size()) return false;
      if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
      for (std::size_t m = 1; m < len; ++m) {
        if ((static_cast<unsigned char>(s_[k + m]) & 0xC0) != 0x80) return false;
      }
      k += len;
    }
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

XmlNode parse_xml(const std::string& doc) {
  XmlReader reader(doc);
  auto root = reader.parse();
  EXPECT_TRUE(root.has_value()) << reader.error() << "\n" << doc;
  return root.value_or(XmlNode{});
}

TEST(AutoconfigXmlReader, RejectsWhatIsNotWellFormed) {
  for (const char* bad : {"<a><b></a></b>", "<a>x & y</a>", "<a>x < y</a>", "<a>&foo;</a>",
                          "<a x=\"1\" x=\"2\"/>", "<a>\x01</a>", "<a>\xC3</a>", "<a></a><b/>"}) {
    XmlReader reader(bad);
    EXPECT_FALSE(reader.parse().has_value()) << bad;
  }
  XmlReader good("<?xml version=\"1.0\"?>\n<a k=\"&quot;\">x &amp; y<b/></a>\n");
  auto root = good.parse();
  ASSERT_TRUE(root) << good.error();
  EXPECT_EQ(root->text, "x & y");
  EXPECT_EQ(root->attributes["k"], "\"");
}

// ---------------------------------------------------------------------------------------
// Options.

AutoconfigOptions parse_config(const std::string& toml, core::ConfigErrors& errors,
                               const std::string& issuer = "", const std::string& scope = "") {
  auto doc = core::ConfigDocument::load_string(toml, "test.toml", &errors);
  auto root = doc->root();
  auto section = root.child("autoconfig");
  auto o = parse_autoconfig_options(section, "MX.Example.com", issuer, scope);
  root.finish();
  return o;
}

TEST(AutoconfigOptions, Defaults) {
  core::ConfigErrors errors;
  auto o = parse_config("", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.hostname, "mx.example.com");
  EXPECT_EQ(o.oauth2_issuer, "");
  EXPECT_TRUE(o.public_ports.empty());
}

TEST(AutoconfigOptions, OAuth2FollowsSsoUnlessHidden) {
  core::ConfigErrors errors;
  auto on = parse_config("", errors, "https://idp.example.com/realms/corp", "mail");
  EXPECT_EQ(on.oauth2_issuer, "https://idp.example.com/realms/corp");
  EXPECT_EQ(on.oauth2_scope, "openid email mail");
  auto off =
      parse_config("[autoconfig]\noauth2 = false\n", errors, "https://idp.example.com/realms/corp");
  EXPECT_EQ(off.oauth2_issuer, "");
  EXPECT_TRUE(errors.empty());
}

TEST(AutoconfigOptions, ErrorsNameTheKey) {
  core::ConfigErrors errors;
  parse_config(
      "[autoconfig]\nhostname = \"mail example\"\nimap_prot = 143\nimaps_port = 70000\n"
      "oauth2_auth_url = \"javascript:alert(1)\"\n",
      errors);
  std::string all;
  for (const auto& m : errors.messages()) all += m + "\n";
  EXPECT_NE(all.find("hostname"), std::string::npos) << all;
  EXPECT_NE(all.find("imap_prot"), std::string::npos) << all;
  EXPECT_NE(all.find("imaps_port"), std::string::npos) << all;
  EXPECT_NE(all.find("oauth2_auth_url"), std::string::npos) << all;
  EXPECT_EQ(errors.messages().size(), 4u) << all;
}

TEST(AutoconfigOptions, PublicPortsReplaceAndAdd) {
  core::ConfigErrors errors;
  auto o = parse_config("[autoconfig]\nimaps_port = 993\nsubmissions_port = 465\n", errors);
  ASSERT_TRUE(errors.empty());
  std::vector<ClientEndpoint> listeners = {
      {"submission", 10587, "STARTTLS"},
      {"imap", 10143, "STARTTLS"},
      {"imap", 10993, "SSL"},
      {"imap", 10994, "SSL"},  // a second implicit-TLS listener: both become 993, once
      {"pop3", 10995, "SSL"},
      {"lmtp", 24, "SSL"},
      {"imap", 0, "SSL"},
      {"imap", 1143, "plain"}};
  auto e = advertised_endpoints(o, listeners);
  std::vector<std::string> got;
  for (const auto& x : e) got.push_back(x.protocol + ":" + std::to_string(x.port) + ":" + x.socket);
  EXPECT_EQ(got, (std::vector<std::string>{"imap:993:SSL", "imap:10143:STARTTLS", "pop3:10995:SSL",
                                           "submission:465:SSL", "submission:10587:STARTTLS"}));
}

// ---------------------------------------------------------------------------------------
// Documents.

struct SiteFixture {
  AutoconfigOptions options;
  AutoconfigSite site;
  SiteFixture() {
    options.hostname = "mail.example.com";
    site.options = &options;
    site.domain = "example.com";
    site.endpoints = {{"imap", 993, "SSL"},
                      {"imap", 143, "STARTTLS"},
                      {"pop3", 995, "SSL"},
                      {"submission", 465, "SSL"},
                      {"submission", 587, "STARTTLS"}};
  }
};

TEST(AutoconfigXmlEscape, EscapesAndRepairs) {
  EXPECT_EQ(autoconfig_xml_escape("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&apos;c");
  EXPECT_EQ(autoconfig_xml_escape("caf\xC3\xA9"), "caf\xC3\xA9");
  // A control character, a lone continuation byte, an overlong '/', a surrogate.
  EXPECT_EQ(autoconfig_xml_escape(std::string("a\x01"
                                              "b",
                                              3)),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(autoconfig_xml_escape("\x80"), "\xEF\xBF\xBD");
  EXPECT_EQ(autoconfig_xml_escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(autoconfig_xml_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(autoconfig_xml_escape(std::string("\0", 1)), "\xEF\xBF\xBD");
}

TEST(AutoconfigThunderbird, ServersInOrderWithTheirSocketTypes) {
  SiteFixture f;
  auto root = parse_xml(thunderbird_config(f.site));
  EXPECT_EQ(root.name, "clientConfig");
  EXPECT_EQ(root.attributes["version"], "1.1");
  const XmlNode* provider = root.first("emailProvider");
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->attributes.at("id"), "example.com");
  EXPECT_EQ(provider->child_text("domain"), "example.com");
  EXPECT_EQ(provider->child_text("displayName"), "example.com");
  auto incoming = provider->all("incomingServer");
  ASSERT_EQ(incoming.size(), 3u);
  EXPECT_EQ(incoming[0]->attributes.at("type"), "imap");
  EXPECT_EQ(incoming[0]->child_text("port"), "993");
  EXPECT_EQ(incoming[0]->child_text("socketType"), "SSL");
  EXPECT_EQ(incoming[1]->child_text("port"), "143");
  EXPECT_EQ(incoming[1]->child_text("socketType"), "STARTTLS");
  EXPECT_EQ(incoming[2]->attributes.at("type"), "pop3");
  for (const auto* s : incoming) {
    EXPECT_EQ(s->child_text("hostname"), "mail.example.com");
    EXPECT_EQ(s->child_text("username"), "%EMAILADDRESS%");
    ASSERT_EQ(s->all("authentication").size(), 1u);
    EXPECT_EQ(s->child_text("authentication"), "password-cleartext");
  }
  auto outgoing = provider->all("outgoingServer");
  ASSERT_EQ(outgoing.size(), 2u);
  EXPECT_EQ(outgoing[0]->attributes.at("type"), "smtp");
  EXPECT_EQ(outgoing[0]->child_text("port"), "465");
  EXPECT_EQ(outgoing[0]->child_text("socketType"), "SSL");
  EXPECT_EQ(outgoing[1]->child_text("socketType"), "STARTTLS");
  EXPECT_EQ(root.first("oAuth2"), nullptr);
}

TEST(AutoconfigThunderbird, OAuth2WhenAdvertised) {
  SiteFixture f;
  f.options.oauth2_issuer = "https://idp.example.com:8443/realms/corp";
  f.options.oauth2_scope = "openid email mail";
  f.options.oauth2_auth_url = "https://idp.example.com/auth?a=1&b=2";
  auto root = parse_xml(thunderbird_config(f.site));
  for (const auto* s : root.first("emailProvider")->all("incomingServer")) {
    auto auth = s->all("authentication");
    ASSERT_EQ(auth.size(), 2u);
    EXPECT_EQ(auth[0]->text, "OAuth2");
    EXPECT_EQ(auth[1]->text, "password-cleartext");
  }
  const XmlNode* oauth = root.first("oAuth2");
  ASSERT_NE(oauth, nullptr);
  EXPECT_EQ(oauth->child_text("issuer"), "idp.example.com");
  EXPECT_EQ(oauth->child_text("scope"), "openid email mail");
  EXPECT_EQ(oauth->child_text("authURL"), "https://idp.example.com/auth?a=1&b=2");
  EXPECT_EQ(oauth->first("tokenURL"), nullptr);
}

TEST(AutoconfigThunderbird, HostileDisplayNameStaysText) {
  SiteFixture f;
  f.options.display_name = "</displayName><incomingServer type=\"imap\">&evil;";
  auto root = parse_xml(thunderbird_config(f.site));
  EXPECT_EQ(root.first("emailProvider")->child_text("displayName"), f.options.display_name);
  EXPECT_EQ(root.first("emailProvider")->all("incomingServer").size(), 3u);
}

TEST(AutoconfigAutodiscover, ResponseHasOneProtocolPerType) {
  SiteFixture f;
  f.site.endpoints = {{"imap", 143, "STARTTLS"},
                      {"pop3", 995, "SSL"},
                      {"submission", 465, "SSL"},
                      {"submission", 587, "STARTTLS"}};
  std::string email = "\"a<b>\"@example.com";
  auto root = parse_xml(autodiscover_response(f.site, email));
  EXPECT_EQ(root.name, "Autodiscover");
  const XmlNode* response = root.first("Response");
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->attributes.at("xmlns"), std::string(kAutodiscoverOutlookSchema));
  const XmlNode* account = response->first("Account");
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->child_text("AccountType"), "email");
  EXPECT_EQ(account->child_text("Action"), "settings");
  auto protocols = account->all("Protocol");
  ASSERT_EQ(protocols.size(), 3u);
  std::map<std::string, const XmlNode*> by_type;
  for (const auto* p : protocols) by_type[p->child_text("Type")] = p;
  ASSERT_TRUE(by_type.count("IMAP") && by_type.count("POP3") && by_type.count("SMTP"));
  EXPECT_EQ(by_type["IMAP"]->child_text("Port"), "143");
  EXPECT_EQ(by_type["IMAP"]->child_text("Encryption"), "TLS");
  EXPECT_EQ(by_type["POP3"]->child_text("Encryption"), "SSL");
  EXPECT_EQ(by_type["SMTP"]->child_text("Port"), "465");  // the preferred of the two
  for (const auto* p : protocols) {
    EXPECT_EQ(p->child_text("Server"), "mail.example.com");
    EXPECT_EQ(p->child_text("LoginName"), email);
    EXPECT_EQ(p->child_text("SPA"), "off");
    EXPECT_EQ(p->child_text("AuthRequired"), "on");
  }
}

TEST(AutoconfigAutodiscover, ErrorDocument) {
  auto root = parse_xml(autodiscover_error(600, "Invalid <Request>"));
  const XmlNode* error = root.first("Response")->first("Error");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->child_text("ErrorCode"), "600");
  EXPECT_EQ(error->child_text("Message"), "Invalid <Request>");
}

TEST(AutoconfigAutodiscover, JsonV2) {
  AutoconfigOptions o;
  o.hostname = "mail.example.com";
  auto v1 = autodiscover_json(o, "autodiscoverv1");
  EXPECT_EQ(v1.status, 200);
  EXPECT_EQ(v1.body,
            "{\"Protocol\":\"AutodiscoverV1\","
            "\"Url\":\"https://mail.example.com/autodiscover/autodiscover.xml\"}");
  auto eas = autodiscover_json(o, "ActiveSync");
  EXPECT_EQ(eas.status, 404);
  EXPECT_EQ(eas.body.rfind("{\"ErrorCode\":\"ProtocolNotSupported\",", 0), 0u) << eas.body;
  EXPECT_EQ(autodiscover_json_error(400, "X\"", "a\\b\n").body,
            "{\"ErrorCode\":\"X\\\"\",\"ErrorMessage\":\"a\\\\b\\n\"}");
}

// ---------------------------------------------------------------------------------------
// The Autodiscover request reader.

const std::string kOutlookRequest =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<Autodiscover "
    "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\r\n"
    "  <Request>\r\n"
    "    <EMailAddress>alice@example.com</EMailAddress>\r\n"
    "    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
    "responseschema/2006a</AcceptableResponseSchema>\r\n"
    "  </Request>\r\n"
    "</Autodiscover>\r\n";

TEST(AutodiscoverRequest, ReadsOutlooksRequest) {
  auto r = parse_autodiscover_request(kOutlookRequest);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->email, "alice@example.com");
  EXPECT_EQ(r->schema, kAutodiscoverOutlookSchema);
}

TEST(AutodiscoverRequest, PrefixesCommentsReferencesAndABom) {
  auto r = parse_autodiscover_request(
      "\xEF\xBB\xBF<a:Autodiscover xmlns:a=\"urn:x\" note='1>0'><!-- hi --><a:Request>"
      "<a:EMailAddress> &#x22;a&lt;b&gt;&#34;@example.com </a:EMailAddress>"
      "<a:Empty/></a:Request></a:Autodiscover>");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->email, "\"a<b>\"@example.com");
  EXPECT_EQ(r->schema, "");
}

TEST(AutodiscoverRequest, RefusesHostileBodies) {
  const std::string tail =
      "<Autodiscover><Request><EMailAddress>&lol9;</EMailAddress></Request></Autodiscover>";
  std::vector<std::string> bad = {
      // billion laughs and external entities (XXE)
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol9 "
      "\"&lol;&lol;\">]>" +
          tail,
      "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Autodiscover><Request>"
      "<EMailAddress>&x;</EMailAddress></Request></Autodiscover>",
      tail,  // an entity without a DTD
      "<Autodiscover><Request><EMailAddress><![CDATA[a@example.com]]></EMailAddress>"
      "</Request></Autodiscover>",
      "<Autodiscover><?php x ?><Request><EMailAddress>a@example.com</EMailAddress></Request>"
      "</Autodiscover>",
      "<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress><EMailAddress>"
      "b@example.com</EMailAddress></Request></Autodiscover>",
      "<Autodiscover><Request><EMailAddress>a@<b>x</b>example.com</EMailAddress></Request>"
      "</Autodiscover>",
      "<Autodiscover><Request><EMailAddress>a@example.com</Other></Request></Autodiscover>",
      "<Autodiscover><Request><EMailAddress>&#0;@example.com</EMailAddress></Request>"
      "</Autodiscover>",
      "<Autodiscover><Request><EMailAddress>&#x110000;@x</EMailAddress></Request></Autodiscover>",
      "<Autodiscover><Request><EMailAddress>&#xD800;@x</EMailAddress></Request></Autodiscover>",
      "<Autodiscover><Request><EMailAddress> </EMailAddress></Request></Autodiscover>",
      "<Autodiscover><Request></Request></Autodiscover>",
      "</Autodiscover>",
      "<Autodiscover><Request attr=\"<\"><EMailAddress>a@x</EMailAddress></Request></Autodiscover>",
      "",
  };
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  bad.push_back(deep + "<EMailAddress>a@x</EMailAddress>");
  std::string big = kOutlookRequest;
  big.insert(big.find("<Request>"), std::string(kAutodiscoverMaxBody, ' '));
  bad.push_back(big);
  // A raw control character XML forbids in the address (found by fuzz.autodiscover).
  bad.push_back(
      "<Autodiscover><Request><EMailAddress>a\x1d@x</EMailAddress></Request></Autodiscover>");
  for (const auto& body : bad) {
    auto r = parse_autodiscover_request(body);
    EXPECT_FALSE(r) << body.substr(0, 200);
    if (!r) {
      EXPECT_EQ(r.code(), core::Code::invalid_argument);
    }
  }
}

TEST(AutodiscoverRequest, EveryTruncationIsRefused) {
  // A request cut anywhere before its last end tag is refused, never half-read.
  std::string whole = kOutlookRequest.substr(0, kOutlookRequest.rfind('>') + 1);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    EXPECT_FALSE(parse_autodiscover_request(whole.substr(0, n))) << n;
  }
  EXPECT_TRUE(parse_autodiscover_request(whole));
}

// ---------------------------------------------------------------------------------------
// The Apple profile.

TEST(AutoconfigMobileconfig, PlistWithStableUuids) {
  SiteFixture f;
  std::string doc = apple_mobileconfig(f.site, "Alice@Example.com");
  auto root = parse_xml(doc);
  EXPECT_EQ(root.name, "plist");
  const XmlNode* top = root.first("dict");
  ASSERT_NE(top, nullptr);
  // A plist dict alternates <key> and a value: read it into a map of key -> value node.
  auto entries = [](const XmlNode& dict) {
    std::map<std::string, const XmlNode*> out;
    for (std::size_t i = 0; i + 1 < dict.children.size(); i += 2) {
      EXPECT_EQ(dict.children[i].name, "key");
      out[dict.children[i].text] = &dict.children[i + 1];
    }
    EXPECT_EQ(dict.children.size() % 2, 0u);
    return out;
  };
  auto outer = entries(*top);
  EXPECT_EQ(outer["PayloadType"]->text, "Configuration");
  const XmlNode* content = outer["PayloadContent"];
  ASSERT_EQ(content->name, "array");
  ASSERT_EQ(content->children.size(), 1u);
  auto mail = entries(content->children[0]);
  EXPECT_EQ(mail["PayloadType"]->text, "com.apple.mail.managed");
  EXPECT_EQ(mail["EmailAccountType"]->text, "EmailTypeIMAP");
  EXPECT_EQ(mail["EmailAddress"]->text, "Alice@Example.com");
  EXPECT_EQ(mail["IncomingMailServerHostName"]->text, "mail.example.com");
  EXPECT_EQ(mail["IncomingMailServerPortNumber"]->text, "993");
  EXPECT_EQ(mail["IncomingMailServerUseSSL"]->name, "true");
  EXPECT_EQ(mail["OutgoingMailServerPortNumber"]->text, "465");
  EXPECT_EQ(mail["IncomingMailServerAuthentication"]->text, "EmailAuthPassword");
  EXPECT_NE(outer["PayloadUUID"]->text, mail["PayloadUUID"]->text);
  EXPECT_EQ(mail["PayloadIdentifier"]->text, outer["PayloadIdentifier"]->text + ".mail");
  EXPECT_EQ(outer["PayloadIdentifier"]->text.rfind("com.example.mailroom.autoconfig.", 0), 0u);

  // Same profile for the same address in any case; another one for another address.
  std::string lower = doc;
  for (auto at = lower.find("Alice@Example.com"); at != std::string::npos;
       at = lower.find("Alice@Example.com", at)) {
    lower.replace(at, 17, "alice@example.com");
  }
  EXPECT_EQ(apple_mobileconfig(f.site, "alice@example.com"), lower)
      << "only the displayed address may differ";
  std::string bob = apple_mobileconfig(f.site, "bob@example.com");
  EXPECT_EQ(bob.find(outer["PayloadUUID"]->text), std::string::npos);
}

TEST(AutoconfigMobileconfig, PopWhenNoImapAndEscaping) {
  SiteFixture f;
  f.site.endpoints = {{"pop3", 995, "SSL"}, {"submission", 587, "STARTTLS"}};
  std::string email = "\"</string><key>x</key>\"@example.com";
  auto root = parse_xml(apple_mobileconfig(f.site, email));
  const XmlNode& mail = root.first("dict")->first("array")->children.at(0);
  std::map<std::string, std::string> kv;
  for (std::size_t i = 0; i + 1 < mail.children.size(); i += 2) {
    kv[mail.children[i].text] = mail.children[i + 1].text;
  }
  EXPECT_EQ(kv["EmailAccountType"], "EmailTypePOP");
  EXPECT_EQ(kv["IncomingMailServerPortNumber"], "995");
  EXPECT_EQ(kv["OutgoingMailServerPortNumber"], "587");
  EXPECT_EQ(kv["EmailAddress"], email);
  EXPECT_EQ(kv.count("x"), 0u);
}

TEST(AutoconfigUuid, Version5) {
  // RFC 4122 version 5 in the DNS namespace, as Python's uuid.uuid5 computes it.
  EXPECT_EQ(autoconfig_uuid_in("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"),
            "886313E1-3B8A-5372-9B90-0C9AEE199E5D");
  EXPECT_EQ(autoconfig_uuid_in("not a uuid", "x"), "");
  std::string u = autoconfig_uuid("x");
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '5');
  EXPECT_NE(std::string("89AB").find(u[19]), std::string::npos);
  EXPECT_EQ(u, autoconfig_uuid("x"));
  EXPECT_NE(u, autoconfig_uuid("y"));
}

// ---------------------------------------------------------------------------------------
// The routes, against a fake directory.

// The ErrorCode of an Autodiscover error document; "" when the body is not one.
std::string pox_error_code(const std::string& body) {
  auto root = parse_xml(body);
  const XmlNode* response = root.first("Response");
  const XmlNode* error = response ? response->first("Error") : nullptr;
  return error ? error->child_text("ErrorCode") : "";
}

class AutoconfigRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::make_shared<testing::FakeDirectory>();
    directory_->add_domain("example.com");
    directory_->add_domain("example.net", "example.com");  // an alias domain
    directory_->add_account("alice@example.com", "wonderland");
    services_.directory = directory_;
    services_.resolver = std::make_shared<auth::Resolver>(directory_, auth::ResolverOptions{});
    auto options = std::make_shared<AutoconfigOptions>();
    options->hostname = "mail.example.com";
    options->public_ports = {{"imap", 993, "SSL"}};
    ctx_->services = &services_;
    ctx_->autoconfig = options;
    ctx_->client_endpoints = {{"imap", 10993, "SSL"}, {"submission", 10587, "STARTTLS"}};
    add_autoconfig_routes(router_, ctx_);
  }

  http::Response call(const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& host = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.body = body;
    if (!host.empty()) r.headers.emplace_back("host", host);
    auto m = router_.match(method, r.path);
    if (!m.route) return http::Response::text(m.allow.empty() ? 404 : 405, "no route");
    r.params = m.params;
    return m.route->handler(r);
  }

  std::shared_ptr<testing::FakeDirectory> directory_;
  core::Services services_;
  std::shared_ptr<Context> ctx_ = std::make_shared<Context>();
  http::Router router_;
};

TEST_F(AutoconfigRoutes, ThunderbirdByAddressAndByHost) {
  auto a =
      call("GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.com");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("Content-Type"), "text/xml; charset=utf-8");
  auto root = parse_xml(a.body);
  auto incoming = root.first("emailProvider")->all("incomingServer");
  ASSERT_EQ(incoming.size(), 1u);
  EXPECT_EQ(incoming[0]->child_text("port"), "993");  // the public port, not 10993
  // By Host, on autoconfig.<domain>, with a port: the same document.
  auto b = call("GET", "/mail/config-v1.1.xml", "", "Autoconfig.Example.COM:443");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, a.body);
  // The document names no user: an unknown user of the domain gets the same one.
  EXPECT_EQ(call("GET", "/mail/config-v1.1.xml?emailaddress=nobody@example.com").body, a.body);
  // An alias domain is ours too.
  EXPECT_EQ(call("GET", "/mail/config-v1.1.xml?emailaddress=alice@example.net").status, 200);
}

TEST_F(AutoconfigRoutes, OnlyLocalDomainsAndNoUserLookups) {
  EXPECT_EQ(call("GET", "/mail/config-v1.1.xml?emailaddress=a@example.org").status, 404);
  EXPECT_EQ(call("GET", "/mobileconfig?email=a@example.org").status, 404);
  EXPECT_EQ(call("GET", "/mail/config-v1.1.xml", "", "[::1]:80").status, 400);
  EXPECT_EQ(call("GET", "/mail/config-v1.1.xml?emailaddress=not-an-address").status, 400);
  EXPECT_EQ(call("GET", "/mobileconfig?email=" + std::string(400, 'a') + "@example.com").status,
            400);
  // Any lookup of the user would now fail: the answers must not need one.
  directory_->fail_keys = {"alice@example.com", "nobody@example.com"};
  EXPECT_EQ(call("GET", "/mobileconfig?email=alice@example.com").status, 200);
  EXPECT_EQ(call("POST", "/autodiscover/autodiscover.xml",
                 "<Autodiscover><Request><EMailAddress>nobody@example.com</EMailAddress>"
                 "</Request></Autodiscover>")
                .status,
            200);
}

TEST_F(AutoconfigRoutes, DirectoryDownIsATemporaryFailure) {
  directory_->fail_all = true;
  auto t = call("GET", "/mail/config-v1.1.xml?emailaddress=alice@example.com");
  EXPECT_EQ(t.status, 503);
  EXPECT_EQ(t.header("Retry-After"), "30");
  auto p = call("POST", "/Autodiscover/Autodiscover.xml", kOutlookRequest);
  EXPECT_EQ(p.status, 503);
  EXPECT_EQ(pox_error_code(p.body), "603");
  EXPECT_EQ(call("GET",
                 "/autodiscover/autodiscover.json?Email=alice@example.com&Protocol="
                 "AutodiscoverV1")
                .status,
            503);
}

TEST_F(AutoconfigRoutes, AutodiscoverPox) {
  auto ok = call("POST", "/autodiscover/autodiscover.xml", kOutlookRequest);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto doc = parse_xml(ok.body);
  auto protocols = doc.first("Response")->first("Account")->all("Protocol");
  ASSERT_EQ(protocols.size(), 2u);
  EXPECT_EQ(protocols[0]->child_text("LoginName"), "alice@example.com");
  EXPECT_EQ(call("POST", "/Autodiscover/Autodiscover.xml", kOutlookRequest).status, 200);
  EXPECT_EQ(call("GET", "/autodiscover/autodiscover.xml").status, 405);

  std::string other = kOutlookRequest;
  other.replace(other.find("example.com"), 11, "example.org");
  auto nf = call("POST", "/autodiscover/autodiscover.xml", other);
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(pox_error_code(nf.body), "500");

  auto dtd = call("POST", "/autodiscover/autodiscover.xml",
                  "<!DOCTYPE a [<!ENTITY x \"alice@example.com\">]>" + kOutlookRequest);
  EXPECT_EQ(dtd.status, 400);
  EXPECT_EQ(pox_error_code(dtd.body), "600");
  auto big = call("POST", "/autodiscover/autodiscover.xml",
                  kOutlookRequest + std::string(kAutodiscoverMaxBody, ' '));
  EXPECT_EQ(big.status, 413);

  std::string mobile = kOutlookRequest;
  mobile.replace(mobile.find("outlook/responseschema"), 7, "mobilesync");
  auto eas = call("POST", "/autodiscover/autodiscover.xml", mobile);
  EXPECT_EQ(eas.status, 200);
  EXPECT_EQ(pox_error_code(eas.body), "601");
}

TEST_F(AutoconfigRoutes, AutodiscoverJson) {
  auto q = call("GET",
                "/autodiscover/autodiscover.json?Email=alice@example.com&Protocol="
                "AutodiscoverV1");
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.header("Content-Type"), "application/json");
  EXPECT_NE(q.body.find("\"https://mail.example.com/autodiscover/autodiscover.xml\""),
            std::string::npos);
  auto path = call("GET",
                   "/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol="
                   "autodiscoverv1");
  EXPECT_EQ(path.status, 200);
  EXPECT_EQ(path.body, q.body);
  EXPECT_EQ(call("GET",
                 "/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol="
                 "ActiveSync")
                .status,
            404);
  EXPECT_EQ(call("GET",
                 "/autodiscover/autodiscover.json/v1.0/a@example.org?Protocol="
                 "AutodiscoverV1")
                .status,
            404);
  EXPECT_EQ(call("GET", "/autodiscover/autodiscover.json?Email=alice@example.com").status, 400);
}

TEST_F(AutoconfigRoutes, Mobileconfig) {
  auto r = call("GET", "/mobileconfig?email=alice%40example.com");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/x-apple-aspen-config");
  EXPECT_EQ(r.header("Content-Disposition"), "attachment; filename=\"example.com.mobileconfig\"");
  parse_xml(r.body);
  EXPECT_EQ(call("GET", "/mobileconfig").status, 400);
}

TEST_F(AutoconfigRoutes, NothingToAdvertise) {
  // Only plaintext listeners (never advertised) and no public ports.
  ctx_->client_endpoints = {{"imap", 143, "plain"}};
  auto options = std::make_shared<AutoconfigOptions>(*ctx_->autoconfig);
  options->public_ports.clear();
  ctx_->autoconfig = options;
  EXPECT_EQ(call("GET", "/mail/config-v1.1.xml?emailaddress=alice@example.com").status, 404);
  EXPECT_EQ(call("GET", "/mobileconfig?email=alice@example.com").status, 404);
  EXPECT_EQ(call("POST", "/autodiscover/autodiscover.xml", kOutlookRequest).status, 404);
}

TEST_F(AutoconfigRoutes, DisabledServesNothing) {
  auto options = std::make_shared<AutoconfigOptions>(*ctx_->autoconfig);
  options->enabled = false;
  ctx_->autoconfig = options;
  http::Router router;
  add_autoconfig_routes(router, ctx_);
  EXPECT_EQ(router.match("GET", "/mail/config-v1.1.xml").route, nullptr);
  EXPECT_EQ(router.match("POST", "/autodiscover/autodiscover.xml").route, nullptr);
}

}  // namespace
}  // namespace mailroom::api
