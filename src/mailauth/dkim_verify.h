// DKIM verification (RFC 6376 6: the verifier's actions) of every DKIM-Signature of a message,
// rsa-sha256 and ed25519-sha256 (RFC 8463), simple and relaxed canonicalization, l= (a body
// length limit is honoured but noted), keys from <selector>._domainkey.<d> TXT records
// through dns::Resolver. rsa-sha1 is refused (RFC 8301); RSA keys under 1024 bits fail.
//
// Asynchronous: `done` runs once, on the resolver's io_context thread. At most
// `max_signatures` signatures are evaluated (the rest: "policy", not counted).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mailroom::dns {
class Resolver;
}

namespace mailroom::mailauth {

// RFC 8601 2.7.1 result names for dkim=.
enum class DkimResult : uint8_t { none, pass, fail, policy, neutral, temperror, permerror };
const char* dkim_result_name(DkimResult r);

struct DkimSignatureResult {
  DkimResult result = DkimResult::none;
  std::string domain;     // d=
  std::string selector;   // s=
  std::string algorithm;  // a=
  std::string identity;   // i= (or "@" + d= when absent)
  std::string b_prefix;   // first 8 characters of b= (RFC 8601 header.b, tells them apart)
  std::string detail;     // why it failed, for logs and comments
};

struct DkimVerification {
  std::vector<DkimSignatureResult> signatures;  // empty: the message had none (dkim=none)
};

class DkimVerifier {
 public:
  explicit DkimVerifier(dns::Resolver& resolver, size_t max_signatures = 5);
  // `message`: the complete message, CRLF line endings, as received (before our headers).
  void verify(std::shared_ptr<const std::string> message,
              std::function<void(DkimVerification)> done);

 private:
  dns::Resolver& resolver_;
  size_t max_signatures_;
};

}  // namespace mailroom::mailauth
