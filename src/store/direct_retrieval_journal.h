// MailStore's default retrieval journal, for stores without one of their own (test stores):
// each mark goes straight to mark_retrieved_batch. An implementation detail of the contract in
// mail_store.h, which includes this file at its end; include mail_store.h, not this.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/store/mail_store.h"

namespace mailroom::store {

// MailStore's fallback journal: each mark goes straight to mark_retrieved_batch.
class DirectRetrievalJournal final : public RetrievalJournal {
 public:
  DirectRetrievalJournal(MailStore& store, std::string account_id, std::string mailbox,
                         std::string client_ip)
      : store_(store),
        account_id_(std::move(account_id)),
        mailbox_(std::move(mailbox)),
        client_ip_(std::move(client_ip)) {}
  Status append(uint32_t uid, int64_t when) override {
    std::vector<std::pair<uint32_t, int64_t>> one{{uid, when}};
    Status s = store_.mark_retrieved_batch(account_id_, mailbox_, one, client_ip_, false);
    if (s.is_ok()) unsynced_ = true;
    return s;
  }
  Status sync() override {
    if (!unsynced_) return Status::ok();
    Status s = store_.mark_retrieved_batch(account_id_, mailbox_, {}, client_ip_, true);
    if (s.is_ok()) unsynced_ = false;
    return s;
  }
  Status close() override { return sync(); }

 private:
  MailStore& store_;
  std::string account_id_;
  std::string mailbox_;
  std::string client_ip_;
  bool unsynced_ = false;
};

inline Result<std::unique_ptr<RetrievalJournal>> MailStore::open_retrieval_journal(
    const std::string& account_id, const std::string& mailbox, const std::string& client_ip) {
  return std::unique_ptr<RetrievalJournal>(
      std::make_unique<DirectRetrievalJournal>(*this, account_id, mailbox, client_ip));
}

}  // namespace mailroom::store
