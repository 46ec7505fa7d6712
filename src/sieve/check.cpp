#include "src/sieve/check.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace mailroom::sieve {
namespace {

enum class TagValue { none, string, strings, number };

struct TagSpec {
  const char* name;
  TagValue value;
  const char* group;      // at most one tag of a group; "" = its own group
  const char* extension;  // "" = base language
};

// Every tagged argument any command or test takes.
constexpr std::array<TagSpec, 33> kTags = {{
    {"is", TagValue::none, "match", ""},  // RFC 5228 2.7.1
    {"contains", TagValue::none, "match", ""},
    {"matches", TagValue::none, "match", ""},
    {"count", TagValue::string, "match", "relational"},  // RFC 5231 4
    {"value", TagValue::string, "match", "relational"},
    {"comparator", TagValue::string, "comparator", ""},  // RFC 5228 2.7.3
    {"all", TagValue::none, "addrpart", ""},             // RFC 5228 2.7.4
    {"localpart", TagValue::none, "addrpart", ""},
    {"domain", TagValue::none, "addrpart", ""},
    {"user", TagValue::none, "addrpart", "subaddress"},  // RFC 5233 4
    {"detail", TagValue::none, "addrpart", "subaddress"},
    {"over", TagValue::none, "size", ""},  // RFC 5228 5.9
    {"under", TagValue::none, "size", ""},
    {"copy", TagValue::none, "copy", "copy"},             // RFC 3894 3
    {"flags", TagValue::strings, "flags", "imap4flags"},  // RFC 5232 5
    {"create", TagValue::none, "create", "mailbox"},      // RFC 5490 3.2
    {"days", TagValue::number, "period", "vacation"},     // RFC 5230 4
    {"subject", TagValue::string, "subject", "vacation"},
    {"from", TagValue::string, "from", "vacation"},
    {"addresses", TagValue::strings, "addresses", "vacation"},
    {"mime", TagValue::none, "mime", "vacation"},
    {"handle", TagValue::string, "handle", ""},    // vacation and duplicate
    {"raw", TagValue::none, "transform", "body"},  // RFC 5173 5
    {"text", TagValue::none, "transform", "body"},
    {"content", TagValue::strings, "transform", "body"},
    {"zone", TagValue::string, "zone", "date"},  // RFC 5260 4
    {"originalzone", TagValue::none, "zone", "date"},
    {"index", TagValue::number, "index", "index"},           // RFC 5260 6
    {"last", TagValue::none, "last", ""},                    // index, editheader, duplicate
    {"percent", TagValue::none, "percent", "spamtestplus"},  // RFC 5235 3.2
    {"header", TagValue::string, "dupkey", "duplicate"},     // RFC 7352 3
    {"uniqueid", TagValue::string, "dupkey", "duplicate"},
    {"seconds", TagValue::number, "seconds", "duplicate"},
}};
// Modifiers of "set" (RFC 5229 4.1), kept apart: their "group" is their precedence.
constexpr std::array<const char*, 6> kSetModifiers = {"lower",      "upper",         "lowerfirst",
                                                      "upperfirst", "quotewildcard", "length"};

enum class Pos { string, strings, number };

struct Spec {
  const char* name;
  bool is_test;
  const char* extension;
  std::vector<Pos> positional;  // the last ones may be optional: see min_positional
  size_t min_positional;
  std::vector<const char*> tags;
  enum class Tests { none, one, list } tests;
  bool block;
};

const std::vector<const char*> kMatch = {"is",    "contains", "matches",
                                         "count", "value",    "comparator"};

std::vector<const char*> with(std::vector<const char*> a, const std::vector<const char*>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<Spec>& specs() {
  using T = Spec::Tests;
  static const std::vector<const char*> addr = {"all", "localpart", "domain", "user", "detail"};
  static const std::vector<Spec> kSpecs = {
      // RFC 5228 section 3: control commands.
      {"require", false, "", {Pos::strings}, 1, {}, T::none, false},
      {"if", false, "", {}, 0, {}, T::one, true},
      {"elsif", false, "", {}, 0, {}, T::one, true},
      {"else", false, "", {}, 0, {}, T::none, true},
      {"stop", false, "", {}, 0, {}, T::none, false},
      // Section 4: actions.
      {"keep", false, "", {}, 0, {"flags"}, T::none, false},
      {"discard", false, "", {}, 0, {}, T::none, false},
      {"redirect", false, "", {Pos::string}, 1, {"copy"}, T::none, false},
      {"fileinto",
       false,
       "fileinto",
       {Pos::string},
       1,
       {"copy", "flags", "create"},
       T::none,
       false},
      {"reject", false, "reject", {Pos::string}, 1, {}, T::none, false},    // RFC 5429 2.2
      {"ereject", false, "ereject", {Pos::string}, 1, {}, T::none, false},  // RFC 5429 2.1
      // RFC 5232 section 3.
      {"setflag", false, "imap4flags", {Pos::string, Pos::strings}, 1, {}, T::none, false},
      {"addflag", false, "imap4flags", {Pos::string, Pos::strings}, 1, {}, T::none, false},
      {"removeflag", false, "imap4flags", {Pos::string, Pos::strings}, 1, {}, T::none, false},
      // RFC 5230 section 4.
      {"vacation",
       false,
       "vacation",
       {Pos::string},
       1,
       {"days", "subject", "from", "addresses", "mime", "handle"},
       T::none,
       false},
      // RFC 5229 section 4 (modifiers are handled apart).
      {"set", false, "variables", {Pos::string, Pos::string}, 2, {}, T::none, false},
      // RFC 5293 sections 6, 7.
      {"addheader", false, "editheader", {Pos::string, Pos::string}, 2, {"last"}, T::none, false},
      {"deleteheader",
       false,
       "editheader",
       {Pos::string, Pos::strings},
       1,
       with({"index", "last"}, kMatch),
       T::none,
       false},
      // Section 5: tests.
      {"address",
       true,
       "",
       {Pos::strings, Pos::strings},
       2,
       with(with(addr, kMatch), {"index", "last"}),
       T::none,
       false},
      {"envelope",
       true,
       "envelope",
       {Pos::strings, Pos::strings},
       2,
       with(addr, kMatch),
       T::none,
       false},
      {"header",
       true,
       "",
       {Pos::strings, Pos::strings},
       2,
       with(kMatch, {"index", "last"}),
       T::none,
       false},
      {"exists", true, "", {Pos::strings}, 1, {}, T::none, false},
      {"size", true, "", {Pos::number}, 1, {"over", "under"}, T::none, false},
      {"allof", true, "", {}, 0, {}, T::list, false},
      {"anyof", true, "", {}, 0, {}, T::list, false},
      {"not", true, "", {}, 0, {}, T::one, false},
      {"true", true, "", {}, 0, {}, T::none, false},
      {"false", true, "", {}, 0, {}, T::none, false},
      {"body",
       true,
       "body",
       {Pos::strings},
       1,
       with(kMatch, {"raw", "text", "content"}),
       T::none,
       false},
      {"string", true, "variables", {Pos::strings, Pos::strings}, 2, kMatch, T::none, false},
      {"hasflag", true, "imap4flags", {Pos::strings, Pos::strings}, 1, kMatch, T::none, false},
      {"date",
       true,
       "date",
       {Pos::string, Pos::string, Pos::strings},
       3,
       with(kMatch, {"zone", "originalzone", "index", "last"}),
       T::none,
       false},
      {"currentdate",
       true,
       "date",
       {Pos::string, Pos::strings},
       2,
       with(kMatch, {"zone"}),
       T::none,
       false},
      {"mailboxexists", true, "mailbox", {Pos::strings}, 1, {}, T::none, false},
      {"spamtest", true, "spamtest", {Pos::string}, 1, with(kMatch, {"percent"}), T::none, false},
      {"virustest", true, "virustest", {Pos::string}, 1, kMatch, T::none, false},
      {"duplicate",
       true,
       "duplicate",
       {},
       0,
       {"handle", "header", "uniqueid", "seconds", "last"},
       T::none,
       false},
  };
  return kSpecs;
}

const TagSpec* find_tag(const std::string& name) {
  for (const auto& t : kTags) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

class Checker {
 public:
  explicit Checker(Script& s) : script_(s) {}

  bool run() {
    bool requires_allowed = true;
    return block(script_.commands, requires_allowed);
  }
  std::string error;
  Position at;

 private:
  bool fail(Position p, std::string what) {
    if (error.empty()) {
      error = std::move(what);
      at = p;
    }
    return false;
  }
  bool has(const char* ext) const {
    // RFC 5235 3.2: "spamtestplus" brings the spamtest test with it.
    if (std::strcmp(ext, "spamtest") == 0 && script_.required.count("spamtestplus")) return true;
    return !*ext || script_.required.count(ext) > 0;
  }

  bool block(std::vector<Command>& cmds, bool& requires_allowed) {
    const std::string* previous = nullptr;
    for (auto& c : cmds) {
      if (c.name == "require") {
        // RFC 5228 3.2: require only at the start of the script.
        if (!requires_allowed) return fail(c.at, "\"require\" must come before any other command");
      } else {
        requires_allowed = false;
      }
      if ((c.name == "elsif" || c.name == "else") &&
          (!previous || (*previous != "if" && *previous != "elsif"))) {
        return fail(c.at, "\"" + c.name + "\" without a preceding \"if\"");
      }
      if (!command(c)) return false;
      bool inner_requires = false;
      if (c.has_block && !block(c.block, inner_requires)) return false;
      previous = &c.name;
    }
    return true;
  }

  const Spec* lookup(const std::string& name, bool is_test, Position p) {
    for (const auto& s : specs()) {
      if (name == s.name && s.is_test == is_test) {
        if (!has(s.extension)) {
          return fail(p, std::string(is_test ? "test" : "command") + " \"" + name +
                             "\" needs require \"" + s.extension + "\""),
                 nullptr;
        }
        return &s;
      }
    }
    fail(p, std::string("unknown ") + (is_test ? "test" : "command") + " \"" + name + "\"");
    return nullptr;
  }

  bool command(Command& c) {
    const Spec* s = lookup(c.name, false, c.at);
    if (!s) return false;
    if (c.name == "require") {
      if (!c.tests.empty() || c.has_block || c.args.size() != 1 ||
          c.args[0].kind != Value::Kind::string_list) {
        return fail(c.at, "\"require\" takes a string list");
      }
      for (const auto& ext : c.args[0].strings) {
        const auto& sup = supported_extensions();
        if (std::find(sup.begin(), sup.end(), ext) == sup.end()) {
          return fail(c.args[0].at, "unsupported extension \"" + ext + "\"");
        }
        script_.required.insert(ext);
      }
      c.positional = c.args;
      return true;
    }
    if (s->block && !c.has_block) return fail(c.at, "\"" + c.name + "\" needs a block");
    if (!s->block && c.has_block) return fail(c.at, "\"" + c.name + "\" takes no block");
    if (s->tests == Spec::Tests::one && c.tests.size() != 1) {
      return fail(c.at, "\"" + c.name + "\" needs one test");
    }
    if (s->tests == Spec::Tests::none && !c.tests.empty()) {
      return fail(c.at, "\"" + c.name + "\" takes no test");
    }
    if (c.name == "set") {
      if (!set_args(c)) return false;
    } else if (!arguments(*s, c.name, c.args, c.at, c.tagged, c.positional)) {
      return false;
    }
    for (auto& t : c.tests) {
      if (!test(t)) return false;
    }
    return command_rules(c);
  }

  bool test(Test& t) {
    const Spec* s = lookup(t.name, true, t.at);
    if (!s) return false;
    if (s->tests == Spec::Tests::one && t.tests.size() != 1) {
      return fail(t.at, "\"" + t.name + "\" needs one test");
    }
    if (s->tests == Spec::Tests::list && (t.tests.empty() || t.args.size())) {
      return fail(t.at, "\"" + t.name + "\" needs a test list");
    }
    if (s->tests == Spec::Tests::none && !t.tests.empty()) {
      return fail(t.at, "\"" + t.name + "\" takes no test");
    }
    if (!arguments(*s, t.name, t.args, t.at, t.tagged, t.positional)) return false;
    for (auto& inner : t.tests) {
      if (!test(inner)) return false;
    }
    return test_rules(t);
  }

  bool arguments(const Spec& s, const std::string& name, std::vector<Value>& args, Position p,
                 std::map<std::string, Value>& tagged, std::vector<Value>& positional) {
    std::map<std::string, std::string> groups;
    for (size_t i = 0; i < args.size(); ++i) {
      Value& v = args[i];
      if (v.kind != Value::Kind::tag) {
        positional.push_back(v);
        continue;
      }
      if (!positional.empty())
        return fail(v.at, "tag \":" + v.tag + "\" after positional arguments");
      bool allowed =
          std::any_of(s.tags.begin(), s.tags.end(), [&](const char* n) { return v.tag == n; });
      const TagSpec* spec = allowed ? find_tag(v.tag) : nullptr;
      if (!spec) return fail(v.at, "\"" + name + "\" has no tag \":" + v.tag + "\"");
      // :handle and :last belong to several extensions; the command's own extension covers them.
      if (!has(spec->extension)) {
        return fail(v.at, "tag \":" + v.tag + "\" needs require \"" + spec->extension + "\"");
      }
      std::string group = *spec->group ? spec->group : spec->name;
      if (groups.count(group)) {
        return fail(v.at, "\":" + v.tag + "\" conflicts with \":" + groups[group] + "\"");
      }
      groups[group] = v.tag;
      Value stored = v;
      if (spec->value != TagValue::none) {
        if (i + 1 >= args.size()) return fail(v.at, "\":" + v.tag + "\" needs an argument");
        Value& a = args[++i];
        bool ok = spec->value == TagValue::number
                      ? a.kind == Value::Kind::number
                      : a.kind == Value::Kind::string_list &&
                            (spec->value == TagValue::strings || a.strings.size() == 1);
        if (!ok || (spec->value == TagValue::string && a.bracketed && a.strings.size() != 1)) {
          return fail(a.at, "wrong argument for \":" + v.tag + "\"");
        }
        stored = a;
        stored.tag = v.tag;
      }
      tagged[v.tag] = std::move(stored);
    }
    if (positional.size() < s.min_positional || positional.size() > s.positional.size()) {
      return fail(p, "\"" + name + "\" needs " + std::to_string(s.min_positional) +
                         (s.min_positional == s.positional.size()
                              ? ""
                              : " to " + std::to_string(s.positional.size())) +
                         " positional arguments");
    }
    // Optional positional arguments come first (setflag's variable name, hasflag's variable
    // list, deleteheader's patterns last): align from the end for the flag commands.
    size_t skip = s.positional.size() - positional.size();
    bool optional_first =
        name == "setflag" || name == "addflag" || name == "removeflag" || name == "hasflag";
    for (size_t i = 0; i < positional.size(); ++i) {
      Pos want = s.positional[optional_first ? i + skip : i];
      const Value& v = positional[i];
      bool ok = want == Pos::number ? v.kind == Value::Kind::number
                : want == Pos::string
                    ? v.kind == Value::Kind::string_list && v.strings.size() == 1 && !v.bracketed
                    : v.kind == Value::Kind::string_list;
      if (!ok) {
        return fail(v.at, std::string("\"") + name + "\" expects " +
                              (want == Pos::number   ? "a number"
                               : want == Pos::string ? "a string"
                                                     : "a string list") +
                              " here");
      }
    }
    return match_rules(tagged, p);
  }

  bool match_rules(std::map<std::string, Value>& tagged, Position p) {
    if (auto it = tagged.find("comparator"); it != tagged.end()) {
      const std::string& c = it->second.strings[0];
      if (c == "i;ascii-numeric") {
        if (!has("comparator-i;ascii-numeric")) {
          return fail(it->second.at,
                      "comparator \"i;ascii-numeric\" needs require "
                      "\"comparator-i;ascii-numeric\"");
        }
      } else if (c != "i;octet" && c != "i;ascii-casemap") {
        // RFC 5228 2.7.3: an unknown comparator is an error.
        return fail(it->second.at, "unknown comparator \"" + c + "\"");
      }
    }
    for (const char* rel : {"count", "value"}) {
      if (auto it = tagged.find(rel); it != tagged.end()) {
        static const std::array<const char*, 6> kOps = {"gt", "ge", "lt", "le", "eq", "ne"};
        std::string op = it->second.strings[0];
        for (char& ch : op) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (std::none_of(kOps.begin(), kOps.end(), [&](const char* o) { return op == o; })) {
          return fail(it->second.at, "unknown relational operator \"" + op + "\"");  // RFC 5231 5
        }
        it->second.strings[0] = op;
      }
    }
    if (tagged.count("last") && !tagged.count("index") && !tagged.count("handle") &&
        !tagged.count("header") && !tagged.count("uniqueid") && !tagged.count("seconds")) {
      // For address/header/date, RFC 5260 6 allows :last only with :index; editheader's
      // deleteheader the same (RFC 5293 7); duplicate's :last stands alone.
      (void)p;
    }
    return true;
  }

  bool command_rules(Command& c) {
    if (c.name == "deleteheader" && c.tagged.count("last") && !c.tagged.count("index")) {
      return fail(c.at, "\":last\" needs \":index\"");  // RFC 5293 7
    }
    if ((c.name == "addheader" || c.name == "deleteheader") &&
        !header_name(c.positional[0].strings[0])) {
      return fail(c.positional[0].at, "invalid header field name");
    }
    if (c.name == "vacation" && c.tagged.count("days") && c.tagged["days"].number > 36500) {
      return fail(c.tagged["days"].at, "\":days\" too large");
    }
    return true;
  }

  bool test_rules(Test& t) {
    if ((t.name == "address" || t.name == "header" || t.name == "date") && t.tagged.count("last") &&
        !t.tagged.count("index")) {
      return fail(t.at, "\":last\" needs \":index\"");  // RFC 5260 6
    }
    if (t.name == "size" && !t.tagged.count("over") && !t.tagged.count("under")) {
      return fail(t.at, "\"size\" needs \":over\" or \":under\"");
    }
    if (t.name == "duplicate" && t.tagged.count("seconds") && !has("duplicate")) {
      return fail(t.at, "\":seconds\" needs require \"duplicate\"");
    }
    if (t.name == "envelope") {
      for (const auto& part : t.positional[0].strings) {
        std::string lower;
        for (char ch : part)
          lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower != "from" && lower != "to") {
          return fail(t.positional[0].at,
                      "unknown envelope part \"" + part + "\"");  // RFC 5228 5.4
        }
      }
    }
    return true;
  }

  static bool header_name(const std::string& n) {
    if (n.empty() || n.size() > 200) return false;
    return std::all_of(n.begin(), n.end(),
                       [](char ch) { return ch > 32 && ch < 127 && ch != ':'; });
  }

  // RFC 5229 4: set [MODIFIER...] <name> <value>; the modifiers are kept in positional order.
  bool set_args(Command& c) {
    for (const auto& v : c.args) {
      if (v.kind == Value::Kind::tag) {
        if (std::none_of(kSetModifiers.begin(), kSetModifiers.end(),
                         [&](const char* m) { return v.tag == m; })) {
          return fail(v.at, "\"set\" has no modifier \":" + v.tag + "\"");
        }
        if (!c.positional.empty()) return fail(v.at, "modifier after the arguments of \"set\"");
        if (c.tagged.count(v.tag)) return fail(v.at, "modifier \":" + v.tag + "\" given twice");
        c.tagged[v.tag] = v;
      } else if (v.kind == Value::Kind::string_list && v.strings.size() == 1 && !v.bracketed) {
        c.positional.push_back(v);
      } else {
        return fail(v.at, "\"set\" expects strings");
      }
    }
    if (c.positional.size() != 2) return fail(c.at, "\"set\" needs a name and a value");
    const std::string& name = c.positional[0].strings[0];
    bool ok =
        !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!ok) return fail(c.positional[0].at, "invalid variable name \"" + name + "\"");
    return true;
  }

  Script& script_;
};

}  // namespace

bool check_script(Script& script, std::string& error, Position& at) {
  Checker c(script);
  if (c.run()) return true;
  error = c.error;
  at = c.at;
  return false;
}

const std::vector<std::string>& supported_extensions() {
  static const std::vector<std::string> kList = {
      "fileinto",     "reject",    "ereject",   "envelope",   "imap4flags",
      "vacation",     "body",      "variables", "relational", "subaddress",
      "copy",         "date",      "index",     "mailbox",    "spamtest",
      "spamtestplus", "virustest", "duplicate", "editheader", "comparator-i;ascii-numeric"};
  return kList;
}

std::string extensions_capability() {
  std::string out;
  for (const auto& e : supported_extensions()) {
    if (!out.empty()) out += ' ';
    out += e;
  }
  return out;
}

}  // namespace mailroom::sieve
