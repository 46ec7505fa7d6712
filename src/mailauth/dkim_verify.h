// DKIM verification (RFC 6376 6: the verifier's actions) of every DKIM-Signature of a message,
// rsa-sha256 and ed25519-sha256 (RFC 8463), simple and relaxed canonicalization, l= (a body
// length limit is honoured but noted), keys from <selector>._domainkey.<d> TXT records
// through dns::Resolver. rsa-sha1 is refused (RFC 8301); RSA keys under 1024 bits fail.
//
// Asynchronous: `done` runs once, on the resolver's io_context thread. At most
// `max_signatures` signatures are evaluated (the rest are listed as "policy", not evaluated).
//
// Threading: call verify() on the resolver's io_context thread (dns::Resolver is not
// thread-safe). All keys are fetched in parallel; the hashing and the signature checks then
// run on that thread too (a few signatures over one message: microseconds to a millisecond).
// When no key has to be fetched (no signature, or none that passed the syntax and time checks)
// `done` runs before verify() returns.
// Lifetime: the resolver (and the clock) must outlive every verification in flight; the
// DkimVerifier itself need not (a verification keeps its own state).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mailroom::dns {
class Resolver;
}
namespace mailroom::core {
class Clock;
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
  // `clock` (t= and x= are compared with it): nullptr is core::real_clock().
  explicit DkimVerifier(dns::Resolver& resolver, size_t max_signatures = 5,
                        const core::Clock* clock = nullptr);
  // `message`: the complete message, CRLF line endings, as received (before our headers).
  // One result per DKIM-Signature, top to bottom. permerror: the signature or its key record
  // is unusable (syntax, a required tag missing, rsa-sha1, h= without from, i= outside d=,
  // t= more than 5 minutes ahead, no key record, a key under 1024 bits, header fields over
  // 64 KiB or more than 100 names in h=); temperror: the key could not be fetched (retry
  // later); fail: the body hash or the signature does not match, x= has passed, the key was
  // revoked (empty p=), or l= is longer than the body. `detail` says which, and also notes a
  // pass that covers only l= octets of the body or a key in testing mode (t=y).
  void verify(std::shared_ptr<const std::string> message,
              std::function<void(DkimVerification)> done);

 private:
  dns::Resolver& resolver_;
  size_t max_signatures_;
  const core::Clock* clock_;
};

}  // namespace mailroom::mailauth
