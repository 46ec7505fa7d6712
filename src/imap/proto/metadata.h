// Internal: the grammar of METADATA (RFC 5464 5) and LIST-METADATA (RFC 9590) that
// command.cpp calls, and the entry-name rules (RFC 5464 3.2) the session applies again to
// names it builds itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/imap/proto/command.h"
#include "src/imap/proto/lexer.h"

namespace mailroom::imap::proto {

// Entries per command and the longest entry name: bounds of the work one command asks for
// (RFC 5464 leaves both to the server).
constexpr size_t kMaxMetadataEntries = 256;
constexpr size_t kMaxEntryName = 1024;

// RFC 5464 3.2: an entry name in canonical (lower-case) form, or nullopt with the reason for
// a BAD in *why: it starts with "/private/" or "/shared/" and names something below it; no
// "*" or "%", no octet below 0x20, no DEL, nothing beyond ASCII; no "//", no trailing "/";
// "vendor" as the second component needs a vendor token after it.
std::optional<std::string> metadata_entry_name(std::string_view name, std::string* why);

// After "GETMETADATA": SP ["(" option *(SP option) ")" SP] mailbox SP entries (4.2), with
// option = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity") and entries = entry /
// "(" entry *(SP entry) ")". The mailbox goes to cmd.args, the rest to cmd.metadata.
bool getmetadata_args(Lexer& lx, Command& cmd);

// After "SETMETADATA": SP mailbox SP "(" entry SP value *(SP entry SP value) ")" (4.3), value =
// nstring / literal8. A later value of the same entry replaces an earlier one.
bool setmetadata_args(Lexer& lx, Command& cmd);

// A LIST return option of RFC 9590 after its name `option` ("METADATA" or "MAXSIZE"):
// "METADATA" SP "(" item *(SP item) ")" where an item is an entry, a parenthesized list of
// entries or "MAXSIZE" SP number; "MAXSIZE" SP number is also taken as a return option of
// its own next to METADATA.
bool list_metadata_option(Lexer& lx, const std::string& option, Command& cmd);

}  // namespace mailroom::imap::proto
