// \Recent bookkeeping (RFC 3501 2.3.2): a message is \Recent in exactly one session, the first
// to be notified of it; every later session, also after a reconnect or a server restart, sees
// it without \Recent. Per account and mailbox incarnation (UIDVALIDITY) the highest UID
// already claimed is kept in memory and, when a directory is set, written through to
// <dir>/<account id> (a small text file, replaced by rename; no fsync — after a machine crash
// a message may be \Recent once more, never lost).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace mailroom::imap {

class RecentTracker {
 public:
  static RecentTracker& instance();
  // Where claims survive restarts (created if missing); empty: memory only (unit tests).
  void set_directory(const std::string& dir);
  // Returns the highest UID claimed before in this mailbox incarnation and records `up_to`.
  uint32_t claim(const std::string& account_id, const std::string& mailbox, uint32_t uid_validity,
                 uint32_t up_to);
  uint32_t peek(const std::string& account_id, const std::string& mailbox, uint32_t uid_validity);
  // claim() when it needs no disk (the account is in memory and nothing above what was
  // claimed is asked for) and the tracker is not busy writing: callable on an I/O thread
  // (never waits). nullopt otherwise: call claim() on the worker pool.
  std::optional<uint32_t> claim_in_memory(const std::string& account_id, const std::string& mailbox,
                                          uint32_t uid_validity, uint32_t up_to);
  // Forgets everything in memory (tests: simulates a restart).
  void reset_memory();

 private:
  struct Box {
    uint32_t uid_validity = 0;
    uint32_t claimed = 0;
  };
  using Account = std::map<std::string, Box>;                  // mailbox (UTF-8) -> claim
  Account& account(const std::string& account_id);             // loads from disk; mu_ held
  void save(const std::string& account_id, const Account& a);  // mu_ held

  std::mutex mu_;
  std::string dir_;
  std::unordered_map<std::string, Account> accounts_;
};

}  // namespace mailroom::imap
