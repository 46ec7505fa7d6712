// TLS server contexts (OpenSSL 3 through asio::ssl): TLS 1.2 and later only, certificate and
// key from PEM files, reloadable at runtime (SIGHUP) without dropping connections: new
// connections get the new context, open ones keep theirs.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "src/core/status.h"

namespace boost::asio::ssl {
class context;
}

namespace mailroom::net {

class TlsContextProvider {
 public:
  // Loads the certificate chain and key; fails with a message naming the file.
  static core::Result<std::shared_ptr<TlsContextProvider>> create(const std::string& cert_file,
                                                                  const std::string& key_file);
  // The context for a new connection.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Re-reads the files; on failure keeps the previous context and returns the error.
  core::Status reload();

 private:
  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

// Builds a server context from files (exposed for tests).
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(
    const std::string& cert_file, const std::string& key_file);

}  // namespace mailroom::net
