// SCIM filters (RFC 7644 3.4.2.2): a recursive-descent parser with a depth and length bound,
// and an evaluator over Boost.JSON resources.
#include "src/api/scim/filter.h"

#include <boost/json.hpp>
#include <cstdlib>

namespace mailroom::api::scim {

namespace json = boost::json;

namespace {

char scim_filter_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string scim_filter_lower_copy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = scim_filter_lower(c);
  return out;
}

bool scim_filter_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (scim_filter_lower(a[i]) != scim_filter_lower(b[i])) return false;
  return true;
}

bool scim_is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool scim_is_digit(char c) { return c >= '0' && c <= '9'; }
bool scim_is_name_char(char c) {
  return scim_is_alpha(c) || scim_is_digit(c) || c == '-' || c == '_';
}

core::Status scim_filter_error(std::string what) {
  return core::invalid_argument("invalid filter: " + what);
}

// ATTRNAME *1subAttr, with `$ref` allowed as a name (members.$ref).
bool scim_parse_name_part(std::string_view text, AttrPath& path) {
  auto valid_name = [](std::string_view n) {
    if (n == "$ref") return true;
    if (n.empty() || !scim_is_alpha(n[0])) return false;
    for (char c : n)
      if (!scim_is_name_char(c)) return false;
    return true;
  };
  auto dot = text.find('.');
  std::string_view attr = text.substr(0, dot);
  if (!valid_name(attr)) return false;
  path.attr = std::string(attr);
  if (dot != std::string_view::npos) {
    std::string_view sub = text.substr(dot + 1);
    if (!valid_name(sub)) return false;
    path.sub = std::string(sub);
  }
  return true;
}

class ScimFilterParser {
 public:
  explicit ScimFilterParser(std::string_view text) : s_(text) {}

  core::Result<Filter> parse() {
    Filter f;
    auto st = parse_or(f.root, false);
    if (!st) return st;
    skip_ws();
    if (pos_ != s_.size())
      return scim_filter_error("unexpected text at offset " + std::to_string(pos_));
    return f;
  }

  // attrPath as the path of an attribute expression: stops at SP, '[', ']', '(' and ')'.
  core::Status parse_path(AttrPath& path) {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ' && s_[pos_] != '\t' && s_[pos_] != '[' &&
           s_[pos_] != ']' && s_[pos_] != '(' && s_[pos_] != ')')
      ++pos_;
    std::string_view word = s_.substr(start, pos_ - start);
    if (word.empty())
      return scim_filter_error("attribute path expected at offset " + std::to_string(start));
    std::string_view names = word;
    if (word.size() > 4 && scim_filter_iequals(word.substr(0, 4), "urn:")) {
      auto colon = word.rfind(':');
      path.schema = scim_filter_lower_copy(word.substr(0, colon));
      names = word.substr(colon + 1);
    }
    if (!scim_parse_name_part(names, path))
      return scim_filter_error("bad attribute path '" + std::string(word) + "'");
    return core::Status::ok();
  }

  size_t pos() const { return pos_; }
  bool at_end() { return pos_ == s_.size(); }

 private:
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  // The next word (letters) without consuming it.
  std::string_view peek_word() const {
    size_t e = pos_;
    while (e < s_.size() && scim_is_alpha(s_[e])) ++e;
    return s_.substr(pos_, e - pos_);
  }
  bool word_boundary(size_t at) const {
    return at >= s_.size() || s_[at] == ' ' || s_[at] == '\t' || s_[at] == '(' || s_[at] == ')' ||
           s_[at] == ']' || s_[at] == '[' || s_[at] == '"';
  }

  core::Status enter() {
    if (++depth_ > kMaxFilterDepth) return scim_filter_error("nested too deeply");
    return core::Status::ok();
  }

  core::Status parse_or(std::unique_ptr<FilterNode>& out, bool in_brackets) {
    if (auto st = parse_and(out, in_brackets); !st) return st;
    for (;;) {
      skip_ws();
      auto w = peek_word();
      if (!scim_filter_iequals(w, "or") || !word_boundary(pos_ + 2)) return core::Status::ok();
      pos_ += 2;
      auto node = std::make_unique<FilterNode>();
      node->kind = FilterNode::Kind::logical_or;
      node->left = std::move(out);
      if (auto st = parse_and(node->right, in_brackets); !st) return st;
      out = std::move(node);
    }
  }

  core::Status parse_and(std::unique_ptr<FilterNode>& out, bool in_brackets) {
    if (auto st = parse_unary(out, in_brackets); !st) return st;
    for (;;) {
      skip_ws();
      auto w = peek_word();
      if (!scim_filter_iequals(w, "and") || !word_boundary(pos_ + 3)) return core::Status::ok();
      pos_ += 3;
      auto node = std::make_unique<FilterNode>();
      node->kind = FilterNode::Kind::logical_and;
      node->left = std::move(out);
      if (auto st = parse_unary(node->right, in_brackets); !st) return st;
      out = std::move(node);
    }
  }

