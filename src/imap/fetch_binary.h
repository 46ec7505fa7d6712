// FETCH BINARY[section]<partial>, BINARY.PEEK and BINARY.SIZE (RFC 3516 4.2, 4.3): a leaf
// part with its Content-Transfer-Encoding removed. Called by FETCH's formatter (fetch.cpp) on
// a worker thread for one message at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/imap/proto/command.h"
#include "src/mime/facts.h"

namespace mailroom::imap {

// The parts of one message decoded while its response is formatted: BINARY and BINARY.SIZE of
// the same part, or several ranges of it, decode it once. Empty (no allocation) unless a
// BINARY item is asked for.
struct DecodedParts {
  struct Entry {
    const mime::PartNode* part = nullptr;
    std::string octets;
    bool complete = false;  // else only the first octets.size() of it were decoded
  };
  std::vector<Entry> entries;
};

// Appends "<label> <data>" for a BINARY or BINARY.SIZE item `a` of `atts` (the command's
// items) to `out`. false: the part's transfer encoding is unknown, nothing was appended and the
// command answers NO [UNKNOWN-CTE] (RFC 3516 4.3).
//  - BINARY[] is the whole message as stored; a part that is not a leaf (multipart,
//    message/rfc822) has an identity encoding (RFC 2045 6.4) and is sent as it is, so are
//    HEADER, TEXT, MIME and HEADER.FIELDS sections (accepted as Dovecot does).
//  - A part that does not exist: NIL (BINARY.SIZE 0), as BODY[] answers it.
//  - Decoded data holding NUL goes as literal8 "~{n}" (RFC 3516 4.3), else as a literal.
bool format_binary(const proto::FetchAtt& a, const std::vector<proto::FetchAtt>& atts,
                   const mime::Facts& facts, std::string_view msg, DecodedParts& parts,
                   std::string& out);

}  // namespace mailroom::imap
