#include "auth/sql/named_params.h"

#include <algorithm>

namespace mailroom::auth::sql {

namespace {
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Copies a quoted run starting at sql[i] (the opening quote) to `out`; returns the index after
// the closing quote. Backslash escapes and doubled quotes stay inside the literal.
size_t copy_quoted(const std::string& sql, size_t i, std::string& out) {
  const char quote = sql[i];
  out += sql[i++];
  while (i < sql.size()) {
    char c = sql[i];
    out += c;
    ++i;
    if (c == '\\' && quote != '`' && i < sql.size()) {
      out += sql[i++];
    } else if (c == quote) {
      if (i < sql.size() && sql[i] == quote) {
        out += sql[i++];  // doubled quote
      } else {
        return i;
      }
    }
  }
  return i;  // unterminated: the server will report it at prepare time
}
}  // namespace

core::Result<CompiledSql> compile_named_sql(const std::string& sql,
                                            const std::vector<std::string>& allowed) {
  CompiledSql out;
  out.text.reserve(sql.size());
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      i = copy_quoted(sql, i, out.text);
    } else if (c == '#' || (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-' &&
                            (i + 2 == sql.size() || is_space(sql[i + 2])))) {
      size_t end = sql.find('\n', i);
      if (end == std::string::npos) end = sql.size();
      out.text.append(sql, i, end - i);
      i = end;
    } else if (c == '/' && sql.compare(i, 2, "/*") == 0) {
      size_t end = sql.find("*/", i + 2);
      end = end == std::string::npos ? sql.size() : end + 2;
      out.text.append(sql, i, end - i);
      i = end;
    } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
      out.text += "::";
      i += 2;
    } else if (c == ':' && i + 1 < sql.size() && is_name_start(sql[i + 1])) {
      size_t j = i + 1;
      while (j < sql.size() && is_name_char(sql[j])) ++j;
      std::string name = sql.substr(i + 1, j - i - 1);
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? ":" : ", :") + a;
        return core::invalid_argument(
            "unknown parameter :" + name +
            (list.empty() ? " (this query takes none)" : " (this query takes " + list + ")"));
      }
      out.params.push_back(std::move(name));
      out.text += '?';
      i = j;
    } else if (c == '?') {
      return core::invalid_argument(
          "use named parameters (:address, :login, ...) instead of '?' placeholders");
    } else {
      out.text += c;
      ++i;
    }
  }
  return out;
}

}  // namespace mailroom::auth::sql