  core::Status parse_group(std::unique_ptr<FilterNode>& out, bool in_brackets) {
    // at '('
    ++pos_;
    if (auto st = enter(); !st) return st;
    if (auto st = parse_or(out, in_brackets); !st) return st;
    skip_ws();
    if (pos_ >= s_.size() || s_[pos_] != ')') return scim_filter_error("')' expected");
    ++pos_;
    --depth_;
    return core::Status::ok();
  }

  core::Status parse_unary(std::unique_ptr<FilterNode>& out, bool in_brackets) {
    skip_ws();
    if (pos_ >= s_.size()) return scim_filter_error("expression expected at end");
    if (s_[pos_] == '(') return parse_group(out, in_brackets);
    auto w = peek_word();
    if (scim_filter_iequals(w, "not")) {
      size_t after = pos_ + 3;
      while (after < s_.size() && (s_[after] == ' ' || s_[after] == '\t')) ++after;
      if (after < s_.size() && s_[after] == '(') {
        pos_ = after;
        if (auto st = enter(); !st) return st;
        auto node = std::make_unique<FilterNode>();
        node->kind = FilterNode::Kind::logical_not;
        if (auto st = parse_group(node->left, in_brackets); !st) return st;
        --depth_;
        out = std::move(node);
        return core::Status::ok();
      }
    }
    return parse_attr_exp(out, in_brackets);
  }

  core::Status parse_attr_exp(std::unique_ptr<FilterNode>& out, bool in_brackets) {
    auto node = std::make_unique<FilterNode>();
    if (auto st = parse_path(node->path); !st) return st;
    if (pos_ < s_.size() && s_[pos_] == '[') {
      // valuePath = attrPath "[" valFilter "]"; no value path inside another.
      if (in_brackets) return scim_filter_error("value filters do not nest");
      if (!node->path.sub.empty())
        return scim_filter_error("a value filter follows an attribute, not a sub-attribute");
      ++pos_;
      if (auto st = enter(); !st) return st;
      node->kind = FilterNode::Kind::value_path;
      if (auto st = parse_or(node->left, true); !st) return st;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ']') return scim_filter_error("']' expected");
      ++pos_;
      --depth_;
      out = std::move(node);
      return core::Status::ok();
    }
    skip_ws();
    size_t op_start = pos_;
    while (pos_ < s_.size() && scim_is_alpha(s_[pos_])) ++pos_;
    std::string op = scim_filter_lower_copy(s_.substr(op_start, pos_ - op_start));
    static const std::pair<const char*, CompareOp> kOps[] = {
        {"eq", CompareOp::eq}, {"ne", CompareOp::ne}, {"co", CompareOp::co}, {"sw", CompareOp::sw},
        {"ew", CompareOp::ew}, {"gt", CompareOp::gt}, {"ge", CompareOp::ge}, {"lt", CompareOp::lt},
        {"le", CompareOp::le}, {"pr", CompareOp::pr}};
    bool found = false;
    for (const auto& [name, value] : kOps) {
      if (op == name) {
        node->op = value;
        found = true;
      }
    }
    if (!found || !word_boundary(pos_))
      return scim_filter_error(op.empty() ? "operator expected after " + node->path.to_string()
                                          : "unknown operator '" + op + "'");
    node->kind = FilterNode::Kind::compare;
    if (node->op != CompareOp::pr) {
      skip_ws();
      if (auto st = parse_value(node->value); !st) return st;
      bool ordering = node->op == CompareOp::gt || node->op == CompareOp::ge ||
                      node->op == CompareOp::lt || node->op == CompareOp::le;
      bool substring =
          node->op == CompareOp::co || node->op == CompareOp::sw || node->op == CompareOp::ew;
      // RFC 7644 3.4.2.2: gt/ge/lt/le on a boolean is an error; so is co/sw/ew on a
      // non-string, and an ordering against null.
      if ((ordering || substring) && node->value.type == FilterValue::Type::boolean)
        return scim_filter_error("'" + op + "' cannot compare booleans");
      if ((ordering || substring) && node->value.type == FilterValue::Type::null)
        return scim_filter_error("'" + op + "' cannot compare with null");
      if (substring && node->value.type != FilterValue::Type::string)
        return scim_filter_error("'" + op + "' needs a string");
    }
    out = std::move(node);
    return core::Status::ok();
  }

  core::Status parse_value(FilterValue& v) {
    if (pos_ >= s_.size()) return scim_filter_error("value expected at end");
    if (s_[pos_] == '"') {
      size_t start = pos_++;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\') ++pos_;
        ++pos_;
      }
      if (pos_ >= s_.size()) return scim_filter_error("unterminated string");
      ++pos_;
      json::error_code ec;
      auto parsed = json::parse(s_.substr(start, pos_ - start), ec);
      if (ec || !parsed.is_string()) return scim_filter_error("bad string literal");
      v.type = FilterValue::Type::string;
      v.text = std::string(parsed.get_string());
      return core::Status::ok();
    }
    size_t start = pos_;
    while (pos_ < s_.size() && !word_boundary(pos_)) ++pos_;
    std::string_view word = s_.substr(start, pos_ - start);
    if (scim_filter_iequals(word, "true") || scim_filter_iequals(word, "false")) {
      v.type = FilterValue::Type::boolean;
      v.boolean = scim_filter_iequals(word, "true");
      return core::Status::ok();
    }
    if (scim_filter_iequals(word, "null")) {
      v.type = FilterValue::Type::null;
      return core::Status::ok();
    }
    if (!word.empty() && (scim_is_digit(word[0]) || word[0] == '-') && word.size() < 64) {
      json::error_code ec;
      auto parsed = json::parse(word, ec);
      if (!ec && parsed.is_number()) {
        v.type = FilterValue::Type::number;
        v.number = parsed.to_number<double>();
        return core::Status::ok();
      }
    }
    return scim_filter_error(
        "value expected (a string in double quotes, a number, true, false "
        "or null)");
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// --- evaluation ---

