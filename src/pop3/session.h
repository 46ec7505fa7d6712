// One POP3 session (RFC 1939): AUTHORIZATION, TRANSACTION and UPDATE states, a command
// table naming the states each command is valid in, and one file per command group:
// cmd_auth.cpp (USER, PASS, AUTH, STLS), cmd_capa.cpp (CAPA), cmd_maildrop.cpp (STAT, LIST,
// UIDL, DELE, RSET, NOOP), cmd_retr.cpp (RETR, TOP), cmd_quit.cpp (QUIT, UPDATE).
//
// Threading: a session runs on its connection's strand; store and authenticator calls go
// through services.workers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "auth/authenticator.h"
#include "src/core/services.h"
#include "src/net/transport.h"
#include "src/net/worker_pool.h"
#include "src/pop3/maildrop.h"
#include "src/pop3/maildrop_lock.h"
#include "src/pop3/mark_batch.h"
#include "src/pop3/pop3.h"
#include "src/pop3/proto/command.h"
#include "src/pop3/proto/reply.h"
#include "src/pop3/read_ahead.h"

namespace mailroom::pop3 {

using Awaitable = boost::asio::awaitable<void>;

enum class State { authorization, transaction, update };

// The process-wide registry of locked maildrops (shared by every POP3 listener).
std::shared_ptr<MaildropLocks> process_maildrop_locks();

class Session {
 public:
  Session(net::Transport& transport, core::Services& services, const Options& options,
          std::shared_ptr<MaildropLocks> locks);

  // Greets, runs commands until QUIT, error limit, timeout, shutdown or disconnect.
  Awaitable run();

  State state() const { return state_; }

 private:
  friend struct CommandTable;
  // Command handlers (one file per group).
  Awaitable cmd_user(const proto::Command& c);
  Awaitable cmd_pass(const proto::Command& c);
  Awaitable cmd_auth(const proto::Command& c);
  Awaitable cmd_stls(const proto::Command& c);
  Awaitable cmd_capa(const proto::Command& c);
  Awaitable cmd_stat(const proto::Command& c);
  Awaitable cmd_list(const proto::Command& c);
  Awaitable cmd_uidl(const proto::Command& c);
  Awaitable cmd_dele(const proto::Command& c);
  Awaitable cmd_rset(const proto::Command& c);
  Awaitable cmd_noop(const proto::Command& c);
  Awaitable cmd_retr(const proto::Command& c);
  Awaitable cmd_top(const proto::Command& c);
  Awaitable cmd_quit(const proto::Command& c);

  // After a successful authentication: lock and open the maildrop (RFC 1939 section 4).
  Awaitable open_maildrop(const auth::Principal& principal);
  // RETR (lines empty) or TOP of message `number`: takes the message from the read-ahead or
  // reads it, appends its retrieval mark to the journal when the whole message goes out, then
  // queues it (cmd_retr.cpp).
  Awaitable send_message(uint32_t number, std::optional<uint32_t> lines);
  // Makes the journal's marks durable and visible in the index (mark_batch.h); failures are
  // logged. close: also retires the journal (the end of the session).
  Awaitable sync_marks(bool close);
  // A message number argument that names an existing, undeleted message, else answers -ERR
  // and returns nullptr.
  const store::MessageMeta* message_arg(const std::string& arg, uint32_t* number);
  // Answers an error from the client's side; counts towards the error limit.
  void client_error(std::string_view text, proto::RespCode code = proto::RespCode::none);
  // Answers a failure of the store with [SYS/TEMP] or [SYS/PERM] and logs it.
  void store_error(const char* what, const core::Status& status);
  auth::ClientInfo client_info() const;
  void send(std::string_view data) { transport_.queue(data); }

  net::Transport& transport_;
  core::Services& services_;
  const Options& options_;
  std::shared_ptr<MaildropLocks> locks_;
  State state_ = State::authorization;
  int errors_ = 0;
  bool close_ = false;
  std::string pending_user_;  // USER given, waiting for PASS
  bool user_given_ = false;
  auth::Principal principal_;
  std::unique_ptr<MaildropLock> lock_;
  Maildrop maildrop_;
  std::unique_ptr<store::RetrievalJournal> journal_;  // open while in TRANSACTION
  ReadAhead read_ahead_;
  MarkBatch marks_{options_.retrieval_sync_messages,
                   std::chrono::milliseconds(options_.retrieval_sync_ms)};
};

}  // namespace mailroom::pop3
