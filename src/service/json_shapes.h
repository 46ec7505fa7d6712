// The JSON shapes of the directory objects, one for every front end (mailroomctl --json, the
// admin API, the change journal): scripts parse them, so keep them stable.
//
// Boost.JSON is only forward-declared here (heavy headers stay out of headers): a caller
// includes <boost/json.hpp> in its .cpp file.
#pragma once

#include "auth/local/local_directory.h"

namespace boost::json {
class value;
}

namespace mailroom::service {

struct PolicyView;  // policies.h

boost::json::value domain_json(const auth::Domain& d);
boost::json::value account_json(const auth::AccountRecord& r);
boost::json::value alias_json(const auth::Alias& a);
boost::json::value group_json(const auth::Group& g);
// A policy bundle: only the attributes it sets (auth/policy/policy.h).
boost::json::value policy_json(const auth::PolicyBundle& b);
// policy_json plus "assigned_to": [{"scope", "target" (the id), "label" (the address given),
// "current" (its address now, "" when gone), "gone"}].
boost::json::value policy_view_json(const PolicyView& v);
// {"quota_bytes": {"value": 0, "from": "policy staff (group staff@example.com)"}, ...,
//  "bundles": [...]}: every attribute with its value and where it came from.
boost::json::value effective_policy_json(const auth::EffectivePolicy& e);

}  // namespace mailroom::service
