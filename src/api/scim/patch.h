// SCIM 2.0 PATCH (RFC 7644 3.5.2) on a resource held as JSON: add, replace, remove, with and
// without a path, value filters in paths (`members[value eq "id"]`,
// `emails[type eq "work"].value`), the enterprise extension's URN prefix.
//
// What the provisioning clients send and this accepts (README "SCIM"):
//  - Microsoft Entra ID: op names in any case ("Replace"), booleans as the strings
//    "True"/"False", a path-less op whose value keys are paths ("name.givenName"), `remove`
//    of "members" with a value list naming the members to remove, `add`/`replace` of
//    `emails[type eq "work"].value` when no work address exists yet (a new value is made
//    from the filter's `eq` terms).
//  - Okta: `replace` without a path with {"active": false}; members by value list.
// Errors: invalidSyntax (not a PatchOp message, unknown op), invalidPath (unknown attribute or
// bad path), noTarget (a path filter matched nothing; remove without path), invalidValue
// (missing or mistyped value), mutability (id, meta, groups and other read-only
// attributes). Removing a member that is not in the group is not an error (clients retry).
//
// The caller turns the patched JSON into directory writes exactly as it does for a PUT.
#pragma once

#include <optional>

#include "src/api/scim/schema.h"
#include "src/api/scim/scim_error.h"

namespace boost::json {
class object;
class value;
}  // namespace boost::json

namespace mailroom::api::scim {

// Applies every operation of `request` (a PatchOp message) to `resource`, in order; on an
// error `resource` may be partly changed (the caller discards it).
std::optional<ScimError> apply_patch(ResourceKind kind, boost::json::object& resource,
                                     const boost::json::value& request);

// Gives every attribute and sub-attribute of `value` (the value of `attr` in a request) its
// canonical name and type: "True"/"False" strings become booleans where the schema says
// boolean. Unknown sub-attributes: invalidSyntax.
std::optional<ScimError> normalize_attribute_value(ResourceKind kind, const AttributeInfo& attr,
                                                   boost::json::value& value);

}  // namespace mailroom::api::scim
