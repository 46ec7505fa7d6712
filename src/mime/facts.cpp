// The facts blob: a versioned, length-prefixed record of everything IMAP needs from a message.
#include "src/mime/facts.h"

#include <charconv>

#include "src/mime/header_fields.h"
#include "src/mime/structure.h"

namespace mailroom::mime {
namespace {

constexpr std::string_view kMagic = "MRF1\n";

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
  f.from = decoded("From");
  f.to = decoded("To");
  f.cc = decoded("Cc");
  f.bcc = decoded("Bcc");
  f.sort_from = first_mailbox(raw("From"));
  f.sort_to = first_mailbox(raw("To"));
  f.sort_cc = first_mailbox(raw("Cc"));
  f.message_id = raw("Message-ID");
  f.in_reply_to = raw("In-Reply-To");
  f.references = raw("References");
  if (auto d = parse_date_time(raw("Date"))) {
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
  for (const std::string* s : {&f.subject, &f.from, &f.to, &f.cc, &f.bcc, &f.sort_from,
                               &f.sort_to, &f.sort_cc, &f.message_id, &f.in_reply_to,
                               &f.references})
    put(out, *s);
  put(out, std::to_string(f.sent_date) + " " + std::to_string(f.sent_tz));
  return out;
}

core::Result<Facts> decode_facts(std::string_view blob) {
  if (blob.substr(0, kMagic.size()) != kMagic) return core::invalid_argument("not a facts blob");
  Reader r(blob.substr(kMagic.size()));
  Facts f;
  std::string tree, date;
  bool ok = r.get(f.envelope) && r.get(f.bodystructure) && r.get(f.body) && r.get(tree);
  for (std::string* s : {&f.subject, &f.from, &f.to, &f.cc, &f.bcc, &f.sort_from, &f.sort_to,
                         &f.sort_cc, &f.message_id, &f.in_reply_to, &f.references})
    ok = ok && r.get(*s);
  ok = ok && r.get(date) && r.done();
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
