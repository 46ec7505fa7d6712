// DkimVerifier: the verifier's actions of RFC 6376 section 6. Every DKIM-Signature is first
// checked on its own (6.1.1: tags, times); those that survive fetch their keys in parallel
// (6.1.2), and each answer is checked against the message as it comes in (6.1.3): body hash,
// then the header hash input and the signature. The result is given when the last key is in.
#include "src/mailauth/dkim_verify.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>

#include "src/core/clock.h"
#include "src/dns/resolver.h"
#include "src/mailauth/dkim_internal.h"
#include "src/mailauth/dkim_verify_internal.h"

namespace mailroom::mailauth {
namespace {

// Hostile input: no header field (the signature's own or one it signs) is read past this.
constexpr std::size_t kDkimvMaxFieldSize = 64 * 1024;
// 3.5 t=: a timestamp in the future may be refused. Clocks of sender and receiver differ by a
// little; more than this and the signature is taken as made up: permerror (not fail, which
// would say that a key signed something else).
constexpr int64_t kDkimvFutureSkew = 300;

// The header name as compared: lower case, without the WSP allowed before the colon.
std::string dkimv_field_key(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c != ' ' && c != '\t') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

std::string dkimv_canonical_header(detail::DkimCanonicalization canon, const std::string& name,
                                   const std::string& value) {
  return canon == detail::DkimCanonicalization::relaxed ? relaxed_header(name, value)
                                                        : detail::simple_header(name, value);
}

struct DkimvSignature {
  DkimSignatureResult report;
  detail::DkimSignatureTags tags;
  std::size_t field = 0;  // index of the DKIM-Signature in DkimvJob::fields
  bool needs_key = false;
};

// One verify() call: the message split once, shared by every signature's key callback.
struct DkimvJob {
  std::vector<detail::HeaderField> fields;
  std::string body;
  std::map<std::string, std::vector<std::size_t>> by_name;   // field indices, top to bottom
  std::array<std::optional<std::string>, 2> canonical_body;  // simple, relaxed: made once
  std::vector<DkimvSignature> signatures;
  std::size_t pending = 0;
  std::function<void(DkimVerification)> done;

  const std::string& body_for(detail::DkimCanonicalization canon) {
    auto& slot = canonical_body[canon == detail::DkimCanonicalization::relaxed ? 1 : 0];
    if (!slot) {
      slot = canon == detail::DkimCanonicalization::relaxed ? relaxed_body(body)
                                                            : detail::simple_body(body);
    }
    return *slot;
  }

