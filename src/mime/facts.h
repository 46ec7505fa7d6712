// Parsed facts of one stored message, computed once at delivery and cached by the store
// (MailStore::facts), so IMAP answers ENVELOPE, BODYSTRUCTURE, BODY[section] and header
// searches without re-parsing the message.
//
// Contract:
// - extract_facts() never fails: any byte string is a message (RFC 5322 leniency); at worst
//   the facts describe one text/plain part.
// - Offsets are exact byte offsets into the stored message (CRLF line endings) so that
//   BODY[section]<partial> can be cut from the file without parsing it again.
// - decode_facts() accepts only blobs written by extract_facts() (any version it knows);
//   anything else is invalid_argument, and the caller re-extracts from the message. A blob of
//   an older version decodes with Facts::version below kFactsVersion: the fields added since
//   are missing and the ENVELOPE string may be of an older parser, so callers that need them
//   have the store recompute the blob (MailStore::refresh_facts) or parse the message.
// - ENVELOPE/BODYSTRUCTURE/BODY strings follow the RFC 3501 section 9 grammar exactly and are
//   sent verbatim (they may contain literals for 8-bit header bytes).
//
// Threading: pure functions, thread-safe. GMime stays inside the .cpp files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::mime {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - begin; }
};

enum class PartKind : uint8_t { leaf = 0, multipart = 1, message = 2 };

// One MIME entity. For the top level and for message/rfc822 encapsulations `header` is the
// message header (RFC 822 header); for body parts it is the MIME header (RFC 3501 "MIME").
// `header` includes the blank line that ends it.
struct PartNode {
  PartKind kind = PartKind::leaf;
  Range header;
  Range body;
  // multipart: the parts; message: exactly one child, the encapsulated message.
  std::vector<PartNode> children;
};

// The blob format extract_facts() writes. Version 2 added the address lists in their search
// form, which fields exist and whether the Date: header parsed, and its ENVELOPE keeps the
// dots of display names. Version 1 blobs still decode (decode_facts).
inline constexpr uint32_t kFactsVersion = 2;

// Top-level header fields whose presence SEARCH tests (RFC 3501 6.4.4: "" matches every
// message that has the field).
enum FieldBit : uint8_t {
  kFieldFrom = 1,
  kFieldTo = 2,
  kFieldCc = 4,
  kFieldBcc = 8,
  kFieldSubject = 16
};

struct Facts {
  uint32_t version = kFactsVersion;  // of the blob these were decoded from
  std::string envelope;              // "(date subject from ...)" RFC 3501 7.4.2 ENVELOPE
  std::string bodystructure;         // with extension data
  std::string body;                  // BODY, without extension data
  PartNode root;                     // the whole message
  // Decoded (RFC 2047, charset to UTF-8) top-level fields for SEARCH, SORT and THREAD.
  std::string subject;  // the first Subject: field
  // SEARCH FROM/TO/CC/BCC text: every field of that name parsed as an address list and written
  // back as Dovecot does ("Name <local@domain>" or "local@domain", ", " between addresses,
  // "group: a, b;"), display names decoded; fields separated by "\n".
  std::string from, to, cc, bcc;
  uint8_t fields = 0;  // FieldBit: which of From/To/Cc/Bcc/Subject the header has
  std::string sort_from, sort_to, sort_cc;          // RFC 5256 addr-mailbox of the first address
  std::string message_id, in_reply_to, references;  // raw
  bool has_sent_date = false;  // a Date: header that parses (RFC 3501 SENT*, RFC 5256 2.2)
  int64_t sent_date = 0;       // Date: header as seconds since the epoch
  int32_t sent_tz = 0;         // minutes east of UTC of the Date: header
};

// The FactsExtractor given to the store.
std::string extract_facts(std::string_view message);
// Parses a message directly (what extract_facts serializes).
Facts parse_facts(std::string_view message);
// Reads a blob written by extract_facts().
core::Result<Facts> decode_facts(std::string_view blob);

