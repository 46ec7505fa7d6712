#include "src/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>

namespace mailroom::net {

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

int protocol_version(const std::string& name) {
  if (name == "TLSv1") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

// Applies the protocol floor and cipher lists; the error names the [tls] key.
core::Status apply_policy(SSL_CTX* ctx, const TlsSettings& s) {
  int version = protocol_version(s.min_version);
  if (version == 0) {
    return core::invalid_argument("min_version must be TLSv1.2 or TLSv1.3 (got \"" + s.min_version +
                                  "\")");
  }
  SSL_CTX_set_min_proto_version(ctx, version);
  ERR_clear_error();
  if (SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1) {
    return core::invalid_argument("ciphers: no usable cipher in \"" + s.ciphers +
                                  "\": " + openssl_errors());
  }
  if (SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) != 1) {
    return core::invalid_argument("ciphersuites: no usable TLS 1.3 suite in \"" + s.ciphersuites +
                                  "\": " + openssl_errors());
  }
  return core::Status::ok();
}

TlsContextPtr new_context() {
  return TlsContextPtr(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
}

}  // namespace

core::Status validate_tls_settings(const TlsSettings& settings) {
  auto ctx = new_context();
  if (!ctx) return core::internal_error("SSL_CTX_new failed");
  return apply_policy(ctx.get(), settings);
}

core::Result<TlsContextPtr> make_server_context(const TlsSettings& s) {
  if (!std::ifstream(s.certificate)) {
    return core::invalid_argument("cannot read TLS certificate file " + s.certificate);
  }
  if (!std::ifstream(s.private_key)) {
    return core::invalid_argument("cannot read TLS private key file " + s.private_key);
  }
  auto ctx = new_context();
  if (!ctx) return core::internal_error("SSL_CTX_new failed: " + openssl_errors());
  SSL_CTX* native = ctx.get();
  if (auto st = apply_policy(native, s); !st) return st;
  // No compression (CRIME), no renegotiation, the server's cipher order; a client that closes
  // without close_notify is an ordinary end of stream for line protocols.
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_dh_auto(native, 1);
  // Read ahead: one recv() can bring several records (half the system calls of a record
  // header read followed by its body). Connection drains what OpenSSL holds before it waits
  // on the socket, so nothing read ahead is left waiting.
  SSL_CTX_set_read_ahead(native, 1);
  // Release per-connection buffers when idle: matters for thousands of idle IMAP sessions.
  // Partial writes and a moving buffer: Connection retries writes from its own buffer.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, s.certificate.c_str()) != 1) {
    return core::invalid_argument("cannot load TLS certificate " + s.certificate + ": " +
                                  openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(native, s.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return core::invalid_argument("cannot load TLS private key " + s.private_key + ": " +
                                  openssl_errors());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return core::invalid_argument("TLS private key " + s.private_key +
                                  " does not match certificate " + s.certificate);
  }
  return ctx;
}

core::Result<TlsContextPtr> make_server_context(const std::string& cert_file,
                                                const std::string& key_file) {
  TlsSettings s;
  s.certificate = cert_file;
  s.private_key = key_file;
  return make_server_context(s);
}

core::Result<std::shared_ptr<TlsContextProvider>> TlsContextProvider::create(TlsSettings settings) {
  auto ctx = make_server_context(settings);
  if (!ctx) return ctx.status();
  auto p = std::make_shared<TlsContextProvider>();
  p->settings_ = std::move(settings);
  p->context_ = *ctx;
  return p;
}

TlsContextPtr TlsContextProvider::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return context_;
}

core::Status TlsContextProvider::reload() {
  auto ctx = make_server_context(settings_);
  if (!ctx) return ctx.status();
  std::lock_guard<std::mutex> lock(mu_);
  context_ = *ctx;
  return core::Status::ok();
}

}  // namespace mailroom::net
