// One IMAP session: a coroutine on the connection's strand (STYLE.md example 9). Commands are
// parsed by proto/ and dispatched through the command table (command_table.cpp); each
// handler returns the tagged reply, and the session synchronizes the selected mailbox with
// the store before sending it (RFC 3501 7.4.1 rules in MailboxView).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "auth/authenticator.h"
#include "src/core/services.h"
#include "src/imap/acl.h"
#include "src/imap/imap_server.h"
#include "src/imap/mailbox_view.h"
#include "src/imap/proto/command.h"
#include "src/net/worker_pool.h"
#include "src/store/mail_store.h"

namespace mailroom::net {
class Transport;
}  // namespace mailroom::net

namespace mailroom::imap {

namespace asio = boost::asio;

enum class State : uint8_t { not_authenticated = 1, authenticated = 2, selected = 4, logout = 8 };

struct Reply {
  enum class Kind { ok, no, bad } kind = Kind::ok;
  std::string text;      // may start with "[CODE] "
  bool close = false;    // end the session after this reply (LOGOUT, failed STARTTLS)
  bool no_sync = false;  // skip the mailbox sync (IDLE already synced)
  bool sent = false;     // the tagged line was already sent by the handler (STARTTLS)
  static Reply ok(std::string t) { return {Kind::ok, std::move(t)}; }
  static Reply no(std::string t) { return {Kind::no, std::move(t)}; }
  static Reply bad(std::string t) { return {Kind::bad, std::move(t)}; }
};

class Selected;  // the store watch of the selected mailbox (session.cpp)
class Notifier;  // NOTIFY (notify.h)
struct IdleSignal;

class Session {
 public:
  // `views`: the shared mailbox views of the server's IMAP listeners (shared_mailbox.h).
  Session(core::Services& services, const Options& options, SharedMailboxes& views,
          net::Transport& connection);
  ~Session();
  asio::awaitable<void> run();

  // --- for command handlers ---
  core::Services& services;
  const Options& options;
  SharedMailboxes& views;
  net::Transport& conn;
  State state = State::not_authenticated;
  auth::Principal principal;
  std::optional<MailboxView> view;     // set in State::selected
  std::shared_ptr<SharedMailbox> box;  // the shared view `view` follows
  bool condstore = false;              // CONDSTORE enabled (RFC 7162 3.1): see enable_condstore
  bool qresync = false;                // QRESYNC enabled (RFC 7162 3.2)
  // UTF8=ACCEPT enabled (RFC 6855 3): mailbox names are UTF-8 both ways (not modified UTF-7),
  // SEARCH takes no CHARSET, APPEND takes UTF8 (~{n}).
  bool utf8_accept = false;
  // ENABLE IMAP4rev2 (RFC 9051 6.3.1): the session follows RFC 9051 where it differs from
  // RFC 3501 (no \Recent/RECENT, SEARCH answered with ESEARCH, UTF-8 mailbox names, LIST in
  // SELECT, CLOSED, no UNSEEN code, OLDNAME after RENAME); NOTES-rev2.md lists each difference.
  bool rev2 = false;
  // Mailbox names are UTF-8 on the wire (RFC 6855 3 after UTF8=ACCEPT; RFC 9051 5.1 in rev2).
  bool utf8_names() const { return utf8_accept || rev2; }
  // SEARCHRES (RFC 5182, RFC 9051 6.4.4.1): the UIDs saved by SEARCH RETURN (SAVE), what "$"
  // stands for; empty after SELECT/EXAMINE/CLOSE/UNSELECT and after a failed SAVE search.
  std::vector<uint32_t> saved_result;
  bool current_uid = false;  // the running command is a UID command
  // RFC 5267 4.3: SEARCH/SORT RETURN (UPDATE) results kept for ADDTO/REMOVEFROM updates
  // (commands/context.cpp), at most kMaxUpdateContexts, dropped with the selected mailbox.
  struct UpdateContext {
    proto::Command cmd;          // the prepared command, evaluated again after changes
    std::vector<uint32_t> uids;  // its result, in result order, when the view was at `at`
    std::tuple<uint32_t, uint32_t, uint64_t> at{};  // EXISTS, max UID, HIGHESTMODSEQ
  };
  static constexpr size_t kMaxUpdateContexts = 5;
  std::vector<UpdateContext> contexts;
  // The selected mailbox's owner when it is another account's (RFC 4314 shared folder,
  // src/imap/acl.h; empty for the user's own) and the user's rights there (acl::Right bits).
  std::string selected_owner;
  uint32_t selected_rights = 0x7ff;
  // The account whose store holds the selected mailbox.
  const std::string& box_account() const {
    return selected_owner.empty() ? principal.account_id : selected_owner;
  }
  // Whose \Seen the user sees in `t`: its own account id in another account's folder with
  // [imap] shared_seen = "per-user" (MailStore::reader_seen), else "" (the stored flags).
  std::string seen_reader(const acl::Target& t) const {
    return t.own || !options.shared_seen_per_user ? std::string() : principal.account_id;
  }
  // The selected mailbox was deleted and created again (or its index rebuilt) under this
  // session: BYE was queued and the session ends after the current reply.
  bool closing = false;

