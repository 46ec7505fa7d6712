#include "src/imap/session.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/address.h"
#include "src/core/log.h"
#include "src/imap/idle_signal.h"
#include "src/imap/notify.h"
#include "src/imap/proto/command_reader.h"
#include "src/imap/proto/lexer.h"
#include "src/imap/proto/utf7.h"
#include "src/mime/structure.h"
#include "src/net/transport.h"

namespace mailroom::imap {

Session::Session(core::Services& s, const Options& o, SharedMailboxes& v, net::Transport& c)
    : services(s), options(o), views(v), conn(c) {}

Session::~Session() {
  notifier.reset();
  unselect();
}

auth::ClientInfo Session::client_info() const {
  auth::ClientInfo ci;
  ci.session_id = conn.info().session_id;
  ci.protocol = "imap";
  ci.remote_ip = conn.info().remote_ip;
  ci.tls = conn.is_tls();
  ci.loopback = conn.info().loopback;
  return ci;
}

void Session::queue(std::string_view data) { conn.queue(data); }
void Session::set_account(const std::string& account_id, const std::string& address,
                          const std::string& app_password_id) {
  conn.set_account(account_id, address, app_password_id);
}
const std::string& Session::session_id() const { return conn.info().session_id; }
bool Session::can_start_tls() const { return conn.can_start_tls(); }
asio::awaitable<bool> Session::start_tls() {
  bool ok = co_await conn.start_tls();
  co_return ok;
}

void Session::untagged(std::string_view line) {
  conn.queue("* ");
  conn.queue(line);
  conn.queue("\r\n");
}

void Session::untagged_lines(const std::vector<std::string>& lines) {
  for (const auto& l : lines) untagged(l);
}

asio::awaitable<bool> Session::flush() {
  bool ok = co_await conn.flush();
  co_return ok;
}

asio::awaitable<bool> Session::flush_with(std::string_view tail) {
  bool ok = co_await conn.flush_with(tail);
  co_return ok;
}

core::Result<std::string> Session::mailbox_from_wire(const std::string& wire) const {
  for (char c : wire) {
    if (c == '\0') return core::invalid_argument("Mailbox name contains NUL");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return core::invalid_argument("Mailbox name contains a control character");
  }
  std::string name;
  if (utf8_names()) {  // RFC 6855 3, RFC 9051 5.1: UTF-8 as it is, "&" included
    if (!proto::valid_utf8(wire)) return core::invalid_argument("Mailbox name is not valid UTF-8");
    name = wire;
  } else {
    auto utf8 = proto::mutf7_to_utf8(wire);
    if (!utf8) return core::invalid_argument("Mailbox name is not valid modified UTF-7");
    name = *utf8;
  }
  // RFC 3501 5.1: INBOX is case-insensitive, also as the first level of a hierarchy.
  if (core::iequals(name.substr(0, 5), "INBOX") && (name.size() == 5 || name[5] == '/'))
    name.replace(0, 5, "INBOX");
  if (name.empty()) return core::invalid_argument("Empty mailbox name");
  for (size_t i = 0, start = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      std::string_view part(name.data() + start, i - start);
      if (part == "." || part == "..")
        return core::invalid_argument("Mailbox name contains \".\" or \"..\"");
      if (part.empty() && i != name.size())
        return core::invalid_argument("Mailbox name has an empty hierarchy level");
      start = i + 1;
    }
  }
  return name;
}

std::string Session::mailbox_to_wire(const std::string& utf8, bool utf8_accept) {
  if (utf8_accept) return utf8;
  auto m = proto::utf8_to_mutf7(utf8);
  return m ? *m : utf8;
}

