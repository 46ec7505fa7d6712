// The command grammar, RFC 3501 section 9, plus the extension syntax we advertise:
// RFC 4731 (ESEARCH RETURN), RFC 5256 (SORT/THREAD), RFC 5258/5819 (LIST-EXTENDED/STATUS),
// RFC 6154 (CREATE USE), RFC 6851 (MOVE), RFC 7162 (CONDSTORE/QRESYNC), RFC 2971 (ID),
// RFC 3502 (MULTIAPPEND), RFC 8508 (REPLACE), RFC 8514 (SAVEDATE), RFC 8474 (OBJECTID),
// RFC 3516 (BINARY sections, literal8 in APPEND), RFC 4978 (COMPRESS), RFC 4469 (CATENATE,
// in catenate.cpp), RFC 5267 4 (CONTEXT, in context.cpp).
// Hand-written: the grammar is small, literals must stay zero-copy inline, and every error
// needs a precise client-safe message.
#include "src/imap/proto/command.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "src/imap/proto/acl.h"
#include "src/imap/proto/catenate.h"
#include "src/imap/proto/context.h"
#include "src/imap/proto/lexer.h"
#include "src/imap/proto/metadata.h"
#include "src/store/mail_store.h"

namespace mailroom::imap::proto {

std::vector<uint32_t> SequenceSet::expand(uint32_t max) const {
  std::vector<uint32_t> out;
  if (max == 0) return out;
  for (auto [a, b] : ranges) {
    uint32_t lo = a == 0 ? max : a, hi = b == 0 ? max : b;
    if (lo > hi) std::swap(lo, hi);
    if (lo > max) continue;
    hi = std::min(hi, max);
    for (uint32_t n = lo; n <= hi; ++n) {
      out.push_back(n);
      if (n == UINT32_MAX) break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool SequenceSet::contains(uint32_t n, uint32_t max) const {
  for (auto [a, b] : ranges) {
    uint32_t lo = a == 0 ? max : a, hi = b == 0 ? max : b;
    if (lo > hi) std::swap(lo, hi);
    if (n >= lo && n <= hi) return true;
  }
  return false;
}

uint32_t SequenceSet::largest_explicit() const {
  uint32_t m = 0;
  for (auto [a, b] : ranges) m = std::max({m, a, b});
  return m;
}

std::optional<SequenceSet> parse_sequence_set(std::string_view text) {
  SequenceSet set;
  size_t pos = 0;
  auto seq_number = [&](uint32_t& out) {
    if (pos < text.size() && text[pos] == '*') {
      ++pos;
      out = 0;
      return true;
    }
    uint64_t n = 0;
    size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      n = n * 10 + static_cast<uint64_t>(text[pos] - '0');
      if (n > UINT32_MAX) return false;
      ++pos;
    }
    if (pos == start || n == 0) return false;
    out = static_cast<uint32_t>(n);
    return true;
  };
  if (text.empty()) return std::nullopt;
  for (;;) {
    uint32_t a = 0, b = 0;
    if (!seq_number(a)) return std::nullopt;
    b = a;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!seq_number(b)) return std::nullopt;
    }
    set.ranges.emplace_back(a, b);
    if (set.ranges.size() > 100000) return std::nullopt;
    if (pos == text.size()) return set;
    if (text[pos] != ',') return std::nullopt;
    ++pos;
  }
}

namespace {

constexpr const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

int month_index(std::string_view m) {
  if (m.size() != 3) return -1;
  std::string u;
  for (char c : m) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (int i = 0; i < 12; ++i) {
    if (u == kMonths[i]) return i;
  }
  return -1;
}

int64_t days_from_civil(int y, int m, int d) {  // m 1..12
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Parser {
  Lexer lx;
  Command cmd;
  int depth = 0;

  bool fail(std::string m) { return lx.fail(std::move(m)); }

  bool mailbox(std::string& out) {
    auto s = lx.astring();
    if (!s) return false;
    out = std::move(*s);
    return true;
  }

  // `allow_saved`: "$" (RFC 5182 2.1) may stand for the set (FETCH, STORE, COPY, MOVE, UID
  // EXPUNGE and SEARCH keys; RFC 9051 9 seq-last-command), alone and not inside a list.
  bool sequence_set(SequenceSet& out, bool allow_saved = false) {
    std::string_view w = lx.word();
    if (allow_saved && w == "$") {
      out = SequenceSet{};
      out.saved = true;
      return true;
    }
    auto set = parse_sequence_set(w);
    if (!set) return fail("Invalid sequence set");
    out = std::move(*set);
    return true;
  }

  bool flag(uint32_t& flags, std::vector<std::string>& keywords, bool allow_recent) {
    if (lx.consume('\\')) {
      if (lx.consume('*')) return fail("\\* is not a flag");
      auto a = lx.atom();
      if (!a) return false;
      std::string u;
      for (char c : *a) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      if (u == "SEEN")
        flags |= store::kSeen;
      else if (u == "ANSWERED")
        flags |= store::kAnswered;
      else if (u == "FLAGGED")
        flags |= store::kFlagged;
      else if (u == "DELETED")
        flags |= store::kDeleted;
      else if (u == "DRAFT")
        flags |= store::kDraft;
      else if (u == "RECENT" && allow_recent) {
      } else {
        return fail("Invalid system flag \\" + *a);
      }
      return true;
    }
    auto a = lx.atom();
    if (!a) return fail("Invalid flag");
    if (std::find(keywords.begin(), keywords.end(), *a) == keywords.end()) keywords.push_back(*a);
    return true;
  }

  bool flag_list(uint32_t& flags, std::vector<std::string>& keywords) {
    if (!lx.expect('(')) return false;
    if (lx.consume(')')) return true;
    for (;;) {
      if (!flag(flags, keywords, false)) return false;
      if (lx.consume(')')) return true;
      if (!lx.sp()) return false;
    }
  }

  bool date(int64_t& days) {
    bool q = lx.consume('"');
    std::string_view w = lx.word();
    if (q) {
      if (w.empty() || w.back() != '"') return fail("Invalid date");
      w.remove_suffix(1);
    }
    auto d = parse_date(w);
    if (!d) return fail("Invalid date");
    days = *d;
    return true;
  }

  std::string upper_atom() {
    auto a = lx.atom();
    if (!a) return {};
    for (auto& c : *a) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return *a;
  }

  bool atom_list(std::vector<std::string>& out) {
    if (!lx.expect('(')) return false;
    if (lx.consume(')')) return true;
    for (;;) {
      std::string a = upper_atom();
      if (a.empty()) return false;
      out.push_back(a);
      if (lx.consume(')')) return true;
      if (!lx.sp()) return false;
    }
  }

  // --- SEARCH (RFC 3501 6.4.4) ---
  bool search_key(SearchKey& key) {
    using Op = SearchKey::Op;
    if (lx.peek() == '(') {
      if (++depth > kMaxDepth) return fail("Too deeply nested");
      lx.consume('(');
      key.op = Op::and_;
      for (;;) {
        key.children.emplace_back();
        if (!search_key(key.children.back())) return false;
        if (lx.consume(')')) break;
        if (!lx.sp()) return false;
      }
      --depth;
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(lx.peek())) || lx.peek() == '*' ||
        lx.peek() == '$') {
      key.op = Op::seqset;
      return sequence_set(key.set, true);
    }
    std::string k = upper_atom();
    if (k.empty()) return fail("Expected a search key");
    auto str_arg = [&](Op op, std::string field) {
      key.op = op;
      key.field = std::move(field);
      if (!lx.sp()) return false;
      auto s = lx.astring();
      if (!s) return false;
      key.value = std::move(*s);
      return true;
    };
    auto flag_key = [&](Op op, uint32_t f) {
      key.op = op;
      key.flag = f;
      return true;
    };
    auto date_key = [&](Op op) {
      key.op = op;
      return lx.sp() && date(key.date);
    };
    if (k == "ALL") {
      key.op = Op::all;
      return true;
    }
    if (k == "ANSWERED") return flag_key(Op::flag, store::kAnswered);
    if (k == "DELETED") return flag_key(Op::flag, store::kDeleted);
    if (k == "DRAFT") return flag_key(Op::flag, store::kDraft);
    if (k == "FLAGGED") return flag_key(Op::flag, store::kFlagged);
    if (k == "SEEN") return flag_key(Op::flag, store::kSeen);
    if (k == "UNANSWERED") return flag_key(Op::not_flag, store::kAnswered);
    if (k == "UNDELETED") return flag_key(Op::not_flag, store::kDeleted);
    if (k == "UNDRAFT") return flag_key(Op::not_flag, store::kDraft);
    if (k == "UNFLAGGED") return flag_key(Op::not_flag, store::kFlagged);
    if (k == "UNSEEN") return flag_key(Op::not_flag, store::kSeen);
    if (k == "NEW") {
      key.op = Op::new_;
      return true;
    }
    if (k == "OLD") {
      key.op = Op::old;
      return true;
    }
    if (k == "RECENT") {
      key.op = Op::recent;
      return true;
    }
    if (k == "BCC" || k == "CC" || k == "FROM" || k == "TO" || k == "SUBJECT")
      return str_arg(Op::field, k);
    if (k == "BODY") return str_arg(Op::body, "");
    if (k == "TEXT") return str_arg(Op::text, "");
    if (k == "HEADER") {
      key.op = Op::header;
      if (!lx.sp()) return false;
      auto f = lx.astring();
      if (!f) return false;
      key.field = *f;
      for (auto& c : key.field) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!lx.sp()) return false;
      auto v = lx.astring();
      if (!v) return false;
      key.value = *v;
      return true;
    }
    if (k == "KEYWORD" || k == "UNKEYWORD") {
      key.op = k == "KEYWORD" ? Op::keyword : Op::not_keyword;
      if (!lx.sp()) return false;
      auto a = lx.atom();
      if (!a) return false;
      key.value = *a;
      return true;
    }
    if (k == "BEFORE") return date_key(Op::before);
    if (k == "ON") return date_key(Op::on);
    if (k == "SINCE") return date_key(Op::since);
    if (k == "SENTBEFORE") return date_key(Op::sent_before);
    if (k == "SENTON") return date_key(Op::sent_on);
    if (k == "SENTSINCE") return date_key(Op::sent_since);
    if (k == "SAVEDBEFORE") return date_key(Op::saved_before);  // RFC 8514 2.2
    if (k == "SAVEDON") return date_key(Op::saved_on);
    if (k == "SAVEDSINCE") return date_key(Op::saved_since);
    if (k == "EMAILID" || k == "THREADID") {  // RFC 8474 6
      key.op = k == "EMAILID" ? Op::emailid : Op::threadid;
      if (!lx.sp()) return false;
      auto id = lx.atom();
      if (!id) return false;
      // objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 7)
      bool valid = id->size() <= 255 && std::all_of(id->begin(), id->end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                   });
      if (!valid) return fail("Invalid object id");
      key.value = std::move(*id);
      return true;
    }
    if (k == "SAVEDATESUPPORTED") {
      key.op = Op::savedate_supported;
      return true;
    }
    if (k == "LARGER" || k == "SMALLER") {
      key.op = k == "LARGER" ? Op::larger : Op::smaller;
      if (!lx.sp()) return false;
      auto n = lx.number();
      if (!n) return false;
      key.number = *n;
      return true;
    }
    if (k == "UID") {
      key.op = Op::uidset;
      return lx.sp() && sequence_set(key.set, true);
    }
    if (k == "NOT") {
      if (++depth > kMaxDepth) return fail("Too deeply nested");
      key.op = Op::not_;
      key.children.emplace_back();
      bool ok = lx.sp() && search_key(key.children.back());
      --depth;
      return ok;
    }
    if (k == "OR") {
      if (++depth > kMaxDepth) return fail("Too deeply nested");
      key.op = Op::or_;
      key.children.resize(2);
      bool ok = lx.sp() && search_key(key.children[0]) && lx.sp() && search_key(key.children[1]);
      --depth;
      return ok;
    }
    if (k == "MODSEQ") {  // RFC 7162 3.1.5: MODSEQ [entry-name entry-type] mod-sequence-valzer
      key.op = Op::modseq;
      if (!lx.sp()) return false;
      if (lx.peek() == '"') {
        if (!lx.string() || !lx.sp()) return false;
        std::string type = upper_atom();
        if (type != "PRIV" && type != "SHARED" && type != "ALL") return fail("Invalid entry type");
        if (!lx.sp()) return false;
      }
      auto n = lx.number();
      if (!n) return false;
      key.number = *n;
      return true;
    }
    return fail("Unknown search key " + k);
  }

