// Internal: the semantic checks after parsing (RFC 5228 2.10.5, 3.2 and each extension's
// syntax section): known commands and tests, "require" first and naming supported
// extensions only, argument shapes, tags in their groups, comparators and relational
// operators known, elsif/else after if. Fills Command/Test::tagged and ::positional.
#pragma once

#include <string>

#include "src/sieve/script.h"

namespace mailroom::sieve {

bool check_script(Script& script, std::string& error, Position& at);

}  // namespace mailroom::sieve
