#include "src/core/config_section.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace mailroom::core {

namespace {
const toml::table* tbl(const void* p) { return static_cast<const toml::table*>(p); }

std::string line_of(const toml::node* node) {
  if (!node) return "?";
  return std::to_string(node->source().begin.line);
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    default:
      return "date/time";
  }
}
}  // namespace

ConfigSection::ConfigSection(std::string file, std::string path, ConfigErrors* errors)
    : file_(std::move(file)), path_(std::move(path)), errors_(errors) {}
ConfigSection::~ConfigSection() = default;
ConfigSection::ConfigSection(ConfigSection&&) noexcept = default;
ConfigSection& ConfigSection::operator=(ConfigSection&&) noexcept = default;

std::string ConfigSection::where(const std::string& key) const {
  const toml::node* node = table_ ? tbl(table_)->get(key) : nullptr;
  std::string full = path_.empty() ? key : path_ + "." + key;
  if (!node && table_) {
    return file_ + ":" + std::to_string(tbl(table_)->source().begin.line) + ": " + full;
  }
  return file_ + ":" + line_of(node) + ": " + full;
}

void ConfigSection::error(const std::string& key, const std::string& message) {
  errors_->add(where(key) + ": " + message);
}

bool ConfigSection::has(const std::string& key) { return table_ && tbl(table_)->contains(key); }

std::optional<std::string> ConfigSection::get_optional_string(const std::string& key) {
  read_.insert(key);
  if (!table_) return std::nullopt;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return std::nullopt;
  if (auto v = n->value<std::string>(); v && n->is_string()) return *v;
  error(key, std::string("expected a string, found ") + type_name(*n));
  return std::nullopt;
}

std::string ConfigSection::get_string(const std::string& key, const std::string& def) {
  auto v = get_optional_string(key);
  return v ? *v : def;
}

int64_t ConfigSection::get_int(const std::string& key, int64_t def, int64_t min, int64_t max) {
  read_.insert(key);
  if (!table_) return def;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return def;
  if (!n->is_integer()) {
    error(key, std::string("expected an integer, found ") + type_name(*n));
    return def;
  }
  int64_t v = *n->value<int64_t>();
  if (v < min || v > max) {
    error(key, "value " + std::to_string(v) + " out of range [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
    return def;
  }
  return v;
}

double ConfigSection::get_number(const std::string& key, double def, double min, double max) {
  read_.insert(key);
  if (!table_) return def;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return def;
  if (!n->is_integer() && !n->is_floating_point()) {
    error(key, std::string("expected a number, found ") + type_name(*n));
    return def;
  }
  double v = n->is_integer() ? static_cast<double>(*n->value<int64_t>()) : *n->value<double>();
  if (!(v >= min && v <= max)) {
    error(key, "value " + std::to_string(v) + " out of range [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
    return def;
  }
  return v;
}

bool ConfigSection::get_bool(const std::string& key, bool def) {
  read_.insert(key);
  if (!table_) return def;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return def;
  if (!n->is_boolean()) {
    error(key, std::string("expected true or false, found ") + type_name(*n));
    return def;
  }
  return *n->value<bool>();
}

std::vector<std::string> ConfigSection::get_strings(const std::string& key,
                                                    const std::vector<std::string>& def) {
  read_.insert(key);
  if (!table_) return def;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return def;
  const toml::array* arr = n->as_array();
  if (!arr) {
    error(key, std::string("expected an array of strings, found ") + type_name(*n));
    return def;
  }
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    if (!el.is_string()) {
      error(key,
            std::string("expected an array of strings, found an element of type ") + type_name(el));
      return def;
    }
    out.push_back(*el.value<std::string>());
  }
  return out;
}

std::string ConfigSection::get_choice(const std::string& key, const std::string& def,
                                      const std::vector<std::string>& choices) {
  std::string v = get_string(key, def);
  for (const auto& c : choices) {
    if (c == v) return v;
  }
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  error(key, "\"" + v + "\" is not one of: " + list);
  return def;
}

namespace {
// Parses "<number><unit>" with the given unit multipliers; returns false when malformed.
bool parse_scaled(const std::string& s, const std::vector<std::pair<char, uint64_t>>& units,
                  uint64_t* out) {
  if (s.empty()) return false;
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > UINT64_MAX / 10) return false;
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == 0) return false;
  uint64_t mult = 1;
  if (i < s.size()) {
    if (i + 1 != s.size()) return false;
    bool found = false;
    for (auto [c, m] : units) {
      if (s[i] == c || s[i] == (c - 'a' + 'A')) {
        mult = m;
        found = true;
      }
    }
    if (!found) return false;
  }
  if (mult != 0 && n > UINT64_MAX / mult) return false;
  *out = n * mult;
  return true;
}
}  // namespace