const json::value* scim_find_member(const json::object& o, std::string_view name) {
  for (const auto& kv : o)
    if (scim_filter_iequals(kv.key(), name)) return &kv.value();
  return nullptr;
}

bool scim_is_core_schema(std::string_view schema) {
  return schema.empty() || schema == "urn:ietf:params:scim:schemas:core:2.0:user" ||
         schema == "urn:ietf:params:scim:schemas:core:2.0:group";
}

// The object an attribute path starts from: the resource, or its extension's object.
const json::object* scim_base_object(const json::object& resource, const AttrPath& path) {
  if (scim_is_core_schema(path.schema)) return &resource;
  const json::value* ext = scim_find_member(resource, path.schema);
  return ext && ext->is_object() ? &ext->get_object() : nullptr;
}

// The leaf values a path names (RFC 7644 3.4.2.2: any of them may match).
void scim_collect(const json::object& resource, const AttrPath& path,
                  std::vector<const json::value*>& out) {
  const json::object* base = scim_base_object(resource, path);
  if (!base) return;
  const json::value* v = scim_find_member(*base, path.attr);
  if (!v) return;
  auto add_leaf = [&](const json::value& x) {
    if (path.sub.empty()) {
      if (x.is_object()) {
        // complex values compare by their "value" sub-attribute
        if (const json::value* inner = scim_find_member(x.get_object(), "value"))
          out.push_back(inner);
      } else {
        out.push_back(&x);
      }
    } else if (x.is_object()) {
      if (const json::value* inner = scim_find_member(x.get_object(), path.sub)) {
        if (inner->is_array()) {
          for (const auto& e : inner->get_array()) out.push_back(&e);
        } else {
          out.push_back(inner);
        }
      }
    }
  };
  if (v->is_array()) {
    for (const auto& e : v->get_array()) add_leaf(e);
  } else {
    add_leaf(*v);
  }
}

bool scim_present(const json::value& v) {
  if (v.is_null()) return false;
  if (v.is_string()) return !v.get_string().empty();
  if (v.is_array()) return !v.get_array().empty();
  if (v.is_object()) return !v.get_object().empty();
  return true;
}

template <class T>
bool scim_ordered(CompareOp op, const T& a, const T& b) {
  switch (op) {
    case CompareOp::eq:
      return a == b;
    case CompareOp::ne:
      return !(a == b);
    case CompareOp::gt:
      return b < a;
    case CompareOp::ge:
      return !(a < b);
    case CompareOp::lt:
      return a < b;
    case CompareOp::le:
      return !(b < a);
    default:
      return false;
  }
}

