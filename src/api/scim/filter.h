// SCIM 2.0 filters (RFC 7644 3.4.2.2): parsing and evaluation against a JSON resource.
//
// Grammar (the RFC's ABNF): attribute expressions `attrPath op value` and `attrPath pr`,
// `and`, `or`, `not (...)`, grouping with parentheses, value filters `emails[type eq "work"]`,
// attribute paths with a schema URN prefix and one sub-attribute. Operators, attribute names
// and the literals true/false/null are case-insensitive. Precedence: not > and > or.
//
// Hostile input: a filter longer than kMaxFilterLength or nested deeper than kMaxFilterDepth
// is refused; parsing and evaluation are linear in the filter's size (no backtracking).
// Every refusal is Code::invalid_argument: the caller answers 400 scimType "invalidFilter".
//
// Evaluation (RFC 7644 3.4.2.2): a multi-valued attribute matches when any value does; a
// complex multi-valued attribute without a sub-attribute compares its "value"s; strings compare
// case-insensitively unless the attribute is caseExact (scim_case_exact()); gt/ge/lt/le on
// booleans are refused at parse time; a missing attribute matches only `not (...)`.
//
// Threading: a parsed Filter is immutable; evaluate it from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace boost::json {
class object;
class value;
}  // namespace boost::json

namespace mailroom::api::scim {

inline constexpr size_t kMaxFilterLength = 4096;
inline constexpr int kMaxFilterDepth = 32;

// `urn:...:User:name.givenName` -> schema "urn:...:user" (lower-cased; "" when none),
// attr "name", sub "givenName" (as written; compare case-insensitively).
struct AttrPath {
  std::string schema;
  std::string attr;
  std::string sub;
  std::string to_string() const;
};

enum class CompareOp { eq, ne, co, sw, ew, gt, ge, lt, le, pr };

struct FilterValue {
  enum class Type { string, number, boolean, null };
  Type type = Type::null;
  std::string text;  // string
  double number = 0;
  bool boolean = false;
};

struct FilterNode {
  enum class Kind { logical_and, logical_or, logical_not, compare, value_path };
  Kind kind = Kind::compare;
  // and / or: both; not: left.
  std::unique_ptr<FilterNode> left, right;
  // compare: path op value; value_path: path [left].
  AttrPath path;
  CompareOp op = CompareOp::pr;
  FilterValue value;
};

struct Filter {
  std::unique_ptr<FilterNode> root;
};

core::Result<Filter> parse_filter(std::string_view text);

// Parses the attribute path alone (PATCH paths, sortBy, attributes=...).
core::Result<AttrPath> parse_attr_path(std::string_view text);

// Whether `resource` matches. `resource` is a SCIM resource as this server writes it.
bool filter_matches(const FilterNode& node, const boost::json::object& resource);

// RFC 7643: id, externalId and the "value" of members/groups/manager are caseExact.
bool scim_case_exact(const AttrPath& path);

// Shallow structure used by the routes to pick an indexed lookup: when the filter is
// `<attr> eq "<string>"` (or an `and` with such an operand), sets attr (lower-case, the core
// schema's name) and value and returns true.
bool filter_equality_key(const FilterNode& node, const std::vector<std::string>& attrs,
                         std::string& attr, std::string& value);

}  // namespace mailroom::api::scim
