// The blocking HTTP/1.1 client (client.h). Lifted from sso/http_fetch.cpp, which now calls it,
// and given kept connections and request headers for rspamd (src/filter/rspamd_scanner.cpp).
//
// A connection owns its io_context: the thread that borrows it runs that context for one
// exchange, so no I/O thread is involved and an idle connection costs one socket.
#include "src/http/client.h"

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
#include <map>
#include <mutex>
#include <optional>

namespace mailroom::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

struct ClientTarget {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // path and query
  std::string key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

std::optional<ClientTarget> parse_client_url(const std::string& url, std::string* error) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) {
    *error = "not an absolute URL";
    return std::nullopt;
  }
  ClientTarget t;
  if (u->scheme() == "https") {
    t.tls = true;
  } else if (u->scheme() != "http") {
    *error = "scheme must be http or https";
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

std::string describe_error(const boost::system::error_code& ec) {
  return ec == beast::error::timeout ? std::string("timed out") : ec.message();
}

}  // namespace

// One connection and the context its operations run on.
struct ClientConnection {
  asio::io_context io{1};
  std::optional<beast::tcp_stream> tcp;
  std::unique_ptr<asio::ssl::context> tls_context;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;  // bytes read past the last answer (none from a sane peer)
  std::chrono::steady_clock::time_point idle_since;
  bool answer_started = false;  // a byte of this exchange's answer arrived
  bool keep = false;            // the answer allows another request on this connection
};

struct Client::Pool {
  std::mutex mu;
  std::multimap<std::string, std::unique_ptr<ClientConnection>> idle;
};

namespace {

struct Exchange {
  const ClientOptions* options;
  const ClientTarget* target;
  const ClientRequest* request;
  ClientResponse* out;
  std::chrono::steady_clock::time_point deadline;
};

template <class Stream>
asio::awaitable<void> send_and_read(Stream& stream, ClientConnection& c, const Exchange& x) {
  boost::system::error_code ec;
  const ClientTarget& t = *x.target;
  const ClientRequest& req = *x.request;
  bhttp::request<bhttp::span_body<const char>> request{
      req.method == "POST" ? bhttp::verb::post : bhttp::verb::get, t.path, 11};
  bool default_port = t.port == (t.tls ? "443" : "80");
  request.set(bhttp::field::host, default_port ? t.host : t.host + ":" + t.port);
  request.set(bhttp::field::user_agent, x.options->user_agent);
  for (const auto& [name, value] : req.headers) request.insert(name, value);
  request.keep_alive(x.options->max_idle > 0);
  if (req.method == "POST") {
    if (!req.content_type.empty()) request.set(bhttp::field::content_type, req.content_type);
    request.body() = boost::span<const char>(req.body.data(), req.body.size());
    request.prepare_payload();
  }
  co_await bhttp::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    x.out->error = "sending the request: " + describe_error(ec);
    co_return;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(x.options->max_header));
  parser.body_limit(x.options->max_body);
  co_await bhttp::async_read_header(stream, c.buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    c.answer_started = true;
    co_await bhttp::async_read(stream, c.buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
  } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
             ec != asio::error::connection_reset && c.buffer.size() > 0) {
    c.answer_started = true;
  }
  if (ec && !(ec == asio::ssl::error::stream_truncated && parser.is_done())) {
    x.out->error = "reading the response: " +
                   (ec == bhttp::error::body_limit
                        ? "body larger than " + std::to_string(x.options->max_body) + " bytes"
                        : describe_error(ec));
    co_return;
  }
  auto& msg = parser.get();
  x.out->status = msg.result_int();
  for (const auto& field : msg) {
    x.out->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  x.out->body = std::move(msg.body());
  c.keep = parser.keep_alive();
}

asio::awaitable<void> connect_and_exchange(ClientConnection& c, SSL_CTX* tls, bool fresh,
                                           Exchange x) {
  boost::system::error_code ec;
  const ClientTarget& t = *x.target;
  if (fresh) {
    asio::ip::tcp::resolver resolver(c.io);
    auto addresses = co_await resolver.async_resolve(t.host, t.port,
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      x.out->error = "resolving " + t.host + ": " + ec.message();
      co_return;
    }
    c.tcp.emplace(c.io);
    c.tcp->expires_at(x.deadline);
    co_await c.tcp->async_connect(addresses, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      x.out->error = "connecting to " + t.host + ":" + t.port + ": " + describe_error(ec);
      co_return;
    }
    if (t.tls) {
      SSL_CTX_up_ref(tls);
      c.tls_context = std::make_unique<asio::ssl::context>(tls);  // takes the reference
      c.tls.emplace(std::move(*c.tcp), *c.tls_context);
      c.tcp.reset();
      SSL* ssl = c.tls->native_handle();
      SSL_set_tlsext_host_name(ssl, t.host.c_str());
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      // RFC 6125: the certificate must name the host (or the address, if the URL has one).
      if (X509_VERIFY_PARAM_set1_ip_asc(param, t.host.c_str()) != 1) {
        X509_VERIFY_PARAM_set1_host(param, t.host.c_str(), 0);
      }
      co_await c.tls->async_handshake(asio::ssl::stream_base::client,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        long verify = SSL_get_verify_result(ssl);
        x.out->error = "TLS with " + t.host + ": " + describe_error(ec);
        if (verify != X509_V_OK) {
          x.out->error +=
              " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
        }
        co_return;
      }
    }
  }
  if (c.tls) {
    beast::get_lowest_layer(*c.tls).expires_at(x.deadline);
    co_await send_and_read(*c.tls, c, x);
  } else {
    c.tcp->expires_at(x.deadline);
    co_await send_and_read(*c.tcp, c, x);
  }
}

}  // namespace