  auth::ClientInfo client_info() const;
  std::string capabilities() const;

  // Queues "* <line>\r\n".
  void untagged(std::string_view line);
  void untagged_lines(const std::vector<std::string>& lines);
  asio::awaitable<bool> flush();
  // flush(), then `tail` from the caller's buffer (net::Transport::flush_with).
  asio::awaitable<bool> flush_with(std::string_view tail);

  // Connection access without pulling Asio's SSL headers into every command file.
  void queue(std::string_view data);
  // Tags the connection with the authenticated account (closed if the directory disables it).
  void set_account(const std::string& account_id, const std::string& address,
                   const std::string& app_password_id);
  const std::string& session_id() const;
  bool can_start_tls() const;
  asio::awaitable<bool> start_tls();

  // Mailbox names on the wire (modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT) <-> store
  // names (UTF-8).
  core::Result<std::string> mailbox_from_wire(const std::string& wire) const;
  static std::string mailbox_to_wire(const std::string& utf8, bool utf8_accept = false);
  // A mailbox name as an IMAP string: quoted UTF-8 when `utf8_accept` allows it (RFC 6855 3),
  // else quoted modified UTF-7 (or a literal when it needs one).
  static std::string mailbox_string(const std::string& utf8, bool utf8_accept);
  // An IMAP reply for a store error ("[TRYCREATE] ..." etc.).
  static Reply store_error(const core::Status& status, bool trycreate = false);

  // The first CONDSTORE-enabling command (RFC 7162 3.1: ENABLE, SELECT/EXAMINE (CONDSTORE),
  // STATUS (HIGHESTMODSEQ), FETCH/SEARCH MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE) sets the flag;
  // with a mailbox selected it also queues OK [HIGHESTMODSEQ] (call before the command's data).
  void enable_condstore();

