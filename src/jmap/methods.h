// The JMAP methods (internal to src/jmap): one function per method, called by the dispatcher
// (api.cpp) with the call's arguments (result references already resolved) and the object to
// fill with the response's arguments. An error is returned as a value and becomes the
// "error" response (RFC 8620 3.6.2).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/core/status.h"
#include "src/jmap/jmap.h"

namespace boost::json {
class object;
class value;
class array;
}  // namespace boost::json
namespace mailroom::store {
class MailStore;
}

namespace mailroom::jmap {

struct MailboxView;
class ListOrderCache;
class ThreadCache;
struct ThreadIndex;

struct CallContext {
  core::Services& services;
  store::MailStore& store;
  const Options& options;
  std::string account_id;  // the authenticated account (the only one it may use)
  std::string username;
  // Creation ids of this request (RFC 8620 5.3 "#creationId" references) -> real ids.
  std::map<std::string, std::string>& created_ids;
  std::string client_ip = {};  // for the queue's envelope and logs
  // Responses a method adds after its own, with the same call id: EmailSubmission/set's
  // implicit Email/set (RFC 8621 7.5). The dispatcher moves them out after each call.
  std::vector<std::pair<std::string, std::shared_ptr<boost::json::object>>> implicit = {};
  // Mailbox orders by receivedAt kept between requests (list_order.h); null: none kept.
  ListOrderCache* list_orders = nullptr;
  // Every Email's thread, kept between requests (threads.h); null: none kept.
  ThreadCache* threads = nullptr;
};

// The account's thread index (threads.h) for the mailboxes `all` describes; null without a
// cache or when the store fails (the caller then answers one thread per Email).
std::shared_ptr<const ThreadIndex> thread_index(CallContext& ctx,
                                                const std::vector<MailboxView>& all);

struct MethodError {
  std::string type;  // "invalidArguments", "accountNotFound", ...
  std::string description;
};
using MethodResult = std::optional<MethodError>;
inline MethodError invalid_arguments(std::string description) {
  return MethodError{"invalidArguments", std::move(description)};
}
using MethodFn = MethodResult (*)(CallContext&, const boost::json::object& args,
                                  boost::json::object& response);

// Shared argument helpers (args.cpp).
// accountId must name the caller's account: accountNotFound otherwise.
MethodResult check_account(CallContext& ctx, const boost::json::object& args,
                           boost::json::object& response);
// Rejects arguments not in `known` (invalidArguments).
MethodResult check_known(const boost::json::object& args,
                         std::initializer_list<std::string_view> known);
// "ids": null (nullopt in *out, when allowed) or an array of strings; "#creationId" ids are
// looked up in ctx.created_ids. At most `max` ids (requestTooLarge).
MethodResult read_ids(CallContext& ctx, const boost::json::object& args, const char* name,
                      size_t max, std::optional<std::vector<std::string>>* out);
// "properties": null (nullopt) or an array of strings, each one of `known` (or, with
// `header_forms`, an Email's "header:..." form, checked by its caller).
MethodResult read_properties(const boost::json::object& args, const char* name,
                             const std::vector<std::string>& known,
                             std::optional<std::vector<std::string>>* out,
                             bool header_forms = false);
// An unsigned integer argument (UnsignedInt, RFC 8620 1.3) or its default.
MethodResult read_uint(const boost::json::object& args, const char* name, uint64_t dflt,
                       uint64_t* out);
MethodResult read_int(const boost::json::object& args, const char* name, int64_t dflt,
                      int64_t* out);
MethodResult read_bool(const boost::json::object& args, const char* name, bool dflt, bool* out);
MethodResult store_error(const core::Status& s);  // serverFail / serverUnavailable
// An RFC 8620 SetError object.
boost::json::object set_error(std::string_view type, std::string_view description);
// RFC 3339 UTCDate "2024-01-02T03:04:05Z"; parse gives nullopt when malformed.
std::string utc_date(int64_t t);
std::optional<int64_t> parse_utc_date(std::string_view s);
// Keys of a String[Boolean] set object ("mailboxIds", "keywords"), all values true.
MethodResult read_true_set(const boost::json::value& v, const char* what,
                           std::vector<std::string>* out);

// "#creationId" (RFC 8620 5.3) -> the id created in this request; other ids unchanged;
// nullopt for an unknown creation id.
std::optional<std::string> resolve_creation_id(CallContext& ctx, std::string_view id);
// The invalidProperties SetError naming `properties`.
boost::json::object invalid_properties(const std::vector<std::string>& properties,
                                       std::string_view description = {});
// The create / update / destroy arguments of a /set call (RFC 8620 5.3), each null or of its
// type (invalidArguments); requestTooLarge past maxObjectsInSet in all.
struct SetArgs {
  const boost::json::object* create = nullptr;
  const boost::json::object* update = nullptr;
  const boost::json::array* destroy = nullptr;
};
MethodResult read_set_args(CallContext& ctx, const boost::json::object& args, SetArgs* out);
// ifInState (RFC 8620 5.3) against the current state: stateMismatch when it differs.
MethodResult check_if_in_state(const boost::json::object& args, const std::string& state);
// The /set response's members (RFC 8620 5.3): empty maps and lists become null.
void finish_set(boost::json::object& response, const std::string& old_state,
                const std::string& new_state, boost::json::object& created,
                boost::json::object& updated, boost::json::array& destroyed,
                boost::json::object& not_created, boost::json::object& not_updated,
                boost::json::object& not_destroyed);
// RFC 8620 5.5: the window of a query's result (position or anchor + anchorOffset, limit at
// most Options::max_query_limit, calculateTotal) written into the response with ids,
// queryState and canCalculateChanges false. `ordered` is the whole sorted result.
MethodResult query_page(CallContext& ctx, const boost::json::object& args,
                        const std::vector<std::string>& ordered, const std::string& query_state,
                        boost::json::object& response);
// The same over a result that is not materialised as ids: `count` results, the id of the i-th,
// and the position of an id (nullopt when absent; only asked for an anchor).
struct QueryResult {
  size_t count = 0;
  std::function<std::string(size_t)> id_at;
  std::function<std::optional<size_t>(std::string_view)> find;
};
MethodResult query_page(CallContext& ctx, const boost::json::object& args,
                        const QueryResult& result, const std::string& query_state,
                        boost::json::object& response);
// The account's quota from the directory (IMAP APPEND and COPY apply the same);
// serverUnavailable when the directory cannot answer.
MethodResult account_quota(CallContext& ctx, uint64_t* bytes, uint64_t* messages);

// Core (RFC 8620 4).
MethodResult core_echo(CallContext&, const boost::json::object&, boost::json::object&);
// Mailbox (RFC 8621 2), mailbox_methods.cpp.
MethodResult mailbox_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult mailbox_changes(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult mailbox_query(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult mailbox_set(CallContext&, const boost::json::object&, boost::json::object&);
// Thread (RFC 8621 3), Email (RFC 8621 4): email_*.cpp.
MethodResult thread_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult thread_changes(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_changes(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_query(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_set(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_import(CallContext&, const boost::json::object&, boost::json::object&);
// An Email/query FilterOperator or FilterCondition (RFC 8621 4.4.1) checked for shape and
// types (unsupportedFilter / invalidArguments), email_query.cpp; SearchSnippet/get uses it.
MethodResult check_email_filter(const boost::json::value& f, const std::vector<MailboxView>& all,
                                int depth);
// Email/queryChanges (RFC 8620 5.6), email_query.cpp.
MethodResult email_query_changes(CallContext&, const boost::json::object&, boost::json::object&);
// SearchSnippet/get (RFC 8621 5), search_snippet.cpp.
MethodResult search_snippet_get(CallContext&, const boost::json::object&, boost::json::object&);
// Identity (RFC 8621 6), identity_methods.cpp.
MethodResult identity_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult identity_changes(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult identity_set(CallContext&, const boost::json::object&, boost::json::object&);
// EmailSubmission (RFC 8621 7): submission_set.cpp, submission_methods.cpp.
MethodResult email_submission_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_submission_changes(CallContext&, const boost::json::object&,
                                      boost::json::object&);
MethodResult email_submission_query(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult email_submission_set(CallContext&, const boost::json::object&, boost::json::object&);
// VacationResponse (RFC 8621 8), vacation_methods.cpp.
MethodResult vacation_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult vacation_set(CallContext&, const boost::json::object&, boost::json::object&);
// Quota (RFC 9425 2), quota_methods.cpp.
MethodResult quota_get(CallContext&, const boost::json::object&, boost::json::object&);
MethodResult quota_changes(CallContext&, const boost::json::object&, boost::json::object&);
// A blob's content: an upload ("U...") or a stored message ("B" + guid); not_found otherwise.
core::Result<std::string> read_blob(CallContext& ctx, std::string_view blob_id);

}  // namespace mailroom::jmap