std::shared_ptr<ssl_ctx_st> make_client_tls_context(const std::string& ca_file) {
  std::shared_ptr<SSL_CTX> tls(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (!tls) return nullptr;
  SSL_CTX_set_min_proto_version(tls.get(), TLS1_2_VERSION);
  if (ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(tls.get());
  } else {
    SSL_CTX_load_verify_locations(tls.get(), ca_file.c_str(), nullptr);
  }
  return tls;
}

Client::Client(ClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {}

Client::~Client() = default;

ClientResponse Client::fetch(const ClientRequest& req) {
  ClientResponse out;
  auto target = parse_client_url(req.url, &out.error);
  if (!target) {
    out.error = req.url + ": " + out.error;
    return out;
  }
  if (!target->tls && !options_.allow_http) {
    out.error = req.url + ": http:// refused";
    return out;
  }
  if (target->tls && !options_.tls_context) {
    out.error = req.url + ": no TLS context";
    return out;
  }
  const std::string key = target->key();
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<ClientConnection> c;
    if (attempt == 0 && options_.max_idle > 0) {
      std::lock_guard lock(pool_->mu);
      const auto now = std::chrono::steady_clock::now();
      auto [first, last] = pool_->idle.equal_range(key);
      for (auto it = first; it != last;) {
        if (now - it->second->idle_since > options_.idle_timeout) {
          it = pool_->idle.erase(it);  // the peer has probably closed it by now
        } else if (!c) {
          c = std::move(it->second);
          it = pool_->idle.erase(it);
        } else {
          ++it;
        }
      }
    }
    const bool reused = c != nullptr;
    if (!c) c = std::make_unique<ClientConnection>();
    c->io.restart();
    c->answer_started = false;
    c->keep = false;
    out = ClientResponse{};
    out.reused = reused;
    Exchange x{&options_, &*target, &req, &out,
               std::chrono::steady_clock::now() + options_.timeout};
    asio::co_spawn(c->io, connect_and_exchange(*c, options_.tls_context.get(), !reused, x),
                   asio::detached);
    // The deadline covers connect and the exchange; this bounds the resolver too.
    c->io.run_for(options_.timeout + std::chrono::seconds(1));
    if (!c->io.stopped()) {
      c->io.stop();
      out = ClientResponse{};
      out.error = req.url + ": timed out";
      return out;
    }
    if (!out.error.empty()) {
      // A kept connection the peer closed while idle: nothing of the answer came back.
      if (reused && !c->answer_started) continue;
      out.error = req.url + ": " + out.error;
      return out;
    }
    if (c->keep && options_.max_idle > 0 && c->buffer.size() == 0) {
      c->idle_since = std::chrono::steady_clock::now();
      std::lock_guard lock(pool_->mu);
      if (pool_->idle.count(key) < options_.max_idle) pool_->idle.emplace(key, std::move(c));
    }
    return out;
  }
  return out;
}

}  // namespace mailroom::http
