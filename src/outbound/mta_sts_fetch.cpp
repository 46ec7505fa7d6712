// MTA-STS discovery: TXT lookup, the HTTPS fetch with Beast (RFC 8461 3.3: verified
// certificate for mta-sts.<domain>, no redirects, text/plain, a size limit, timeouts) and the
// cache rules of RFC 8461 5.1.
#include "src/outbound/mta_sts_fetch.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/dns/await.h"

namespace mailroom::outbound {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr size_t kStsMaxAddresses = 3;
constexpr size_t kStsMaxHeaderBytes = 16 * 1024;

// RFC 8461 3.3: the policy is served as text/plain (parameters such as charset allowed).
bool sts_text_plain(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return core::iequals(type, "text/plain");
}

}  // namespace

StsDiscovery::StsDiscovery(asio::io_context& io, dns::Resolver& dns, StsSettings settings)
    : io_(io), dns_(dns), settings_(std::move(settings)) {}

asio::awaitable<StsLookup> StsDiscovery::policy_for(std::string domain) {
  StsLookup out;
  const int64_t now = core::real_clock().unix_seconds();
  auto txt = co_await dns::await_txt(dns_, "_mta-sts." + domain);
  std::optional<std::string> id;
  std::string why;
  if (txt.outcome == dns::Outcome::ok) {
    id = parse_sts_txt(txt.records, &why);
  } else {
    why = std::string("TXT lookup: ") + dns::outcome_name(txt.outcome) +
          (txt.detail.empty() ? "" : " " + txt.detail);
  }
  const StsCache::Entry* cached = cache_.find(domain, now);
  if (!id) {
    // RFC 8461 5.1: a missing or unreadable record does not withdraw a cached policy.
    if (cached) {
      out.policy = cached->policy;
      out.detail = "cached id=" + cached->id + " (" + why + ")";
    } else {
      out.detail = "no policy: " + why;
    }
    co_return out;
  }
  if (cached && cached->id == *id) {
    out.policy = cached->policy;
    out.detail = "cached id=" + cached->id;
    co_return out;
  }
  Fetched fetched = co_await fetch(domain);
  std::string error = fetched.error;
  std::optional<StsPolicy> policy;
  if (error.empty()) {
    policy = parse_sts_policy(fetched.body, &error);
    if (!policy) error = "invalid policy: " + error;
  }
  // The fetch took time: the cache may have changed meanwhile.
  cached = cache_.find(domain, core::real_clock().unix_seconds());
  if (!policy) {
    MR_LOG_WARN("event=mta_sts_fetch_failed domain={} id={} detail={}", domain, *id,
                core::quote(error));
    if (cached) {
      out.policy = cached->policy;
      out.detail = "cached id=" + cached->id + " (fetch failed: " + error + ")";
    } else {
      out.detail = "no policy: fetch failed: " + error;
    }
    co_return out;
  }
  MR_LOG_INFO("event=mta_sts_policy domain={} id={} mode={} max_age={} mx={}", domain, *id,
              sts_mode_name(policy->mode), policy->max_age, policy->mx.size());
  cache_.store(domain, *id, *policy, core::real_clock().unix_seconds());
  out.policy = std::move(policy);
  out.detail = "fetched id=" + *id;
  co_return out;
}

asio::awaitable<StsDiscovery::Fetched> StsDiscovery::fetch(std::string domain) {
  const std::string host = "mta-sts." + domain;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(settings_.total_timeout);
  auto ans = co_await dns::await_addresses(dns_, host);
  if (ans.outcome != dns::Outcome::ok) {
    co_return Fetched{"", "no address for " + host + ": " + dns::outcome_name(ans.outcome) +
                              (ans.detail.empty() ? "" : " " + ans.detail)};
  }
  Fetched last{"", "no address for " + host};
  size_t tried = 0;
  for (const auto& ip : ans.addresses) {
    if (tried++ >= kStsMaxAddresses || std::chrono::steady_clock::now() >= deadline) break;
    last = co_await fetch_from(host, ip, deadline);
    if (last.error.empty()) break;
  }
  co_return last;
}

asio::awaitable<StsDiscovery::Fetched> StsDiscovery::fetch_from(
    std::string host, std::string ip, std::chrono::steady_clock::time_point deadline) {
  Fetched out;
  const std::string where = host + "[" + ip + "]:" + std::to_string(settings_.port);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(ip, ec);
  if (ec) {
    out.error = "bad address " + ip;
    co_return out;
  }
  SSL_CTX* raw = settings_.tls_context.get();
  SSL_CTX_up_ref(raw);
  asio::ssl::context context(raw);  // takes the reference
  asio::ssl::stream<beast::tcp_stream> stream(io_, context);
  SSL* ssl = stream.native_handle();
  // RFC 8461 3.3: a certificate valid for the policy host (RFC 6125), SNI.
  SSL_set_tlsext_host_name(ssl, host.c_str());
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);

  auto& tcp = beast::get_lowest_layer(stream);
  const auto connect_deadline = std::min(
      deadline, std::chrono::steady_clock::now() + std::chrono::seconds(settings_.connect_timeout));
  tcp.expires_at(connect_deadline);
  co_await tcp.async_connect(asio::ip::tcp::endpoint(address, settings_.port),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error =
        where + ": " +
        (ec == beast::error::timeout ? "connect timed out" : "connect failed: " + ec.message());
    co_return out;
  }
  tcp.expires_at(deadline);
  co_await stream.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    long verify = SSL_get_verify_result(ssl);
    out.error = where + ": TLS handshake failed: " + ec.message();
    if (verify != X509_V_OK) {
      out.error += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
    co_return out;
  }

  http::request<http::empty_body> request{http::verb::get, "/.well-known/mta-sts.txt", 11};
  request.set(http::field::host,
              settings_.port == 443 ? host : host + ":" + std::to_string(settings_.port));
  request.set(http::field::user_agent, "Mailroom (MTA-STS)");
  request.set(http::field::connection, "close");
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = where + ": " + (ec == beast::error::timeout ? "timed out" : ec.message());
    co_return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kStsMaxHeaderBytes);
  parser.body_limit(kStsMaxPolicyBytes);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  // A body delimited by the end of the connection may end without TLS close_notify.
  if (ec && !(ec == asio::ssl::error::stream_truncated && parser.is_done())) {
    out.error = where + ": reading the response: " +
                (ec == beast::error::timeout     ? std::string("timed out")
                 : ec == http::error::body_limit ? std::string("policy larger than 64 KiB")
                                                 : ec.message());
    co_return out;
  }
  auto& response = parser.get();
  // RFC 8461 3.3: only 200 counts; redirects are not followed.
  if (response.result() != http::status::ok) {
    out.error = where + ": HTTP status " + std::to_string(response.result_int());
    co_return out;
  }
  if (!sts_text_plain(response[http::field::content_type])) {
    out.error = where + ": Content-Type is not text/plain";
    co_return out;
  }
  out.body = std::move(response.body());
  boost::system::error_code ignored;
  tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  tcp.close();
  co_return out;
}

}  // namespace mailroom::outbound
