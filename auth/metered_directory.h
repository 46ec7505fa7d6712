// A Directory decorator (STYLE.md example 7) that counts every call into
// mailroom_directory_lookups_total{backend,operation,result} (src/core/metric_catalog.h):
// found / not_found / unavailable for lookups (other errors count as "error"), ok / mismatch /
// unavailable for check_password. The Resolver wraps the directory it is given, so every
// lookup of the protocol paths (recipients, logins, passwords, SCRAM secrets) is counted.
//
// Ownership: shares `inner`. Threading: as thread-safe as `inner`; counting is lock-free (the
// counters are looked up once, in the constructor).
#pragma once

#include <memory>

#include "auth/forwarding_directory.h"

namespace mailroom::auth {

// `inner` wrapped, or `inner` itself when it is already metered or null.
std::shared_ptr<Directory> with_metrics(std::shared_ptr<Directory> inner);

}  // namespace mailroom::auth
