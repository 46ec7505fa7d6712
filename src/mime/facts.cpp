// The facts blob: a versioned, length-prefixed record of everything IMAP needs from a message.
#include "src/mime/facts.h"

#include <charconv>
#include <iterator>

#include "src/mime/header_fields.h"
#include "src/mime/structure.h"

namespace mailroom::mime {
namespace {

// "MRF<version>\n" starts every blob; version 1 lacks the last record (see kFactsVersion).
constexpr std::string_view kMagicV1 = "MRF1\n";
constexpr std::string_view kMagic = "MRF2\n";

void put(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out.push_back(':');
  out.append(s);
}

void put_tree(std::string& out, const PartNode& n) {
  out += std::to_string(static_cast<int>(n.kind)) + " " + std::to_string(n.header.begin) + " " +
         std::to_string(n.header.end) + " " + std::to_string(n.body.begin) + " " +
         std::to_string(n.body.end) + " " + std::to_string(n.children.size()) + "\n";
  for (const auto& c : n.children) put_tree(out, c);
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool get(std::string& out) {
    size_t colon = s_.find(':', pos_);
    if (colon == std::string_view::npos) return false;
    uint64_t n = 0;
    auto r = std::from_chars(s_.data() + pos_, s_.data() + colon, n);
    if (r.ec != std::errc() || r.ptr != s_.data() + colon) return false;
    if (n > s_.size() - colon - 1) return false;
    out.assign(s_.substr(colon + 1, n));
    pos_ = colon + 1 + n;
    return true;
  }
  bool done() const { return pos_ == s_.size(); }
  size_t pos_ = 0;

 private:
  std::string_view s_;
};

bool read_u64(std::string_view& s, uint64_t& v) {
  while (!s.empty() && s[0] == ' ') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc()) return false;
  s.remove_prefix(r.ptr - s.data());
  return true;
}

bool get_tree(std::string_view& s, PartNode& n, int depth) {
  if (depth > 64) return false;
  uint64_t kind, hb, he, bb, be, nc;
  if (!read_u64(s, kind) || !read_u64(s, hb) || !read_u64(s, he) || !read_u64(s, bb) ||
      !read_u64(s, be) || !read_u64(s, nc))
    return false;
  if (s.empty() || s[0] != '\n' || kind > 2 || hb > he || bb > be || nc > 100000) return false;
  s.remove_prefix(1);
  n.kind = static_cast<PartKind>(kind);
  n.header = {hb, he};
  n.body = {bb, be};
  n.children.resize(nc);
  for (auto& c : n.children) {
    if (!get_tree(s, c, depth + 1)) return false;
  }
  if (n.kind == PartKind::message && n.children.size() != 1) return false;
  return true;
}

std::string first_mailbox(std::string_view value) {
  for (const auto& a : parse_address_list(value)) {
    if (a.kind == EnvelopeAddress::Kind::mailbox && a.mailbox) return ascii_lower(*a.mailbox);
  }
  return {};
}

// An address list as SEARCH FROM/TO/CC/BCC sees it (RFC 3501 6.4.4: "the envelope structure's
// FROM field"), written the way Dovecot writes it so that searches find the same messages:
// "Name <[@route:]local@domain>" or "local@domain", ", " between addresses, "group: a, b;".
std::string search_form(std::string_view value) {
  std::string out;
  bool group_open = false, first_in_group = false;
  for (const auto& a : parse_address_list(value)) {
    switch (a.kind) {
      case EnvelopeAddress::Kind::group_start:
        if (!out.empty()) out += ", ";
        out += decode_header_text(a.mailbox.value_or("")) + ":";
        group_open = first_in_group = true;
        break;
      case EnvelopeAddress::Kind::group_end:
        out += ";";
        group_open = false;
        break;
      case EnvelopeAddress::Kind::mailbox: {
        if (!out.empty()) out += group_open && first_in_group ? " " : ", ";
        first_in_group = false;
        std::string spec = a.mailbox.value_or("");
        if (a.host && !a.host->empty()) spec += "@" + *a.host;
        if (a.route) spec = *a.route + ":" + spec;
        bool angle = a.name || a.route;
        if (a.name) out += decode_header_text(*a.name) + " ";
        out += angle ? "<" + spec + ">" : spec;
        break;
      }
    }
  }
  return out;
}

}  // namespace

