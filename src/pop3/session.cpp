#include "src/pop3/session.h"

#include <array>
#include <utility>

#include "src/core/log.h"
#include "src/net/worker_pool.h"

namespace mailroom::pop3 {

using proto::RespCode;

std::shared_ptr<MaildropLocks> process_maildrop_locks() {
  static auto locks = std::make_shared<MaildropLocks>();
  return locks;
}

// The command table (STYLE.md example 8): the states a command is valid in and its argument
// counts, so handlers only deal with their own logic. APOP is deliberately absent (pop3.h).
struct CommandTable {
  using Handler = Awaitable (Session::*)(const proto::Command&);
  struct Entry {
    const char* verb;
    Handler handler;
    bool in_authorization;
    bool in_transaction;
    std::size_t min_args;
    std::size_t max_args;
  };
  static const Entry* find(const std::string& verb) {
    static const std::array<Entry, 14> kEntries = {{
        {"USER", &Session::cmd_user, true, false, 1, 1},  // RFC 1939 section 7
        {"PASS", &Session::cmd_pass, true, false, 1, 1},  // RFC 1939 section 7
        {"AUTH", &Session::cmd_auth, true, false, 0, 2},  // RFC 5034 section 4
        {"STLS", &Session::cmd_stls, true, false, 0, 0},  // RFC 2595 section 4
        {"CAPA", &Session::cmd_capa, true, true, 0, 0},   // RFC 2449 section 5
        {"QUIT", &Session::cmd_quit, true, true, 0, 0},   // RFC 1939 sections 5, 6
        {"STAT", &Session::cmd_stat, false, true, 0, 0},  // RFC 1939 section 5
        {"LIST", &Session::cmd_list, false, true, 0, 1},
        {"RETR", &Session::cmd_retr, false, true, 1, 1},
        {"DELE", &Session::cmd_dele, false, true, 1, 1},
        {"NOOP", &Session::cmd_noop, false, true, 0, 0},
        {"RSET", &Session::cmd_rset, false, true, 0, 0},
        {"TOP", &Session::cmd_top, false, true, 2, 2},    // RFC 1939 section 7
        {"UIDL", &Session::cmd_uidl, false, true, 0, 1},  // RFC 1939 section 7
    }};
    for (const Entry& e : kEntries) {
      if (verb == e.verb) return &e;
    }
    return nullptr;
  }
};

Session::Session(net::Transport& transport, core::Services& services, const Options& options,
                 std::shared_ptr<MaildropLocks> locks)
    : transport_(transport),
      services_(services),
      options_(options),
      locks_(std::move(locks)),
      read_ahead_(*services.store, *services.workers, ReadAhead::Limits{}) {}

auth::ClientInfo Session::client_info() const {
  const net::ConnectionInfo& info = transport_.info();
  auth::ClientInfo ci;
  ci.session_id = info.session_id;
  ci.protocol = "pop3";
  ci.remote_ip = info.remote_ip;
  ci.tls = transport_.is_tls();
  ci.loopback = info.loopback;
  return ci;
}

void Session::client_error(std::string_view text, RespCode code) {
  ++errors_;
  if (errors_ >= options_.max_errors) {
    // The last answer says why the connection ends (one reply per command, even here).
    std::string last(text);
    last += "; too many errors, closing connection";
    send(proto::err(last, code));
    close_ = true;
    MR_LOG_INFO("event=pop3_error_limit session={} errors={}", transport_.info().session_id,
                errors_);
    return;
  }
  send(proto::err(text, code));
}

void Session::store_error(const char* what, const core::Status& status) {
  if (status.code() == core::Code::not_found) {
    // Taken out since the session listed it (another session's expunge, a mail recall): an
    // answer about this message, not a failure of the server (no [SYS/PERM], RFC 2449 8.1).
    MR_LOG_INFO("event=pop3_message_gone session={} op={}", transport_.info().session_id, what);
    send(proto::err("No such message: it was removed from the mailbox"));
    return;
  }
  bool temporary = status.code() == core::Code::unavailable ||
                   status.code() == core::Code::io_error || status.code() == core::Code::busy;
  MR_LOG_WARN("event=pop3_store_error session={} op={} status={}", transport_.info().session_id,
              what, core::quote(status.to_string()));
  send(proto::err(
      temporary ? "Temporary failure of the mail store, try again later" : "Mail store error",
      temporary ? RespCode::sys_temp : RespCode::sys_perm));
}

Awaitable Session::run() {
  const std::string& sid = transport_.info().session_id;
  MR_LOG_INFO("event=pop3_connect session={} remote={} tls={}", sid, transport_.info().remote_ip,
              transport_.is_tls());
  // RFC 1939 section 4 greeting. No APOP timestamp: APOP is not offered (pop3.h).
  send(proto::ok(services_.hostname.empty() ? "Mailroom POP3 server ready"
                                            : services_.hostname + " POP3 server ready"));
  std::string line;
  const char* end_reason = "quit";
  while (true) {
    // RFC 2449 section 6.6 PIPELINING: answer everything already received, then flush.
    // (Each co_await is its own statement: GCC 12 miscompiles co_await inside && and ||.)
    if (transport_.buffered() == 0) {
      bool flushed = co_await transport_.flush();
      if (!flushed) {
        end_reason = "write_error";
        break;
      }
    }
    net::ReadStatus rs = co_await transport_.read_command(line, proto::kMaxCommandLine);
    if (rs == net::ReadStatus::eof || rs == net::ReadStatus::error) {
      end_reason = rs == net::ReadStatus::eof ? "eof" : "network_error";
      break;
    }
    if (rs == net::ReadStatus::timeout) {
      // RFC 1939 section 3 autologout: no UPDATE state, nothing is deleted.
      send(proto::err("Autologout; idle for too long"));
      end_reason = "timeout";
      break;
    }
    if (rs == net::ReadStatus::shutdown) {
      send(proto::err("Server shutting down, try again later", RespCode::sys_temp));
      end_reason = "shutdown";
      break;
    }
    if (rs == net::ReadStatus::too_long) {
      client_error("Command line too long (RFC 2449: 255 octets)");
    } else {
      core::Result<proto::Command> cmd = proto::parse_command(line);
      const CommandTable::Entry* entry = cmd ? CommandTable::find(cmd->verb) : nullptr;
      if (!cmd) {
        client_error(cmd.status().client_message());
      } else if (!entry) {
        client_error(cmd->verb == "APOP" ? "APOP not supported" : "Unknown command");
      } else if (state_ == State::authorization ? !entry->in_authorization
                                                : !entry->in_transaction) {
        client_error(state_ == State::authorization ? "Not allowed before authentication"
                                                    : "Not allowed after authentication");
      } else if (cmd->args.size() < entry->min_args) {
        client_error("Missing argument");
      } else if (cmd->args.size() > entry->max_args) {
        client_error("Too many arguments");
      } else {
        co_await (this->*(entry->handler))(*cmd);
      }
    }
    if (close_) {
      end_reason = state_ == State::update ? "quit" : "closed";
      break;
    }
  }
  // However the session ended (drop, timeout, shutdown), its retrieval marks become durable
  // and the journal is retired (mark_batch.h); after QUIT there is nothing left to do.
  co_await sync_marks(true);
  // Release the maildrop before the last answer goes out: a client that reconnects right
  // after "+OK Bye" must not be told [IN-USE].
  lock_.reset();
  co_await transport_.flush();
  MR_LOG_INFO("event=pop3_disconnect session={} reason={} state={} account={}", sid, end_reason,
              state_ == State::authorization ? "authorization"
              : state_ == State::transaction ? "transaction"
                                             : "update",
              principal_.account_id.empty() ? "-" : principal_.account_id);
}

Awaitable Session::open_maildrop(const auth::Principal& principal) {
  const std::string& sid = transport_.info().session_id;
  // RFC 1939 section 8 exclusive access; RFC 2449 section 8.1.1 [IN-USE].
  lock_ = locks_->try_lock(principal.account_id);
  if (!lock_) {
    MR_LOG_INFO("event=pop3_in_use session={} account={}", sid, principal.account_id);
    send(proto::err("Mailbox is locked by another POP3 session", RespCode::in_use));
    co_return;
  }
  store::MailStore& store = *services_.store;
  const std::string& id = principal.account_id;
  const std::string& ip = transport_.info().remote_ip;
  struct Opened {
    core::Result<store::Snapshot> snapshot = core::Status();
    core::Result<std::unique_ptr<store::RetrievalJournal>> journal = core::Status();
  };
  auto open = [&store, &id, &ip] {
    Opened o;
    o.snapshot = store.snapshot(id, "INBOX");
    // No INBOX yet: nothing can be retrieved, so no journal either.
    if (o.snapshot) o.journal = store.open_retrieval_journal(id, "INBOX", ip);
    return o;
  };
  Opened opened = co_await net::blocking(*services_.workers, open);
  core::Result<store::Snapshot>& snap = opened.snapshot;
  if (!snap && snap.code() != core::Code::not_found) {
    lock_.reset();
    store_error("snapshot", snap.status());
    co_return;
  }
  if (snap && !opened.journal) {  // no mark, no message: do not start a download
    lock_.reset();
    store_error("open_retrieval_journal", opened.journal.status());
    co_return;
  }
  if (snap) journal_ = std::move(opened.journal.value());
  principal_ = principal;
  transport_.set_account(principal.account_id, principal.address, principal.app_password_id);
  maildrop_ = snap ? Maildrop(std::move(snap.value())) : Maildrop();
  state_ = State::transaction;
  MR_LOG_INFO("event=pop3_login session={} account={} messages={} octets={}", sid,
              principal.account_id, maildrop_.count(), maildrop_.octets());
  send(proto::ok("Logged in, maildrop has " + std::to_string(maildrop_.count()) + " messages (" +
                 std::to_string(maildrop_.octets()) + " octets)"));
}

const store::MessageMeta* Session::message_arg(const std::string& arg, uint32_t* number) {
  std::optional<uint32_t> n = proto::parse_number(arg);
  if (!n) {
    client_error("Invalid message number");
    return nullptr;
  }
  *number = *n;
  if (!maildrop_.exists(*n)) {
    client_error("No such message");
    return nullptr;
  }
  if (maildrop_.is_deleted(*n)) {
    client_error("Message " + std::to_string(*n) + " already deleted");
    return nullptr;
  }
  return maildrop_.find(*n);
}

}  // namespace mailroom::pop3
