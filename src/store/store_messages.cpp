// FileStore: changes to messages (flags, expunge, copy/move, retrieval marks) and the quota
// usage; appends are in store_append.cpp, reads in store_reads.cpp.
#include <algorithm>
#include <ctime>
#include <optional>
#include <set>

#include "src/store/file_store.h"
#include "src/store/message_rows.h"
#include "src/store/names.h"

namespace mailroom::store {

// --- the row helpers of message_rows.h ---

std::string join_keywords(const std::vector<std::string>& k) {
  std::string out;
  for (const auto& w : k) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

core::Status check_keywords(const std::vector<std::string>& k) {
  for (const auto& w : k)
    if (!valid_keyword(w)) return core::invalid_argument("invalid keyword", w);
  return core::Status::ok();
}

core::Status check_quota(db::Sqlite& db, uint64_t add_bytes, uint64_t add_messages,
                         uint64_t max_bytes, uint64_t max_messages) {
  if (max_bytes == 0 && max_messages == 0) return core::Status::ok();
  auto usage = read_usage(db);
  if (!usage.is_ok()) return usage.status();
  if (max_bytes != 0 && usage->bytes + add_bytes > max_bytes)
    return core::Status::error(core::Code::over_quota, "mailbox is full (storage quota)");
  if (max_messages != 0 && usage->messages + add_messages > max_messages)
    return core::Status::error(core::Code::over_quota, "mailbox is full (message quota)");
  return core::Status::ok();
}

core::Result<MessageMeta> find_message(db::Sqlite& db, int64_t mailbox_id, uint32_t uid) {
  auto q = db.prepare_or_abort("SELECT" MAILROOM_META_COLUMNS
                               "FROM messages WHERE mailbox_id=? AND uid=?");
  q.bind(1, mailbox_id).bind(2, static_cast<int64_t>(uid));
  core::Status err;
  if (!q.step(&err)) return err.is_ok() ? core::not_found("no such message") : err;
  return read_meta(q);
}

namespace {

// StoreFlagsRequest::origin: a short lower-case word ("imap", "jmap", "admin").
core::Status check_origin(const std::string& origin) {
  bool ok = origin.size() <= 16;
  for (char c : origin)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      ok = false;
  return ok ? core::Status::ok() : core::invalid_argument("invalid flag change origin", origin);
}

std::vector<uint32_t> sorted_unique(std::vector<uint32_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  v.erase(std::remove(v.begin(), v.end(), 0u), v.end());
  return v;
}

}  // namespace

Result<StoreFlagsResult> FileStore::store_flags(const std::string& account_id,
                                                const std::string& mailbox,
                                                const StoreFlagsRequest& req) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto kw_ok = check_keywords(req.keywords);
  if (!kw_ok.is_ok()) return kw_ok;
  auto origin_ok = check_origin(req.origin);
  if (!origin_ok.is_ok()) return origin_ok;
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  StoreFlagsResult out;
  auto now = static_cast<int64_t>(::time(nullptr));
  uint64_t new_modseq = 0;
  {
    // A flag change commits without waiting for the disk (WAL, synchronous=NORMAL): it survives
    // a crash of the process, and a power loss once the user's next durable commit (a delivery,
    // an APPEND, an EXPUNGE) or a checkpoint has synced the log after it. Dovecot's default
    // (mail_fsync = optimized) does not sync flag changes either; two of the four writes of a
    // typical IMAP session are STOREs (bench/imap, --shape mailbox). FORMAT.md "Durability".
    auto h = hold_mailbox(*u, *name, IndexHold::Txn::write_relaxed);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    MailboxRow& row = h->row;
    Status s;
    uint64_t modseq = row.highest_modseq + 1;
    bool changed_any = false;
    // FORMAT.md "Per-reader \Seen": a reader's \Seen is its mark; the message keeps the owner's.
    const bool per_reader = !req.reader.empty();
    for (uint32_t uid : sorted_unique(req.uids)) {
      auto m = find_message(db, row.id, uid);
      if (!m.is_ok()) {
        if (m.code() == Code::not_found) continue;
        return m.status();
      }
      std::optional<SeenMark> mark;
      if (per_reader) {
        auto found = find_seen_mark(db, req.reader, row.id, uid);
        if (!found.is_ok()) return found.status();
        mark = *found;
      }
      const uint32_t owner_seen = m->flags & kSeen;
      // The flags and MODSEQ the requester sees.
      uint32_t shown = m->flags;
      uint64_t shown_modseq = m->modseq;
      if (per_reader) {
        shown = (m->flags & ~kSeen) | (mark && mark->seen ? kSeen : 0);
        shown_modseq = std::max(m->modseq, mark ? mark->modseq : 0);
      }
      // RFC 7162 3.1.3: UNCHANGEDSINCE refuses messages modified after the given MODSEQ.
      if (req.unchanged_since && shown_modseq > *req.unchanged_since) {
        out.modified.push_back(uid);
        continue;
      }
      uint32_t flags = shown;
      std::vector<std::string> kw = m->keywords;
      switch (req.op) {
        case FlagOp::add:
          flags |= req.flags & kAllFlags;
          kw.insert(kw.end(), req.keywords.begin(), req.keywords.end());
          break;
        case FlagOp::remove: {
          flags &= ~(req.flags & kAllFlags);
          auto rm = normalize_keywords(req.keywords);
          std::vector<std::string> keep;
          for (auto& k : kw) {
            bool drop = false;
            for (auto& r : rm)
              if (normalize_keywords({k, r}).size() == 1) drop = true;
            if (!drop) keep.push_back(k);
          }
          kw = std::move(keep);
          break;
        }
        case FlagOp::replace:
          flags = req.flags & kAllFlags;
          kw = req.keywords;
          break;
      }
      kw = normalize_keywords(kw);
      const uint32_t stored = per_reader ? (flags & ~kSeen) | owner_seen : flags;
      if (stored != m->flags || kw != m->keywords) {
        // "Opened" evidence: the first time \Seen is set, and by whom; kept when \Seen is
        // cleared again. It rides on this flag change's MODSEQ.
        if ((stored & kSeen) && !(m->flags & kSeen) && m->seen_at == 0) {
          m->seen_at = now;
          m->seen_via = req.origin;
        }
        s = db.prepare_or_abort(
                  "UPDATE messages SET flags=?, keywords=?, modseq=?, seen_at=?, seen_via=? "
                  "WHERE mailbox_id=? AND uid=?")
                .bind(1, static_cast<int64_t>(stored))
                .bind(2, join_keywords(kw))
                .bind(3, static_cast<int64_t>(modseq))
                .bind(4, m->seen_at)
                .bind(5, m->seen_via)
                .bind(6, row.id)
                .bind(7, static_cast<int64_t>(uid))
                .run();
        if (!s.is_ok()) return s;
        m->keywords = kw;
        shown_modseq = modseq;
        changed_any = true;
      }
      bool reader_seen = (flags & kSeen) != 0;
      if (per_reader && reader_seen != (mark && mark->seen)) {
        s = put_seen_mark(db, req.reader, row.id, uid, reader_seen, modseq);
        if (!s.is_ok()) return s;
        shown_modseq = modseq;
        changed_any = true;
      }
      m->flags = flags;
      m->modseq = shown_modseq;
      out.updated.push_back(std::move(*m));
    }
    if (changed_any) {
      row.highest_modseq = modseq;
      s = set_mailbox_counters(db, row);
      if (!s.is_ok()) return s;
      new_modseq = modseq;
    }
    s = h->commit();
    if (!s.is_ok()) return s;
  }
  if (new_modseq) notify(account_id, *name, new_modseq);
  return out;
}

Result<std::vector<uint32_t>> FileStore::expunge(const std::string& account_id,
                                                 const std::string& mailbox,
                                                 const std::vector<uint32_t>& uids) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  std::vector<uint32_t> removed;
  std::vector<std::string> unreferenced;
  uint64_t modseq = 0;
  {
    auto h = hold_mailbox(*u, *name, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    MailboxRow& row = h->row;
    Status s;
    modseq = row.highest_modseq + 1;
    int64_t bytes = 0;
    std::set<std::string> guids;
    for (uint32_t uid : sorted_unique(uids)) {
      auto m = find_message(db, row.id, uid);
      if (!m.is_ok()) {
        if (m.code() == Code::not_found) continue;
        return m.status();
      }
      s = delete_message_row(db, row.id, uid, modseq);
      if (!s.is_ok()) return s;
      bytes += static_cast<int64_t>(m->size);
      guids.insert(m->guid);
      removed.push_back(uid);
    }
    if (removed.empty()) return removed;
    for (auto& g : guids)
      if (drop_file_if_unreferenced(db, g)) unreferenced.push_back(g);
    row.highest_modseq = modseq;
    s = set_mailbox_counters(db, row);
    if (s.is_ok()) s = add_usage(db, -bytes, -static_cast<int64_t>(removed.size()));
    if (s.is_ok()) s = h->commit();
    if (!s.is_ok()) return s;
  }
  // After the commit: a crash here leaves unreferenced files, which fsck removes.
  for (auto& g : unreferenced) (*u)->files.remove(g);
  notify(account_id, *name, modseq);
  return removed;
}

Result<CopyResult> FileStore::copy(const std::string& account_id, const std::string& from,
                                   const std::vector<uint32_t>& uids, const std::string& to,
                                   const Quota& quota) {
  return copy_or_move(account_id, from, uids, to, &quota, false);
}

Result<CopyResult> FileStore::move(const std::string& account_id, const std::string& from,
                                   const std::vector<uint32_t>& uids, const std::string& to) {
  return copy_or_move(account_id, from, uids, to, nullptr, true);
}

Result<CopyResult> FileStore::copy_or_move(const std::string& account_id, const std::string& from,
                                           const std::vector<uint32_t>& uids, const std::string& to,
                                           const Quota* quota, bool move) {
  auto src_name = canonical(from);
  if (!src_name.is_ok()) return src_name.status();
  auto dst_name = canonical(to);
  if (!dst_name.is_ok()) return dst_name.status();
  CopyResult out;
  uint64_t src_modseq = 0, dst_modseq = 0;
  {
    auto h = hold_user(account_id, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    auto src = find_mailbox(db, *src_name);
    if (!src.is_ok()) return src.status();
    auto dst = find_mailbox(db, *dst_name);
    if (!dst.is_ok()) return dst.status();
    std::vector<MessageMeta> msgs;
    uint64_t bytes = 0;
    for (uint32_t uid : sorted_unique(uids)) {
      auto m = find_message(db, src->id, uid);
      if (!m.is_ok()) {
        if (m.code() == Code::not_found) continue;
        return m.status();
      }
      bytes += m->size;
      msgs.push_back(std::move(*m));
    }
    out.uid_validity = dst->uid_validity;
    if (msgs.empty()) return out;
    if (!move && quota) {
      if (quota->bytes != 0 && bytes > quota->bytes)
        return Status::error(Code::too_large, "messages are larger than the mailbox quota");
      s = check_quota(db, bytes, msgs.size(), quota->bytes, quota->messages);
      if (!s.is_ok()) return s;
    }
    MailboxRow drow = *dst;
    if (drow.uid_next > 0xFFFFFFFFu - msgs.size())
      return Status::error(Code::internal, "UID space exhausted");
    MailboxRow srow = *src;
    dst_modseq = ++drow.highest_modseq;
    auto now = static_cast<int64_t>(::time(nullptr));
    for (auto& m : msgs) {
      uint32_t new_uid = drow.uid_next++;
      s = db.prepare_or_abort(
                "INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date, "
                "internal_tz, flags, keywords, retrieved_at, retrieved_by, seen_at, seen_via, "
                "saved_at) "
                "SELECT ?, ?, ?, guid, size, internal_date, internal_tz, flags, keywords, "
                "retrieved_at, retrieved_by, seen_at, seen_via, ? FROM messages "
                "WHERE mailbox_id=? AND uid=?")
              .bind(1, drow.id)
              .bind(2, static_cast<int64_t>(new_uid))
              .bind(3, static_cast<int64_t>(dst_modseq))
              .bind(4, now)  // RFC 8514 2: a copy or a moved message has a new save date
              .bind(5, src->id)
              .bind(6, static_cast<int64_t>(m.uid))
              .run();
      if (!s.is_ok()) return s;
      out.source_uids.push_back(m.uid);
      out.dest_uids.push_back(new_uid);
    }
    if (move) {
      // Onto itself, one row holds both counters and one MODSEQ covers the whole command.
      src_modseq = src->id == dst->id ? dst_modseq : ++srow.highest_modseq;
      for (auto& m : msgs) {
        s = delete_message_row(db, src->id, m.uid, src_modseq);
        if (!s.is_ok()) return s;
      }
      if (src->id != dst->id) {
        s = set_mailbox_counters(db, srow);
        if (!s.is_ok()) return s;
      }
    } else {
      s = add_usage(db, static_cast<int64_t>(bytes), static_cast<int64_t>(msgs.size()));
      if (!s.is_ok()) return s;
    }
    s = set_mailbox_counters(db, drow);
    if (s.is_ok()) s = h->commit();
    if (!s.is_ok()) return s;
  }
  std::vector<ChangeEvent> events{{account_id, *dst_name, dst_modseq}};
  if (move && *src_name != *dst_name) events.push_back({account_id, *src_name, src_modseq});
  notify_all(events);
  return out;
}

Status FileStore::mark_retrieved(const std::string& account_id, const std::string& mailbox,
                                 uint32_t uid, int64_t when, const std::string& client_ip) {
  auto h = hold_mailbox(account_id, mailbox);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  // Not an IMAP-visible change: MODSEQ stays.
  auto s = db.prepare_or_abort(
                 "UPDATE messages SET retrieved_at=?, retrieved_by=? WHERE mailbox_id=? AND uid=?")
               .bind(1, when)
               .bind(2, client_ip)
               .bind(3, h->row.id)
               .bind(4, static_cast<int64_t>(uid))
               .run();
  if (!s.is_ok()) return s;
  if (db.changes() == 0) return core::not_found("no such message");
  return Status::ok();
}

Result<QuotaUsage> FileStore::quota_usage(const std::string& account_id) {
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  return read_usage(h->db());
}

}  // namespace mailroom::store
