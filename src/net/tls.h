// TLS server contexts (OpenSSL 3): certificate and key from PEM files, protocol floor and
// cipher lists from [tls], reloadable at runtime (SIGHUP) without dropping connections: new
// connections get the new context, open ones keep theirs.
//
// Defaults follow Mozilla's "intermediate" profile: TLS 1.2 and 1.3, and under TLS 1.2 only
// forward-secret (ECDHE/DHE) AEAD suites: no RSA key exchange, no CBC.
//
// No OpenSSL header here: the context is an opaque shared handle (SSL_CTX is `ssl_ctx_st`).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "src/core/status.h"

struct ssl_ctx_st;

namespace mailroom::net {

using TlsContextPtr = std::shared_ptr<ssl_ctx_st>;

struct TlsSettings {
  std::string certificate;  // PEM chain file
  std::string private_key;  // PEM key file
  // "TLSv1.2" or "TLSv1.3"; "TLSv1" and "TLSv1.1" exist for interoperability tests only and
  // need "@SECLEVEL=0" in `ciphers` with OpenSSL 3.
  std::string min_version = "TLSv1.2";
  // OpenSSL cipher list for TLS 1.2 and below.
  std::string ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
      "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
  // TLS 1.3 suites (all three are AEAD).
  std::string ciphersuites =
      "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
};

// Checks min_version and the cipher lists without loading files (config validation); the
// error names the key.
core::Status validate_tls_settings(const TlsSettings& settings);

class TlsContextProvider {
 public:
  // Loads the certificate chain and key; fails with a message naming the file or the key.
  static core::Result<std::shared_ptr<TlsContextProvider>> create(TlsSettings settings);
  // The context for a new connection.
  TlsContextPtr current() const;
  // Re-reads the files; on failure keeps the previous context and returns the error.
  core::Status reload();

 private:
  TlsSettings settings_;
  mutable std::mutex mu_;
  TlsContextPtr context_;
};

// Builds a server context (exposed for tests and the IMAP wire driver).
core::Result<TlsContextPtr> make_server_context(const TlsSettings& settings);
core::Result<TlsContextPtr> make_server_context(const std::string& cert_file,
                                                const std::string& key_file);

}  // namespace mailroom::net