bool scim_compare(const json::value& v, CompareOp op, const FilterValue& f, bool case_exact) {
  switch (f.type) {
    case FilterValue::Type::null:
      return op == CompareOp::eq ? v.is_null() : (op == CompareOp::ne && !v.is_null());
    case FilterValue::Type::boolean:
      if (!v.is_bool()) return false;
      return op == CompareOp::eq ? v.get_bool() == f.boolean
                                 : (op == CompareOp::ne && v.get_bool() != f.boolean);
    case FilterValue::Type::number:
      if (!v.is_number()) return false;
      return scim_ordered(op, v.to_number<double>(), f.number);
    case FilterValue::Type::string: {
      if (!v.is_string()) return false;
      std::string a(v.get_string());
      std::string b = f.text;
      if (!case_exact) {
        a = scim_filter_lower_copy(a);
        b = scim_filter_lower_copy(b);
      }
      switch (op) {
        case CompareOp::co:
          return a.find(b) != std::string::npos;
        case CompareOp::sw:
          return a.compare(0, b.size(), b) == 0;
        case CompareOp::ew:
          return a.size() >= b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0;
        default:
          return scim_ordered(op, a, b);
      }
    }
  }
  return false;
}

}  // namespace

std::string AttrPath::to_string() const {
  std::string out;
  if (!schema.empty()) out = schema + ":";
  out += attr;
  if (!sub.empty()) out += "." + sub;
  return out;
}

core::Result<Filter> parse_filter(std::string_view text) {
  if (text.size() > kMaxFilterLength)
    return scim_filter_error("longer than " + std::to_string(kMaxFilterLength) + " characters");
  return ScimFilterParser(text).parse();
}

core::Result<AttrPath> parse_attr_path(std::string_view text) {
  if (text.empty() || text.size() > 512) return scim_filter_error("bad attribute path");
  AttrPath path;
  ScimFilterParser p(text);
  if (auto st = p.parse_path(path); !st) return st;
  if (!p.at_end()) return scim_filter_error("bad attribute path '" + std::string(text) + "'");
  return path;
}

bool scim_case_exact(const AttrPath& path) {
  std::string attr = scim_filter_lower_copy(path.attr);
  std::string sub = scim_filter_lower_copy(path.sub);
  if (path.schema.empty() || scim_is_core_schema(path.schema)) {
    if (attr == "id" || attr == "externalid") return sub.empty();
    if ((attr == "members" || attr == "groups") && (sub.empty() || sub == "value")) return true;
    if (attr == "meta" && (sub == "version" || sub == "location")) return true;
  } else if (attr == "manager" && (sub.empty() || sub == "value")) {
    return true;
  }
  return false;
}

bool filter_matches(const FilterNode& node, const json::object& resource) {
  switch (node.kind) {
    case FilterNode::Kind::logical_and:
      return filter_matches(*node.left, resource) && filter_matches(*node.right, resource);
    case FilterNode::Kind::logical_or:
      return filter_matches(*node.left, resource) || filter_matches(*node.right, resource);
    case FilterNode::Kind::logical_not:
      return !filter_matches(*node.left, resource);
    case FilterNode::Kind::value_path: {
      const json::object* base = scim_base_object(resource, node.path);
      if (!base) return false;
      const json::value* v = scim_find_member(*base, node.path.attr);
      if (!v) return false;
      if (v->is_object()) return filter_matches(*node.left, v->get_object());
      if (!v->is_array()) return false;
      for (const auto& e : v->get_array())
        if (e.is_object() && filter_matches(*node.left, e.get_object())) return true;
      return false;
    }
    case FilterNode::Kind::compare: {
      std::vector<const json::value*> values;
      scim_collect(resource, node.path, values);
      if (node.op == CompareOp::pr) {
        for (const auto* v : values)
          if (scim_present(*v)) return true;
        // a complex attribute (name pr) is present when its object is not empty
        if (node.path.sub.empty()) {
          const json::object* base = scim_base_object(resource, node.path);
          const json::value* v = base ? scim_find_member(*base, node.path.attr) : nullptr;
          return v && scim_present(*v);
        }
        return false;
      }
      bool exact = scim_case_exact(node.path);
      for (const auto* v : values)
        if (scim_compare(*v, node.op, node.value, exact)) return true;
      return false;
    }
  }
  return false;
}

bool filter_equality_key(const FilterNode& node, const std::vector<std::string>& attrs,
                         std::string& attr, std::string& value) {
  if (node.kind == FilterNode::Kind::logical_and) {
    return filter_equality_key(*node.left, attrs, attr, value) ||
           filter_equality_key(*node.right, attrs, attr, value);
  }
  if (node.kind != FilterNode::Kind::compare || node.op != CompareOp::eq ||
      node.value.type != FilterValue::Type::string || !scim_is_core_schema(node.path.schema))
    return false;
  std::string key = scim_filter_lower_copy(node.path.attr);
  if (!node.path.sub.empty()) key += "." + scim_filter_lower_copy(node.path.sub);
  for (const auto& a : attrs) {
    if (a == key) {
      attr = key;
      value = node.value.text;
      return true;
    }
  }
  return false;
}

}  // namespace mailroom::api::scim
