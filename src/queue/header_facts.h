// The few header fields the delivery log records, decoded (RFC 5322 unfolding, RFC 2047
// encoded-words through GMime, RFC 6532 UTF-8 passes through).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::queue {

struct HeaderFacts {
  std::string message_id;  // without <>
  std::string from;        // decoded display form
  std::string subject;     // decoded
};

// The header block of `message` (up to the first empty line), unfolded, as name/value pairs.
std::vector<std::pair<std::string, std::string>> parse_header_block(std::string_view message);

HeaderFacts extract_header_facts(std::string_view message);

// RFC 2047 decoding of an unstructured header value to UTF-8.
std::string decode_rfc2047(const std::string& value);

// Queue ids ("MR" + 20 hex digits) that appear in the header block (crash recovery).
std::vector<std::string> queue_ids_in_headers(std::string_view message);

}  // namespace mailroom::queue
