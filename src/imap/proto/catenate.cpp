// CATENATE (RFC 4469 5) inside APPEND, in MULTIAPPEND too (RFC 4469 4):
//   append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"
//   cat-part    = text-literal / url
//   text-literal = "TEXT" SP literal       (also literal8 "~{n}", RFC 3516 4.4 and RFC 4469 5)
//   url         = "URL" SP astring
//   cat-part    =/ "UTF8" SP "(" literal8 ")"   (RFC 6855 4)
// The URLs are only collected here; proto/imap_url.cpp parses them when the session resolves
// them, so a bad URL is NO [BADURL] (RFC 4469 5) rather than BAD.
#include "src/imap/proto/catenate.h"

namespace mailroom::imap::proto {

namespace {

bool literal8_or_literal(Lexer& lx, std::string& out) {
  if (lx.peek() == '~') {
    lx.consume('~');
    if (lx.peek() != '{') return lx.fail("Expected a literal8");
  } else if (lx.peek() != '{') {
    return lx.fail("TEXT needs a literal");
  }
  auto s = lx.string();
  if (!s) return false;
  out = std::move(*s);
  return true;
}

bool cat_part(Lexer& lx, AppendMessage& m) {
  if (m.parts.size() >= kMaxCatenateParts) return lx.fail("Too many CATENATE parts");
  CatenatePart& p = m.parts.emplace_back();
  if (lx.keyword("TEXT")) return lx.sp() && literal8_or_literal(lx, p.data);
  if (lx.keyword("URL")) {
    if (!lx.sp()) return false;
    auto url = lx.astring();
    if (!url) return false;
    p.url = true;
    p.data = std::move(*url);
    return true;
  }
  if (lx.keyword("UTF8")) {
    if (!lx.sp() || !lx.expect('(')) return false;
    if (lx.peek() != '~') return lx.fail("UTF8 needs a literal8");
    if (!literal8_or_literal(lx, p.data) || !lx.expect(')')) return false;
    p.utf8 = true;
    m.utf8 = true;
    return true;
  }
  return lx.fail("Expected TEXT or URL in CATENATE");
}

}  // namespace

bool parse_catenate(Lexer& lx, AppendMessage& m) {
  m.catenate = true;
  if (!lx.sp() || !lx.expect('(')) return false;
  for (;;) {
    if (!cat_part(lx, m)) return false;
    if (lx.consume(')')) return true;
    if (!lx.sp()) return false;
  }
}

}  // namespace mailroom::imap::proto