  // Starts watching `mailbox` for changes; SELECT does it before it reads the mailbox, so a
  // change landing in between makes the sync after the command ask the store, and a SELECT
  // that saw everything needs no second round trip.
  std::unique_ptr<Selected> watch(const std::string& mailbox);
  // A mailbox is selected, the store reported no change to it since the session last brought
  // its view up to date, and the shared view asked the store within the last second: its
  // shared version is the mailbox now.
  bool selected_is_current() const;
  // The selected mailbox's watch, taken over by a SELECT of the same mailbox (changes the
  // store reports meanwhile still reach it); unselect() then has none to drop.
  std::unique_ptr<Selected> take_watch() { return std::move(watch_); }
  // The selected mailbox's shared view, kept by such a SELECT (not released and acquired
  // again: a release may drop it from the registry, and a new one would have no version).
  std::shared_ptr<SharedMailbox> take_box() { return std::move(box); }
  // Sets the selected mailbox (State::selected) with the watch watch() started for it.
  void select(MailboxView view, std::shared_ptr<SharedMailbox> box,
              std::unique_ptr<Selected> watching);
  void unselect();
  // Brings the shared view up to date with the store and the session's view with it, queuing
  // the untagged responses.
  asio::awaitable<void> sync(bool allow_expunge);
  // Moves the session's view to `version` (from box->refresh() after a change the command made
  // itself) and queues the untagged responses; `announced`: UIDs whose new flags the command
  // reports itself (ascending). New messages are claimed \Recent (RFC 3501 2.3.2).
  asio::awaitable<void> adopt(std::shared_ptr<const Version> version, bool allow_expunge,
                              const std::vector<uint32_t>& announced = {});
  SyncOptions sync_options(bool allow_expunge) const;
  // IDLE hibernation (commands/idle.cpp, [imap] idle_hibernate): the selected view lets go of
  // the shared rows (MailboxView::hibernate) and the shared view drops them once no session is
  // on them; the next sync() wakes the view (a scan of the mailbox when the rows were dropped).
  // False when the view has something of its own to keep (expunges to announce, RFC 5267
  // update contexts).
  bool hibernate();

  // Resolves a sequence set to UIDs of the view. For sequence numbers an explicit number
  // above EXISTS is an error (the returned string, for a tagged BAD). "$" (set.saved) is the
  // saved search result's messages still present, for UID and sequence commands alike.
  std::optional<std::string> resolve_set(const proto::SequenceSet& set, bool uid,
                                         std::vector<uint32_t>& uids) const;

  // Reads one line from the client inside a command (AUTHENTICATE, IDLE).
  enum class LineStatus { ok, too_long, timeout, closed };
  asio::awaitable<LineStatus> read_client_line(std::string& line);

  // The IDLE wake-up (see commands/idle.cpp): waits until the store reports a change or `done`.
  std::shared_ptr<void> idle_signal();
  std::unique_ptr<Selected> watch_;
  // Woken by every change the session is told about: the selected mailbox's watch and
  // NOTIFY's (IDLE and the NOTIFY loop between commands wait on it). Made by run().
  std::shared_ptr<IdleSignal> wake_;
  // NOTIFY SET in effect (RFC 5465), null without one or after NOTIFY NONE.
  std::unique_ptr<Notifier> notifier;
  asio::any_io_executor executor() const { return executor_; }

