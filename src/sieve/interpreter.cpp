// The Sieve interpreter: commands (RFC 5228 3, 4), tests (5) and the extensions named in
// check.cpp. Tests that read the message read the header fields as edited so far (RFC 5293
// 8: later tests see the edits).
#include "src/sieve/interpreter.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "src/core/base64.h"
#include "src/mime/facts.h"
#include "src/mime/header_fields.h"
#include "src/sieve/message_parts.h"

namespace mailroom::sieve {

std::vector<std::string> split_flags(const std::vector<std::string>& values) {
  static const std::array<const char*, 5> kSystem = {"\\Seen", "\\Answered", "\\Flagged",
                                                     "\\Deleted", "\\Draft"};
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && v[i] == ' ') ++i;
      size_t j = i;
      while (j < v.size() && v[j] != ' ') ++j;
      if (j > i) {
        std::string flag = v.substr(i, j - i);
        for (const char* s : kSystem) {
          if (mime::ascii_iequals(flag, s)) flag = s;
        }
        bool dup = std::any_of(out.begin(), out.end(),
                               [&](const std::string& f) { return mime::ascii_iequals(f, flag); });
        if (!dup) out.push_back(std::move(flag));
      }
      i = j;
    }
  }
  return out;
}

Run::Run(const MessageInput& input, Environment& env, const RunLimits& limits)
    : input_(input), env_(env), limits_(limits) {
  budget_.limit = limits.max_steps;
  split_header(input.message, fields_, body_);
}

std::string Run::edited_message() const {
  std::string out;
  for (const auto& f : fields_) {
    out += f.name;
    out += ':';
    out += f.raw_value;
    out += "\r\n";
  }
  out += "\r\n";
  out.append(body_);
  return out;
}

// One script's execution: variables and the match variables are per script (RFC 5229 3).
class Executor {
 public:
  Executor(Run& run, const Script& script) : run_(run), script_(script) {
    variables_ = script.required.count("variables") > 0;
    flags_ext_ = script.required.count("imap4flags") > 0;
  }

  bool execute() {
    Flow f = block(script_.commands);
    if (f == Flow::error) return false;
    if (f == Flow::stop) run_.stopped_ = true;
    return true;
  }

 private:
  enum class Flow { next, stop, error };

  Flow fail(Position at, const std::string& what) {
    if (run_.error_.empty()) {
      run_.error_ = "line " + std::to_string(at.line) + ": " + what;
    }
    return Flow::error;
  }
  bool charge(Position at, uint64_t n = 1) {
    if (run_.budget_.charge(n)) return true;
    fail(at, "the script used too many steps (CPU limit)");
    return false;
  }

