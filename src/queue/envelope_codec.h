// The spool's text encoding of an Envelope: one "key value" line per field and one "R" line
// per recipient, values percent-encoded (%, TAB, CR, LF, NUL, SP). Stable across versions:
// unknown keys are ignored when decoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/queue/queue.h"

namespace mailroom::queue {

std::string encode_envelope(const Envelope& envelope);
std::optional<Envelope> decode_envelope(std::string_view text);

}  // namespace mailroom::queue