Facts parse_facts(std::string_view message) {
  Facts f;
  parse_structure(message, f);
  auto fields = parse_fields(message.substr(f.root.header.begin, f.root.header.size()));
  auto decoded = [&](std::string_view name) {
    const Field* x = find_field(fields, name);
    return x ? decode_header_text(x->value) : std::string();
  };
  auto raw = [&](std::string_view name) {
    const Field* x = find_field(fields, name);
    return x ? x->value : std::string();
  };
  f.subject = decoded("Subject");
  const std::pair<std::string_view, std::string*> lists[] = {
      {"From", &f.from}, {"To", &f.to}, {"Cc", &f.cc}, {"Bcc", &f.bcc}};
  for (const auto& field : fields) {
    for (size_t i = 0; i < std::size(lists); ++i) {
      if (!ascii_iequals(field.name, lists[i].first)) continue;
      f.fields |= static_cast<uint8_t>(1u << i);
      std::string& text = *lists[i].second;
      if (!text.empty()) text += "\n";
      text += search_form(field.value);
    }
    if (ascii_iequals(field.name, "Subject")) f.fields |= kFieldSubject;
  }
  f.sort_from = first_mailbox(raw("From"));
  f.sort_to = first_mailbox(raw("To"));
  f.sort_cc = first_mailbox(raw("Cc"));
  f.message_id = raw("Message-ID");
  f.in_reply_to = raw("In-Reply-To");
  f.references = raw("References");
  if (auto d = parse_date_time(raw("Date"))) {
    f.has_sent_date = true;
    f.sent_date = d->first;
    f.sent_tz = d->second;
  }
  return f;
}

std::string extract_facts(std::string_view message) {
  Facts f = parse_facts(message);
  std::string out(kMagic);
  put(out, f.envelope);
  put(out, f.bodystructure);
  put(out, f.body);
  std::string tree;
  put_tree(tree, f.root);
  put(out, tree);
  for (const std::string* s : {&f.subject, &f.from, &f.to, &f.cc, &f.bcc, &f.sort_from, &f.sort_to,
                               &f.sort_cc, &f.message_id, &f.in_reply_to, &f.references})
    put(out, *s);
  put(out, std::to_string(f.sent_date) + " " + std::to_string(f.sent_tz));
  put(out, std::to_string(f.fields) + " " + (f.has_sent_date ? "1" : "0"));  // version 2
  return out;
}

core::Result<Facts> decode_facts(std::string_view blob) {
  Facts f;
  if (blob.substr(0, kMagicV1.size()) == kMagicV1) {
    f.version = 1;
  } else if (blob.substr(0, kMagic.size()) != kMagic) {
    return core::invalid_argument("not a facts blob");
  }
  Reader r(blob.substr(kMagic.size()));
  std::string tree, date, flags;
  bool ok = r.get(f.envelope) && r.get(f.bodystructure) && r.get(f.body) && r.get(tree);
  for (std::string* s : {&f.subject, &f.from, &f.to, &f.cc, &f.bcc, &f.sort_from, &f.sort_to,
                         &f.sort_cc, &f.message_id, &f.in_reply_to, &f.references})
    ok = ok && r.get(*s);
  ok = ok && r.get(date) && (f.version < 2 || r.get(flags)) && r.done();
  if (!ok) return core::invalid_argument("truncated facts blob");
  std::string_view t = tree;
  if (!get_tree(t, f.root, 0) || !t.empty()) return core::invalid_argument("bad part tree");
  std::string_view d = date;
  uint64_t when = 0, tz = 0;
  bool neg = !d.empty() && d[0] == '-';
  if (neg) d.remove_prefix(1);
  if (!read_u64(d, when)) return core::invalid_argument("bad date");
  f.sent_date = neg ? -static_cast<int64_t>(when) : static_cast<int64_t>(when);
  while (!d.empty() && d[0] == ' ') d.remove_prefix(1);
  bool tneg = !d.empty() && d[0] == '-';
  if (tneg) d.remove_prefix(1);
  if (!read_u64(d, tz)) return core::invalid_argument("bad zone");
  f.sent_tz = tneg ? -static_cast<int32_t>(tz) : static_cast<int32_t>(tz);
  if (f.version < 2) {
    // Best effort until the blob is recomputed: version 1 wrote 0 for "no date".
    f.has_sent_date = f.sent_date != 0;
    return f;
  }
  std::string_view fl = flags;
  uint64_t fields = 0, has_date = 0;
  if (!read_u64(fl, fields) || !read_u64(fl, has_date) || fields > 0xff || has_date > 1)
    return core::invalid_argument("bad field flags");
  f.fields = static_cast<uint8_t>(fields);
  f.has_sent_date = has_date == 1;
  return f;
}

std::vector<std::string> header_values(std::string_view header, std::string_view name) {
  std::vector<std::string> out;
  for (auto& f : parse_fields(header)) {
    if (ascii_iequals(f.name, name)) out.push_back(std::move(f.value));
  }
  return out;
}

std::string filter_header(std::string_view header, const std::vector<std::string>& names,
                          bool exclude) {
  // Copies whole field lines (with their folding) whose name matches; RFC 3501 6.4.5.
  std::string out;
  size_t pos = 0;
  bool keep = false;
  while (pos < header.size()) {
    size_t eol = header.find('\n', pos);
    size_t next = eol == std::string_view::npos ? header.size() : eol + 1;
    std::string_view line = header.substr(pos, next - pos);
    pos = next;
    if (line == "\r\n" || line == "\n") break;
    if (line[0] != ' ' && line[0] != '\t') {
      size_t colon = line.find(':');
      std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      bool listed = false;
      for (const auto& n : names) listed = listed || ascii_iequals(n, name);
      keep = colon != std::string_view::npos && (listed != exclude);
    }
    if (keep) {
      out.append(line);
      if (line.back() != '\n') out += "\r\n";
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace mailroom::mime
