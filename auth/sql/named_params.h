// Named SQL parameters (":address", ":login", ...) compiled into positional '?' placeholders.
//
// Configured queries name their parameters; at start-up each query is rewritten once into the
// '?' form MariaDB prepared statements take, with the list of names in order. At request time
// the values are bound to the prepared statement (never pasted into the text), so a login
// name such as "x' OR '1'='1" is only ever compared as a string.
#pragma once

#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::auth::sql {

struct CompiledSql {
  std::string text;                 // the query with every ":name" replaced by '?'
  std::vector<std::string> params;  // the name of each '?' in order (may repeat)
};

// Rewrites `sql`. ":name" is a parameter when ':' is followed by a letter or '_' and it is not
// inside a quoted string ('...', "...", `...`) or a comment (-- , #, /* */); "::" is left
// alone. A literal '?' outside quotes is rejected (it would shift the parameter positions).
// Every name must be in `allowed`; errors say which name is unknown.
core::Result<CompiledSql> compile_named_sql(const std::string& sql,
                                            const std::vector<std::string>& allowed);

}  // namespace mailroom::auth::sql
