// In-memory doubles for the POP3 session tests: a MailStore holding INBOX only, an
// Authenticator with a fixed user table and a PLAIN exchange; the transport is the session
// kit's scripted one.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "src/store/mail_store.h"
#include "tests/fakes/scripted_transport.h"

namespace mailroom::pop3::testing {

using core::Result;
using core::Status;

class FakeStore : public store::MailStore {
 public:
  struct Mark {
    uint32_t uid;
    int64_t when;
    std::string ip;
    bool written_with_sync = false;  // by a mark_retrieved_batch call with sync=true
    bool durable = false;            // that call or a later one with sync=true
    int synced_by = 0;               // which sync (1, 2, ...) made it durable
  };
  // Appends to INBOX; stores with CRLF line endings like the file store.
  uint32_t add(const std::string& account, std::string_view message);
  bool has_uid(const std::string& account, uint32_t uid);
  std::vector<Mark> marks(const std::string& account);

  core::Code fail_snapshot = core::Code::ok;
  core::Code fail_read = core::Code::ok;
  core::Code fail_expunge = core::Code::ok;
  core::Code fail_mark = core::Code::ok;
  int syncs = 0;              // mark_retrieved_batch calls with sync=true
  std::atomic<int> reads{0};  // read_message calls (from worker threads)
  uint32_t uid_validity = 1700000000;

  Result<std::vector<store::MailboxInfo>> list_mailboxes(const std::string&) override;
  Result<store::MailboxInfo> mailbox_status(const std::string&, const std::string&) override;
  Status create_mailbox(const std::string&, const std::string&, store::SpecialUse) override;
  Status delete_mailbox(const std::string&, const std::string&, bool) override;
  Status rename_mailbox(const std::string&, const std::string&, const std::string&) override;
  Status set_subscribed(const std::string&, const std::string&, bool) override;
  Result<std::vector<std::string>> subscriptions(const std::string&) override;
  Result<store::AppendResult> append(const std::string&, const store::AppendRequest&) override;
  Result<store::Snapshot> snapshot(const std::string& account, const std::string&) override;
  Result<store::Changes> changes_since(const std::string&, const std::string&, uint64_t) override;
  Result<store::StoreFlagsResult> store_flags(const std::string&, const std::string&,
                                              const store::StoreFlagsRequest&) override;
  Result<std::vector<uint32_t>> expunge(const std::string& account, const std::string&,
                                        const std::vector<uint32_t>& uids) override;
  Result<store::CopyResult> copy(const std::string&, const std::string&,
                                 const std::vector<uint32_t>&, const std::string&,
                                 const store::Quota&) override;
  Result<store::CopyResult> move(const std::string&, const std::string&,
                                 const std::vector<uint32_t>&, const std::string&) override;
  Result<std::string> read_message(const std::string& account, const std::string&,
                                   uint32_t uid) override;
  Result<std::string> facts(const std::string&, const std::string&, uint32_t) override;
  Status mark_retrieved(const std::string& account, const std::string&, uint32_t uid, int64_t when,
                        const std::string& ip) override;
  Status mark_retrieved_batch(const std::string& account, const std::string&,
                              const std::vector<std::pair<uint32_t, int64_t>>& marks,
                              const std::string& ip, bool sync) override;
  Result<store::QuotaUsage> quota_usage(const std::string&) override;
  std::unique_ptr<store::WatchHandle> watch(
      const std::string&, const std::string&,
      std::function<void(const store::ChangeEvent&)>) override;

 private:
  struct Box {
    uint32_t next_uid = 1;
    std::map<uint32_t, std::pair<store::MessageMeta, std::string>> messages;
    std::vector<Mark> marks;
  };
  std::mutex mutex_;
  std::map<std::string, Box> boxes_;
};

class FakeAuthenticator : public auth::Authenticator {
 public:
  // login -> password; account id = "id-" + login.
  std::map<std::string, std::string> users = {{"alice", "wonderland"}, {"bob", "builder"}};
  bool require_tls = false;                                   // plain text only on TLS
  auth::AuthOutcome forced = auth::AuthOutcome::in_progress;  // != in_progress: always this

  std::vector<std::string> mechanisms(const auth::ClientInfo& client) const override;
  bool plaintext_allowed(const auth::ClientInfo& client) const override;
  std::unique_ptr<auth::Exchange> start(std::string_view mechanism,
                                        const auth::ClientInfo& client) override;
  auth::AuthStep check_plain(const std::string& login, const std::string& password,
                             const auth::ClientInfo& client) override;
};

// The session kit's scripted transport (tests/fakes/scripted_transport.h), POP3 flavoured.
class FakeTransport : public mailroom::testing::ScriptedTransport {
 public:
  explicit FakeTransport(std::vector<std::string> segments, bool tls = false,
                         bool starttls_allowed = true)
      : ScriptedTransport(std::move(segments), tls, starttls_allowed) {
    mutable_info().protocol = "pop3";
  }
};

}  // namespace mailroom::pop3::testing