uint64_t ConfigSection::get_size(const std::string& key, uint64_t def) {
  read_.insert(key);
  if (!table_) return def;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return def;
  if (n->is_integer()) {
    int64_t v = *n->value<int64_t>();
    if (v < 0) {
      error(key, "a size cannot be negative");
      return def;
    }
    return static_cast<uint64_t>(v);
  }
  uint64_t out = 0;
  if (n->is_string() &&
      parse_scaled(*n->value<std::string>(),
                   {{'k', 1024ULL}, {'m', 1024ULL * 1024}, {'g', 1024ULL * 1024 * 1024}}, &out)) {
    return out;
  }
  error(key, "expected a size such as 25000000, \"64K\", \"25M\" or \"1G\"");
  return def;
}

int64_t ConfigSection::get_seconds(const std::string& key, int64_t def) {
  read_.insert(key);
  if (!table_) return def;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return def;
  if (n->is_integer() && *n->value<int64_t>() >= 0) return *n->value<int64_t>();
  uint64_t out = 0;
  if (n->is_string() && parse_scaled(*n->value<std::string>(),
                                     {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}}, &out)) {
    return static_cast<int64_t>(out);
  }
  error(key, "expected a duration such as 30, \"30s\", \"5m\", \"2h\" or \"7d\"");
  return def;
}

ConfigSection ConfigSection::child(const std::string& key) {
  read_.insert(key);
  std::string p = path_.empty() ? key : path_ + "." + key;
  ConfigSection s(file_, p, errors_);
  s.keep_alive_ = keep_alive_;
  if (!table_) return s;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return s;
  if (!n->is_table()) {
    error(key, std::string("expected a table, found ") + type_name(*n));
    return s;
  }
  s.table_ = n->as_table();
  return s;
}

std::vector<ConfigSection> ConfigSection::children(const std::string& key) {
  read_.insert(key);
  std::vector<ConfigSection> out;
  if (!table_) return out;
  const toml::node* n = tbl(table_)->get(key);
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    error(key, "expected an array of tables ([[" + key + "]])");
    return out;
  }
  size_t i = 0;
  for (const auto& el : *arr) {
    std::string p = (path_.empty() ? key : path_ + "." + key) + "[" + std::to_string(i++) + "]";
    ConfigSection s(file_, p, errors_);
    s.keep_alive_ = keep_alive_;
    s.table_ = el.as_table();
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> ConfigSection::keys() const {
  std::vector<std::string> out;
  if (!table_) return out;
  for (const auto& [k, v] : *tbl(table_)) out.emplace_back(k.str());
  return out;
}

void ConfigSection::finish() {
  if (!table_) return;
  for (const auto& [k, v] : *tbl(table_)) {
    std::string key(k.str());
    if (!read_.count(key)) {
      std::string full = path_.empty() ? key : path_ + "." + key;
      errors_->add(file_ + ":" + line_of(&v) + ": " + full + ": unknown key");
    }
  }
}

std::unique_ptr<ConfigDocument> ConfigDocument::load_string(const std::string& text,
                                                            const std::string& name,
                                                            ConfigErrors* errors) {
  auto doc = std::make_unique<ConfigDocument>();
  doc->file_ = name;
  doc->errors_ = errors;
  try {
    auto t = std::make_shared<toml::table>(toml::parse(text, name));
    doc->table_ = t;
  } catch (const toml::parse_error& e) {
    errors->add(name + ":" + std::to_string(e.source().begin.line) + ": " +
                std::string(e.description()));
  }
  return doc;
}

std::unique_ptr<ConfigDocument> ConfigDocument::load_file(const std::string& file,
                                                          ConfigErrors* errors) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    errors->add(file + ": cannot open configuration file");
    auto doc = std::make_unique<ConfigDocument>();
    doc->file_ = file;
    doc->errors_ = errors;
    return doc;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), file, errors);
}

ConfigSection ConfigDocument::root() {
  ConfigSection s(file_, "", errors_);
  s.keep_alive_ = table_;
  s.table_ = table_.get();
  return s;
}

}  // namespace mailroom::core
