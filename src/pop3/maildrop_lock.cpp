#include "src/pop3/maildrop_lock.h"

#include <utility>

namespace mailroom::pop3 {

MaildropLock::MaildropLock(std::shared_ptr<MaildropLocks> owner, std::string account_id)
    : owner_(std::move(owner)), account_id_(std::move(account_id)) {}

MaildropLock::~MaildropLock() { owner_->release(account_id_); }

std::unique_ptr<MaildropLock> MaildropLocks::try_lock(const std::string& account_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!held_.insert(account_id).second) return nullptr;
  return std::make_unique<MaildropLock>(shared_from_this(), account_id);
}

bool MaildropLocks::is_locked(const std::string& account_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  return held_.count(account_id) != 0;
}

void MaildropLocks::release(const std::string& account_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  held_.erase(account_id);
}

}  // namespace mailroom::pop3
