// SMTP replies (RFC 5321 4.2), enhanced status codes (RFC 2034, RFC 3463) and EHLO keywords
// (RFC 5321 4.1.1.1, RFC 1870 SIZE, RFC 4954 AUTH).
#include "src/outbound/reply_parser.h"

#include <charconv>

namespace mailroom::outbound {
namespace {

bool reply_digit(char c) { return c >= '0' && c <= '9'; }

std::string reply_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// RFC 3463 2: class "." subject "." detail, class 2, 4 or 5, subject and detail 1*3digit.
bool reply_enhanced_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  s.remove_prefix(2);
  size_t dot = s.find('.');
  if (dot == std::string_view::npos) return false;
  auto number = [](std::string_view n) {
    if (n.empty() || n.size() > 3) return false;
    for (char c : n) {
      if (!reply_digit(c)) return false;
    }
    return true;
  };
  return number(s.substr(0, dot)) && number(s.substr(dot + 1));
}

// A line for an error text: at most 80 octets, quoted, controls and non-ASCII as "?".
std::string reply_excerpt(std::string_view line) {
  std::string out = "\"";
  for (char c : line.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\\';
    out += u < 0x20 || u >= 0x7f ? '?' : c;
  }
  return out + "\"";
}

}  // namespace

void ReplyParser::feed(std::string_view bytes) {
  if (failed()) return;
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {  // keep the buffer from growing with use
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<SmtpReply> ReplyParser::next() {
  while (!failed()) {
    size_t eol = buffer_.find('\n', pos_);
    if (eol == std::string::npos) {
      // A CR may still precede the LF that ends a line of kMaxReplyLine octets.
      if (buffer_.size() - pos_ > kMaxReplyLine + 1) {
        error_ = "reply line longer than " + std::to_string(kMaxReplyLine) + " bytes";
      }
      return std::nullopt;
    }
    std::string_view line(buffer_.data() + pos_, eol - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = eol + 1;
    if (line.size() > kMaxReplyLine) {
      error_ = "reply line longer than " + std::to_string(kMaxReplyLine) + " bytes";
      return std::nullopt;
    }
    if (add_line(line)) {
      SmtpReply done = std::move(reply_);
      reply_ = SmtpReply{};
      return done;
    }
  }
  return std::nullopt;
}

bool ReplyParser::add_line(std::string_view line) {
  // Reply-line (4.2): Reply-code [ SP textstring ] CRLF, or Reply-code "-" [ textstring ]
  // CRLF before the last; Reply-code = %x32-35 %x30-35 %x30-39 (the second digit is taken
  // as any digit).
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !reply_digit(line[1]) ||
      !reply_digit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    error_ = "malformed reply: " + reply_excerpt(line);
    return false;
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (reply_.code != 0 && code != reply_.code) {
    error_ = "malformed reply: code " + std::to_string(code) + " inside a " +
             std::to_string(reply_.code) + " reply: " + reply_excerpt(line);
    return false;
  }
  reply_.code = code;
  std::string text(line.size() > 4 ? line.substr(4) : std::string_view());
  // Control characters from the peer never reach our logs or reports.
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (reply_.status.empty()) {
    std::string_view first = std::string_view(text).substr(0, text.find(' '));
    // RFC 3463 3: the class matches the reply's first digit, or it is not a status code.
    if (reply_enhanced_status(first) && first[0] == line[0]) reply_.status = std::string(first);
  }
  if (!text.empty()) {
    if (!reply_.text.empty()) reply_.text += ' ';
    reply_.text += text;
  }
  reply_.lines.push_back(std::move(text));
  bool last = line.size() == 3 || line[3] == ' ';
  if (!last && reply_.lines.size() >= kMaxReplyLines) {  // a further line is announced
    error_ = "reply with more than " + std::to_string(kMaxReplyLines) + " lines";
  }
  return last;
}

void ReplyParser::clear() {
  buffer_.clear();
  pos_ = 0;
  reply_ = SmtpReply{};
}

EhloExtensions parse_ehlo_extensions(const std::vector<std::string>& lines) {
  EhloExtensions out;
  // The first line is the greeting ("250-mx.example.org Hello ...").
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t sp = line.find(' ');
    std::string keyword = reply_upper(line.substr(0, sp));
    if (keyword.empty()) continue;
    std::string_view params = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    if (keyword == "SIZE") {
      // RFC 1870 4: "SIZE" [SP 1*20DIGIT]; anything else (or an overflow) reads as no limit.
      while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
      std::string_view digits = params.substr(0, params.find(' '));
      uint64_t limit = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), limit);
      out.size_limit = ec == std::errc() && end == digits.data() + digits.size() ? limit : 0;
    } else if (keyword == "AUTH") {
      size_t at = 0;
      while (at < params.size()) {
        size_t end = params.find(' ', at);
        if (end == std::string_view::npos) end = params.size();
        if (end > at) out.auth_mechanisms.insert(reply_upper(params.substr(at, end - at)));
        at = end + 1;
      }
    }
    out.keywords.insert(std::move(keyword));
  }
  return out;
}

}  // namespace mailroom::outbound
