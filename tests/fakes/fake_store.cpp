#include "tests/fakes/fake_store.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace mailroom::testing {
namespace {

std::string to_crlf(std::string_view m) {
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) out += '\r';
    out += m[i];
  }
  return out;
}

core::Status not_in_the_fake() { return core::internal_error("not in the fake"); }

}  // namespace

uint32_t FakeStore::insert(Box& b, std::string_view message, const store::AppendRequest& request) {
  store::MessageMeta meta;
  meta.uid = b.next_uid++;
  meta.modseq = ++b.highest_modseq;
  meta.flags = request.flags;
  meta.keywords = request.keywords;
  meta.internal_date = request.internal_date != 0 ? request.internal_date : std::time(nullptr);
  meta.internal_tz = request.internal_tz;
  std::string text = to_crlf(message);
  meta.size = text.size();
  // A guid per stored copy, as the FileStore gives one per message file.
  char guid[33];
  std::snprintf(guid, sizeof guid, "%032llx", static_cast<unsigned long long>(++guids_));
  meta.guid = guid;
  b.messages[meta.uid] = {meta, std::move(text)};
  return meta.uid;
}

uint32_t FakeStore::add(const std::string& account, std::string_view message,
                        const std::string& mailbox) {
  std::lock_guard l(mu_);
  return insert(box(account, mailbox), message, store::AppendRequest{});
}

size_t FakeStore::count(const std::string& account, const std::string& mailbox) {
  std::lock_guard l(mu_);
  return box(account, mailbox).messages.size();
}

bool FakeStore::has_uid(const std::string& account, uint32_t uid, const std::string& mailbox) {
  std::lock_guard l(mu_);
  return box(account, mailbox).messages.count(uid) != 0;
}

std::vector<FakeStore::Mark> FakeStore::marks(const std::string& account,
                                              const std::string& mailbox) {
  std::lock_guard l(mu_);
  return box(account, mailbox).marks;
}

void FakeStore::fail(Op op, core::Code code, int times) {
  std::lock_guard l(mu_);
  faults_[static_cast<size_t>(op)] = Fault{code, code == core::Code::ok ? 0 : times};
}

int FakeStore::calls(Op op) {
  std::lock_guard l(mu_);
  return calls_[static_cast<size_t>(op)];
}

int FakeStore::syncs() {
  std::lock_guard l(mu_);
  return syncs_;
}

core::Status FakeStore::enter(Op op) {
  ++calls_[static_cast<size_t>(op)];
  Fault& f = faults_[static_cast<size_t>(op)];
  if (f.code == core::Code::ok || f.remaining == 0) return core::Status::ok();
  if (f.remaining > 0) --f.remaining;
  return core::Status::error(f.code, "injected fault", "FakeStore: injected fault");
}

core::Result<store::AppendResult> FakeStore::append(const std::string& account,
                                                    const store::AppendRequest& request) {
  std::lock_guard l(mu_);
  if (auto s = enter(Op::append); !s) return s;
  Box& b = box(account, request.mailbox);
  uint32_t uid = insert(b, request.message, request);
  return store::AppendResult{uid_validity, uid, b.highest_modseq, b.messages[uid].first.guid};
}

core::Result<store::Snapshot> FakeStore::snapshot(const std::string& account,
                                                  const std::string& mailbox) {
  std::lock_guard l(mu_);
  if (auto s = enter(Op::snapshot); !s) return s;
  const Box& b = box(account, mailbox);
  store::Snapshot snap;
  snap.uid_validity = uid_validity;
  snap.uid_next = b.next_uid;
  snap.highest_modseq = b.highest_modseq;
  for (const auto& [uid, entry] : b.messages) snap.messages.push_back(entry.first);
  return snap;
}

core::Result<std::string> FakeStore::read_message(const std::string& account,
                                                  const std::string& mailbox, uint32_t uid) {
  std::lock_guard l(mu_);
  if (auto s = enter(Op::read_message); !s) return s;
  const Box& b = box(account, mailbox);
  auto it = b.messages.find(uid);
  if (it == b.messages.end()) return core::not_found("no such message");
  return it->second.second;
}

