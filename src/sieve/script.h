// A Sieve script (RFC 5228) as the parser leaves it: commands, tests and arguments with the
// line and column each starts at, after the grammar (section 8) and the checks of section
// 2.10.5 and 3.2 ("require" names only supported extensions, every command and test is known,
// arguments have the shapes their definitions ask for).
//
// The parser is pure (no I/O, no allocation beyond the limits below): it is fed the script a
// user uploads through ManageSieve and every script a delivery runs, and its fuzz target is
// tests/fuzz/fuzz_sieve.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::sieve {

struct Position {
  int line = 1;
  int column = 1;
};

// A positional or tagged argument value (RFC 5228 2.6).
struct Value {
  enum class Kind { number, string_list, tag };
  Kind kind = Kind::string_list;
  uint64_t number = 0;               // after the K/M/G quantifier
  std::vector<std::string> strings;  // one element for a single string
  bool bracketed = false;            // written as a [list] (a single string is not)
  std::string tag;                   // lower case, without the colon
  Position at;
};

struct Test {
  std::string name;  // lower case
  std::vector<Value> args;
  std::vector<Test> tests;  // allof / anyof / not
  Position at;
  // Filled by the checker: tagged arguments by name (":comparator" -> its string, ":is" ->
  // nothing) and the positional ones in order.
  std::map<std::string, Value> tagged;
  std::vector<Value> positional;
};

struct Command {
  std::string name;  // lower case
  std::vector<Value> args;
  std::vector<Test> tests;  // if/elsif: exactly one
  bool has_block = false;
  std::vector<Command> block;
  Position at;
  std::map<std::string, Value> tagged;
  std::vector<Value> positional;
};

struct Script {
  std::vector<Command> commands;
  std::set<std::string> required;  // capabilities named by "require"
};

struct Limits {
  std::size_t max_script_bytes = 64 * 1024;
  int max_nesting = 32;             // blocks and test nesting together
  std::size_t max_commands = 2048;  // commands and tests
  std::size_t max_list_items = 1024;
  std::size_t max_string_bytes = 64 * 1024;
};

// The extensions this implementation supports: what "require" accepts and ManageSieve's
// SIEVE capability lists, space-separated in that order.
const std::vector<std::string>& supported_extensions();
std::string extensions_capability();

// Parses and checks `text`. On error: invalid_argument whose client message is
// "line L, column C: what is wrong" (too_large for a script over max_script_bytes).
core::Result<Script> parse(std::string_view text, const Limits& limits = {});

}  // namespace mailroom::sieve
