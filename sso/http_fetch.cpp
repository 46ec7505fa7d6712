// The HTTP client of sso/ (sso.h make_http_fetch): the shared blocking client of src/http, one
// request per call and no kept connections (an identity provider is asked a few times an hour),
// so a slow provider holds only the refresher or the one worker that asked, never an I/O thread.
#include <algorithm>
#include <chrono>
#include <memory>

#include "src/core/base64.h"
#include "src/http/client.h"
#include "sso/sso.h"

namespace mailroom::sso {

HttpFetch make_http_fetch(const Options& options) {
  http::ClientOptions o;
  o.tls_context = http::make_client_tls_context(options.tls_ca_file);
  o.allow_http = options.allow_http;
  o.timeout = std::chrono::seconds(std::max<int64_t>(1, options.fetch_timeout));
  o.max_body = 1 << 20;  // discovery documents and key sets are a few kB
  o.max_idle = 0;
  o.user_agent = "Mailroom (SSO)";
  auto client = std::make_shared<http::Client>(std::move(o));
  const bool allow_http = options.allow_http;
  return [client, allow_http](const HttpRequest& req) {
    HttpResponse out;
    if (!allow_http && req.url.rfind("http://", 0) == 0) {
      out.error = req.url + ": http:// refused (set [sso] allow_http for a test provider)";
      return out;
    }
    http::ClientRequest r;
    r.method = req.method == "POST" ? "POST" : "GET";
    r.url = req.url;
    r.headers.emplace_back("Accept", "application/json");
    if (!req.basic_user.empty()) {
      r.headers.emplace_back("Authorization",
                             "Basic " + core::base64_encode(req.basic_user + ":" + req.basic_pass));
    }
    if (r.method == "POST") {
      r.content_type = "application/x-www-form-urlencoded";
      r.body = req.body;
    }
    auto answer = client->fetch(r);
    out.status = answer.status;
    out.body = std::move(answer.body);
    out.error = std::move(answer.error);
    return out;
  };
}

}  // namespace mailroom::sso