  // ---- strings and variables (RFC 5229 3) ----
  std::string expand(const std::string& s) {
    if (!variables_ || s.find("${") == std::string::npos) return s;
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      if (s.compare(i, 2, "${") == 0) {
        size_t close = s.find('}', i + 2);
        if (close != std::string::npos) {
          std::string name = s.substr(i + 2, close - i - 2);
          std::optional<std::string> value = lookup(name);
          if (value) {
            out += *value;
            i = close + 1;
            continue;
          }
        }
      }
      out += s[i++];
      if (out.size() > 1024 * 1024) break;
    }
    return out;
  }
  // The value of ${name}; nullopt when `name` is not a variable reference (left as written).
  std::optional<std::string> lookup(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (std::all_of(name.begin(), name.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      size_t n = name.size() > 3 ? 1000 : std::stoul(name);
      return n < match_vars_.size() ? match_vars_[n] : std::string();
    }
    if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return std::nullopt;
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
    }
    auto it = vars_.find(mime::ascii_lower(name));
    return it == vars_.end() ? std::string() : it->second;
  }
  std::vector<std::string> expand_all(const std::vector<std::string>& list) {
    std::vector<std::string> out;
    out.reserve(list.size());
    for (const auto& s : list) out.push_back(expand(s));
    return out;
  }
  std::string arg_string(const Value& v) { return expand(v.strings.empty() ? "" : v.strings[0]); }
  void set_variable(const std::string& name, std::string value) {
    if (value.size() > run_.limits_.max_variable_bytes) {
      value.resize(run_.limits_.max_variable_bytes);
      while (!value.empty() && (static_cast<unsigned char>(value.back()) & 0xC0) == 0x80)
        value.pop_back();
      if (!value.empty() && static_cast<unsigned char>(value.back()) >= 0xC0) value.pop_back();
    }
    std::string key = mime::ascii_lower(name);
    if (!vars_.count(key) && vars_.size() >= run_.limits_.max_variables) return;
    vars_[key] = std::move(value);
  }

  // ---- commands ----
  Flow block(const std::vector<Command>& cmds) {
    bool skip_else = false;
    for (const auto& c : cmds) {
      if (!charge(c.at)) return Flow::error;
      if (c.name == "if" || c.name == "elsif" || c.name == "else") {
        if (c.name != "if" && skip_else) continue;
        bool taken = true;
        if (c.name != "else") {
          std::optional<bool> r = test(c.tests[0]);
          if (!r) return Flow::error;
          taken = *r;
        }
        skip_else = taken;
        if (taken) {
          Flow f = block(c.block);
          if (f != Flow::next) return f;
        }
        continue;
      }
      skip_else = false;
      Flow f = command(c);
      if (f != Flow::next) return f;
    }
    return Flow::next;
  }

  Flow add_action(const Command& c, Action a) {
    // RFC 5429 2.1, 2.2: reject and ereject exclude every action that delivers or replies.
    auto rejecting = [](const Action& x) {
      return x.kind == Action::Kind::reject || x.kind == Action::Kind::ereject;
    };
    auto delivering = [](const Action& x) {
      return x.kind == Action::Kind::keep || x.kind == Action::Kind::fileinto ||
             x.kind == Action::Kind::redirect || x.kind == Action::Kind::vacation;
    };
    for (const auto& x : run_.actions_) {
      if ((rejecting(a) && (delivering(x) || rejecting(x))) || (delivering(a) && rejecting(x))) {
        return fail(c.at, "\"" + c.name + "\" cannot be combined with the actions before it");
      }
    }
    if (a.kind == Action::Kind::vacation &&
        std::any_of(run_.actions_.begin(), run_.actions_.end(),
                    [](const Action& x) { return x.kind == Action::Kind::vacation; })) {
      return fail(c.at, "only one \"vacation\" per delivery");  // RFC 5230 4.7
    }
    if (run_.actions_.size() >= run_.limits_.max_actions) return fail(c.at, "too many actions");
    run_.actions_.push_back(std::move(a));
    return Flow::next;
  }

  std::vector<std::string> flags_for(const Command& c, bool* has) {
    if (auto it = c.tagged.find("flags"); it != c.tagged.end()) {
      *has = true;
      return split_flags(expand_all(it->second.strings));
    }
    *has = flags_ext_;
    return flags_ext_ ? run_.implicit_flags_ : std::vector<std::string>{};
  }

  Flow command(const Command& c) {
    const std::string& n = c.name;
    if (n == "require") return Flow::next;
    if (n == "stop") return Flow::stop;
    if (n == "discard") {
      run_.implicit_keep_ = false;  // RFC 5228 4.4
      return Flow::next;
    }
    if (n == "keep") {
      Action a;
      a.kind = Action::Kind::keep;
      a.flags = flags_for(c, &a.has_flags);
      run_.implicit_keep_ = false;
      return add_action(c, std::move(a));
    }
    if (n == "fileinto") {
      Action a;
      a.kind = Action::Kind::fileinto;
      a.target = arg_string(c.positional[0]);
      a.copy = c.tagged.count("copy") > 0;
      a.create = c.tagged.count("create") > 0;
      a.flags = flags_for(c, &a.has_flags);
      if (a.target.empty()) return fail(c.at, "fileinto with an empty mailbox name");
      if (!a.copy) run_.implicit_keep_ = false;  // RFC 3894 3
      return add_action(c, std::move(a));
    }
    if (n == "redirect") {
      Action a;
      a.kind = Action::Kind::redirect;
      a.target = arg_string(c.positional[0]);
      a.copy = c.tagged.count("copy") > 0;
      // RFC 5228 4.2: a syntactically invalid address is a runtime error.
      size_t at = a.target.rfind('@');
      if (at == std::string::npos || at == 0 || at + 1 == a.target.size() ||
          a.target.find_first_of(" \t\r\n<>,;\"") != std::string::npos) {
        return fail(c.at, "redirect to an invalid address");
      }
      if (++run_.redirects_ > run_.limits_.max_redirects) return fail(c.at, "too many redirects");
      if (!a.copy) run_.implicit_keep_ = false;
      return add_action(c, std::move(a));
    }
    if (n == "reject" || n == "ereject") {
      Action a;
      a.kind = n == "reject" ? Action::Kind::reject : Action::Kind::ereject;
      a.text = arg_string(c.positional[0]);
      run_.implicit_keep_ = false;
      return add_action(c, std::move(a));
    }
    if (n == "setflag" || n == "addflag" || n == "removeflag") return flag_command(c);
    if (n == "vacation") return vacation(c);
    if (n == "set") return set_command(c);
    if (n == "addheader" || n == "deleteheader") return edit_header(c);
    return fail(c.at, "command \"" + n + "\" not implemented");
  }

  // RFC 5232 3.1-3.3: on the internal variable, or on a named variable.
  Flow flag_command(const Command& c) {
    bool named = c.positional.size() == 2;
    std::vector<std::string> given = split_flags(expand_all(c.positional.back().strings));
    std::string var = named ? expand(c.positional[0].strings[0]) : "";
    std::vector<std::string> current =
        named ? split_flags({lookup(var).value_or("")}) : run_.implicit_flags_;
    std::vector<std::string> result;
    if (c.name == "setflag") {
      result = given;
    } else if (c.name == "addflag") {
      std::vector<std::string> all = current;
      all.insert(all.end(), given.begin(), given.end());
      result = split_flags(all);
    } else {
      for (const auto& f : current) {
        bool drop = std::any_of(given.begin(), given.end(),
                                [&](const std::string& g) { return mime::ascii_iequals(f, g); });
        if (!drop) result.push_back(f);
      }
    }
    if (named) {
      std::string joined;
      for (const auto& f : result) joined += (joined.empty() ? "" : " ") + f;
      set_variable(var, joined);
    } else {
      run_.implicit_flags_ = std::move(result);
    }
    return Flow::next;
  }

  // RFC 5230 4: the reply itself is built and sent, or not, by the delivery side.
  Flow vacation(const Command& c) {
    Action a;
    a.kind = Action::Kind::vacation;
    a.text = arg_string(c.positional[0]);
    if (auto it = c.tagged.find("days"); it != c.tagged.end()) {
      a.period_seconds = static_cast<int64_t>(std::max<uint64_t>(1, it->second.number)) * 86400;
    }
    if (auto it = c.tagged.find("subject"); it != c.tagged.end())
      a.subject = arg_string(it->second);
    if (auto it = c.tagged.find("from"); it != c.tagged.end()) a.from = arg_string(it->second);
    if (auto it = c.tagged.find("addresses"); it != c.tagged.end()) {
      a.addresses = expand_all(it->second.strings);
    }
    a.mime = c.tagged.count("mime") > 0;
    if (auto it = c.tagged.find("handle"); it != c.tagged.end()) {
      a.handle = arg_string(it->second);
    } else {
      // RFC 5230 4.2: without :handle, replies differing in their arguments are different.
      a.handle = "auto:" + a.subject + "\n" + a.from + "\n" + a.text + (a.mime ? "\nmime" : "");
    }
    return add_action(c, std::move(a));
  }

  // RFC 5229 4.1: modifiers by precedence (40 case, 30 first-letter case, 20 quotewildcard,
  // 10 length), at most one of each precedence (the parser allows one of each name).
  Flow set_command(const Command& c) {
    std::string value = expand(c.positional[1].strings[0]);
    if (c.tagged.count("lower")) {
      for (char& ch : value) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else if (c.tagged.count("upper")) {
      for (char& ch : value) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (!value.empty() && c.tagged.count("lowerfirst")) {
      value[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(value[0])));
    } else if (!value.empty() && c.tagged.count("upperfirst")) {
      value[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(value[0])));
    }
    if (c.tagged.count("quotewildcard")) value = quote_wildcard(value);
    if (c.tagged.count("length")) {
      size_t chars = 0;
      for (char ch : value) chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
      value = std::to_string(chars);
    }
    set_variable(c.positional[0].strings[0], std::move(value));
    return Flow::next;
  }

  static bool protected_field(std::string_view name) {
    // RFC 5293 7 and 9: trace fields and Auto-Submitted (loop protection) stay as they are.
    return mime::ascii_iequals(name, "Received") || mime::ascii_iequals(name, "Auto-Submitted");
  }

  Flow edit_header(const Command& c) {
    if (++run_.header_edits_ > run_.limits_.max_header_edits)
      return fail(c.at, "too many header edits");
    std::string name = expand(c.positional[0].strings[0]);
    if (protected_field(name)) return Flow::next;
    auto& fields = run_.fields_;
    if (c.name == "addheader") {
      std::string value = expand(c.positional[1].strings[0]);
      HeaderField f{name, " " + encode_header_value(value)};
      if (c.tagged.count("last")) {
        fields.push_back(std::move(f));
      } else {
        fields.insert(fields.begin(), std::move(f));  // RFC 5293 5: at the start by default
      }
      run_.edited_ = true;
      return Flow::next;
    }
    // deleteheader [:index n [:last]] [match] name [patterns] (RFC 5293 6)
    std::vector<size_t> indexes;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (mime::ascii_iequals(fields[i].name, name)) indexes.push_back(i);
    }
    if (auto it = c.tagged.find("index"); it != c.tagged.end()) {
      uint64_t k = it->second.number;
      if (k == 0 || k > indexes.size()) return Flow::next;
      size_t pick = c.tagged.count("last") ? indexes[indexes.size() - k] : indexes[k - 1];
      indexes = {pick};
    }
    std::vector<size_t> remove;
    for (size_t i : indexes) {
      if (c.positional.size() == 2) {
        std::vector<std::string> value = {decoded(fields[i].raw_value)};
        std::optional<bool> m = match(c.tagged, value, expand_all(c.positional[1].strings), c.at);
        if (!m) return Flow::error;
        if (!*m) continue;
      }
      remove.push_back(i);
    }
    for (auto it = remove.rbegin(); it != remove.rend(); ++it) {
      fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(*it));
      run_.edited_ = true;
    }
    return Flow::next;
  }

  static std::string encode_header_value(const std::string& v) {
    bool ascii = std::all_of(v.begin(), v.end(), [](char ch) {
      return static_cast<unsigned char>(ch) < 0x80 && ch != '\r' && ch != '\n';
    });
    if (ascii) return v;
    // RFC 5293 5: non-ASCII values are encoded (RFC 2047); CR and LF never reach the header.
    std::string clean;
    for (char ch : v) {
      if (ch != '\r' && ch != '\n') clean += ch;
    }
    return "=?UTF-8?B?" + core::base64_encode(clean) + "?=";
  }

  // ---- tests ----
  std::optional<bool> test(const Test& t) {
    if (!charge(t.at)) return std::nullopt;
    const std::string& n = t.name;
    if (n == "true") return true;
    if (n == "false") return false;
    if (n == "not") {
      auto r = test(t.tests[0]);
      if (!r) return std::nullopt;
      return !*r;
    }
    if (n == "allof" || n == "anyof") {
      bool all = n == "allof";
      for (const auto& inner : t.tests) {  // short-circuit (RFC 5228 5.1, 5.3)
        auto r = test(inner);
        if (!r) return std::nullopt;
        if (*r != all) return !all;
      }
      return all;
    }
    if (n == "exists") {
      for (const auto& name : expand_all(t.positional[0].strings)) {
        if (!find_field(name)) return false;
      }
      return true;
    }
    if (n == "size") {
      uint64_t size = run_.input_.message.size();
      uint64_t limit = t.positional[0].number;
      return t.tagged.count("over") ? size > limit : size < limit;
    }
    if (n == "header")
      return match(t.tagged, header_values(t, t.positional[0].strings), keys(t, 1), t.at);
    if (n == "address") {
      return match(t.tagged, address_values(t, t.positional[0].strings), keys(t, 1), t.at);
    }
    if (n == "envelope") return match(t.tagged, envelope_values(t), keys(t, 1), t.at);
    if (n == "body") return match(t.tagged, body_values(t), keys(t, 0), t.at);
    if (n == "string") {
      std::vector<std::string> values;
      for (auto& v : expand_all(t.positional[0].strings)) {
        if (!v.empty() || !t.tagged.count("count")) values.push_back(std::move(v));  // RFC 5229 5
      }
      return match(t.tagged, values, keys(t, 1), t.at);
    }
    if (n == "hasflag") {
      std::vector<std::string> flags;
      if (t.positional.size() == 2) {
        std::vector<std::string> raw;
        for (const auto& var : expand_all(t.positional[0].strings))
          raw.push_back(lookup(var).value_or(""));
        flags = split_flags(raw);
      } else {
        flags = run_.implicit_flags_;
      }
      return match(t.tagged, flags, keys(t, t.positional.size() - 1), t.at);
    }
    if (n == "date" || n == "currentdate") return date_test(t);
    if (n == "mailboxexists") {
      for (const auto& name : expand_all(t.positional[0].strings)) {
        if (!run_.env_.mailbox_exists(name)) return false;
      }
      return true;
    }
    if (n == "spamtest" || n == "virustest") {
      std::vector<std::string> value = {n == "spamtest" ? spam_value(t.tagged.count("percent") > 0)
                                                        : virus_value()};
      return match(t.tagged, value, keys(t, 0), t.at);
    }
    if (n == "duplicate") return duplicate_test(t);
    fail(t.at, "test \"" + n + "\" not implemented");
    return std::nullopt;
  }

  std::vector<std::string> keys(const Test& t, size_t i) {
    return expand_all(t.positional[i].strings);
  }

  const HeaderField* find_field(const std::string& name) const {
    for (const auto& f : run_.fields_) {
      if (mime::ascii_iequals(f.name, name)) return &f;
    }
    return nullptr;
  }
  static std::string unfold(const std::string& raw) {
    std::string out;
    for (char ch : raw) {
      if (ch != '\r' && ch != '\n') out += ch;
    }
    size_t b = out.find_first_not_of(" \t");
    size_t e = out.find_last_not_of(" \t");
    return b == std::string::npos ? "" : out.substr(b, e - b + 1);
  }
  static std::string decoded(const std::string& raw) {
    return mime::decode_header_text(unfold(raw));
  }

  // The raw values of the named fields, narrowed by :index/:last (RFC 5260 6).
  std::vector<const HeaderField*> fields_named(const Test& t,
                                               const std::vector<std::string>& names) {
    std::vector<const HeaderField*> out;
    for (const auto& name : expand_all(names)) {
      std::vector<const HeaderField*> these;
      for (const auto& f : run_.fields_) {
        if (mime::ascii_iequals(f.name, name)) these.push_back(&f);
      }
      if (auto it = t.tagged.find("index"); it != t.tagged.end()) {
        uint64_t k = it->second.number;
        if (k == 0 || k > these.size()) continue;
        these = {t.tagged.count("last") ? these[these.size() - k] : these[k - 1]};
      }
      out.insert(out.end(), these.begin(), these.end());
    }
    return out;
  }
  std::vector<std::string> header_values(const Test& t, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const HeaderField* f : fields_named(t, names)) out.push_back(decoded(f->raw_value));
    return out;
  }

  // RFC 5228 2.7.4 address parts, RFC 5233 :user/:detail with "+" as the separator.
  static std::optional<std::string> address_part(const std::map<std::string, Value>& tagged,
                                                 const std::string& local,
                                                 const std::string& domain, bool null_address) {
    if (tagged.count("localpart")) {
      if (null_address) return std::nullopt;
      return local;
    }
    if (tagged.count("domain")) {
      if (null_address) return std::nullopt;
      return domain;
    }
    if (tagged.count("user") || tagged.count("detail")) {
      if (null_address) return std::nullopt;
      size_t plus = local.find('+');
      if (tagged.count("user")) return plus == std::string::npos ? local : local.substr(0, plus);
      if (plus == std::string::npos) return std::nullopt;  // RFC 5233 4: no detail, no match
      return local.substr(plus + 1);
    }
    if (null_address) return std::string();
    return domain.empty() ? local : local + "@" + domain;
  }
  std::vector<std::string> address_values(const Test& t, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const HeaderField* f : fields_named(t, names)) {
      for (const auto& a : mime::parse_address_list(unfold(f->raw_value))) {
        if (a.kind != mime::EnvelopeAddress::Kind::mailbox || !a.mailbox) continue;
        auto part = address_part(t.tagged, *a.mailbox, a.host.value_or(""), false);
        if (part) out.push_back(std::move(*part));
      }
    }
    return out;
  }
  std::vector<std::string> envelope_values(const Test& t) {
    std::vector<std::string> out;
    for (const auto& part : expand_all(t.positional[0].strings)) {
      const std::string& addr =
          mime::ascii_iequals(part, "from") ? run_.input_.envelope_from : run_.input_.envelope_to;
      size_t at = addr.rfind('@');
      std::string local = at == std::string::npos ? addr : addr.substr(0, at);
      std::string domain = at == std::string::npos ? "" : addr.substr(at + 1);
      auto v = address_part(t.tagged, local, domain, addr.empty());
      if (v) out.push_back(std::move(*v));
    }
    return out;
  }
  // RFC 5173 5: :raw is the undecoded body; :text (the default) the decoded text parts;
  // :content the parts of the given types (text/* decoded, others as they are).
  std::vector<std::string> body_values(const Test& t) {
    std::string_view message = run_.input_.message;
    if (t.tagged.count("raw")) return {std::string(run_.body_)};
    if (auto it = t.tagged.find("content"); it != t.tagged.end()) {
      return parts_of_types(message, expand_all(it->second.strings));
    }
    return {mime::decoded_body_text(message)};
  }

  // ---- date (RFC 5260 4, 5) ----
  std::optional<bool> date_test(const Test& t) {
    bool current = t.name == "currentdate";
    int64_t when = 0;
    int32_t zone = run_.env_.zone_minutes();
    size_t part_i = current ? 0 : 1;
    if (current) {
      when = run_.env_.now();
    } else {
      std::vector<std::string> values = header_values(t, {t.positional[0].strings[0]});
      if (values.empty()) return false;
      std::string v = values[0];
      // RFC 5260 4: for other fields than Date, the date is what follows the last ";".
      if (size_t semi = v.rfind(';'); semi != std::string::npos) v = v.substr(semi + 1);
      auto parsed = mime::parse_date_time(v);
      if (!parsed) return false;
      when = parsed->first;
      if (t.tagged.count("originalzone")) zone = parsed->second;
    }
    if (auto it = t.tagged.find("zone"); it != t.tagged.end()) {
      auto z = parse_zone(arg_string(it->second));
      if (!z) return false;  // RFC 5260 4.1: an invalid zone fails the test
      zone = *z;
    }
    std::string part = mime::ascii_lower(expand(t.positional[part_i].strings[0]));
    auto value = date_part(when, zone, part);
    if (!value) return false;
    return match(t.tagged, {*value}, keys(t, part_i + 1), t.at);
  }
  static std::optional<int32_t> parse_zone(const std::string& z) {
    if (z.size() != 5 || (z[0] != '+' && z[0] != '-')) return std::nullopt;
    for (size_t i = 1; i < 5; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(z[i]))) return std::nullopt;
    }
    int h = (z[1] - '0') * 10 + (z[2] - '0');
    int m = (z[3] - '0') * 10 + (z[4] - '0');
    if (m > 59) return std::nullopt;
    return (z[0] == '-' ? -1 : 1) * (h * 60 + m);
  }
  static std::optional<std::string> date_part(int64_t when, int32_t zone, const std::string& part) {
    std::time_t local = static_cast<std::time_t>(when + static_cast<int64_t>(zone) * 60);
    std::tm tm{};
    if (!gmtime_r(&local, &tm)) return std::nullopt;
    char buf[64];
    auto fmt = [&](const char* f, auto... a) {
      std::snprintf(buf, sizeof buf, f, a...);
      return std::string(buf);
    };
    char sign = zone < 0 ? '-' : '+';
    int az = zone < 0 ? -zone : zone;
    std::string zs = fmt("%c%02d%02d", sign, az / 60, az % 60);
    if (part == "year") return fmt("%04d", tm.tm_year + 1900);
    if (part == "month") return fmt("%02d", tm.tm_mon + 1);
    if (part == "day") return fmt("%02d", tm.tm_mday);
    if (part == "date") return fmt("%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (part == "julian") {
      // Modified Julian Day: days since 1858-11-17.
      int64_t days = (when + static_cast<int64_t>(zone) * 60) / 86400;
      if ((when + static_cast<int64_t>(zone) * 60) % 86400 < 0) --days;
      return std::to_string(days + 40587);
    }
    if (part == "hour") return fmt("%02d", tm.tm_hour);
    if (part == "minute") return fmt("%02d", tm.tm_min);
    if (part == "second") return fmt("%02d", tm.tm_sec);
    if (part == "time") return fmt("%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (part == "iso8601") {
      std::string z = zone == 0 ? "Z" : fmt("%c%02d:%02d", sign, az / 60, az % 60);
      return fmt("%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec) +
             z;
    }
    if (part == "std11") {
      static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
      static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      return fmt("%s, %02d %s %04d %02d:%02d:%02d ", kDays[tm.tm_wday], tm.tm_mday,
                 kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec) +
             zs;
    }
    if (part == "zone") return zs;
    if (part == "weekday") return std::to_string(tm.tm_wday);
    return std::nullopt;  // RFC 5260 4.2: an unknown part fails the test
  }

  // ---- spamtest / virustest (RFC 5235), from headers a scanner added (delivery.h lists them) ----
  std::string spam_value(bool percent) {
    const HeaderField* score = find_field("X-Spam-Score");
    if (!score) return "0";  // not tested
    double s = 0, threshold = 5.0;
    try {
      s = std::stod(unfold(score->raw_value));
      if (const HeaderField* th = find_field("X-Spam-Threshold"))
        threshold = std::stod(unfold(th->raw_value));
    } catch (...) {
      return "0";
    }
    if (threshold <= 0) threshold = 5.0;
    // Scores from 0 to twice the threshold map onto 1..10 (percent: 0..100); the threshold
    // itself is 5 / 50 %.
    double ratio = std::clamp(s / (2 * threshold), 0.0, 1.0);
    if (percent) return std::to_string(static_cast<int>(ratio * 100 + 0.5));
    return std::to_string(1 + static_cast<int>(ratio * 9 + 0.5));
  }
  std::string virus_value() {
    const HeaderField* status = find_field("X-Virus-Status");
    if (!status) return "0";  // not tested
    std::string v = mime::ascii_lower(unfold(status->raw_value));
    if (v.rfind("clean", 0) == 0) return "1";
    if (v.rfind("replaced", 0) == 0 || v.rfind("cured", 0) == 0) return "2";
    if (v.rfind("suspicious", 0) == 0) return "3";
    if (v.rfind("infected", 0) == 0) return "5";
    return "0";
  }

  // ---- duplicate (RFC 7352 3) ----
  std::optional<bool> duplicate_test(const Test& t) {
    std::string id;
    if (auto it = t.tagged.find("uniqueid"); it != t.tagged.end()) {
      id = arg_string(it->second);
    } else {
      std::string name = "Message-ID";
      if (auto h = t.tagged.find("header"); h != t.tagged.end()) name = arg_string(h->second);
      const HeaderField* f = find_field(name);
      if (!f) return false;  // RFC 7352 3.1: no such header, never a duplicate
      id = unfold(f->raw_value);
    }
    std::string handle;
    if (auto it = t.tagged.find("handle"); it != t.tagged.end()) handle = arg_string(it->second);
    std::string key = handle + "\n" + id;
    DuplicateRecord rec;
    rec.id = key;
    rec.seconds = 7 * 86400;  // RFC 7352 3.3: a default of days
    if (auto it = t.tagged.find("seconds"); it != t.tagged.end()) {
      rec.seconds = static_cast<int64_t>(std::min<uint64_t>(it->second.number, 365ull * 86400));
    }
    rec.last = t.tagged.count("last") > 0;
    bool seen = run_.env_.duplicate_seen(key);
    for (const auto& d : run_.duplicates_) seen = seen || d.id == key;
    run_.duplicates_.push_back(std::move(rec));
    return seen;
  }

  // ---- matching (RFC 5228 2.7, RFC 5231) ----
  std::optional<bool> match(const std::map<std::string, Value>& tagged,
                            const std::vector<std::string>& values,
                            const std::vector<std::string>& keys, Position at) {
    Comparator cmp = Comparator::ascii_casemap;  // RFC 5228 2.7.3 default
    if (auto it = tagged.find("comparator"); it != tagged.end()) {
      cmp = comparator_named(it->second.strings[0]).value_or(Comparator::ascii_casemap);
    }
    if (auto it = tagged.find("count"); it != tagged.end()) {
      Relation r = relation_named(it->second.strings[0]);
      std::string n = std::to_string(values.size());
      for (const auto& k : keys) {
        if (relation_holds(compare(n, k, cmp), r)) return true;
      }
      return false;
    }
    Relation rel = Relation::eq;
    MatchType type = MatchType::is;
    if (tagged.count("contains")) type = MatchType::contains;
    if (tagged.count("matches")) type = MatchType::matches;
    if (auto it = tagged.find("value"); it != tagged.end()) {
      type = MatchType::value;
      rel = relation_named(it->second.strings[0]);
    }
    for (const auto& v : values) {
      for (const auto& k : keys) {
        if (!charge(at, 1 + v.size() / 1024)) return std::nullopt;
        bool hit = false;
        switch (type) {
          case MatchType::is:
            hit = compare(v, k, cmp) == 0;
            break;
          case MatchType::value:
            hit = relation_holds(compare(v, k, cmp), rel);
            break;
          case MatchType::contains:
            hit = contains(v, k, cmp);
            break;
          case MatchType::matches: {
            std::vector<std::string> caps;
            hit = glob_match(k, v, cmp, run_.budget_, variables_ ? &caps : nullptr);
            if (run_.budget_.exhausted()) {
              fail(at, "the script used too many steps (CPU limit)");
              return std::nullopt;
            }
            if (hit && variables_) match_vars_ = std::move(caps);  // RFC 5229 3.2
            break;
          }
          case MatchType::count:
            break;
        }
        if (hit) return true;
      }
    }
    return false;
  }
  // i;ascii-numeric has no substring operation (RFC 4790 9.1.1): compared as octets.
  static bool contains(std::string_view hay, std::string_view needle, Comparator c) {
    if (c != Comparator::ascii_casemap) return hay.find(needle) != std::string_view::npos;
    return mime::ascii_lower(hay).find(mime::ascii_lower(needle)) != std::string::npos;
  }

  Run& run_;
  const Script& script_;
  bool variables_ = false;
  bool flags_ext_ = false;
  std::map<std::string, std::string> vars_;
  std::vector<std::string> match_vars_;
};

bool Run::execute(const Script& script) {
  if (stopped_ || !error_.empty()) return error_.empty();
  Executor e(*this, script);
  return e.execute();
}

}  // namespace mailroom::sieve
