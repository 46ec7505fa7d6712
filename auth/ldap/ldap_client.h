// A small pool of libldap connections with failover, fail-back and timeouts.
//
// Servers are tried in the order of `uris`; one that fails is skipped for retry_down_s, and a
// connection to a non-preferred server is closed after fail_back_s so that new connections
// go back to the preferred one when it returns. Every operation has a timeout
// (LDAP_OPT_NETWORK_TIMEOUT for connect, LDAP_OPT_TIMEOUT and a client-side wait for results,
// the search timelimit for the server). Service connections (to service_uris, default uris)
// are bound as bind_dn, or with Kerberos (bind_method = "gssapi", ldap_gssapi.h: replaced when
// their credential is renewed); the bind pool's connections (to uris) are used only for user
// binds (check_password).
//
// Errors: Code::unavailable for every "could not tell" (server down, timeout, busy, the
// connection dropped twice); invalid_argument for errors that point at configuration (filter
// syntax, no such base, wrong service credentials); log_detail carries the LDAP result text.
//
// Threading: thread-safe; operations block (call from the worker pool). libldap stays inside
// ldap_client.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/directory.h"
#include "auth/ldap/ldap_mapping.h"
#include "auth/ldap/ldap_options.h"

namespace mailroom::auth::ldap {

enum class Scope { base, one, sub };

struct SearchRequest {
  std::string base;
  Scope scope = Scope::sub;
  std::string filter;
  std::vector<std::string> attributes;   // empty: all user attributes
  int size_limit = 0;                    // 0: options.size_limit
  bool paged = false;                    // RFC 2696 paged results (page_size)
  bool no_such_object_is_empty = false;  // base searches of member DNs
  // AD: LDAP_SERVER_SHOW_DELETED_OID (1.2.840.113556.1.4.417, MS-ADTS 3.1.1.3.4.1.14), sent
  // critical: tombstones (isDeleted=TRUE, in the Deleted Objects container) are returned too.
  bool show_deleted = false;
};

struct SearchResult {
  std::vector<LdapEntry> entries;
  bool truncated = false;  // size limit reached
};

class LdapClient {
 public:
  explicit LdapClient(LdapOptions options);
  ~LdapClient();
  LdapClient(const LdapClient&) = delete;
  LdapClient& operator=(const LdapClient&) = delete;

  const LdapOptions& options() const { return options_; }

  // Searches with a service connection (retried once on a fresh connection when the pooled
  // one turned out to be dead). Range-retrieval attributes (AD) are completed.
  Result<SearchResult> search(const SearchRequest& request);
  // Streams entries page by page (sync of large directories); `on_entry` returning false stops.
  Status search_each(const SearchRequest& request,
                     const std::function<bool(LdapEntry&&)>& on_entry);

  // A simple bind as `dn` on a bind-pool connection. Empty passwords are refused without
  // asking the server (an empty simple bind is an unauthenticated bind, RFC 4513 5.1.2).
  PasswordCheck bind(const std::string& dn, const std::string& password);

  // Start-up checks for --check-config: each URI reachable (with TLS), the service bind, the
  // bases, the filters and the mapped attributes against the server's subschema. Every
  // problem is returned as "<key>: <what> (<LDAP result>)".
  std::vector<std::string> check_configuration();

  // Index of the server new connections go to first (0 = preferred); for status output.
  std::string current_server();

  // Opens a raw connection for long-running work (RFC 4533 persist search); the caller owns
  // it. Returns an opaque handle (LDAP*), bound as the service account.
  struct Raw;
  Result<std::shared_ptr<Raw>> open_raw();
  static void* raw_handle(Raw& raw);
  // Parses one search entry message (LDAPMessage*) of `ld` (LDAP*), for the sync engine.
  static LdapEntry parse_message(void* ld, void* message);

  // Opaque, defined in ldap_client.cpp.
  struct Conn;
  struct Impl;

 private:
  LdapOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::auth::ldap
