// The pure parts of DKIM verification (dkim_verify.h), apart from the DNS and the message so
// the unit tests reach them with table tests: the tag-list of RFC 6376 3.2, the
// DKIM-Signature's tags (3.5) and the key record (3.6.1). Not for other modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"
#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_verify.h"

namespace mailroom::mailauth::detail {

// One tag-spec of a tag-list. `value` is trimmed of the FWS around it (FWS inside is kept);
// value_begin is the offset just after the "=", value_end the offset after the value's last
// character, both in the parsed text (so the b= value can be cut out byte for byte).
struct DkimTag {
  std::string name;
  std::string value;
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
};

// RFC 6376 3.2: tag=value pairs separated by ";" (one trailing ";" allowed), FWS around names,
// "=" and values. invalid_argument (client text says why) for an empty tag-list, an empty
// tag-spec, a tag without "=", a name that is not ALPHA *(ALPHA / DIGIT / "_"), a control
// character in a value, or a tag given twice. Names are case-sensitive; unknown ones are the
// caller's to ignore.
core::Result<std::vector<DkimTag>> parse_tag_list(std::string_view text);

// `value` without any whitespace (b=, bh= and p= may be folded anywhere, 3.5).
std::string strip_fws(std::string_view value);

enum class DkimCanonicalization : uint8_t { simple, relaxed };

// The tags of one DKIM-Signature (3.5) that verification uses, checked and normalized.
struct DkimSignatureTags {
  DkimAlgorithm algorithm = DkimAlgorithm::rsa_sha256;               // a=
  std::string signature;                                             // b=, decoded
  std::string body_hash;                                             // bh=, decoded
  DkimCanonicalization header_canon = DkimCanonicalization::simple;  // c= (default simple/simple)
  DkimCanonicalization body_canon = DkimCanonicalization::simple;
  std::string domain;                   // d=, lower case
  std::vector<std::string> headers;     // h=, lower case, in order
  std::string identity_domain;          // the domain of i= (or d=), lower case
  std::optional<uint64_t> body_length;  // l=
  std::string selector;                 // s=, lower case
  std::optional<int64_t> timestamp;     // t=
  std::optional<int64_t> expiration;    // x=
  // Where b='s value lies in the field value given to parse_signature: the bytes
  // [b_begin, b_end) are deleted for the header hash (3.7; see dkim_tags.cpp for which).
  std::size_t b_begin = 0;
  std::size_t b_end = 0;
};

constexpr std::size_t kDkimMaxSignedHeaders = 100;

// Parses the value of a DKIM-Signature field (everything after the colon, folds included).
// Whatever can be read (d=, s=, a=, i=, the start of b=) goes into `report` even when the
// signature is then refused; invalid_argument (client text: the reason, for the detail) for
// a syntax error, a missing or bad required tag, v= other than 1, a=rsa-sha1 (RFC 8301) or an
// unknown algorithm, h= without from or with more than kDkimMaxSignedHeaders names, an i=
// outside d=, a q= without dns/txt, an x= before t=. Times are not compared with the clock.
core::Status parse_signature(std::string_view value, DkimSignatureTags* tags,
                             DkimSignatureResult* report);

// A DKIM key record (3.6.1).
struct DkimKeyRecord {
  DkimAlgorithm key_type = DkimAlgorithm::rsa_sha256;  // k= (default rsa)
  std::string public_key;                              // p= decoded; empty: the key was revoked
  bool testing = false;                                // t=y
  bool strict = false;  // t=s: i= must be in d= itself, not a subdomain
};

// invalid_argument for a record that is not a usable DKIM1 key: syntax, v= other than DKIM1 or
// not first, no p=, p= not base64, k= unknown, h= without sha256, s= without * or email.
core::Result<DkimKeyRecord> parse_key_record(std::string_view text);

}  // namespace mailroom::mailauth::detail
