#include "src/smtp/proto/reply.h"

namespace mailroom::smtp::proto {

std::string sanitize(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 400)) {
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

Reply make_reply(int code, std::string enhanced, std::string text) {
  return Reply{code, std::move(enhanced), std::move(text)};
}

std::string Reply::wire() const {
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (true) {
    size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest = rest.substr(nl + 1);
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += std::to_string(code);
    out += (i + 1 < lines.size()) ? '-' : ' ';
    if (!enhanced.empty()) {
      out += enhanced;
      out += ' ';
    }
    out += sanitize(lines[i]);
    out += "\r\n";
  }
  return out;
}

std::string multiline(int code, const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += std::to_string(code);
    out += (i + 1 < lines.size()) ? '-' : ' ';
    out += sanitize(lines[i]);
    out += "\r\n";
  }
  return out;
}

}  // namespace mailroom::smtp::proto