  // "RETURN (MIN MAX ALL COUNT ...) ": ESEARCH (RFC 4731 3.1), ESORT (RFC 5267 3.1) and the
  // options of RFC 5267 4 (context.cpp).
  bool return_options() {
    std::vector<std::string> opts;
    if (!lx.sp() || !atom_list(opts) || !lx.sp()) return false;
    return return_option_list(lx, opts, cmd.search_return);
  }

  bool search_program(bool allow_return) {
    if (allow_return && lx.keyword("RETURN") && !return_options()) return false;
    if (lx.keyword("CHARSET")) {
      if (!lx.sp()) return false;
      auto cs = lx.astring();
      if (!cs || !lx.sp()) return false;
      cmd.charset = *cs;
      for (auto& c : cmd.charset)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    cmd.search.op = SearchKey::Op::and_;
    for (;;) {
      cmd.search.children.emplace_back();
      if (!search_key(cmd.search.children.back())) return false;
      if (lx.at_end()) return true;
      if (!lx.sp()) return false;
    }
  }

  // --- FETCH (RFC 3501 6.4.5) ---
  bool section(FetchAtt& att, bool binary) {
    std::string label;
    if (!lx.expect('[')) return false;
    while (std::isdigit(static_cast<unsigned char>(lx.peek()))) {
      auto n = lx.nz_number32();
      if (!n) return false;
      if (att.section.parts.size() >= 64) return fail("Section too deep");
      att.section.parts.push_back(*n);
      label += (label.empty() ? "" : ".") + std::to_string(*n);
      if (!lx.consume('.')) break;
      if (!std::isdigit(static_cast<unsigned char>(lx.peek()))) {
        label += ".";
        break;
      }
    }
    if (lx.peek() != ']') {
      // RFC 3516 9 allows only part numbers in section-binary; HEADER, TEXT, MIME and
      // HEADER.FIELDS are accepted too, as Dovecot does, and answered as with BODY (their
      // octets are not transfer-encoded).
      bool after_part = !att.section.parts.empty();
      if (after_part && label.back() != '.') return fail("Invalid section");
      if (lx.keyword("HEADER.FIELDS.NOT")) {
        att.section.text = mime::SectionText::header_fields_not;
        label += "HEADER.FIELDS.NOT";
      } else if (lx.keyword("HEADER.FIELDS")) {
        att.section.text = mime::SectionText::header_fields;
        label += "HEADER.FIELDS";
      } else if (lx.keyword("HEADER")) {
        att.section.text = mime::SectionText::header;
        label += "HEADER";
      } else if (lx.keyword("TEXT")) {
        att.section.text = mime::SectionText::text;
        label += "TEXT";
      } else if (after_part && lx.keyword("MIME")) {
        att.section.text = mime::SectionText::mime;
        label += "MIME";
      } else {
        return fail("Invalid section");
      }
      if (att.section.text == mime::SectionText::header_fields ||
          att.section.text == mime::SectionText::header_fields_not) {
        if (!lx.sp() || !lx.expect('(')) return false;
        label += " (";
        for (;;) {
          auto f = lx.astring();
          if (!f) return false;
          att.fields.push_back(*f);
          label += (label.back() == '(' ? "" : " ") + *f;
          if (lx.consume(')')) break;
          if (!lx.sp()) return false;
        }
        label += ")";
      }
    } else if (!label.empty() && label.back() == '.') {
      return fail("Invalid section");
    }
    if (!lx.expect(']')) return false;
    att.label += "[" + label + "]";
    if (lx.consume('<')) {
      auto origin = lx.number();
      if (!origin) return false;
      if (binary && lx.consume('>')) {  // "<origin>": to the end (Dovecot's form; BINARY only)
        att.partial = std::make_pair(*origin, UINT64_MAX);
        att.label += "<" + std::to_string(*origin) + ">";
        return true;
      }
      if (!lx.expect('.')) return false;
      auto size = lx.number();
      if (!size || !lx.expect('>')) return false;
      if (*size == 0) return fail("Partial size must not be zero");
      att.partial = std::make_pair(*origin, *size);
      att.label += "<" + std::to_string(*origin) + ">";
    }
    return true;
  }

  bool fetch_att(std::vector<FetchAtt>& atts) {
    FetchAtt att;
    std::string name = upper_atom_with_dots();
    if (name.empty()) return fail("Expected a fetch attribute");
    att.label = name;
    if (name == "ENVELOPE")
      att.item = FetchItem::envelope;
    else if (name == "FLAGS")
      att.item = FetchItem::flags;
    else if (name == "INTERNALDATE")
      att.item = FetchItem::internaldate;
    else if (name == "RFC822")
      att.item = FetchItem::rfc822;
    else if (name == "RFC822.HEADER")
      att.item = FetchItem::rfc822_header;
    else if (name == "RFC822.SIZE")
      att.item = FetchItem::rfc822_size;
    else if (name == "RFC822.TEXT")
      att.item = FetchItem::rfc822_text;
    else if (name == "BODYSTRUCTURE")
      att.item = FetchItem::bodystructure;
    else if (name == "UID")
      att.item = FetchItem::uid;
    else if (name == "MODSEQ")
      att.item = FetchItem::modseq;
    else if (name == "SAVEDATE")  // RFC 8514 2.1
      att.item = FetchItem::savedate;
    else if (name == "EMAILID")  // RFC 8474 5
      att.item = FetchItem::emailid;
    else if (name == "THREADID")
      att.item = FetchItem::threadid;
    else if (name == "PREVIEW") {  // RFC 8970 3.1: "PREVIEW" [SP "(" preview-mod ... ")"]
      att.item = FetchItem::preview;
      size_t at = lx.pos();
      if (lx.sp() && lx.peek() == '(') {
        std::vector<std::string> mods;
        if (!atom_list(mods)) return false;
        if (mods.empty()) return fail("Empty PREVIEW modifier list");
        for (const auto& m : mods) {
          if (m != "LAZY") return fail("Unknown PREVIEW modifier " + m);
          att.lazy = true;
        }
      } else {
        lx.set_pos(at);
      }
    } else if (name == "BODY" || name == "BODY.PEEK") {
      if (lx.peek() != '[') {
        if (name == "BODY.PEEK") return fail("BODY.PEEK needs a section");
        att.item = FetchItem::body;
      } else {
        att.item = FetchItem::body_section;
        att.peek = name == "BODY.PEEK";
        att.label = "BODY";
        if (!section(att, false)) return false;
      }
    } else if (name == "BINARY" || name == "BINARY.PEEK" || name == "BINARY.SIZE") {
      att.item = name == "BINARY.SIZE" ? FetchItem::binary_size : FetchItem::binary;
      att.peek = name != "BINARY";
      att.label = name == "BINARY.SIZE" ? "BINARY.SIZE" : "BINARY";
      if (!section(att, true)) return false;
      if (att.item == FetchItem::binary_size && att.partial) return fail("Invalid BINARY.SIZE");
    } else {
      return fail("Unknown fetch attribute " + name);
    }
    atts.push_back(std::move(att));
    return true;
  }

  std::string upper_atom_with_dots() {
    size_t start = lx.pos();
    std::string out;
    while (!lx.at_end() && Lexer::is_atom_char(lx.peek()) && lx.peek() != '[' && lx.peek() != '<') {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(lx.peek()))));
      lx.set_pos(lx.pos() + 1);
    }
    if (out.empty()) lx.set_pos(start);
    return out;
  }

  bool fetch_args() {
    if (!lx.sp() || !sequence_set(cmd.set, true) || !lx.sp()) return false;
    auto add = [&](std::initializer_list<FetchItem> items) {
      for (auto i : items) {
        FetchAtt a;
        a.item = i;
        a.label = i == FetchItem::flags          ? "FLAGS"
                  : i == FetchItem::internaldate ? "INTERNALDATE"
                  : i == FetchItem::rfc822_size  ? "RFC822.SIZE"
                  : i == FetchItem::envelope     ? "ENVELOPE"
                                                 : "BODY";
        cmd.fetch.push_back(a);
      }
    };
    if (lx.keyword("ALL")) {
      add({FetchItem::flags, FetchItem::internaldate, FetchItem::rfc822_size, FetchItem::envelope});
    } else if (lx.keyword("FAST")) {
      add({FetchItem::flags, FetchItem::internaldate, FetchItem::rfc822_size});
    } else if (lx.keyword("FULL")) {
      add({FetchItem::flags, FetchItem::internaldate, FetchItem::rfc822_size, FetchItem::envelope,
           FetchItem::body});
    } else if (lx.consume('(')) {
      for (;;) {
        if (!fetch_att(cmd.fetch)) return false;
        if (lx.consume(')')) break;
        if (!lx.sp()) return false;
      }
    } else if (!fetch_att(cmd.fetch)) {
      return false;
    }
    if (!lx.at_end()) {  // RFC 7162 fetch-modifiers
      if (!lx.sp() || !lx.expect('(')) return false;
      for (;;) {
        std::string m = upper_atom();
        if (m == "CHANGEDSINCE") {
          if (!lx.sp()) return false;
          auto n = lx.number();
          if (!n) return false;
          cmd.changed_since = *n;
        } else if (m == "VANISHED") {
          cmd.vanished = true;
        } else {
          return fail(m.empty() ? "Invalid fetch modifier" : "Unknown fetch modifier " + m);
        }
        if (lx.consume(')')) break;
        if (!lx.sp()) return false;
      }
      if (cmd.vanished && (!cmd.uid || !cmd.changed_since))
        return fail("VANISHED needs UID FETCH with CHANGEDSINCE");
    }
    return true;
  }

  bool store_args() {
    if (!lx.sp() || !sequence_set(cmd.set, true) || !lx.sp()) return false;
    if (lx.consume('(')) {
      if (!lx.keyword("UNCHANGEDSINCE") || !lx.sp()) return fail("Invalid STORE modifier");
      auto n = lx.number();
      if (!n || !lx.expect(')') || !lx.sp()) return false;
      cmd.unchanged_since = *n;
    }
    if (lx.consume('+'))
      cmd.store_mode = '+';
    else if (lx.consume('-'))
      cmd.store_mode = '-';
    std::string item = upper_atom_with_dots();
    if (item == "FLAGS.SILENT")
      cmd.silent = true;
    else if (item != "FLAGS")
      return fail("Expected FLAGS, +FLAGS or -FLAGS");
    if (!lx.sp()) return false;
    cmd.has_flag_list = true;
    if (lx.peek() == '(') return flag_list(cmd.flags, cmd.keywords);
    for (;;) {
      if (!flag(cmd.flags, cmd.keywords, false)) return false;
      if (lx.at_end()) return true;
      if (!lx.sp()) return false;
    }
  }

  // append-opts literal (RFC 3501 9: [SP flag-list] [SP date-time] SP literal).
  bool append_message() {
    AppendMessage& m = cmd.appends.emplace_back();
    if (lx.peek() == '(') {
      if (!flag_list(m.flags, m.keywords) || !lx.sp()) return false;
    }
    if (lx.peek() == '"') {
      auto s = lx.string();
      if (!s) return false;
      auto dt = parse_date_time(*s);
      if (!dt) return fail("Invalid date-time");
      m.date_time = dt->first;
      m.date_tz = dt->second;
      if (!lx.sp()) return false;
    }
    if (lx.keyword("CATENATE")) return parse_catenate(lx, m);  // RFC 4469 5 (catenate.cpp)
    // RFC 6855 4: append-data =/ "UTF8" SP "(" literal8 ")" -- a message with UTF-8 headers.
    if (lx.keyword("UTF8")) {
      if (!lx.sp() || !lx.expect('(')) return false;
      if (lx.peek() != '~') return fail("UTF8 needs a literal8");
      lx.consume('~');
      if (lx.peek() != '{') return fail("UTF8 needs a literal8");
      auto msg = lx.string();
      if (!msg || !lx.expect(')')) return false;
      m.message = std::move(*msg);
      m.utf8 = true;
      return true;
    }
    // literal8 "~{n}" (RFC 3516 4.4): binary content, NUL octets allowed.
    if (lx.peek() == '~' && lx.consume('~') && lx.peek() != '{') return fail("Expected a literal");
    if (lx.peek() != '{') return fail("Expected a literal");
    auto msg = lx.string();
    if (!msg) return false;
    m.message = std::move(*msg);
    return true;
  }

  // RFC 3502 3: append = "APPEND" SP mailbox 1*append-message, each message after a SP; the
  // number of messages is bounded by the command reader's literal limit.
  bool append_args() {
    if (!lx.sp() || !mailbox(cmd.args.emplace_back()) || !lx.sp()) return false;
    for (;;) {
      if (!append_message()) return false;
      if (lx.at_end()) return true;
      if (!lx.sp()) return false;
    }
  }

  // RFC 8508 6: replace = "REPLACE" SP seq-number SP mailbox append-message, one message;
  // UID REPLACE takes a UID ("*" is the last message or the largest UID, as in a set).
  bool replace_args() {
    if (!lx.sp()) return false;
    std::string_view w = lx.word();
    auto set = parse_sequence_set(w);
    if (!set || set->ranges.size() != 1 || set->ranges[0].first != set->ranges[0].second)
      return fail(cmd.uid ? "Invalid UID" : "Invalid message sequence number");
    cmd.set = std::move(*set);
    if (!lx.sp() || !mailbox(cmd.args.emplace_back()) || !lx.sp()) return false;
    return append_message();
  }

  bool select_args() {
    if (!lx.sp() || !mailbox(cmd.args.emplace_back())) return false;
    if (lx.at_end()) return true;
    if (!lx.sp() || !lx.expect('(')) return false;
    for (;;) {
      std::string p = upper_atom();
      if (p == "CONDSTORE") {
        cmd.condstore = true;
      } else if (p == "QRESYNC") {
        cmd.qresync = true;
        if (!lx.sp() || !lx.expect('(')) return false;
        auto v = lx.nz_number32();
        if (!v || !lx.sp()) return false;
        auto m = lx.number();
        if (!m) return false;
        cmd.qr_uidvalidity = *v;
        cmd.qr_modseq = *m;
        if (lx.consume(' ')) {
          if (lx.peek() != '(') {
            SequenceSet known;
            if (!sequence_set(known)) return false;
            cmd.qr_known_uids = known;
            lx.consume(' ');
          }
          if (lx.consume('(')) {
            SequenceSet seqs, uids;
            if (!sequence_set(seqs) || !lx.sp() || !sequence_set(uids) || !lx.expect(')'))
              return false;
            cmd.qr_seq_match = std::make_pair(seqs, uids);
          }
        }
        if (!lx.expect(')')) return false;
      } else {
        return fail(p.empty() ? "Invalid SELECT parameter" : "Unknown SELECT parameter " + p);
      }
      if (lx.consume(')')) break;
      if (!lx.sp()) return false;
    }
    return true;
  }

  bool list_args() {
    if (!lx.sp()) return false;
    if (cmd.name == "LIST" && lx.peek() == '(') {
      cmd.list_extended = true;
      if (!atom_list(cmd.list_select) || !lx.sp()) return false;
    }
    if (!mailbox(cmd.args.emplace_back()) || !lx.sp()) return false;
    if (cmd.name == "LIST" && lx.peek() == '(') {
      cmd.list_extended = true;
      lx.consume('(');
      for (;;) {
        auto p = lx.list_mailbox();
        if (!p) return false;
        cmd.patterns.push_back(*p);
        if (lx.consume(')')) break;
        if (!lx.sp()) return false;
      }
    } else {
      auto p = lx.list_mailbox();
      if (!p) return false;
      cmd.patterns.push_back(*p);
    }
    if (cmd.name == "LIST" && !lx.at_end()) {
      if (!lx.sp() || !lx.keyword("RETURN") || !lx.sp() || !lx.expect('(')) return false;
      cmd.list_extended = true;
      if (lx.consume(')')) return true;
      for (;;) {
        std::string o = upper_atom();
        if (o.empty()) return false;
        cmd.list_return.push_back(o);
        if (o == "STATUS") {
          if (!lx.sp() || !atom_list(cmd.status_items)) return false;
        }
        if ((o == "METADATA" || o == "MAXSIZE") && !list_metadata_option(lx, o, cmd))
          return false;  // RFC 9590 (metadata.cpp)
        if (lx.consume(')')) break;
        if (!lx.sp()) return false;
      }
    }
    return true;
  }

  // RFC 5256 3, with RFC 5267 3.1's RETURN options (ESORT) before the criteria.
  bool sort_args() {
    if (!lx.sp()) return false;
    if (lx.keyword("RETURN") && !return_options()) return false;
    if (!lx.expect('(')) return false;
    bool reverse = false;
    for (;;) {
      std::string k = upper_atom();
      if (k == "REVERSE") {
        reverse = true;
      } else if (k == "ARRIVAL" || k == "CC" || k == "DATE" || k == "FROM" || k == "SIZE" ||
                 k == "SUBJECT" || k == "TO" || k == "DISPLAYFROM" || k == "DISPLAYTO") {
        cmd.sort.emplace_back(k, reverse);
        reverse = false;
      } else {
        return fail(k.empty() ? "Invalid sort criterion" : "Unknown sort criterion " + k);
      }
      if (lx.consume(')')) break;
      if (!lx.sp()) return false;
    }
    if (reverse || cmd.sort.empty()) return fail("Invalid sort criteria");
    if (!lx.sp()) return false;
    auto cs = lx.astring();
    if (!cs || !lx.sp()) return false;
    cmd.charset = *cs;
    for (auto& c : cmd.charset) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    cmd.search.op = SearchKey::Op::and_;
    for (;;) {
      cmd.search.children.emplace_back();
      if (!search_key(cmd.search.children.back())) return false;
      if (lx.at_end()) return true;
      if (!lx.sp()) return false;
    }
  }

  bool thread_args() {
    if (!lx.sp()) return false;
    std::string alg = upper_atom();
    if (alg.empty()) return false;
    cmd.atoms.push_back(alg);
    if (!lx.sp()) return false;
    auto cs = lx.astring();
    if (!cs || !lx.sp()) return false;
    cmd.charset = *cs;
    for (auto& c : cmd.charset) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    cmd.search.op = SearchKey::Op::and_;
    for (;;) {
      cmd.search.children.emplace_back();
      if (!search_key(cmd.search.children.back())) return false;
      if (lx.at_end()) return true;
      if (!lx.sp()) return false;
    }
  }

  bool id_args() {
    if (!lx.sp()) return false;
    if (lx.keyword("NIL")) return true;
    if (!lx.expect('(')) return false;
    if (lx.consume(')')) return true;
    for (;;) {
      auto k = lx.string();
      if (!k || !lx.sp()) return false;
      bool nil = false;
      auto v = lx.nstring(&nil);
      if (!v) return false;
      if (cmd.id_params.size() >= 30) return fail("Too many ID fields");
      cmd.id_params.emplace_back(*k, nil ? std::nullopt : std::optional<std::string>(*v));
      if (lx.consume(')')) return true;
      if (!lx.sp()) return false;
    }
  }

  bool args() {
    const std::string& n = cmd.name;
    if (n == "CAPABILITY" || n == "NOOP" || n == "LOGOUT" || n == "STARTTLS" || n == "CHECK" ||
        n == "CLOSE" || n == "UNSELECT" || n == "IDLE" || n == "NAMESPACE" ||
        n == "UNAUTHENTICATE")  // RFC 8437 4: no arguments
      return true;
    if (n == "EXPUNGE") {
      if (cmd.uid) return lx.sp() && sequence_set(cmd.set, true);
      return true;
    }
    if (n == "LOGIN") {
      return lx.sp() && mailbox(cmd.args.emplace_back()) && lx.sp() &&
             mailbox(cmd.args.emplace_back());
    }
    if (n == "AUTHENTICATE") {
      if (!lx.sp()) return false;
      std::string mech = upper_atom();
      if (mech.empty()) return false;
      cmd.atoms.push_back(mech);
      if (lx.consume(' ')) {
        std::string_view w = lx.word();
        if (w.empty()) return fail("Invalid initial response");
        cmd.initial_response = std::string(w);
      }
      return true;
    }
    if (n == "SELECT" || n == "EXAMINE") return select_args();
    if (n == "CREATE") {
      if (!lx.sp() || !mailbox(cmd.args.emplace_back())) return false;
      if (lx.at_end()) return true;
      if (!lx.sp() || !lx.expect('(') || !lx.keyword("USE") || !lx.sp() || !lx.expect('('))
        return fail("Invalid CREATE parameters");
      for (;;) {
        if (!lx.expect('\\')) return false;
        auto a = lx.atom();
        if (!a) return false;
        cmd.create_use.push_back("\\" + *a);
        if (lx.consume(')')) break;
        if (!lx.sp()) return false;
      }
      return lx.expect(')');
    }
    if (n == "DELETE" || n == "SUBSCRIBE" || n == "UNSUBSCRIBE" || n == "GETQUOTAROOT" ||
        n == "GETQUOTA")
      return lx.sp() && mailbox(cmd.args.emplace_back());
    if (n == "RENAME") {
      return lx.sp() && mailbox(cmd.args.emplace_back()) && lx.sp() &&
             mailbox(cmd.args.emplace_back());
    }
    if (n == "SETQUOTA") {
      if (!lx.sp() || !mailbox(cmd.args.emplace_back()) || !lx.sp() || !lx.expect('('))
        return false;
      while (!lx.at_end() && lx.peek() != ')') lx.set_pos(lx.pos() + 1);
      return lx.expect(')');
    }
    if (n == "LIST" || n == "LSUB") return list_args();
    if (n == "STATUS") {
      return lx.sp() && mailbox(cmd.args.emplace_back()) && lx.sp() && atom_list(cmd.status_items);
    }
    if (n == "APPEND") return append_args();
    if (n == "REPLACE") return replace_args();
    if (n == "SEARCH") return lx.sp() && search_program(true);
    if (n == "SORT") return sort_args();
    if (n == "THREAD") return thread_args();
    if (n == "FETCH") return fetch_args();
    if (n == "STORE") return store_args();
    if (n == "COPY" || n == "MOVE") {
      return lx.sp() && sequence_set(cmd.set, true) && lx.sp() && mailbox(cmd.args.emplace_back());
    }
    if (n == "ENABLE") {
      do {
        if (!lx.sp()) return false;
        std::string a = upper_atom();
        if (a.empty()) return false;
        cmd.atoms.push_back(a);
      } while (!lx.at_end());
      return true;
    }
    if (n == "ID") return id_args();
    if (n == "CANCELUPDATE") return cancelupdate_args(lx, cmd);  // RFC 5267 4.3
    if (is_acl_command(n)) return acl_args(lx, cmd);             // RFC 4314 3
    if (n == "GETMETADATA") return getmetadata_args(lx, cmd);    // RFC 5464 4.2
    if (n == "SETMETADATA") return setmetadata_args(lx, cmd);    // RFC 5464 4.3
    if (n == "NOTIFY")                                           // RFC 5465 8
      return notify_args(lx, cmd.notify, cmd.fetch, [this](auto& v) { return fetch_att(v); });
    if (n == "COMPRESS") {  // RFC 4978 3: "COMPRESS" SP algorithm (an atom)
      if (!lx.sp()) return false;
      std::string a = upper_atom();
      if (a.empty()) return fail("Expected a compression mechanism");
      cmd.atoms.push_back(a);
      return true;
    }
    return fail("Unknown command " + n);
  }
};

}  // namespace

