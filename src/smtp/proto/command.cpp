// RFC 5321 section 4.1.1 commands and 4.1.2 paths; ESMTP parameters per the RFCs named in
// command.h. Hand-written because the grammar is small and each error needs its own reply.
#include "src/smtp/proto/command.h"

#include <cctype>
#include <vector>

namespace mailroom::smtp::proto {
namespace {

struct VerbName {
  const char* name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"EHLO", Verb::ehlo}, {"HELO", Verb::helo},         {"LHLO", Verb::lhlo}, {"MAIL", Verb::mail},
    {"RCPT", Verb::rcpt}, {"DATA", Verb::data},         {"BDAT", Verb::bdat}, {"RSET", Verb::rset},
    {"NOOP", Verb::noop}, {"QUIT", Verb::quit},         {"VRFY", Verb::vrfy}, {"EXPN", Verb::expn},
    {"HELP", Verb::help}, {"STARTTLS", Verb::starttls}, {"AUTH", Verb::auth},
};

Reply syntax(std::string text) { return make_reply(501, "5.5.4", std::move(text)); }
Reply bad_param(std::string text) { return make_reply(555, "5.5.4", std::move(text)); }

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "<path> params..." into the path (without brackets) and the parameter text.
// Honors quoted strings so a quoted '>' does not end the path.
bool split_path(std::string_view s, std::string_view* path, std::string_view* rest) {
  if (s.empty() || s.front() != '<') return false;
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      *path = s.substr(1, i - 1);
      *rest = s.substr(i + 1);
      return true;
    }
  }
  return false;
}

// RFC 5321 4.1.2 A-d-l: "@a,@b:" before the mailbox. Accepted and ignored (section 3.6.1).
bool strip_source_route(std::string_view* path, bool* had) {
  if (path->empty() || path->front() != '@') return true;
  size_t colon = path->find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view route = path->substr(0, colon);
  // each element "@domain", separated by ','
  size_t pos = 0;
  while (pos < route.size()) {
    size_t comma = route.find(',', pos);
    std::string_view hop =
        route.substr(pos, comma == std::string_view::npos ? route.npos : comma - pos);
    if (hop.size() < 2 || hop.front() != '@') return false;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  *had = true;
  path->remove_prefix(colon + 1);
  return true;
}

struct Param {
  std::string keyword;  // upper-cased
  std::string value;
  bool has_value = false;
};

// RFC 5321 4.1.2 Mail-parameters: esmtp-keyword ["=" esmtp-value], separated by spaces.
bool split_params(std::string_view s, std::vector<Param>* out) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    size_t end = s.find(' ', i);
    std::string_view tok = s.substr(i, end == s.npos ? s.npos : end - i);
    i = end == s.npos ? s.size() : end;
    Param p;
    size_t eq = tok.find('=');
    std::string_view kw = tok.substr(0, eq);
    if (kw.empty() || !std::isalnum(static_cast<unsigned char>(kw.front()))) return false;
    for (char c : kw) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    p.keyword = upper(kw);
    if (eq != tok.npos) {
      p.has_value = true;
      p.value = std::string(tok.substr(eq + 1));
      if (p.value.empty()) return false;
      for (unsigned char c : p.value) {
        if (c < 33 || c == '=' || c == 127) return false;  // UTF-8 allowed (RFC 6531)
      }
    }
    out->push_back(std::move(p));
  }
  return true;
}

bool valid_xtext(std::string_view v, size_t max_len) {
  return v.size() <= max_len && decode_xtext(v).has_value();
}

