#include "tests/unit/pop3/fakes.h"

namespace mailroom::pop3::testing {

namespace {
std::string to_crlf(std::string_view m) {
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) out += '\r';
    out += m[i];
  }
  return out;
}
Status unimplemented() { return core::internal_error("not in the fake"); }
}  // namespace

uint32_t FakeStore::add(const std::string& account, std::string_view message) {
  std::lock_guard<std::mutex> g(mutex_);
  Box& box = boxes_[account];
  store::MessageMeta meta;
  meta.uid = box.next_uid++;
  std::string body = to_crlf(message);
  meta.size = body.size();
  box.messages[meta.uid] = {meta, body};
  return meta.uid;
}

bool FakeStore::has_uid(const std::string& account, uint32_t uid) {
  std::lock_guard<std::mutex> g(mutex_);
  return boxes_[account].messages.count(uid) != 0;
}

std::vector<FakeStore::Mark> FakeStore::marks(const std::string& account) {
  std::lock_guard<std::mutex> g(mutex_);
  return boxes_[account].marks;
}

Result<std::vector<store::MailboxInfo>> FakeStore::list_mailboxes(const std::string&) {
  return unimplemented();
}
Result<store::MailboxInfo> FakeStore::mailbox_status(const std::string&, const std::string&) {
  return unimplemented();
}
Status FakeStore::create_mailbox(const std::string&, const std::string&, store::SpecialUse) {
  return unimplemented();
}
Status FakeStore::delete_mailbox(const std::string&, const std::string&, bool) {
  return unimplemented();
}
Status FakeStore::rename_mailbox(const std::string&, const std::string&, const std::string&) {
  return unimplemented();
}
Status FakeStore::set_subscribed(const std::string&, const std::string&, bool) {
  return unimplemented();
}
Result<std::vector<std::string>> FakeStore::subscriptions(const std::string&) {
  return unimplemented();
}
Result<store::AppendResult> FakeStore::append(const std::string&, const store::AppendRequest&) {
  return unimplemented();
}
Result<store::Snapshot> FakeStore::snapshot(const std::string& account, const std::string&) {
  if (fail_snapshot != core::Code::ok) return Status::error(fail_snapshot, "snapshot failed");
  std::lock_guard<std::mutex> g(mutex_);
  Box& box = boxes_[account];
  store::Snapshot s;
  s.uid_validity = uid_validity;
  s.uid_next = box.next_uid;
  for (auto& [uid, entry] : box.messages) s.messages.push_back(entry.first);
  return s;
}
Result<store::Changes> FakeStore::changes_since(const std::string&, const std::string&, uint64_t) {
  return unimplemented();
}
Result<store::StoreFlagsResult> FakeStore::store_flags(const std::string&, const std::string&,
                                                       const store::StoreFlagsRequest&) {
  return unimplemented();
}
Result<std::vector<uint32_t>> FakeStore::expunge(const std::string& account, const std::string&,
                                                 const std::vector<uint32_t>& uids) {
  if (fail_expunge != core::Code::ok) return Status::error(fail_expunge, "expunge failed");
  std::lock_guard<std::mutex> g(mutex_);
  std::vector<uint32_t> removed;
  for (uint32_t uid : uids) {
    if (boxes_[account].messages.erase(uid)) removed.push_back(uid);
  }
  return removed;
}
Result<store::CopyResult> FakeStore::copy(const std::string&, const std::string&,
                                          const std::vector<uint32_t>&, const std::string&,
                                          const store::Quota&) {
  return unimplemented();
}
Result<store::CopyResult> FakeStore::move(const std::string&, const std::string&,
                                          const std::vector<uint32_t>&, const std::string&) {
  return unimplemented();
}
Result<std::string> FakeStore::read_message(const std::string& account, const std::string&,
                                            uint32_t uid) {
  ++reads;
  if (fail_read != core::Code::ok) return Status::error(fail_read, "read failed");
  std::lock_guard<std::mutex> g(mutex_);
  auto& box = boxes_[account];
  auto it = box.messages.find(uid);
  if (it == box.messages.end()) return core::not_found("no such message");
  return it->second.second;
}
Result<std::string> FakeStore::facts(const std::string&, const std::string&, uint32_t) {
  return unimplemented();
}
Status FakeStore::mark_retrieved(const std::string& account, const std::string&, uint32_t uid,
                                 int64_t when, const std::string& ip) {
  std::lock_guard<std::mutex> g(mutex_);
  boxes_[account].marks.push_back({uid, when, ip});
  return Status::ok();
}
Status FakeStore::mark_retrieved_batch(const std::string& account, const std::string&,
                                       const std::vector<std::pair<uint32_t, int64_t>>& marks,
                                       const std::string& ip, bool sync) {
  if (fail_mark != core::Code::ok) return Status::error(fail_mark, "mark failed");
  std::lock_guard<std::mutex> g(mutex_);
  auto& box = boxes_[account];
  for (const auto& [uid, when] : marks) box.marks.push_back({uid, when, ip, sync, false});
  if (sync) {
    ++syncs;
    for (Mark& m : box.marks) {
      if (!m.durable) m.synced_by = syncs;
      m.durable = true;
    }
  }
  return Status::ok();
}
Result<store::QuotaUsage> FakeStore::quota_usage(const std::string&) { return unimplemented(); }
std::unique_ptr<store::WatchHandle> FakeStore::watch(
    const std::string&, const std::string&, std::function<void(const store::ChangeEvent&)>) {
  return nullptr;
}