ParseResult parse_command(std::string_view buffer) {
  ParseResult r;
  Parser p{Lexer(buffer), {}, 0};
  auto tag = p.lx.tag();
  if (!tag || !p.lx.consume(' ')) {
    r.error.message = buffer.empty() ? "Empty command line" : "Invalid tag";
    return r;
  }
  r.error.tag = *tag;
  p.cmd.tag = *tag;
  std::string name = p.upper_atom();
  if (name.empty()) {
    r.error.message = "Missing command";
    return r;
  }
  if (name == "UID") {
    p.cmd.uid = true;
    if (!p.lx.consume(' ')) {
      r.error.message = "Missing UID command";
      return r;
    }
    name = p.upper_atom();
    if (name != "FETCH" && name != "STORE" && name != "COPY" && name != "MOVE" &&
        name != "SEARCH" && name != "EXPUNGE" && name != "SORT" && name != "THREAD" &&
        name != "REPLACE") {
      r.error.message = "Invalid UID command";
      return r;
    }
  }
  p.cmd.name = name;
  if (!p.args()) {
    r.error.message = p.lx.error().empty() ? "Syntax error" : p.lx.error();
    r.error.failed_save = p.cmd.search_return.save;
    return r;
  }
  if (!p.lx.at_end()) {
    r.error.message = "Unexpected extra arguments";
    r.error.failed_save = p.cmd.search_return.save;
    return r;
  }
  r.command = std::move(p.cmd);
  return r;
}

