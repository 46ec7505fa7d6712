// What the directory sync engine (sync_engine.h) asks of an upstream directory: LDAP / Active
// Directory (ldap_sync.h) or SQL (sql_sync.h). A source only reads; every write to the
// replica, the removal policy, dry runs, marks, stats and status belong to the engine.
//
// A source reads in one of three ways:
//  - everything (read_domains, read_accounts, read_groups): a full pass;
//  - what changed since its marks (read_changes, then read_groups when groups may have
//    changed): a poll pass (AD uSNChanged, SQL changed_at);
//  - a long-running search that reports changes as they happen (persist; RFC 4533
//    refreshAndPersist), calling a PersistSession the engine provides.
//
// Marks are the sync_state entries a source resumes from (high-water marks, cookies), keyed
// by their full sync_state key ("ldap.usn", "sql.changed_at", "ldap.cookie"). A source puts
// the marks of what it read into `next`; the engine stores them only after the pass wrote
// everything it read, so a failed pass is read again.
//
// Errors: a read that fails returns its status (usually unavailable); the engine then ends the
// pass and removes nothing. Threading: the engine calls a source from one thread at a time.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"

namespace mailroom::auth::sync {

using Marks = std::map<std::string, std::string>;

// Receives the accounts a source reads, in the order read.
class AccountSink {
 public:
  virtual ~AccountSink() = default;
  // An account as the replica should hold it (the engine sets the record's source). A failure
  // is the replica's (a write the engine could not make): the source stops reading and
  // returns it.
  virtual Status account(AccountRecord record) = 0;
  // An entry that cannot become an account (no id, no address): counted as seen and as an
  // error, and logged (entry: e.g. the DN).
  virtual void skipped(const std::string& entry, const std::string& reason) = 0;
  // An entry deleted upstream (AD: a tombstone found by a poll). An account of this source
  // with that id is removed per on_removed; any other id is ignored. A failure is the
  // replica's, as for account().
  virtual Status removed(const std::string& id) = 0;
};

// The domains the replica needs before accounts are written. mirror: the source is the
// authority on them (SQL: kind, alias target and catch-all are copied); otherwise a missing
// domain is only added (LDAP's configured domains; a catch-all set locally stays).
struct SourceDomains {
  std::vector<Domain> domains;
  bool mirror = false;
};

// Every group and alias upstream (small next to the accounts, so always read whole).
struct SourceObjects {
  std::vector<Group> groups;
  std::vector<Alias> aliases;
};

// What a persist-mode source reports while its search runs (implemented by the engine).
// Changes are buffered and written at the end of the refresh phase and at each checkpoint.
class PersistSession {
 public:
  virtual ~PersistSession() = default;
  // An entry still exists upstream (RFC 4533 present phase, and every add or modify).
  virtual void present(const std::string& id) = 0;
  virtual void account(AccountRecord record) = 0;
  virtual void skipped(const std::string& entry, const std::string& reason) = 0;
  // An entry was deleted upstream: an account of this source is removed (per on_removed);
  // anything else makes groups and aliases be read again.
  virtual void removed(const std::string& id) = 0;
  // A group or alias entry changed.
  virtual void groups_changed() = 0;
  // The refresh reports deletions itself (RFC 4533 3.4): entries not mentioned are not gone.
  virtual void deletes_reported() = 0;
  // The stored marks cannot be resumed from (e.g. e-syncRefreshRequired): stores `marks`
  // (their emptied values) at once.
  virtual void reset_marks(const Marks& marks) = 0;
  // The end of the refresh phase: writes what is buffered, removes the accounts the present
  // phase did not mention, reads groups, then stores `marks`. False when that failed: the
  // source ends the search (the engine starts again later from the marks stored before).
  virtual bool refresh_done(const Marks& marks) = 0;
  // A quiet moment in the persist phase: writes what is buffered (and groups when they
  // changed), then stores `marks`. Does nothing before refresh_done. False as above.
  virtual bool checkpoint(const Marks& marks) = 0;
  virtual bool refreshed() const = 0;
  // The search could not start or ended: recorded as the last error.
  virtual void failed(const std::string& what) = 0;
  // False once the engine is stopping or the session failed: the source returns.
  virtual bool keep_going() const = 0;
};

class SyncSource {
 public:
  virtual ~SyncSource() = default;

  // The replica rows' source tag, the prefix of the sync_state keys ("ldap.last_sync") and
  // of log events (event=ldap_sync_done).
  virtual std::string name() const = 0;
  // True when the source is the authority on password hashes and SCRAM secrets (SQL: an
  // emptied hash upstream empties the replica's); false keeps the replica's when the source
  // sends none (LDAP verifies passwords by bind).
  virtual bool owns_secrets() const = 0;
  // The sync_state keys of the source's marks (and dates) shown by status(), in that order;
  // their stored values are what read_changes and persist are given.
  virtual std::vector<std::string> state_keys() const = 0;
  // Fields shown first by status() (e.g. the LDAP server in use).
  virtual std::vector<std::pair<std::string, std::string>> status_fields() { return {}; }

  virtual Result<SourceDomains> read_domains() = 0;
  virtual Status read_accounts(AccountSink& sink, Marks& next) = 0;
  virtual Result<SourceObjects> read_groups(Marks& next) = 0;

  // Whether read_changes can start from `stored`; when not, the engine runs a full pass. May
  // ask upstream (AD: is this still the DC the mark came from?); when it cannot tell, false.
  virtual bool can_read_changes(const Marks& stored) = 0;
  // The accounts changed since `stored`. *groups_changed: whether groups or aliases may have
  // changed too (the engine then calls read_groups).
  virtual Status read_changes(const Marks& stored, AccountSink& sink, Marks& next,
                              bool* groups_changed) = 0;

  // Persist mode: runs one search until it ends, session.keep_going() turns false or a
  // refresh_done/checkpoint fails. Only called when can_persist().
  virtual bool can_persist() const { return false; }
  virtual void persist(PersistSession& /*session*/, const Marks& /*stored*/) {}
};

}  // namespace mailroom::auth::sync
