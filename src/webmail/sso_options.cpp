// [[webmail.sso]] (sso_options.h).
#include "src/webmail/sso_options.h"

#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "src/core/config_section.h"

namespace mailroom::webmail {
namespace {

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

// A secret on disk is private to the server's user (STYLE: secrets on disk 0600).
std::string read_private_secret(core::ConfigSection& s, const std::string& key,
                                const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    s.error(key, "cannot read " + path);
    return {};
  }
  if ((st.st_mode & 077) != 0) {
    s.error(key, path + " must be readable by its owner only (chmod 600)");
    return {};
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (!in || secret.empty()) s.error(key, "cannot read a secret from " + path);
  return secret;
}

}  // namespace

std::vector<SsoProviderOptions> parse_sso_options(core::ConfigSection& webmail) {
  std::vector<SsoProviderOptions> out;
  for (auto& s : webmail.children("sso")) {
    SsoProviderOptions p;
    p.id = s.get_string("id", out.empty() ? "sso" : "");
    if (!valid_id(p.id)) s.error("id", "required: [A-Za-z0-9_-]{1,32}");
    for (const auto& other : out) {
      if (other.id == p.id) s.error("id", "two [[webmail.sso]] tables have id " + p.id);
    }
    p.display_name = s.get_string("display_name", p.id);
    p.issuer = s.get_string("issuer", "");
    if (p.issuer.empty()) s.error("issuer", "required: the exact iss of the provider");
    p.client_id = s.get_string("client_id", "");
    if (p.client_id.empty())
      s.error("client_id", "required: the client registered at the provider");
    std::string secret_file = s.get_string("client_secret_file", "");
    if (secret_file.empty()) {
      s.error("client_secret_file", "required: a file (mode 0600) holding the client secret");
    } else {
      p.client_secret = read_private_secret(s, "client_secret_file", secret_file);
    }
    p.redirect_uri = s.get_string("redirect_uri", "");
    if (!p.redirect_uri.empty() && !p.redirect_uri.ends_with("/webmail/sso/callback")) {
      s.error("redirect_uri", "must end with /webmail/sso/callback");
    }
    p.scopes = s.get_strings("scopes", p.scopes);
    p.claim = s.get_string("claim", "");
    p.match = s.get_string("match", "");
    if (!p.match.empty() && p.match != "login" && p.match != "id") {
      s.error("match", "\"login\" or \"id\"");
    }
    p.discovery_url = s.get_string("discovery_url", "");
    p.jwks_uri = s.get_string("jwks_uri", "");
    p.authorization_endpoint = s.get_string("authorization_endpoint", "");
    p.token_endpoint = s.get_string("token_endpoint", "");
    p.end_session_endpoint = s.get_string("end_session_endpoint", "");
    p.post_logout_redirect_uri = s.get_string("post_logout_redirect_uri", "");
    p.login_timeout = s.get_seconds("login_timeout", p.login_timeout);
    if (p.login_timeout <= 0 || p.login_timeout > 3600) {
      s.error("login_timeout", "between 1 s and 1 h");
    }
    s.finish();
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace mailroom::webmail
