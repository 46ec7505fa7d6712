// Reading one section of the TOML configuration, with errors that name file, line and key.
//
// Two phases (STYLE.md example 4): every module parses its own section into a plain options
// struct at start-up; the request path only reads those structs. A ConfigSection remembers
// which keys were read, so finish() can report every unknown key. Errors are collected in a
// shared ConfigErrors so --check-config shows all of them at once.
//
// toml++ stays inside config_section.cpp: this header is cheap to include.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mailroom::core {

class ConfigErrors {
 public:
  void add(std::string message) { messages_.push_back(std::move(message)); }
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

class ConfigDocument;

class ConfigSection {
 public:
  // An empty section (all keys take their defaults).
  ConfigSection(std::string file, std::string path, ConfigErrors* errors);
  ~ConfigSection();
  ConfigSection(ConfigSection&&) noexcept;
  ConfigSection& operator=(ConfigSection&&) noexcept;

  // "file:line: key" for messages.
  std::string where(const std::string& key) const;
  const std::string& path() const { return path_; }
  bool present() const { return table_ != nullptr; }
  bool has(const std::string& key);

  std::string get_string(const std::string& key, const std::string& def);
  std::optional<std::string> get_optional_string(const std::string& key);
  int64_t get_int(const std::string& key, int64_t def, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX);
  // An integer or a float ("6", "6.5") within [min, max].
  double get_number(const std::string& key, double def, double min, double max);
  bool get_bool(const std::string& key, bool def);
  std::vector<std::string> get_strings(const std::string& key, const std::vector<std::string>& def);
  // A string that must be one of `choices`.
  std::string get_choice(const std::string& key, const std::string& def,
                         const std::vector<std::string>& choices);
  // Sizes such as 25000000, "25M", "1G", "64K".
  uint64_t get_size(const std::string& key, uint64_t def);
  // Durations such as 30, "30s", "5m", "2h", "7d" (seconds).
  int64_t get_seconds(const std::string& key, int64_t def);

  // A sub-table (absent -> empty section).
  ConfigSection child(const std::string& key);
  // An array of tables ([[listener]]).
  std::vector<ConfigSection> children(const std::string& key);
  // Keys present in this table (for sections whose keys are names, e.g. [domains]).
  std::vector<std::string> keys() const;

  // Reports every key present but never read. Call once after reading all keys.
  void finish();
  // Adds an error about `key` (validation beyond types, e.g. "file does not exist").
  void error(const std::string& key, const std::string& message);
  ConfigErrors* errors() const { return errors_; }

 private:
  friend class ConfigDocument;
  std::string file_;
  std::string path_;
  ConfigErrors* errors_;
  const void* table_ = nullptr;  // const toml::table*
  std::set<std::string> read_;
  std::shared_ptr<void> keep_alive_;
};

// Owns a parsed file. root() is the top-level table.
class ConfigDocument {
 public:
  // Parses `file`; on failure adds an error naming file and line and root() is empty.
  static std::unique_ptr<ConfigDocument> load_file(const std::string& file, ConfigErrors* errors);
  static std::unique_ptr<ConfigDocument> load_string(const std::string& text,
                                                     const std::string& name, ConfigErrors* errors);
  ConfigSection root();

 private:
  std::string file_;
  ConfigErrors* errors_ = nullptr;
  std::shared_ptr<void> table_;  // toml::table
};

}  // namespace mailroom::core
