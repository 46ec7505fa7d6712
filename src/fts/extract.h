// The text of a message that the full-text index holds (src/fts/README.md): header fields
// decoded from RFC 2047, and the body's text parts decoded to UTF-8 by GMime, the decoder
// IMAP SEARCH uses (mime::decoded_body_text), so Big5 and GB2312 mail is indexed as Unicode.
//
// Without tools: pure, no I/O, no Xapian. With tools (attachment.h), PDF, OpenDocument and
// .docx parts are handed to Debian's extraction programs: call it on the indexer's thread only.
// Input is untrusted (a delivered message): every size is bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::fts {

struct MessageText {
  std::string subject;  // decoded
  std::string from;     // decoded address lists ("Name <a@b>, ...")
  std::string to;
  std::string cc;
  std::string bcc;
  std::string header;  // the whole header block, encoded words decoded (for SEARCH TEXT)
  // text/plain parts as they are, text/html without markup (mime::html_text), and every
  // other text/* part (attachments included), joined by newlines, valid UTF-8.
  std::string body;
  // Text extracted from PDF/OpenDocument/.docx parts (attachment.h), joined by newlines, at
  // most ToolOptions::max_bytes, valid UTF-8. Indexed as body text and kept, folded, in the
  // index document so that SEARCH can verify a match found only here (README "Attachments").
  std::string attachments;
  bool truncated = false;  // body or header were cut at the limit
};

struct ExtractLimits {
  size_t max_body_bytes = size_t{1} << 20;     // body text kept per message
  size_t max_header_bytes = size_t{64} << 10;  // decoded header text kept per message
  size_t max_parts = 256;                      // MIME parts looked at
  int max_depth = 32;                          // multipart / message/rfc822 nesting
};

struct ToolOptions;

MessageText extract_text(std::string_view message, const ExtractLimits& limits = {},
                         const ToolOptions* tools = nullptr);

}  // namespace mailroom::fts