std::string Session::mailbox_string(const std::string& utf8, bool utf8_accept) {
  std::string wire = mailbox_to_wire(utf8, utf8_accept);
  bool quotable = utf8_accept && wire.size() < 1024 && proto::valid_utf8(wire) &&
                  std::none_of(wire.begin(), wire.end(),
                               [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
  if (!quotable) return mime::imap_string(wire);
  std::string out = "\"";
  for (char c : wire) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Reply Session::store_error(const core::Status& st, bool trycreate) {
  switch (st.code()) {
    case core::Code::not_found:
      return Reply::no((trycreate ? "[TRYCREATE] " : "[NONEXISTENT] ") + st.client_message());
    case core::Code::already_exists:
      return Reply::no("[ALREADYEXISTS] " + st.client_message());
    case core::Code::invalid_argument:
      return Reply::no("[CANNOT] " + st.client_message());
    case core::Code::over_quota:
    case core::Code::too_large:
      return Reply::no("[OVERQUOTA] " + st.client_message());
    case core::Code::permission_denied:
      return Reply::no("[NOPERM] " + st.client_message());
    case core::Code::unavailable:
    case core::Code::busy:
      return Reply::no("[UNAVAILABLE] " + st.client_message());
    case core::Code::io_error:
      // A disk that is full or failing is not a bug of ours (RFC 5530 SERVERBUG); the client
      // may try again, as POP3's [SYS/TEMP] and SMTP's 451 tell theirs.
      MR_LOG_ERROR("event=imap_store_error detail={}", core::quote(st.to_string()));
      return Reply::no("[UNAVAILABLE] Temporary failure of the mail store, try again later");
    default:
      MR_LOG_ERROR("event=imap_store_error detail={}", core::quote(st.to_string()));
      return Reply::no("[SERVERBUG] Internal error, see the server log");
  }
}

void Session::enable_condstore() {
  if (condstore) return;
  condstore = true;
  // RFC 7162 3.1: a client that enables CONDSTORE with a mailbox selected learns the
  // HIGHESTMODSEQ its later MODSEQ data continues from.
  if (state == State::selected && view)
    untagged("OK [HIGHESTMODSEQ " + std::to_string(view->highest_modseq()) + "] Highest");
}

SyncOptions Session::sync_options(bool allow_expunge) const {
  SyncOptions o;
  o.allow_expunge = allow_expunge;
  // RFC 7162 3.1: once CONDSTORE is enabled every untagged FETCH carries UID and MODSEQ (QRESYNC
  // implies CONDSTORE).
  o.with_uid = current_uid || condstore;
  o.with_modseq = condstore;
  o.qresync = qresync;
  return o;
}

std::unique_ptr<Selected> Session::watch(const std::string& mailbox) {
  auto sig = std::make_shared<IdleSignal>(executor_);
  sig->changed = false;  // the SELECT that asked for the watch reads the mailbox after this
  std::weak_ptr<IdleSignal> weak = sig;
  std::weak_ptr<IdleSignal> wake = wake_;
  auto ex = executor_;
  auto handle =
      services.store->watch(box_account(), mailbox, [weak, wake, ex](const store::ChangeEvent&) {
        // Runs on any thread: only post to the session's executor
        // (MailStore contract).
        asio::post(ex, [weak, wake] {
          if (auto s = weak.lock()) s->notify();
          if (auto w = wake.lock()) w->notify();
        });
      });
  return std::make_unique<Selected>(Selected{std::move(sig), std::move(handle)});
}

bool Session::selected_is_current() const {
  // Within a second of a refresh: changes made by another process reach the watch through
  // notice files (250 ms), and a lost notice must not keep STATUS or SELECT stale for long.
  return state == State::selected && view && box && watch_ && !watch_->signal->changed &&
         box->refreshed_within(std::chrono::seconds(1));
}

void Session::select(MailboxView v, std::shared_ptr<SharedMailbox> b,
                     std::unique_ptr<Selected> watching) {
  view = std::move(v);
  box = std::move(b);
  contexts.clear();      // RFC 5267 4.3: update contexts end with the mailbox they searched
  saved_result.clear();  // RFC 5182 2.1: "$" is empty in a newly selected mailbox
  state = State::selected;
  watch_ = std::move(watching);
}

void Session::unselect() {
  contexts.clear();
  saved_result.clear();
  watch_.reset();
  view.reset();
  if (box) views.release(std::move(box));
  box.reset();
  if (state == State::selected) state = State::authenticated;
  selected_owner.clear();
  selected_rights = 0x7ff;
}

namespace {
// Freed rows lie between live blocks of the heap: without a trim glibc keeps their pages (as
// FileStore's idle close says). One trim a second after the first release of a burst, on a
// worker (it walks every arena), covers every release before it.
void trim_heap_soon(net::WorkerPool& workers) {
  static std::atomic<bool> scheduled{false};
  if (scheduled.exchange(true)) return;
  auto timer = std::make_shared<asio::steady_timer>(workers.executor(), std::chrono::seconds(1));
  timer->async_wait([timer](const boost::system::error_code&) {
    scheduled = false;  // a release from now on asks for the next trim
    ::malloc_trim(0);
  });
}
}  // namespace

std::shared_ptr<void> Session::idle_signal() {
  return watch_ ? std::static_pointer_cast<void>(watch_->signal) : nullptr;
}

bool Session::hibernate() {
  // Update contexts (RFC 5267) and expunges not yet announced need the rows.
  if (state != State::selected || !view || !box || !contexts.empty() || !view->can_hibernate())
    return false;
  view->hibernate();
  bool released = box->release_rows();
  if (released) {
    // Nobody on this mailbox needs the account's index either until the next change: the
    // store may close it now instead of after [store] idle_close.
    asio::post(services.workers->executor(),
               [store = services.store, account = box_account()] { store->release_idle(account); });
    trim_heap_soon(*services.workers);
  }
  MR_LOG_DEBUG("event=imap_idle_hibernated session={} rows_released={}", conn.info().session_id,
               released);
  return true;
}

asio::awaitable<void> Session::sync(bool allow_expunge) {
  if (state != State::selected || !view || !box) co_return;
  // Nothing to report unless the store signalled a change (the watch posts to this strand
  // before the changing command's reply leaves, so a client that saw another session's
  // change and then sends a command is told about it) or expunges wait to be announced. A
  // hibernated view always wakes: the next command needs its rows.
  if (watch_ && !watch_->signal->changed && !view->hibernated() &&
      (!view->has_pending_expunges() || !allow_expunge))
    co_return;
  if (watch_) watch_->signal->changed = false;
  // Sessions woken by the same change share the work: the first one's refresh builds the new
  // version, the others find it built.
  auto fn1 = [b = box, this] { return b->refresh(*services.store); };
  auto version = co_await net::blocking(*services.workers, fn1);
  if (!version.is_ok() && view->hibernated()) {
    // A hibernated view has no rows to answer the next command with.
    MR_LOG_WARN("event=imap_wake_failed session={} detail={}", conn.info().session_id,
                core::quote(version.status().to_string()));
    untagged("BYE [UNAVAILABLE] Temporary failure of the mail store, please reconnect");
    closing = true;
    co_return;
  }
  if (!version.is_ok()) {
    if (watch_) watch_->signal->changed = true;  // ask again after the next command
    MR_LOG_WARN("event=imap_sync_failed session={} detail={}", conn.info().session_id,
                core::quote(version.status().to_string()));
    co_return;
  }
  if ((*version)->uid_validity != view->uid_validity() || (*version)->lineage != view->lineage()) {
    // Deleted and created again under the same name, or its index rebuilt: the UIDs and
    // sequence numbers this client holds mean nothing there, and a STORE or EXPUNGE by UID
    // would reach other messages. Dovecot ends the session too.
    MR_LOG_WARN("event=imap_selected_mailbox_replaced session={}", conn.info().session_id);
    untagged("BYE Selected mailbox was deleted and created again, please reconnect");
    closing = true;
    co_return;
  }
  co_await adopt(std::move(*version), allow_expunge);
}

asio::awaitable<void> Session::adopt(std::shared_ptr<const Version> version, bool allow_expunge,
                                     const std::vector<uint32_t>& announced) {
  if (!view || closing || version->lineage != view->lineage()) co_return;
  if (view->hibernated()) {
    std::vector<std::string> out;
    uint32_t before_max = view->uid_next() - 1;  // \Recent: above what it had seen
    uint32_t added = view->wake(std::move(version), sync_options(allow_expunge), out);
    co_await announce_new(added, before_max, out);
    co_return;
  }
  uint32_t before_max = view->max_uid();
  std::vector<std::string> out;
  uint32_t added = view->adopt(std::move(version), sync_options(allow_expunge), out, announced);
  co_await announce_new(added, before_max, out);
}

asio::awaitable<void> Session::announce_new(uint32_t added, uint32_t before_max,
                                            std::vector<std::string>& out) {
  // RFC 9051 (Appendix E): no \Recent flag and no RECENT response; a rev2 session claims
  // nothing, so rev1 sessions of the same user still see the new mail as \Recent.
  if (added && !rev2) {
    // RFC 3501 2.3.2: new mail is \Recent in the session that is told first. A read-only
    // (EXAMINE) session shows it as \Recent too but must not take it from the others
    // (6.3.2): it peeks where SELECT claims.
    std::string account = box_account();
    std::string name = view->name;
    uint32_t uid_validity = view->uid_validity();
    uint32_t max_uid = view->max_uid();
    bool read_only = view->read_only;
    auto track = [&account, &name, uid_validity, max_uid, read_only] {
      auto& tracker = RecentTracker::instance();
      return read_only ? tracker.peek(account, name, uid_validity)
                       : tracker.claim(account, name, uid_validity, max_uid);
    };
    uint32_t prev = co_await net::blocking(*services.workers, track);
    if (view) view->add_recent(std::max(before_max, prev) + 1, max_uid);
    out.push_back(std::to_string(view ? view->recent_count() : 0) + " RECENT");
  }
  untagged_lines(out);
  co_await update_contexts(*this);  // RFC 5267 4.3: ADDTO/REMOVEFROM with the changes
}

std::optional<std::string> Session::resolve_set(const proto::SequenceSet& set, bool uid,
                                                std::vector<uint32_t>& uids) const {
  uids.clear();
  if (!view) return std::string("No mailbox selected");
  if (set.saved) {  // RFC 5182 2.1: expunged messages simply drop out of "$"
    for (uint32_t u : saved_result) {
      if (view->by_uid(u)) uids.push_back(u);
    }
    return std::nullopt;
  }
  if (uid) {
    // RFC 3501 6.4.8: "*" is the largest UID in use; non-existent UIDs are ignored.
    uint32_t max = view->max_uid();
    for (const MessageRow& m : view->rows()) {
      if (set.contains(m.uid, max)) uids.push_back(m.uid);
    }
    return std::nullopt;
  }
  uint32_t exists = view->exists();
  if (set.largest_explicit() > exists)
    return std::string("Invalid message sequence number (EXISTS is ") + std::to_string(exists) +
           ")";
  if (exists == 0) return std::string("Invalid message sequence number: the mailbox is empty");
  for (uint32_t seq : set.expand(exists)) uids.push_back(view->at(seq).uid);
  return std::nullopt;
}

asio::awaitable<Session::LineStatus> Session::read_client_line(std::string& line) {
  net::ReadStatus st = co_await conn.read_line(line, options.max_line);
  switch (st) {
    case net::ReadStatus::ok:
      co_return LineStatus::ok;
    case net::ReadStatus::too_long:
      co_return LineStatus::too_long;
    case net::ReadStatus::timeout:
      co_return LineStatus::timeout;
    default:
      co_return LineStatus::closed;
  }
}

namespace {

std::string tag_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() &&
         ((proto::Lexer::is_atom_char(line[i]) || line[i] == ']') && line[i] != '+'))
    ++i;
  if (i == 0 || i >= line.size() || line[i] != ' ') return "*";
  return std::string(line.substr(0, i));
}

// The client's next command line. With NOTIFY set (RFC 5465 5) the changes it asked for are
// sent meanwhile, by a loop on the same strand that stops before the command runs.
asio::awaitable<net::ReadStatus> read_command_line(Session& s, std::string& line) {
  if (!s.notifier) co_return co_await s.conn.read_command(line, s.options.max_line);
  auto st = std::make_shared<NotifyLoop>();
  auto finished = std::make_shared<asio::steady_timer>(s.executor());
  finished->expires_at(asio::steady_timer::time_point::max());
  // A loop that ends the session by itself (it sent BYE: the selected mailbox was replaced,
  // the store failed; or a write failed) ends the wait for the client's line too, so the
  // connection closes now rather than at the client's next line. (A loop that ends because
  // NOTIFY did, [NOTIFICATIONOVERFLOW], leaves the session waiting as without NOTIFY.)
  net::Transport* conn = &s.conn;
  auto ended = [finished, st, conn] {
    finished->cancel();
    if (st->write_failed && !st->stop) conn->interrupt_command_wait();
  };
  asio::co_spawn(s.executor(), notify_loop(s, st, ended), asio::detached);
  net::ReadStatus rs = co_await s.conn.read_command(line, s.options.max_line);
  st->stop = true;
  s.wake_->timer.cancel();
  while (!st->finished) {
    boost::system::error_code ec;
    co_await finished->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // The loop's BYE (or a failed write) ends the session: no second BYE, no command run.
  if (st->write_failed) rs = net::ReadStatus::eof;
  co_return rs;
}

bool allows_expunge(const proto::Command& cmd) {
  // RFC 3501 7.4.1: no EXPUNGE during FETCH, STORE, SEARCH (and SORT/THREAD, RFC 5256)
  // unless they are UID commands.
  if (cmd.uid) return true;
  return cmd.name != "FETCH" && cmd.name != "STORE" && cmd.name != "SEARCH" && cmd.name != "SORT" &&
         cmd.name != "THREAD";
}

}  // namespace

asio::awaitable<bool> Session::execute(const proto::Command& cmd) {
  const CommandSpec* spec = find_command(cmd.name);
  Reply reply;
  if (!spec) {
    reply = Reply::bad("Unknown command");
  } else if (!(spec->states & static_cast<uint8_t>(state))) {
    if (state == State::not_authenticated)
      reply = Reply::bad("Command requires authentication");
    else if (state == State::authenticated &&
             (spec->states & static_cast<uint8_t>(State::selected)))
      reply = Reply::bad("No mailbox selected");
    else
      reply = Reply::bad("Command not allowed in this state");
  } else {
    current_uid = cmd.uid;
    bool failed = false;
    try {
      reply = co_await spec->handler(*this, cmd);
    } catch (const std::exception& e) {
      MR_LOG_ERROR("event=imap_command_exception session={} command={} what={}",
                   conn.info().session_id, cmd.name, core::quote(e.what()));
      failed = true;
    }
    if (failed) reply = Reply::no("[SERVERBUG] Internal error, see the server log");
    if (state == State::selected && !reply.no_sync) {
      bool allow = allows_expunge(cmd);
      co_await sync(allow);
      co_await update_contexts(*this);  // changes made without a sync (EXPUNGE's own)
    }
    if (notifier && state != State::logout && !closing) {
      if (cmd.name == "SELECT" || cmd.name == "EXAMINE") notifier->fetched_box.clear();
      co_await notify_drain(*this, false);  // RFC 5465: STATUS / LIST of the other mailboxes
    }
    current_uid = false;
  }
  if (reply.kind == Reply::Kind::bad) ++bad_commands_;
  const char* word = reply.kind == Reply::Kind::ok   ? "OK"
                     : reply.kind == Reply::Kind::no ? "NO"
                                                     : "BAD";
  std::string line = cmd.tag + " " + word + " " + reply.text + "\r\n";
  if (!reply.sent) conn.queue(line);
  if (closing) {  // BYE queued by sync()
    co_await flush();
    co_return false;
  }
  if (bad_commands_ >= options.max_bad_commands) {
    untagged("BYE Too many invalid commands");
    co_await flush();
    co_return false;
  }
  bool ok = co_await flush();
  co_return ok && !reply.close;
}

asio::awaitable<void> Session::run() {
  executor_ = co_await asio::this_coro::executor;
  wake_ = std::make_shared<IdleSignal>(executor_);
  conn.set_idle_timeout(std::chrono::seconds(options.login_timeout_seconds));
  std::string greeting = "* OK [CAPABILITY " + capabilities() + "] " + services.hostname +
                         " Mailroom IMAP4rev1 ready\r\n";
  conn.queue(greeting);
  if (!co_await flush()) co_return;

  proto::ReaderLimits limits;
  limits.max_literal = options.max_literal;
  limits.max_command = options.max_literal + 16 * options.max_line;
  // Before authentication small literals and commands only: 16 connections that announced
  // 64 MiB literals held 1.2 GB (issue 13 item 3). Larger ones are refused unread below.
  proto::ReaderLimits login_limits;
  login_limits.max_literal = options.login_max_literal;
  login_limits.max_command = options.login_max_command;
  std::string line;
  while (state != State::logout) {
    proto::CommandReader reader(state == State::not_authenticated ? login_limits : limits);
    std::optional<std::string> command;
    std::string first_line;
    bool first = true;
    bool keep_going = true;
    for (;;) {
      net::ReadStatus st;
      if (first) {
        st = co_await read_command_line(*this, line);
      } else {
        st = co_await conn.read_line(line, options.max_line);
      }
      if (st == net::ReadStatus::timeout) {
        untagged("BYE Autologout; idle for too long");
        co_await flush();
        co_return;
      }
      if (st == net::ReadStatus::shutdown) {
        untagged("BYE Server shutting down");
        co_await flush();
        co_return;
      }
      if (st == net::ReadStatus::too_long) {
        std::string tag = first ? std::string("*") : tag_of(first_line);
        std::string msg = tag + " BAD Command line too long\r\n";
        conn.queue(msg);
        ++bad_commands_;
        break;
      }
      if (st != net::ReadStatus::ok) co_return;
      if (first) first_line = line;
      first = false;
      auto step = reader.add_line(line);
      if (step.next == proto::CommandReader::Next::complete) {
        command = reader.take();
        break;
      }
      if (step.next == proto::CommandReader::Next::error) {
        if (step.literal_size > 0 && !step.synchronizing) {
          // RFC 7888 4: the client is already sending the bytes of a non-synchronizing literal;
          // we will not read them and cannot find the next command after them: [TOOBIG]
          // (RFC 4469) and close.
          untagged("BYE [TOOBIG] Literal too large");
          co_await flush();
          co_return;
        }
        // A synchronizing literal was not accepted (no "+"), so the client sends no bytes.
        std::string msg = tag_of(first_line) + " BAD [TOOBIG] " + step.error + "\r\n";
        conn.queue(msg);
        ++bad_commands_;
        break;
      }
      if (step.synchronizing) {
        conn.queue("+ Ready for literal data\r\n");
        if (!co_await flush()) co_return;
      }
      std::string data;
      st = co_await conn.read_exact(data, static_cast<std::size_t>(step.literal_size));
      if (st != net::ReadStatus::ok) co_return;
      reader.add_literal(data);
    }
    if (command) {
      auto parsed = proto::parse_command(*command);
      command.reset();
      if (!parsed.ok()) {
        std::string tag = parsed.error.tag.empty() ? std::string("*") : parsed.error.tag;
        if (parsed.error.failed_save) saved_result.clear();  // RFC 5182 2.1
        std::string msg = tag + " BAD " + parsed.error.message + "\r\n";
        conn.queue(msg);
        ++bad_commands_;
      } else {
        keep_going = co_await execute(*parsed.command);
        if (!keep_going) co_return;
        if (state != State::not_authenticated)
          conn.set_idle_timeout(std::chrono::seconds(options.autologout_seconds));
        continue;
      }
    }
    if (bad_commands_ >= options.max_bad_commands) {
      untagged("BYE Too many invalid commands");
      co_await flush();
      co_return;
    }
    if (!co_await flush()) co_return;
  }
}

}  // namespace mailroom::imap
