#include "src/http/http.h"

#include <algorithm>
#include <cctype>

#include "src/core/base64.h"
#include "src/core/json_text.h"

namespace mailroom::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/a/b/c" into {"a","b","c"}; "/" into {}.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty()) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.emplace_back();  // trailing slash: an empty last segment
  }
  return out;
}

}  // namespace

std::optional<std::string> Request::header(std::string_view lower_name) const {
  std::optional<std::string> out;
  for (const auto& [name, value] : headers) {
    if (name != lower_name) continue;
    if (out) {
      *out += ", ";
      *out += value;
    } else {
      out = value;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Request::query_params() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string name, value;
    if (!percent_decode(pair.substr(0, eq), name, true)) continue;
    if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true)) continue;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  for (auto& [k, v] : query_params()) {
    if (k == name) return v;
  }
  return std::nullopt;
}

Response& Response::set_header(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

Response Response::json(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}

// RFC 9457 3.1: type, title, status, detail (instance is left to the caller's `extra`).
Response Response::problem(int status, std::string_view title, std::string_view detail,
                           std::string_view type, std::string_view extra) {
  std::string body = "{\"type\":" + core::json_quote(type) +
                     ",\"title\":" + core::json_quote(title) +
                     ",\"status\":" + std::to_string(status);
  if (!detail.empty()) body += ",\"detail\":" + core::json_quote(detail);
  if (!extra.empty()) {
    body += ",";
    body += extra;
  }
  body += "}";
  return json(status, std::move(body), "application/problem+json");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::optional<BasicCredentials> parse_basic_credentials(std::string_view authorization) {
  size_t sp = authorization.find(' ');
  if (sp != 5 || !iequals(authorization.substr(0, sp), "basic")) return std::nullopt;
  std::string_view token = authorization.substr(sp + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  auto decoded = core::base64_decode(token);
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::string percent_encode(std::string_view in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler handler, bool on_io_thread) {
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(handler), on_io_thread});
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match result;
  auto want = segments(path);
  std::vector<std::string> allow;
  for (const auto& route : routes_) {
    auto pattern = segments(route.pattern);
    std::vector<std::string> params;
    bool ok = true;
    std::size_t i = 0;
    for (; i < pattern.size() && ok; ++i) {
      std::string_view p = pattern[i];
      bool capture = p.size() >= 2 && p.front() == '{' && p.back() == '}';
      bool rest = capture && p.size() > 5 && p.substr(p.size() - 4) == "...}";
      if (rest) {
        // The rest of the path, segments joined by '/', each decoded.
        std::string joined;
        for (std::size_t j = i; j < want.size(); ++j) {
          std::string decoded;
          if (!percent_decode(want[j], decoded, false)) {
            result.bad_path = true;
            return result;
          }
          if (j > i) joined += '/';
          joined += decoded;
        }
        if (i >= want.size()) ok = false;
        params.push_back(std::move(joined));
        i = pattern.size();
        break;
      }
      if (i >= want.size()) {
        ok = false;
        break;
      }
      if (capture) {
        std::string decoded;
        if (!percent_decode(want[i], decoded, false)) {
          result.bad_path = true;
          return result;
        }
        if (decoded.empty()) ok = false;
        params.push_back(std::move(decoded));
      } else if (p != want[i]) {
        ok = false;
      }
    }
    bool is_rest = !pattern.empty() && pattern.back().size() > 5 &&
                   pattern.back().substr(pattern.back().size() - 4) == "...}";
    if (!ok || (!is_rest && want.size() != pattern.size())) continue;
    bool method_ok = route.method == "*" || route.method == method ||
                     (method == "HEAD" && route.method == "GET");
    if (method_ok) {
      if (!result.route) {
        result.route = &route;
        result.params = std::move(params);
      }
    } else if (std::find(allow.begin(), allow.end(), route.method) == allow.end()) {
      allow.push_back(route.method);
    }
  }
  if (!result.route && !allow.empty()) {
    if (std::find(allow.begin(), allow.end(), "GET") != allow.end()) allow.push_back("HEAD");
    for (auto& m : allow) {
      if (!result.allow.empty()) result.allow += ", ";
      result.allow += m;
    }
  }
  return result;
}

}  // namespace mailroom::http