std::optional<Reply> parse_mail_params(const std::vector<Param>& params, Command* cmd) {
  std::vector<std::string> seen;
  for (const auto& p : params) {
    for (const auto& s : seen) {
      if (s == p.keyword) return bad_param("Duplicate parameter " + p.keyword);
    }
    seen.push_back(p.keyword);
    if (p.keyword == "SIZE") {
      if (!p.has_value || !all_digits(p.value, 19)) return bad_param("Bad SIZE parameter");
      cmd->size = std::stoull(p.value);
    } else if (p.keyword == "BODY") {
      std::string v = upper(p.value);
      if (v == "7BIT") {
        cmd->body = Body::seven_bit;
      } else if (v == "8BITMIME") {
        cmd->body = Body::eight_bit_mime;
      } else if (v == "BINARYMIME") {
        cmd->body = Body::binary_mime;
      } else {
        return bad_param("Bad BODY parameter");
      }
    } else if (p.keyword == "SMTPUTF8") {
      if (p.has_value) return bad_param("SMTPUTF8 takes no value");
      cmd->smtputf8 = true;
    } else if (p.keyword == "RET") {
      std::string v = upper(p.value);
      if (v != "FULL" && v != "HDRS") return bad_param("Bad RET parameter");
      cmd->ret = v;
    } else if (p.keyword == "ENVID") {
      if (!p.has_value || !valid_xtext(p.value, 100)) return bad_param("Bad ENVID parameter");
      cmd->envid = p.value;
    } else if (p.keyword == "AUTH") {
      if (!p.has_value || (p.value != "<>" && !valid_xtext(p.value, 500))) {
        return bad_param("Bad AUTH parameter");
      }
      cmd->auth = p.value;
    } else {
      return bad_param("Unsupported parameter " + p.keyword);
    }
  }
  return std::nullopt;
}

std::optional<Reply> parse_rcpt_params(const std::vector<Param>& params, Command* cmd) {
  std::vector<std::string> seen;
  for (const auto& p : params) {
    for (const auto& s : seen) {
      if (s == p.keyword) return bad_param("Duplicate parameter " + p.keyword);
    }
    seen.push_back(p.keyword);
    if (p.keyword == "NOTIFY") {
      // RFC 3461 4.1: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY.
      std::string v = upper(p.value);
      if (v.empty()) return bad_param("Bad NOTIFY parameter");
      if (v != "NEVER") {
        size_t pos = 0;
        while (pos <= v.size()) {
          size_t comma = v.find(',', pos);
          std::string item = v.substr(pos, comma == v.npos ? v.npos : comma - pos);
          if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") {
            return bad_param("Bad NOTIFY parameter");
          }
          if (comma == v.npos) break;
          pos = comma + 1;
        }
      }
      cmd->notify = v;
    } else if (p.keyword == "ORCPT") {
      // RFC 3461 4.2: addr-type ";" xtext
      size_t semi = p.value.find(';');
      if (semi == std::string::npos || semi == 0 ||
          !valid_xtext(std::string_view(p.value).substr(semi + 1), 500)) {
        return bad_param("Bad ORCPT parameter");
      }
      cmd->orcpt = p.value;
    } else {
      return bad_param("Unsupported parameter " + p.keyword);
    }
  }
  return std::nullopt;
}

// MAIL FROM:<path> / RCPT TO:<path>.
ParseResult parse_path_command(Command cmd, std::string_view args, std::string_view prefix) {
  bool is_mail = cmd.verb == Verb::mail;
  std::string usage = is_mail ? "Syntax: MAIL FROM:<address> [parameters]"
                              : "Syntax: RCPT TO:<address> [parameters]";
  if (args.size() < prefix.size() || upper(args.substr(0, prefix.size())) != prefix) {
    return syntax(usage);
  }
  args = args.substr(prefix.size());
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);  // lenient "FROM: <a>"
  std::string_view path, rest;
  if (!split_path(args, &path, &rest)) return syntax(usage);
  if (!rest.empty() && rest.front() != ' ') return syntax(usage);
  const char* bad_addr = is_mail ? "5.1.7" : "5.1.3";
  if (!strip_source_route(&path, &cmd.had_source_route)) {
    return make_reply(501, bad_addr, "Bad address syntax");
  }
  if (path.empty()) {
    if (!is_mail || cmd.had_source_route) {
      return make_reply(501, bad_addr, "Bad address syntax");
    }
    cmd.null_path = true;
  } else if (!is_mail && core::iequals(path, "postmaster")) {
    cmd.postmaster_only = true;  // RFC 5321 4.5.1: "Postmaster" without domain is valid
    cmd.address.local = "postmaster";
  } else {
    auto addr = core::parse_address(path);
    if (!addr) return make_reply(501, bad_addr, "Bad address syntax");
    cmd.address = std::move(*addr);
  }
  std::vector<Param> params;
  if (!split_params(rest, &params)) return bad_param("Bad parameter syntax");
  auto err = is_mail ? parse_mail_params(params, &cmd) : parse_rcpt_params(params, &cmd);
  if (err) return *err;
  return cmd;
}

}  // namespace