std::optional<int64_t> parse_date(std::string_view text) {
  size_t d1 = text.find('-');
  if (d1 == std::string_view::npos || d1 == 0 || d1 > 2) return std::nullopt;
  size_t d2 = text.find('-', d1 + 1);
  if (d2 == std::string_view::npos || d2 != d1 + 4 || text.size() != d2 + 5) return std::nullopt;
  int day = 0, year = 0;
  for (char c : text.substr(0, d1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    day = day * 10 + (c - '0');
  }
  for (char c : text.substr(d2 + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    year = year * 10 + (c - '0');
  }
  int m = month_index(text.substr(d1 + 1, 3));
  if (m < 0 || day < 1 || day > 31) return std::nullopt;
  return days_from_civil(year, m + 1, day);
}

std::optional<std::pair<int64_t, int32_t>> parse_date_time(std::string_view t) {
  // date-day-fixed "-" date-month "-" date-year SP time SP zone ; 26 characters
  if (t.size() != 26 || t[2] != '-' || t[6] != '-' || t[11] != ' ' || t[14] != ':' ||
      t[17] != ':' || t[20] != ' ' || (t[21] != '+' && t[21] != '-'))
    return std::nullopt;
  auto digits = [&](size_t at, size_t n, int& out) {
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int day = 0, year, hh, mm, ss, zone;
  if (t[0] == ' ') {
    if (!digits(1, 1, day)) return std::nullopt;
  } else if (!digits(0, 2, day)) {
    return std::nullopt;
  }
  int m = month_index(t.substr(3, 3));
  if (m < 0 || !digits(7, 4, year) || !digits(12, 2, hh) || !digits(15, 2, mm) ||
      !digits(18, 2, ss) || !digits(22, 4, zone))
    return std::nullopt;
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59) return std::nullopt;
  int32_t tz = (zone / 100) * 60 + zone % 100;
  if (t[21] == '-') tz = -tz;
  int64_t when = days_from_civil(year, m + 1, day) * 86400 + hh * 3600 + mm * 60 + ss -
                 static_cast<int64_t>(tz) * 60;
  return std::make_pair(when, tz);
}

}  // namespace mailroom::imap::proto
