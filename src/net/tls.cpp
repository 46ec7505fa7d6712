#include "src/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <fstream>

namespace mailroom::net {

namespace ssl = boost::asio::ssl;

namespace {
std::string openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}
}  // namespace

core::Result<std::shared_ptr<ssl::context>> make_server_context(const std::string& cert_file,
                                                                 const std::string& key_file) {
  if (!std::ifstream(cert_file)) {
    return core::invalid_argument("cannot read TLS certificate file " + cert_file);
  }
  if (!std::ifstream(key_file)) {
    return core::invalid_argument("cannot read TLS private key file " + key_file);
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2+ only; no compression, no renegotiation, server's cipher order.
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Release per-connection buffers when idle: matters for thousands of idle IMAP sessions.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    return core::invalid_argument("cannot load TLS certificate " + cert_file + ": " +
                                  openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return core::invalid_argument("cannot load TLS private key " + key_file + ": " +
                                  openssl_errors());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return core::invalid_argument("TLS private key " + key_file + " does not match certificate " +
                                  cert_file);
  }
  return ctx;
}

core::Result<std::shared_ptr<TlsContextProvider>> TlsContextProvider::create(
    const std::string& cert_file, const std::string& key_file) {
  auto ctx = make_server_context(cert_file, key_file);
  if (!ctx) return ctx.status();
  auto p = std::make_shared<TlsContextProvider>();
  p->cert_file_ = cert_file;
  p->key_file_ = key_file;
  p->context_ = *ctx;
  return p;
}

std::shared_ptr<ssl::context> TlsContextProvider::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return context_;
}

core::Status TlsContextProvider::reload() {
  auto ctx = make_server_context(cert_file_, key_file_);
  if (!ctx) return ctx.status();
  std::lock_guard<std::mutex> lock(mu_);
  context_ = *ctx;
  return core::Status::ok();
}

}  // namespace mailroom::net