const char* verb_name(Verb v) {
  for (const auto& n : kVerbs) {
    if (n.verb == v) return n.name;
  }
  return "?";
}

std::optional<std::string> decode_xtext(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;  // RFC 3461: upper-case hex only
      };
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out += static_cast<char>(c);
    } else if (c >= 0x80) {
      out += static_cast<char>(c);  // RFC 6533 utf-8-addr-xtext
    } else {
      return std::nullopt;
    }
  }
  return out;
}

ParseResult parse_command(std::string_view line) {
  for (unsigned char c : line) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return make_reply(500, "5.5.2", "Invalid characters in command");
    }
  }
  size_t sp = line.find(' ');
  std::string verb = upper(line.substr(0, sp));
  std::string_view args = sp == line.npos ? std::string_view() : line.substr(sp + 1);
  Command cmd;
  bool found = false;
  for (const auto& n : kVerbs) {
    if (verb == n.name) {
      cmd.verb = n.verb;
      found = true;
      break;
    }
  }
  if (!found) return make_reply(500, "5.5.2", "Command not recognized");
  std::string_view trimmed = trim(args);
  switch (cmd.verb) {
    case Verb::ehlo:
    case Verb::helo:
    case Verb::lhlo: {
      if (trimmed.empty()) return syntax(std::string("Syntax: ") + verb + " hostname");
      size_t end = trimmed.find(' ');
      cmd.argument = std::string(trimmed.substr(0, end));
      return cmd;
    }
    case Verb::mail:
      return parse_path_command(std::move(cmd), args, "FROM:");
    case Verb::rcpt:
      return parse_path_command(std::move(cmd), args, "TO:");
    case Verb::data:
    case Verb::rset:
    case Verb::quit:
    case Verb::starttls:
      if (!trimmed.empty()) return syntax(std::string("Syntax: ") + verb);
      return cmd;
    case Verb::noop:
    case Verb::help:
      cmd.argument = std::string(trimmed);
      return cmd;
    case Verb::vrfy:
    case Verb::expn:
      if (trimmed.empty()) return syntax(std::string("Syntax: ") + verb + " string");
      cmd.argument = std::string(trimmed);
      return cmd;
    case Verb::bdat: {
      // RFC 3030 section 2: "BDAT" SP chunk-size [ SP end-marker ]
      size_t end = trimmed.find(' ');
      std::string_view size = trimmed.substr(0, end);
      if (!all_digits(size, 19)) return syntax("Syntax: BDAT size [LAST]");
      cmd.chunk_size = std::stoull(std::string(size));
      if (end != trimmed.npos) {
        if (upper(trim(trimmed.substr(end + 1))) != "LAST") {
          return syntax("Syntax: BDAT size [LAST]");
        }
        cmd.last = true;
      }
      return cmd;
    }
    case Verb::auth: {
      // RFC 4954 section 4: "AUTH" SP sasl-mech [SP initial-response]
      size_t end = trimmed.find(' ');
      std::string_view mech = trimmed.substr(0, end);
      if (mech.empty() || mech.size() > 20) return syntax("Syntax: AUTH mechanism [response]");
      for (char c : mech) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
          return syntax("Syntax: AUTH mechanism [response]");
        }
      }
      cmd.mechanism = upper(mech);
      if (end != trimmed.npos) {
        std::string_view ir = trim(trimmed.substr(end + 1));
        if (ir.empty() || ir.find(' ') != ir.npos) {
          return syntax("Syntax: AUTH mechanism [response]");
        }
        cmd.initial_response = std::string(ir);
      }
      return cmd;
    }
  }
  return make_reply(500, "5.5.2", "Command not recognized");
}

}  // namespace mailroom::smtp::proto