// Where an IMAP section (RFC 3501 6.4.5) lies in the message.
enum class SectionText { none, header, header_fields, header_fields_not, text, mime };
struct SectionRef {
  std::vector<uint32_t> parts;  // "1.2.3" -> {1,2,3}; empty = the whole message
  SectionText text = SectionText::none;
};
// The byte range of the section; header_fields(_not) resolve to the header range (the caller
// filters fields). not_found when the part does not exist (IMAP answers with an empty string).
core::Result<Range> locate_section(const PartNode& root, const SectionRef& section);
// The part numbered `parts` ("1.2" -> {1,2}; empty: the message itself), null when there is
// none. Part 1 of a message that is not multipart is the message itself (its body is part 1's
// content), so a leaf's Content-Transfer-Encoding is always in the returned node's header.
const PartNode* find_part(const PartNode& root, const std::vector<uint32_t>& parts);

// Filters a header block (with its blank line) keeping (or dropping, when `exclude`) the named
// fields; the result ends with the blank line (RFC 3501 HEADER.FIELDS).
std::string filter_header(std::string_view header, const std::vector<std::string>& names,
                          bool exclude);
// Unfolded raw value of every field named `name` in a header block (case-insensitive).
std::vector<std::string> header_values(std::string_view header, std::string_view name);

// RFC 2047 encoded words decoded and the result converted to UTF-8 (GMime); 8-bit bytes that
// are not valid UTF-8 are read as `fallback_charset` when given.
std::string decode_header_text(std::string_view raw);
// The value of parameter `name` of a structured field's value ("attachment; filename*=..."),
// decoded to UTF-8 (GMime): RFC 2231 (charset'language'%XX, continuations name*0*, name*1*)
// and the RFC 2047 encoded words that Outlook writes in quoted values; nullopt when absent.
// Bytes that are not UTF-8 after decoding are left for the caller to replace.
std::optional<std::string> decoded_param(std::string_view field_value, std::string_view name);
// Converts text in `charset` to UTF-8 (Big5, GB2312/GBK/GB18030, ISO-8859-*, UTF-8, ...).
// not_found for an unknown charset, invalid_argument when the bytes are not in that charset.
core::Result<std::string> to_utf8(std::string_view bytes, std::string_view charset);
// Unicode case folding for SEARCH's case-insensitive matching (ASCII lower-casing for bytes
// that are not UTF-8).
std::string fold_case(std::string_view utf8);
// The i;unicode-casemap comparator's key (RFC 5051 2; SORT and THREAD use it, RFC 5256 7):
// every character mapped to its titlecase and then to its full decomposition; keys compare as
// octets. Bytes that are not UTF-8 are kept, ASCII letters upper-cased.
std::string casemap_key(std::string_view utf8);
// The decoded text of every text/* part (transfer encoding removed, converted to UTF-8),
// concatenated with newlines; for SEARCH BODY/TEXT.
std::string decoded_body_text(std::string_view message);
// RFC 8970 (IMAP PREVIEW): at most this many characters.
inline constexpr size_t kPreviewChars = 256;
// The preview of a message: the text of its first text/plain part that is not an attachment
// (else of its first text/html one, markup removed), decoded to UTF-8, white space collapsed,
// at most kPreviewChars characters; "" when it has no such part.
std::string preview_text(std::string_view message);
// The same from a part's decoded text (preview.cpp): HTML markup dropped when `html`.
std::string preview_from_text(std::string_view text, bool html);
// A quick test for SEARCH BODY/TEXT before decoded_body_text(): false only when
// fold_case(decoded_body_text(message)) surely does not contain `folded_needle` (a fold_case()
// result); true means "decode and look". Answers from the raw octets for ASCII messages whose
// parts are 7bit/8bit/binary or quoted-printable in UTF-8 or US-ASCII (body_search.cpp).
bool body_text_may_contain(std::string_view message, std::string_view folded_needle);

}  // namespace mailroom::mime
