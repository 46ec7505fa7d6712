// Relaxed and simple canonicalization (RFC 6376 3.4) and the split of a message into header
// fields and body. Input lines end in CRLF; a bare LF is read as CRLF.
#include <cctype>

#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Appends `line` (no line break) with every run of WSP reduced to one SP and trailing WSP
// removed (3.4.2 steps 3-4, 3.4.4 steps a-b).
void append_compressed(std::string_view line, std::string* out) {
  bool pending_space = false;
  for (char c : line) {
    if (is_wsp(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    out->push_back(c);
  }
}

}  // namespace

std::string relaxed_header(const std::string& name, const std::string& value) {
  std::string out;
  for (char c : name) {
    if (!is_wsp(c)) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  out.push_back(':');
  // Unfold (delete every line break), then compress WSP; leading WSP of the value goes too.
  std::string unfolded;
  unfolded.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n') unfolded.push_back(c);
  }
  std::size_t start = 0;
  while (start < unfolded.size() && is_wsp(unfolded[start])) ++start;
  append_compressed(std::string_view(unfolded).substr(start), &out);
  return out;
}

std::string relaxed_body(const std::string& body) {
  std::string out;
  out.reserve(body.size());
  std::size_t empty_lines = 0;  // held back: empty lines at the end of the body are dropped
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t lf = body.find('\n', pos);
    std::size_t end = lf == std::string::npos ? body.size() : lf;
    std::size_t next = lf == std::string::npos ? body.size() : lf + 1;
    if (end > pos && body[end - 1] == '\r' && lf != std::string::npos) --end;
    std::string line;
    append_compressed(std::string_view(body).substr(pos, end - pos), &line);
    pos = next;
    if (line.empty()) {
      ++empty_lines;
      continue;
    }
    for (; empty_lines > 0; --empty_lines) out += "\r\n";
    out += line;
    out += "\r\n";  // also for a last line without one (3.4.4: "a CRLF is added")
  }
  return out;  // an empty body stays empty (3.4.4, unlike simple's CRLF of 3.4.3)
}

namespace detail {

std::string simple_header(const std::string& name, const std::string& value) {
  // 3.4.1: nothing changes; the field's own final line break is left to the caller, who adds
  // CRLF (or, for the DKIM-Signature itself, nothing).
  std::string out = name;
  out.push_back(':');
  std::size_t end = value.size();
  if (end > 0 && value[end - 1] == '\n') --end;
  if (end > 0 && value[end - 1] == '\r') --end;
  out.append(value, 0, end);
  return out;
}

std::string simple_body(const std::string& body) {
  std::string out;
  out.reserve(body.size() + 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out.push_back('\r');
    out.push_back(body[i]);
  }
  // 3.4.3: empty lines at the end go; a body without a final CRLF (or none at all) gets one.
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  while (out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0)
    out.resize(out.size() - 2);
  return out;
}

void split_message(std::string_view message, std::vector<HeaderField>* fields, std::string* body) {
  fields->clear();
  body->clear();
  std::size_t pos = 0;
  bool in_field = false;  // a continuation line belongs to the field above, if any
  while (pos < message.size()) {
    std::size_t lf = message.find('\n', pos);
    std::size_t next = lf == std::string_view::npos ? message.size() : lf + 1;
    std::string_view line = message.substr(pos, next - pos);
    std::string_view bare = line;
    while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) bare.remove_suffix(1);
    if (bare.empty()) {  // the empty line: the body follows
      pos = next;
      body->assign(message.substr(pos));
      return;
    }
    if (is_wsp(bare.front())) {
      if (in_field) fields->back().value += std::string(line);
    } else if (auto colon = bare.find(':'); colon != std::string_view::npos) {
      fields->push_back({std::string(bare.substr(0, colon)), std::string(line.substr(colon + 1))});
      in_field = true;
    } else {
      in_field = false;
    }
    pos = next;
  }
}

}  // namespace detail
}  // namespace mailroom::mailauth
