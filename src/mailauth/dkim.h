// DKIM signing (RFC 6376 rsa-sha256, RFC 8463 ed25519-sha256) with relaxed/relaxed
// canonicalization, OpenSSL only, and the key store `mailroomctl dkim` manages.
//
// Keys live in <data_dir>/dkim/<domain>/<selector>.key (PEM, mode 0600); the selector used for
// signing is named in <data_dir>/dkim/<domain>/active. A domain without an active key is not
// signed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::mailauth {

enum class DkimAlgorithm : uint8_t { rsa_sha256, ed25519_sha256 };
const char* dkim_algorithm_name(DkimAlgorithm a);  // "rsa-sha256" | "ed25519-sha256"

struct DkimKey {
  std::string domain;  // lower case
  std::string selector;
  DkimAlgorithm algorithm = DkimAlgorithm::rsa_sha256;
  std::string private_key_pem;
  // The TXT record to publish at <selector>._domainkey.<domain>: "v=DKIM1; k=rsa; p=..."
  std::string dns_txt;
};

class DkimKeyStore {
 public:
  explicit DkimKeyStore(std::string dir);  // <data_dir>/dkim
  // Creates a key (rsa: `bits`, at least 1024, default 2048) and stores it 0600; does not
  // activate it. already_exists when the selector exists.
  core::Result<DkimKey> create(const std::string& domain, const std::string& selector,
                               DkimAlgorithm algorithm, int bits = 2048);
  // Domains are lower-cased DNS names and selectors RFC 6376 sub-domains (lower-cased);
  // anything else is invalid_argument, so neither can leave `dir`. not_found when the selector
  // has no key; io_error when its file is unreadable or not a key.
  core::Result<DkimKey> load(const std::string& domain, const std::string& selector) const;
  core::Status activate(const std::string& domain, const std::string& selector);
  // not_found when the domain has no active key; io_error when it names a key that cannot be
  // loaded (could not tell: the caller must not treat it as "unsigned").
  core::Result<DkimKey> active(const std::string& domain) const;
  // The domain's selectors, sorted; empty for an unknown or invalid domain.
  std::vector<std::string> selectors(const std::string& domain) const;
  // invalid_argument for the active selector (activate another first); not_found if missing.
  core::Status remove(const std::string& domain, const std::string& selector);

 private:
  std::string dir_;
};

struct DkimSignOptions {
  // Headers signed when present; From is always signed and over-signed (listed once more than
  // it occurs, so a second From cannot be added without breaking the signature).
  std::vector<std::string> headers = {"from",
                                      "to",
                                      "cc",
                                      "subject",
                                      "date",
                                      "message-id",
                                      "reply-to",
                                      "in-reply-to",
                                      "references",
                                      "mime-version",
                                      "content-type",
                                      "content-transfer-encoding",
                                      "list-unsubscribe"};
  int64_t timestamp = 0;     // t=; 0 = now
  int64_t expire_after = 0;  // x= = t + this; 0 = no x=
};

class DkimSigner {
 public:
  static core::Result<std::unique_ptr<DkimSigner>> create(const DkimKey& key,
                                                          DkimSignOptions options = {});
  virtual ~DkimSigner() = default;
  // The complete "DKIM-Signature: ...\r\n" header field (folded) to prepend to `message`
  // (CRLF line endings, header and body; a bare LF is read as CRLF). invalid_argument when
  // the message has no From. Thread-safe: one signer may sign on several threads.
  virtual core::Result<std::string> sign(const std::string& message) const = 0;
};

// Canonicalization (RFC 6376 3.4), exposed for tests: relaxed header "name:value" without the
// CRLF, and the relaxed body (with its final CRLF rules applied).
std::string relaxed_header(const std::string& name, const std::string& value);
std::string relaxed_body(const std::string& body);

}  // namespace mailroom::mailauth
