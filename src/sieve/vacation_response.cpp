// See vacation_response.h.
#include "src/sieve/vacation_response.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "src/core/base64.h"
#include "src/core/split.h"

namespace mailroom::sieve {

namespace {

constexpr size_t kMaxFileBytes = 256 * 1024;

// A Sieve quoted string (RFC 5228 2.4.2): backslash and double quote escaped.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Line ends as CRLF (a MIME entity and the reply's body).
std::string crlf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      out += "\r\n";
    } else {
      out += s[i];
    }
  }
  return out;
}

// RFC 8621 8.1: without a textBody the server makes one from the HTML (tags dropped, the
// common entities decoded; enough for an auto-reply).
std::string text_of_html(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (c == '<') {
      in_tag = true;
      std::string_view rest = html.substr(i);
      if (rest.size() > 3 &&
          (rest.substr(0, 3) == "<br" || rest.substr(0, 3) == "<p>" || rest.substr(0, 3) == "</p"))
        out += "\n";
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out += c;
    }
  }
  for (auto [entity, ch] : {std::pair<std::string_view, std::string_view>{"&lt;", "<"},
                            {"&gt;", ">"},
                            {"&quot;", "\""},
                            {"&nbsp;", " "},
                            {"&amp;", "&"}}) {
    for (size_t p = out.find(entity); p != std::string::npos; p = out.find(entity, p + 1))
      out.replace(p, entity.size(), ch);
  }
  return out;
}

uint32_t fnv(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

std::string serialize_vacation_response(const VacationResponse& v) {
  std::string out = std::string("enabled ") + (v.enabled ? "1" : "0") + "\n";
  if (v.from_date) out += "from " + std::to_string(*v.from_date) + "\n";
  if (v.to_date) out += "to " + std::to_string(*v.to_date) + "\n";
  if (v.subject) out += "subject " + core::base64_encode(*v.subject) + "\n";
  if (v.text_body) out += "text " + core::base64_encode(*v.text_body) + "\n";
  if (v.html_body) out += "html " + core::base64_encode(*v.html_body) + "\n";
  return out;
}

std::optional<VacationResponse> parse_vacation_response(std::string_view text) {
  VacationResponse v;
  bool saw_enabled = false;
  for (std::string_view line : core::split(text, '\n')) {
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    std::string_view key = line.substr(0, sp), value = line.substr(sp + 1);
    if (key == "enabled") {
      if (value != "0" && value != "1") return std::nullopt;
      v.enabled = value == "1";
      saw_enabled = true;
    } else if (key == "from" || key == "to") {
      int64_t t = 0;
      bool neg = !value.empty() && value[0] == '-';
      std::string_view digits = neg ? value.substr(1) : value;
      if (digits.empty() || digits.size() > 18) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        t = t * 10 + (c - '0');
      }
      (key == "from" ? v.from_date : v.to_date) = neg ? -t : t;
    } else if (key == "subject" || key == "text" || key == "html") {
      auto decoded = core::base64_decode(value);
      if (!decoded) return std::nullopt;
      (key == "subject" ? v.subject
       : key == "text"  ? v.text_body
                        : v.html_body) = std::move(*decoded);
    } else {
      return std::nullopt;
    }
  }
  if (!saw_enabled) return std::nullopt;
  return v;
}

std::string vacation_response_script(const VacationResponse& v) {
  if (!v.enabled) return {};
  std::string text = v.text_body ? *v.text_body : (v.html_body ? text_of_html(*v.html_body) : "");
  std::string reason;
  bool mime = v.html_body.has_value();
  if (mime) {
    // RFC 5230 4.4 (:mime): the reason is a MIME entity; text and HTML as alternatives.
    std::string boundary = "=_mailroom_vacation_" + std::to_string(fnv(text + *v.html_body));
    reason = "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n--" +
             boundary +
             "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
             "8bit\r\n\r\n" +
             crlf(text) + "\r\n--" + boundary +
             "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
             "8bit\r\n\r\n" +
             crlf(*v.html_body) + "\r\n--" + boundary + "--\r\n";
  } else {
    reason = crlf(text);
  }
  // A new text is a new :handle (RFC 5230 4.2): senders already answered hear the new one.
  std::string handle =
      "jmap-vacation-" +
      std::to_string(fnv(v.subject.value_or("") + "\n" + text + "\n" + v.html_body.value_or("")));
  std::string s = "require \"vacation\";\r\nvacation :days " +
                  std::to_string(kVacationResponseDays) + " :handle " + quoted(handle);
  if (v.subject && !v.subject->empty()) s += " :subject " + quoted(*v.subject);
  if (mime) s += " :mime";
  s += " " + quoted(reason) + ";\r\n";
  return s;
}

bool vacation_response_active(const VacationResponse& v, int64_t now) {
  if (!v.enabled) return false;
  if (v.from_date && now < *v.from_date) return false;
  if (v.to_date && now >= *v.to_date) return false;
  return true;
}

std::optional<VacationResponse> read_vacation_response(const std::string& sieve_dir) {
  std::string path = sieve_dir + "/" + kVacationResponseFile;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return VacationResponse{};
    return std::nullopt;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_vacation_response(ss.str());
}

}  // namespace mailroom::sieve
