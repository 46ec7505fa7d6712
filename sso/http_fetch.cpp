// The HTTP client of sso/ (sso.h make_http_fetch): one request per call on a private
// io_context run by the calling thread, so a slow identity provider holds only the refresher or
// the one worker that asked, never an I/O thread. Beast stays in this file.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "src/core/base64.h"
#include "sso/sso.h"

namespace mailroom::sso {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr size_t kMaxBody = 1 << 20;  // discovery documents and key sets are a few kB
constexpr size_t kMaxHeader = 16 << 10;

struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // path and query
};

std::optional<Target> parse_url(const std::string& url, std::string* error) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) {
    *error = "not an absolute URL";
    return std::nullopt;
  }
  Target t;
  if (u->scheme() == "https") {
    t.tls = true;
  } else if (u->scheme() != "http") {
    *error = "scheme must be https";
    return std::nullopt;
  }
  t.host = std::string(u->host_address());
  if (t.host.empty()) {
    *error = "no host";
    return std::nullopt;
  }
  t.port = u->has_port() ? std::string(u->port()) : (t.tls ? "443" : "80");
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

std::string describe(const boost::system::error_code& ec) {
  return ec == beast::error::timeout ? std::string("timed out") : ec.message();
}

template <class Stream>
asio::awaitable<void> exchange(Stream& stream, const Target& t, const HttpRequest& req,
                               HttpResponse& out) {
  boost::system::error_code ec;
  http::request<http::string_body> request{
      req.method == "POST" ? http::verb::post : http::verb::get, t.path, 11};
  bool default_port = t.port == (t.tls ? "443" : "80");
  request.set(http::field::host, default_port ? t.host : t.host + ":" + t.port);
  request.set(http::field::user_agent, "Mailroom (SSO)");
  request.set(http::field::accept, "application/json");
  request.set(http::field::connection, "close");
  if (!req.basic_user.empty()) {
    request.set(http::field::authorization,
                "Basic " + core::base64_encode(req.basic_user + ":" + req.basic_pass));
  }
  if (req.method == "POST") {
    request.set(http::field::content_type, "application/x-www-form-urlencoded");
    request.body() = req.body;
    request.prepare_payload();
  }
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = "sending the request: " + describe(ec);
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxHeader);
  parser.body_limit(kMaxBody);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec && !(ec == asio::ssl::error::stream_truncated && parser.is_done())) {
    out.error =
        "reading the response: " +
        (ec == http::error::body_limit ? std::string("body larger than 1 MiB") : describe(ec));
    co_return;
  }
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
}

asio::awaitable<void> run(asio::io_context& io, SSL_CTX* tls, Target t, HttpRequest req,
                          std::chrono::seconds timeout, HttpResponse& out) {
  boost::system::error_code ec;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::ip::tcp::resolver resolver(io);
  auto addresses = co_await resolver.async_resolve(t.host, t.port,
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = "resolving " + t.host + ": " + ec.message();
    co_return;
  }
  beast::tcp_stream tcp(io);
  tcp.expires_at(deadline);
  co_await tcp.async_connect(addresses, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = "connecting to " + t.host + ":" + t.port + ": " + describe(ec);
    co_return;
  }
  if (!t.tls) {
    co_await exchange(tcp, t, req, out);
    co_return;
  }
  SSL_CTX_up_ref(tls);
  asio::ssl::context context(tls);  // takes the reference
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), context);
  SSL* ssl = stream.native_handle();
  SSL_set_tlsext_host_name(ssl, t.host.c_str());
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  // RFC 6125: the certificate must name the host (or the address, if the URL has one).
  if (X509_VERIFY_PARAM_set1_ip_asc(param, t.host.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, t.host.c_str(), 0);
  }
  co_await stream.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    long verify = SSL_get_verify_result(ssl);
    out.error = "TLS with " + t.host + ": " + describe(ec);
    if (verify != X509_V_OK) {
      out.error += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
    co_return;
  }
  co_await exchange(stream, t, req, out);
}

}  // namespace

HttpFetch make_http_fetch(const Options& options) {
  std::shared_ptr<SSL_CTX> tls(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (tls) {
    SSL_CTX_set_min_proto_version(tls.get(), TLS1_2_VERSION);
    if (options.tls_ca_file.empty()) {
      SSL_CTX_set_default_verify_paths(tls.get());
    } else {
      SSL_CTX_load_verify_locations(tls.get(), options.tls_ca_file.c_str(), nullptr);
    }
  }
  const bool allow_http = options.allow_http;
  const auto timeout = std::chrono::seconds(std::max<int64_t>(1, options.fetch_timeout));
  return [tls, allow_http, timeout](const HttpRequest& req) {
    HttpResponse out;
    auto target = parse_url(req.url, &out.error);
    if (!target) {
      out.error = req.url + ": " + out.error;
      return out;
    }
    if (!target->tls && !allow_http) {
      out.error = req.url + ": http:// refused (set [sso] allow_http for a test provider)";
      return out;
    }
    if (target->tls && !tls) {
      out.error = "no TLS context";
      return out;
    }
    asio::io_context io(1);
    asio::co_spawn(io, run(io, tls.get(), *target, req, timeout, out), asio::detached);
    // The deadline covers connect and the exchange; this bounds the resolver too.
    io.run_for(timeout + std::chrono::seconds(1));
    if (!io.stopped()) {
      io.stop();
      out = HttpResponse{};
      out.error = req.url + ": timed out";
    } else if (!out.error.empty()) {
      out.error = req.url + ": " + out.error;
    }
    return out;
  };
}

}  // namespace mailroom::sso