 private:
  asio::awaitable<bool> execute(const proto::Command& cmd);
  // After adopt/wake: \Recent claims for `added` new messages above `before_max`, then the
  // untagged responses in `out`, then RFC 5267 updates.
  asio::awaitable<void> announce_new(uint32_t added, uint32_t before_max,
                                     std::vector<std::string>& out);
  asio::any_io_executor executor_;
  int bad_commands_ = 0;
};

// A command handler; the table in command_table.cpp lists which states allow it.
using Handler = asio::awaitable<Reply> (*)(Session&, const proto::Command&);
struct CommandSpec {
  const char* name;
  uint8_t states;  // State bits
  Handler handler;
};
const CommandSpec* find_command(const std::string& name);

// Handlers, one file each under commands/.
asio::awaitable<Reply> cmd_capability(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_noop(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_logout(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_id(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_enable(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_starttls(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_login(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_authenticate(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_unauthenticate(Session&, const proto::Command&);  // RFC 8437
asio::awaitable<Reply> cmd_select(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_create(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_delete(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_rename(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_subscribe(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_list(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_namespace(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_status(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_append(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_check(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_close(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_expunge(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_search(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_fetch(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_store(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_copy(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_idle(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_quota(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_replace(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_compress(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_getmetadata(Session&, const proto::Command&);  // RFC 5464
asio::awaitable<Reply> cmd_setmetadata(Session&, const proto::Command&);
asio::awaitable<Reply> cmd_notify(Session&, const proto::Command&);  // RFC 5465
// RFC 5464 3.3 (commands/metadata.cpp): whether the user may read (or write) the /shared (or
// /private) annotations of `target` (nullptr = the server) with the rights it has there: the
// one place for ACL rights of METADATA.
bool metadata_allowed(const acl::Target* target, bool shared, bool write);
// RFC 9590: the "METADATA ..." line of each of `mailboxes` for LIST RETURN (METADATA) ("" for
// none), and the largest value left out by MAXSIZE (0 = none).
struct MetadataLines {
  std::vector<std::string> lines;
  uint64_t longest = 0;
};
asio::awaitable<MetadataLines> list_metadata(Session& s, const proto::Command& cmd,
                                             const std::vector<std::string>& mailboxes);

// RFC 4314 (commands/acl.cpp): where a mailbox name (UTF-8) of the session points: the user's
// own mailbox at once, a name in the shared namespaces resolved on the worker pool with the
// user's current rights (not_found for one the user may not know about); and the NO for a
// target that lacks `needed` (acl::Right bits), nullopt when it has them all.
asio::awaitable<core::Result<acl::Target>> resolve_target(Session& s, const std::string& name);
std::optional<Reply> missing_rights(const acl::Target& t, uint32_t needed);
asio::awaitable<Reply> cmd_acl(Session&, const proto::Command&);

// APPEND's pieces, shared with REPLACE (RFC 8508): the store request of one message, the
// batch appended with the account's quota (worker pool), APPENDUID's response code.
store::AppendRequest append_request(const std::string& mailbox, const proto::AppendMessage& m);
// `account`: whose store and quota ("" = the user's; another for a shared folder).
asio::awaitable<core::Result<std::vector<store::AppendResult>>> append_batch(
    Session& s, store::AppendBatch& batch, const std::string& account = {});
std::string append_uid_code(const std::vector<store::AppendResult>& appended);
// CATENATE (RFC 4469): builds the messages of cmd.appends that have CATENATE parts into
// `built` (same index; "" for the others), or answers NO [BADURL ...] / NO [TOOBIG].
asio::awaitable<std::optional<Reply>> catenate_messages(Session& s, const proto::Command& cmd,
                                                        std::vector<std::string>& built);

// RFC 5267 4 (commands/context.cpp, search.cpp): " PARTIAL (lo:hi set)" of the result `ids`
// (a set in the order given when `ordered`, for SORT); the UIDs a prepared SEARCH/SORT matches
// now, in result order; keeping a SEARCH/SORT RETURN (UPDATE) result as an update context
// (or "* NO [NOUPDATE tag]"); sending ADDTO/REMOVEFROM for every context after a change.
std::string partial_data(std::pair<uint32_t, uint32_t> range, const std::vector<uint32_t>& ids,
                         bool ordered);
asio::awaitable<std::vector<uint32_t>> result_uids(Session& s, const proto::Command& c);
void keep_context(Session& s, const proto::Command& c, std::vector<uint32_t> uids);
asio::awaitable<void> update_contexts(Session& s);
asio::awaitable<Reply> cmd_cancelupdate(Session&, const proto::Command&);

// RFC 9051 6.3.2 (commands/list.cpp): the "LIST (attributes) "/" name" line a rev2 SELECT or
// EXAMINE of `name` (UTF-8, as the session shows it) answers.
asio::awaitable<std::string> select_list_line(Session& s, const std::string& name);
// STATUS data "(MESSAGES 2 UIDNEXT 3)" for LIST-STATUS and STATUS.
asio::awaitable<core::Result<std::string>> status_data(Session& s, const std::string& mailbox,
                                                       const std::vector<std::string>& items);
// The same data from a MailboxInfo already read (RECENT left out), for NOTIFY (notify.cpp).
std::string status_text(const std::vector<std::string>& items, const store::MailboxInfo& info);
// INTERNALDATE text "17-Jul-1996 02:44:25 -0700".
std::string format_internal_date(int64_t when, int32_t tz_minutes);

}  // namespace mailroom::imap