core::Result<std::vector<uint32_t>> FakeStore::expunge(const std::string& account,
                                                       const std::string& mailbox,
                                                       const std::vector<uint32_t>& uids) {
  std::lock_guard l(mu_);
  if (auto s = enter(Op::expunge); !s) return s;
  Box& b = box(account, mailbox);
  std::vector<uint32_t> removed;
  for (uint32_t uid : uids) {
    if (b.messages.erase(uid)) removed.push_back(uid);
  }
  if (!removed.empty()) ++b.highest_modseq;
  std::sort(removed.begin(), removed.end());
  return removed;
}

core::Status FakeStore::mark_retrieved(const std::string& account, const std::string& mailbox,
                                       uint32_t uid, int64_t when, const std::string& client_ip) {
  return mark_retrieved_batch(account, mailbox, {{uid, when}}, client_ip, true);
}

core::Status FakeStore::mark_retrieved_batch(const std::string& account, const std::string& mailbox,
                                             const std::vector<std::pair<uint32_t, int64_t>>& marks,
                                             const std::string& client_ip, bool sync) {
  std::lock_guard l(mu_);
  if (auto s = enter(Op::mark_retrieved); !s) return s;
  Box& b = box(account, mailbox);
  for (const auto& [uid, when] : marks) {
    if (b.messages.count(uid)) b.marks.push_back({uid, when, client_ip, sync});
  }
  if (sync) {
    ++syncs_;
    for (Mark& m : b.marks) {
      if (!m.durable) m.synced_by = syncs_;
      m.durable = true;
    }
  }
  return core::Status::ok();
}

core::Result<store::QuotaUsage> FakeStore::quota_usage(const std::string& account) {
  std::lock_guard l(mu_);
  store::QuotaUsage usage;
  for (const auto& [name, b] : accounts_[account]) {
    for (const auto& [uid, entry] : b.messages) {
      usage.bytes += entry.first.size;
      ++usage.messages;
    }
  }
  return usage;
}

core::Result<std::vector<store::MailboxInfo>> FakeStore::list_mailboxes(const std::string&) {
  return not_in_the_fake();
}
core::Result<store::MailboxInfo> FakeStore::mailbox_status(const std::string&, const std::string&) {
  return not_in_the_fake();
}
core::Status FakeStore::create_mailbox(const std::string&, const std::string&, store::SpecialUse) {
  return not_in_the_fake();
}
core::Status FakeStore::delete_mailbox(const std::string&, const std::string&, bool) {
  return not_in_the_fake();
}
core::Status FakeStore::rename_mailbox(const std::string&, const std::string&, const std::string&) {
  return not_in_the_fake();
}
core::Status FakeStore::set_subscribed(const std::string&, const std::string&, bool) {
  return not_in_the_fake();
}
core::Result<std::vector<std::string>> FakeStore::subscriptions(const std::string&) {
  return not_in_the_fake();
}
core::Result<store::Changes> FakeStore::changes_since(const std::string&, const std::string&,
                                                      uint64_t) {
  return not_in_the_fake();
}
core::Result<store::StoreFlagsResult> FakeStore::store_flags(const std::string&, const std::string&,
                                                             const store::StoreFlagsRequest&) {
  return not_in_the_fake();
}
core::Result<store::CopyResult> FakeStore::copy(const std::string&, const std::string&,
                                                const std::vector<uint32_t>&, const std::string&,
                                                const store::Quota&) {
  return not_in_the_fake();
}
core::Result<store::CopyResult> FakeStore::move(const std::string&, const std::string&,
                                                const std::vector<uint32_t>&, const std::string&) {
  return not_in_the_fake();
}
core::Result<std::string> FakeStore::facts(const std::string&, const std::string&, uint32_t) {
  return not_in_the_fake();
}
std::unique_ptr<store::WatchHandle> FakeStore::watch(
    const std::string&, const std::string&, std::function<void(const store::ChangeEvent&)>) {
  return nullptr;
}

}  // namespace mailroom::testing
