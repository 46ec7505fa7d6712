// SCIM Users and Groups on the local directory (internal to src/api/scim).
//
// User <-> account: id = the immutable account id; userName = the login; emails = the primary
// address (primary: true) and the secondary addresses of local domains; displayName = the
// display name; active = status active (false: disabled). Everything else (externalId, name,
// title, phoneNumbers, the enterprise extension ...) is kept as given in the SCIM overlay
// (LocalDirectory::set_scim_overlay, keyed by the account id).
// Group <-> group: id = the group's address (immutable in the directory); displayName = the
// display name; members = account ids (type User) and group addresses (type Group); members
// that are neither (aliases, remote addresses) keep their address as value.
//
// Scope (src/service/admin_access.h): an object in a domain the caller cannot see is 404; a
// write in a domain the caller sees without the write action, or a create in a domain it cannot
// write, is 403.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/api/scim/filter.h"
#include "src/api/scim/schema.h"
#include "src/api/scim/scim_error.h"
#include "src/service/admin_access.h"
#include "src/service/journal.h"

namespace boost::json {
class object;
class value;
}  // namespace boost::json

namespace mailroom::api::scim {

struct ScimContext {
  auth::LocalDirectory& dir;
  const service::Caller& caller;
  std::string base_url;  // "https://host/scim/v2" or "/scim/v2"
  // Writes go to the change journal (src/service/journal.h) with this caller (front end
  // "scim") and one change set per request. Attributes kept only in the SCIM overlay are not
  // part of the journal's object states: a change of them alone leaves no record.
  service::ChangeContext change;
};

// core::Status -> SCIM error: not_found 404, already_exists 409 uniqueness, invalid_argument
// 400 invalidValue, permission_denied 403, unavailable 503, others 500 (logged).
ScimError scim_error_from_status(const core::Status& status);

// W/"<hash of the representation without meta.version>"; sets meta.version too.
std::string scim_set_version(boost::json::object& resource);

// Checks and canonicalises a request's resource (POST/PUT body, or the result of a PATCH):
// unknown attributes are invalidSyntax, read-only ones are dropped (RFC 7643 2.2), schemas
// must name the resource's core schema.
std::optional<ScimError> normalize_resource(ResourceKind kind, boost::json::object& resource,
                                            bool require_schemas);

// RFC 3339 UTC ("2026-12-05T03:40:00Z").
std::string scim_time(int64_t unix_seconds);

// --- Users (users.cpp) ---
std::optional<ScimError> get_user(const ScimContext& ctx, const std::string& id,
                                  boost::json::object& out);
std::optional<ScimError> create_user(const ScimContext& ctx, boost::json::object& request,
                                     boost::json::object& out);
// `desired` is the full new representation (PUT body, or the current one after PATCH).
std::optional<ScimError> replace_user(const ScimContext& ctx, const std::string& id,
                                      boost::json::object& desired, boost::json::object& out);
std::optional<ScimError> delete_user(const ScimContext& ctx, const std::string& id);
// Ids of users matching `filter` (null: all) the caller sees, in address order; totals only
// the visible ones. Uses an index for userName/externalId/id/emails eq, else scans.
struct ScimPage {
  size_t total = 0;
  std::vector<std::string> ids;  // the requested page
};
std::optional<ScimError> query_users(const ScimContext& ctx, const FilterNode* filter,
                                     const std::string& sort_by, bool descending,
                                     size_t start_index, size_t count, ScimPage& page);

// Sorts (sort key, id) pairs when `sorted` (empty keys last) and cuts the page
// (start_index is 1-based).
void scim_cut_page(std::vector<std::pair<std::string, std::string>>& matches, bool sorted,
                   bool descending, size_t start_index, size_t count, ScimPage& page);
// The sort key of a resource for a sortBy path ("" when it has none).
std::string scim_sort_value(const boost::json::object& resource, const std::string& sort_by);

// --- Groups (groups.cpp) ---
std::optional<ScimError> get_group(const ScimContext& ctx, const std::string& id, bool with_members,
                                   boost::json::object& out);
std::optional<ScimError> create_group(const ScimContext& ctx, boost::json::object& request,
                                      boost::json::object& out);
std::optional<ScimError> replace_group(const ScimContext& ctx, const std::string& id,
                                       boost::json::object& desired, boost::json::object& out);
std::optional<ScimError> delete_group(const ScimContext& ctx, const std::string& id);
// The PATCH Entra ID and Okta send most (members added by value list, removed by value list or
// `members[value eq "..."]`), without rendering the group: each value is resolved alone and
// only those rows change, so a group of 100,000 members costs what a group of ten does.
// Values as for PUT; removing a value that is not a member is no change.
std::optional<ScimError> patch_group_members(const ScimContext& ctx, const std::string& id,
                                             const std::vector<std::string>& add,
                                             const std::vector<std::string>& remove);
std::optional<ScimError> query_groups(const ScimContext& ctx, const FilterNode* filter,
                                      const std::string& sort_by, bool descending,
                                      size_t start_index, size_t count, ScimPage& page);

}  // namespace mailroom::api::scim
