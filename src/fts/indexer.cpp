// Catching a user's full-text index up with the store (indexer.h).
#include "src/fts/indexer.h"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/store/mail_store.h"

namespace mailroom::fts {
namespace {

// Messages read from the store at once while indexing (one index transaction for them).
constexpr size_t kReadBatch = 32;

}  // namespace

Options parse_options(core::ConfigSection& section) {
  Options o;
  o.enabled = section.get_bool("enabled", true);
  o.max_text_bytes =
      static_cast<size_t>(section.get_int("max_text_bytes", 1 << 20, 4096, int64_t{64} << 20));
  o.queue_limit = static_cast<size_t>(section.get_int("queue_limit", 10000, 1, 10000000));
  o.tools.enabled = section.get_bool("extract_tools", true);
  o.tools.timeout_ms = static_cast<int>(section.get_int("extract_timeout", 10, 1, 600) * 1000);
  o.tools.max_bytes =
      static_cast<size_t>(section.get_int("extract_max_bytes", 1 << 20, 4096, int64_t{64} << 20));
  section.finish();
  return o;
}

Indexer::Indexer(Options options, std::string mail_root, std::shared_ptr<store::MailStore> store)
    : options_(options), mail_root_(std::move(mail_root)), store_(std::move(store)) {
  limits_.max_body_bytes = options_.max_text_bytes;
}

Indexer::~Indexer() { stop(); }

void Indexer::attach(std::shared_ptr<store::MailStore> store) { store_ = std::move(store); }

void Indexer::start() {
  std::lock_guard<std::mutex> lk(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Indexer::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Indexer::notify(const std::string& account_id) {
  if (!options_.enabled) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (queued_.count(account_id)) return;
    if (queue_.size() >= options_.queue_limit) {
      ++dropped_;  // repaired by the user's next change or SEARCH (the marks tell what is new)
      return;
    }
    queue_.push_back(account_id);
    queued_.insert(account_id);
  }
  cv_.notify_one();
}

size_t Indexer::queued() {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

void Indexer::drain() {
  std::unique_lock<std::mutex> lk(mu_);
  idle_cv_.wait(lk, [&] { return (queue_.empty() && !busy_) || stop_; });
}

void Indexer::run() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    std::string account = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(account);
    busy_ = true;
    lk.unlock();
    core::Status s = catch_up(account);
    if (!s.is_ok() && !stopping_)
      MR_LOG_WARN("event=fts.index_failed account={} error={}", core::quote(account),
                  core::quote(s.to_string()));
    lk.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

core::Status Indexer::catch_up(const std::string& account_id) {
  return index_account(account_id, false);
}

core::Status Indexer::rebuild(const std::string& account_id) {
  return index_account(account_id, true);
}

core::Status Indexer::index_account(const std::string& account_id, bool overwrite) {
  if (!store_) return core::internal_error("full-text indexer without a store");
  std::lock_guard<std::mutex> write_lk(write_mu_);
  auto boxes = store_->list_mailboxes(account_id);
  if (!boxes) return boxes.status();
  auto writer = IndexWriter::open(index_dir(mail_root_, account_id), overwrite);
  if (!writer) return writer.status();
  IndexWriter& w = **writer;
  std::unordered_set<uint32_t> live;
  size_t since_commit = 0;
  for (const auto& box : *boxes) {
    if (stopping_) break;
    live.insert(box.uid_validity);
    Mark mark = w.mark(box.uid_validity);
    if (mark.modseq != 0 && mark.modseq == box.highest_modseq) continue;  // nothing changed
    auto changes = store_->changes_since(account_id, box.name, mark.modseq);
    if (!changes) continue;  // deleted or renamed meanwhile: the next pass sees it
    uint32_t uv = changes->uid_validity ? changes->uid_validity : box.uid_validity;
    if (uv != box.uid_validity) continue;
    // Expunges first: each removes a location, and a document with its last one.
    for (uint32_t uid : changes->expunged) {
      if (uid <= mark.uid) w.remove_location(uv, uid);
    }
    std::vector<const store::MessageMeta*> fresh;
    for (const auto& m : changes->changed) {
      if (m.uid > mark.uid) fresh.push_back(&m);
    }
    // `done`: every fresh UID up to it is indexed (the mark may move there).
    bool complete = true;
    uint32_t done = mark.uid;
    for (size_t i = 0; i < fresh.size() && complete && !stopping_; i += kReadBatch) {
      size_t end = std::min(fresh.size(), i + kReadBatch);
      std::vector<uint32_t> uids;
      std::vector<size_t> to_read;  // indexes into fresh
      for (size_t j = i; j < end; ++j) {
        // A copy of a message already indexed (COPY, MOVE) needs no reading.
        if (w.add_location(fresh[j]->guid, uv, fresh[j]->uid)) continue;
        uids.push_back(fresh[j]->uid);
        to_read.push_back(j);
      }
      auto msgs = uids.empty() ? std::vector<core::Result<std::string>>()
                               : store_->read_messages(account_id, box.name, uids);
      size_t failed = end;  // the first message that could not be read
      for (size_t k = 0; k < to_read.size(); ++k) {
        if (k >= msgs.size() || !msgs[k]) {
          // Gone meanwhile (expunged, or the mailbox renamed): stop this mailbox here; the
          // next pass reads its changes again.
          failed = to_read[k];
          complete = false;
          break;
        }
        const auto& meta = *fresh[to_read[k]];
        w.add_message(meta.guid, uv, meta.uid, extract_text(*msgs[k], limits_, &options_.tools));
        ++since_commit;
      }
      if (failed > i) done = fresh[failed - 1]->uid;
      if (since_commit >= options_.commit_every) {
        w.set_mark(uv, {done, mark.modseq});
        if (auto s = w.commit(); !s.is_ok()) return s;
        since_commit = 0;
      }
    }
    if (stopping_) complete = false;
    // Complete: every UID below UIDNEXT (read in the same transaction as the changes) is
    // indexed, seen before or expunged, so the mark covers them all (an empty mailbox too).
    if (complete)
      w.set_mark(uv, {std::max(done, changes->uid_next > 0 ? changes->uid_next - 1 : done),
                      changes->highest_modseq});
    else
      w.set_mark(uv, {done, mark.modseq});
    if (!w.error().is_ok()) return w.error();
  }
  // Mailboxes deleted since: their locations go (and documents left with none).
  if (!stopping_) {
    for (uint32_t uv : w.marked_mailboxes()) {
      if (!live.count(uv)) w.forget_mailbox(uv);
    }
  }
  return w.commit();
}

core::Result<IndexStatus> Indexer::status(const std::string& account_id) {
  if (!store_) return core::internal_error("full-text indexer without a store");
  auto boxes = store_->list_mailboxes(account_id);
  if (!boxes) return boxes.status();
  IndexStatus out;
  auto summary = summarize(index_dir(mail_root_, account_id));
  if (!summary && summary.code() != core::Code::not_found) return summary.status();
  std::vector<std::pair<uint32_t, Mark>> marks;
  if (summary) {
    out.exists = true;
    out.documents = summary->documents;
    out.bytes = summary->bytes;
    marks = summary->marks;
  }
  for (const auto& box : *boxes) {
    MailboxIndexStatus m;
    m.name = box.name;
    m.uid_validity = box.uid_validity;
    m.messages = box.messages;
    out.mail_bytes += box.size;
    uint32_t through = 0;
    for (const auto& [uv, mk] : marks) {
      if (uv == box.uid_validity) through = mk.uid;
    }
    auto scanned = store_->scan(account_id, box.name, [&](const store::MessageMeta& meta) {
      if (meta.uid > through) ++m.pending;
    });
    if (!scanned) m.pending = box.messages;
    out.mailboxes.push_back(std::move(m));
  }
  return out;
}

std::optional<Candidates> Indexer::candidates(const std::string& account_id, uint32_t uid_validity,
                                              uint32_t max_uid, Scope scope,
                                              const std::string& folded_needle) {
  if (!options_.enabled) return std::nullopt;
  auto r = find_candidates(index_dir(mail_root_, account_id), uid_validity, scope, folded_needle);
  if (!r) {
    MR_LOG_WARN("event=fts.search_failed account={} error={}", core::quote(account_id),
                core::quote(r.status().to_string()));
    return std::nullopt;
  }
  if (!*r || (*r)->indexed_through < max_uid) notify(account_id);
  return std::move(*r);
}

}  // namespace mailroom::fts