  void finish() {
    DkimVerification out;
    out.signatures.reserve(signatures.size());
    for (auto& s : signatures) out.signatures.push_back(std::move(s.report));
    auto callback = std::move(done);
    callback(std::move(out));
  }
};

void dkimv_set(DkimSignatureResult* r, DkimResult result, std::string detail) {
  r->result = result;
  r->detail = std::move(detail);
}

// 6.1.3 step 1 and 2 after the key is known: the header hash input of 3.7 (each name of h=
// takes the next instance from the bottom, 5.4.2; a name with none left adds nothing), then
// this DKIM-Signature with b='s value cut out, canonicalized, without its CRLF.
bool dkimv_header_input(const DkimvJob& job, const DkimvSignature& sig, std::string* data,
                        std::string* why) {
  const auto& canon = sig.tags.header_canon;
  std::map<std::string, std::size_t> used;
  for (const std::string& name : sig.tags.headers) {
    auto it = job.by_name.find(name);
    if (it == job.by_name.end()) continue;
    std::size_t& n = used[name];
    if (n >= it->second.size()) continue;
    const detail::HeaderField& f = job.fields[it->second[it->second.size() - 1 - n]];
    ++n;
    if (f.name.size() + f.value.size() > kDkimvMaxFieldSize) {
      *why = "signed header field " + name + " is longer than 64 KiB";
      return false;
    }
    *data += dkimv_canonical_header(canon, f.name, f.value);
    *data += "\r\n";
  }
  const detail::HeaderField& self = job.fields[sig.field];
  std::string value = self.value.substr(0, sig.tags.b_begin);
  value.append(self.value, sig.tags.b_end);
  *data += dkimv_canonical_header(canon, self.name, value);
  return true;
}

// 6.1.2 and 6.1.3 for one signature whose key lookup has answered.
void dkimv_check(DkimvJob& job, DkimvSignature& sig, const std::string& key_name,
                 const dns::TxtAnswer& answer) {
  DkimSignatureResult* r = &sig.report;
  const detail::DkimSignatureTags& tags = sig.tags;
  if (answer.outcome == dns::Outcome::temporary) {
    return dkimv_set(r, DkimResult::temperror, "key lookup " + key_name + ": " + answer.detail);
  }
  if (answer.outcome != dns::Outcome::ok || answer.records.empty()) {
    return dkimv_set(r, DkimResult::permerror, "no key at " + key_name);
  }
  // A TXT record at the name that is not a DKIM key is passed over; of several keys the first
  // counts (3.6.2.2 leaves several undefined).
  std::optional<detail::DkimKeyRecord> key;
  std::string why;
  for (const std::string& text : answer.records) {
    auto parsed = detail::parse_key_record(text);
    if (parsed) {
      key = std::move(*parsed);
      break;
    }
    if (why.empty()) why = parsed.status().client_message();
  }
  if (!key) return dkimv_set(r, DkimResult::permerror, "no usable key at " + key_name + ": " + why);
  if (key->public_key.empty()) {
    return dkimv_set(r, DkimResult::fail, "key revoked (empty p=) at " + key_name);
  }
  if (key->key_type != tags.algorithm) {
    return dkimv_set(r, DkimResult::permerror, "key type does not match a=" + r->algorithm);
  }
  if (key->strict && tags.identity_domain != tags.domain) {
    return dkimv_set(r, DkimResult::permerror, "key is strict (t=s) and i= is a subdomain of d=");
  }
  auto public_key = detail::PublicKey::from_record(key->key_type, key->public_key);
  if (!public_key) return dkimv_set(r, DkimResult::permerror, public_key.status().client_message());

  // Body hash (3.7 step 1), over the first l= octets of the canonical body when l= is given.
  const std::string& body = job.body_for(tags.body_canon);
  std::string_view hashed = body;
  if (tags.body_length) {
    // 3.5 l=: a count beyond the body cannot have been signed over this body: fail.
    if (*tags.body_length > body.size()) {
      return dkimv_set(r, DkimResult::fail,
                       "l=" + std::to_string(*tags.body_length) + " is longer than the body (" +
                           std::to_string(body.size()) + " octets)");
    }
    hashed = hashed.substr(0, *tags.body_length);
  }
  if (detail::sha256(hashed) != tags.body_hash) {
    return dkimv_set(r, DkimResult::fail, "body hash mismatch");
  }

  std::string data;
  if (!dkimv_header_input(job, sig, &data, &why)) {
    return dkimv_set(r, DkimResult::permerror, why);
  }
  if (!public_key->verify(data, tags.signature)) {
    return dkimv_set(r, DkimResult::fail, "signature did not verify");
  }

  std::string notes;
  if (tags.body_length) {
    notes = "l=" + std::to_string(*tags.body_length) + ": only the first " +
            std::to_string(*tags.body_length) + " of " + std::to_string(body.size()) +
            " body octets are signed";
  }
  if (key->testing) notes += std::string(notes.empty() ? "" : "; ") + "key in testing mode (t=y)";
  dkimv_set(r, DkimResult::pass, std::move(notes));
}

}  // namespace

const char* dkim_result_name(DkimResult r) {
  switch (r) {
    case DkimResult::none:
      return "none";
    case DkimResult::pass:
      return "pass";
    case DkimResult::fail:
      return "fail";
    case DkimResult::policy:
      return "policy";
    case DkimResult::neutral:
      return "neutral";
    case DkimResult::temperror:
      return "temperror";
    case DkimResult::permerror:
      return "permerror";
  }
  return "none";
}

DkimVerifier::DkimVerifier(dns::Resolver& resolver, size_t max_signatures, const core::Clock* clock)
    : resolver_(resolver),
      max_signatures_(max_signatures),
      clock_(clock != nullptr ? clock : &core::real_clock()) {}

void DkimVerifier::verify(std::shared_ptr<const std::string> message,
                          std::function<void(DkimVerification)> done) {
  auto job = std::make_shared<DkimvJob>();
  job->done = std::move(done);
  detail::split_message(*message, &job->fields, &job->body);
  for (std::size_t n = 0; n < job->fields.size(); ++n) {
    job->by_name[dkimv_field_key(job->fields[n].name)].push_back(n);
  }

  // 6.1.1: each signature on its own, top to bottom.
  const int64_t now = clock_->unix_seconds();
  std::size_t evaluated = 0;
  for (std::size_t n = 0; n < job->fields.size(); ++n) {
    const detail::HeaderField& field = job->fields[n];
    if (dkimv_field_key(field.name) != "dkim-signature") continue;
    DkimvSignature sig;
    sig.field = n;
    DkimSignatureResult* r = &sig.report;
    bool too_long = field.name.size() + field.value.size() > kDkimvMaxFieldSize;
    if (evaluated >= max_signatures_) {
      // Named in the results (header.d and header.b, so they can be told apart), not judged.
      if (!too_long) (void)detail::parse_signature(field.value, &sig.tags, r);
      dkimv_set(r, DkimResult::policy,
                "not evaluated: more than " + std::to_string(max_signatures_) + " signatures");
      job->signatures.push_back(std::move(sig));
      continue;
    }
    ++evaluated;
    if (too_long) {
      dkimv_set(r, DkimResult::permerror, "DKIM-Signature field longer than 64 KiB");
    } else if (auto st = detail::parse_signature(field.value, &sig.tags, r); !st) {
      dkimv_set(r, DkimResult::permerror, st.client_message());
    } else if (sig.tags.expiration && now > *sig.tags.expiration) {
      dkimv_set(r, DkimResult::fail,
                "signature expired (x=" + std::to_string(*sig.tags.expiration) + ")");
    } else if (sig.tags.timestamp && *sig.tags.timestamp > now + kDkimvFutureSkew) {
      dkimv_set(
          r, DkimResult::permerror,
          "signature timestamp t=" + std::to_string(*sig.tags.timestamp) + " is in the future");
    } else {
      sig.needs_key = true;
      ++job->pending;
    }
    job->signatures.push_back(std::move(sig));
  }
  if (job->pending == 0) {
    job->finish();
    return;
  }

  // 6.1.2: every key at once. The resolver coalesces equal names and delivers from its queue,
  // never inside txt(), so `pending` cannot reach zero before the loop ends.
  for (std::size_t n = 0; n < job->signatures.size(); ++n) {
    if (!job->signatures[n].needs_key) continue;
    const auto& tags = job->signatures[n].tags;
    std::string name = tags.selector + "._domainkey." + tags.domain;
    resolver_.txt(name, [job, n, name](dns::TxtAnswer answer) {
      dkimv_check(*job, job->signatures[n], name, answer);
      if (--job->pending == 0) job->finish();
    });
  }
}

}  // namespace mailroom::mailauth
