// The "replace" antivirus policy: the message is delivered with each infected MIME part
// replaced by a text/plain notice naming the signature. GMime parses and writes the message;
// each leaf part is scanned on its own, decoded (base64, quoted-printable), and an attached
// message (message/rfc822) as a whole. When the engine flagged the message but no single part
// (a signature that only matches across parts, or a message with no MIME structure), the
// whole body becomes the notice: infected content is never delivered.
//
// Threading: any thread; blocks in engine.scan() (worker pool).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/filter/virus_engine.h"

namespace mailroom::filter {

struct ReplaceResult {
  bool ok = false;      // false: the engine failed on a part (detail); nothing was replaced
  std::string detail;   // for the log
  std::string message;  // the rewritten message (CRLF)
  std::vector<std::string> signatures;  // one per replaced part
};

// `signature`: what the engine found in the whole message (named in the fallback notice).
ReplaceResult replace_infected_parts(std::string_view message, VirusEngine& engine,
                                     const std::string& signature, const std::string& hostname);

// The text of one notice (also used for the whole-body fallback).
std::string virus_notice_text(const std::string& signature, const std::string& filename,
                              const std::string& content_type, const std::string& hostname);

}  // namespace mailroom::filter