// --- authenticator ---

namespace {
class PlainExchange : public auth::Exchange {
 public:
  explicit PlainExchange(FakeAuthenticator& a) : a_(a) {}
  auth::AuthStep step(std::optional<std::string_view> response) override {
    if (!response) return {auth::AuthOutcome::in_progress, "", {}};
    // RFC 4616: [authzid] NUL authcid NUL passwd
    std::string_view r = *response;
    std::size_t a = r.find('\0');
    std::size_t b = a == std::string_view::npos ? a : r.find('\0', a + 1);
    if (b == std::string_view::npos) return {auth::AuthOutcome::malformed, "", {}};
    return a_.check_plain(std::string(r.substr(a + 1, b - a - 1)), std::string(r.substr(b + 1)),
                          {});
  }

 private:
  FakeAuthenticator& a_;
};

class BadMechanism : public auth::Exchange {
 public:
  auth::AuthStep step(std::optional<std::string_view>) override {
    return {auth::AuthOutcome::bad_mechanism, "", {}};
  }
};
}  // namespace

std::vector<std::string> FakeAuthenticator::mechanisms(const auth::ClientInfo& c) const {
  if (plaintext_allowed(c)) return {"PLAIN"};
  return {};
}
bool FakeAuthenticator::plaintext_allowed(const auth::ClientInfo& c) const {
  return !require_tls || c.tls;
}
std::unique_ptr<auth::Exchange> FakeAuthenticator::start(std::string_view mechanism,
                                                         const auth::ClientInfo&) {
  if (mechanism == "PLAIN") return std::make_unique<PlainExchange>(*this);
  return std::make_unique<BadMechanism>();
}
auth::AuthStep FakeAuthenticator::check_plain(const std::string& login, const std::string& password,
                                              const auth::ClientInfo&) {
  if (forced != auth::AuthOutcome::in_progress) return {forced, "", {}};
  auto it = users.find(login);
  if (it == users.end() || it->second != password) return {auth::AuthOutcome::failed, "", {}};
  auth::AuthStep s;
  s.outcome = auth::AuthOutcome::success;
  s.principal.account_id = "id-" + login;
  s.principal.login = login;
  s.principal.address = login + "@example.com";
  return s;
}

}  // namespace mailroom::pop3::testing
