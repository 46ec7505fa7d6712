// RFC 5267 4 (CONTEXT=SEARCH / CONTEXT=SORT) grammar:
//   search-return-opt =/ "UPDATE" / "CONTEXT" / "PARTIAL" SP partial-range
//   partial-range     = nz-number ":" nz-number
//   command-select    =/ "CANCELUPDATE" 1*(SP quoted)
#include "src/imap/proto/context.h"

#include <algorithm>
#include <charconv>

namespace mailroom::imap::proto {

namespace {

std::optional<uint32_t> nz32(std::string_view s) {
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || s[0] == '0' || ec != std::errc() || end != s.data() + s.size())
    return std::nullopt;
  return n;
}

// opts[i] as an RFC 5267 return option (PARTIAL takes opts[i + 1], and i moves past it):
// nullopt when it is none of them, "" when taken, else the reason for a BAD.
std::optional<std::string> context_return_option(const std::vector<std::string>& opts, size_t& i,
                                                 SearchReturn& ret) {
  const std::string& o = opts[i];
  if (o == "UPDATE") {
    ret.update = true;
    return "";
  }
  if (o == "CONTEXT") {  // RFC 5267 4.2: a hint that the client will ask again; nothing to do
    ret.context = true;
    return "";
  }
  if (o != "PARTIAL") return std::nullopt;
  if (ret.partial) return "PARTIAL given twice";
  if (i + 1 >= opts.size()) return "PARTIAL needs a range";
  const std::string& range = opts[++i];
  size_t colon = range.find(':');
  if (colon == std::string::npos) return "Invalid PARTIAL range";
  auto lo = nz32(std::string_view(range).substr(0, colon));
  auto hi = nz32(std::string_view(range).substr(colon + 1));
  if (!lo || !hi) return "Invalid PARTIAL range";
  ret.partial.emplace(std::min(*lo, *hi), std::max(*lo, *hi));
  return "";
}

}  // namespace

bool return_option_list(Lexer& lx, const std::vector<std::string>& opts, SearchReturn& ret) {
  ret.present = true;
  // Known before any other option can fail, so a BAD still empties "$" (RFC 5182 2.1).
  ret.save = std::find(opts.begin(), opts.end(), "SAVE") != opts.end();
  for (size_t i = 0; i < opts.size(); ++i) {
    if (auto ctx = context_return_option(opts, i, ret)) {
      if (!ctx->empty()) return lx.fail(*ctx);
    } else if (opts[i] == "MIN") {
      ret.min = true;
    } else if (opts[i] == "MAX") {
      ret.max = true;
    } else if (opts[i] == "ALL") {
      ret.all = true;
    } else if (opts[i] == "COUNT") {
      ret.count = true;
    } else if (opts[i] == "SAVE") {  // RFC 5182 2.2
      ret.save = true;
    } else {
      return lx.fail("Unknown RETURN option " + opts[i]);
    }
  }
  if (opts.empty()) ret.all = true;  // RFC 4731 3.1
  return true;
}

bool cancelupdate_args(Lexer& lx, Command& cmd) {
  do {
    if (!lx.sp()) return false;
    if (lx.peek() != '"') return lx.fail("CANCELUPDATE takes quoted tags");
    auto tag = lx.string();
    if (!tag) return false;
    if (tag->empty()) return lx.fail("Empty tag");
    if (cmd.args.size() >= 100) return lx.fail("Too many tags");
    cmd.args.push_back(std::move(*tag));
  } while (!lx.at_end());
  return true;
}

}  // namespace mailroom::imap::proto
