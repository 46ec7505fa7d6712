// METADATA (RFC 5464 5, Formal Syntax) and LIST-METADATA (RFC 9590):
//   getmetadata     = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
//   getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
//   getmetadata-option  = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
//   entries         = entry / "(" entry *(SP entry) ")"
//   setmetadata     = "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"
//   entry-value     = entry SP value ; value = nstring / literal8
//   list-return-opt =/ "METADATA" SP "(" ... ")"   (RFC 9590; see metadata.h)
#include "src/imap/proto/metadata.h"

#include <algorithm>
#include <cctype>

namespace mailroom::imap::proto {

std::optional<std::string> metadata_entry_name(std::string_view name, std::string* why) {
  auto bad = [why](const char* reason) -> std::optional<std::string> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (name.size() > kMaxEntryName) return bad("Entry name too long");
  if (name.empty() || name.front() != '/') return bad("Entry name must begin with /");
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '*' || c == '%') return bad("Entry name must not contain * or %");
    if (u < 0x20 || u >= 0x7f) return bad("Entry name must be printable ASCII");
    if (c == '/' && !out.empty() && out.back() == '/') return bad("Entry name must not contain //");
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  if (out.back() == '/') return bad("Entry name must not end with /");
  std::string_view rest;
  if (out.rfind("/private/", 0) == 0)
    rest = std::string_view(out).substr(9);
  else if (out.rfind("/shared/", 0) == 0)
    rest = std::string_view(out).substr(8);
  else
    return bad("Entry name must begin with /private/ or /shared/");
  // RFC 5464 3.2.1: vendor entries live under /vendor/<vendor-token>.
  if (rest == "vendor") return bad("A /vendor/ entry needs a vendor token");
  return out;
}

namespace {

bool metadata_entry(Lexer& lx, std::vector<std::string>& out) {
  auto raw = lx.astring();
  if (!raw) return false;
  std::string why;
  auto name = metadata_entry_name(*raw, &why);
  if (!name) return lx.fail(why);
  if (out.size() >= kMaxMetadataEntries) return lx.fail("Too many entries");
  if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(std::move(*name));
  return true;
}

// entry / "(" entry *(SP entry) ")"
bool metadata_entries(Lexer& lx, std::vector<std::string>& out) {
  if (!lx.consume('(')) return metadata_entry(lx, out);
  for (;;) {
    if (!metadata_entry(lx, out)) return false;
    if (lx.consume(')')) return true;
    if (!lx.sp()) return false;
  }
}

bool metadata_maxsize(Lexer& lx, MetadataArgs& m) {
  if (m.maxsize) return lx.fail("MAXSIZE given twice");
  if (!lx.sp()) return false;
  auto n = lx.number();
  if (!n) return false;
  m.maxsize = *n;
  return true;
}

}  // namespace

bool getmetadata_args(Lexer& lx, Command& cmd) {
  if (!lx.sp()) return false;
  MetadataArgs& m = cmd.metadata;
  if (lx.consume('(')) {
    bool depth = false;
    for (;;) {
      if (lx.keyword("MAXSIZE")) {
        if (!metadata_maxsize(lx, m)) return false;
      } else if (lx.keyword("DEPTH")) {
        if (depth) return lx.fail("DEPTH given twice");
        depth = true;
        if (!lx.sp()) return false;
        if (lx.keyword("INFINITY")) {
          m.depth = -1;
        } else {
          auto d = lx.number();
          if (!d || *d > 1) return lx.fail("DEPTH must be 0, 1 or infinity");
          m.depth = static_cast<int>(*d);
        }
      } else {
        return lx.fail("Unknown GETMETADATA option");
      }
      if (lx.consume(')')) break;
      if (!lx.sp()) return false;
    }
    if (!lx.sp()) return false;
  }
  auto mailbox = lx.astring();
  if (!mailbox || !lx.sp()) return false;
  cmd.args.push_back(std::move(*mailbox));
  return metadata_entries(lx, m.entries);
}

bool setmetadata_args(Lexer& lx, Command& cmd) {
  if (!lx.sp()) return false;
  auto mailbox = lx.astring();
  if (!mailbox || !lx.sp() || !lx.expect('(')) return false;
  cmd.args.push_back(std::move(*mailbox));
  auto& values = cmd.metadata.values;
  for (;;) {
    std::vector<std::string> one;
    if (!metadata_entry(lx, one) || !lx.sp()) return false;
    std::optional<std::string> value;
    if (lx.peek() == '~') {  // literal8 (RFC 3516 4.4): any octets, NUL included
      lx.consume('~');
      if (lx.peek() != '{') return lx.fail("Expected a literal8");
      value = lx.string();
      if (!value) return false;
    } else {
      bool nil = false;
      auto v = lx.nstring(&nil);
      if (!v) return false;
      if (!nil) value = std::move(*v);
    }
    auto same = [&one](const auto& e) { return e.first == one[0]; };
    values.erase(std::remove_if(values.begin(), values.end(), same), values.end());
    if (values.size() >= kMaxMetadataEntries) return lx.fail("Too many entries");
    values.emplace_back(std::move(one[0]), std::move(value));
    if (lx.consume(')')) return true;
    if (!lx.sp()) return false;
  }
}

bool list_metadata_option(Lexer& lx, const std::string& option, Command& cmd) {
  MetadataArgs& m = cmd.metadata;
  if (option == "MAXSIZE") return metadata_maxsize(lx, m);
  if (!lx.sp() || !lx.expect('(')) return false;
  for (;;) {
    if (lx.keyword("MAXSIZE")) {
      if (!metadata_maxsize(lx, m)) return false;
    } else if (!metadata_entries(lx, m.entries)) {
      return false;
    }
    if (lx.consume(')')) break;
    if (!lx.sp()) return false;
  }
  if (m.entries.empty()) return lx.fail("METADATA needs at least one entry");
  return true;
}

}  // namespace mailroom::imap::proto
