// FileStore: what caches of a whole mailbox read (facts in batches) and where they keep files.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

// UIDs per index query: a range scan of the messages primary key (mailbox_id, uid), so the
// statement stays one cached prepared statement (no SQL built at run time).
constexpr size_t kFactsBatch = 256;

}  // namespace

std::vector<Result<std::string>> FileStore::facts_batch(const std::string& account_id,
                                                        const std::string& mailbox,
                                                        const std::vector<uint32_t>& uids) {
  std::vector<Result<std::string>> out(uids.size(),
                                       Result<std::string>(core::not_found("no such message")));
  auto name = canonical(mailbox);
  if (!name.is_ok()) {
    out.assign(uids.size(), Result<std::string>(name.status()));
    return out;
  }
  auto u = user(account_id);
  if (!u.is_ok()) {
    out.assign(uids.size(), Result<std::string>(u.status()));
    return out;
  }
  // Positions of the UIDs in ascending order, so each chunk is one UID range.
  std::vector<size_t> order(uids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return uids[a] < uids[b]; });
  std::vector<size_t> uncached;  // rows stored without facts: computed by facts() below
  for (size_t c = 0; c < order.size(); c += kFactsBatch) {
    size_t end = std::min(order.size(), c + kFactsBatch);
    // The user's lock is taken per chunk: deliveries go on between chunks of a big fill.
    auto h = hold_mailbox(*u, *name);
    if (!h.is_ok()) {
      for (size_t k = c; k < order.size(); ++k) out[order[k]] = h.status();
      return out;
    }
    auto q = h->db().prepare_or_abort(
        "SELECT m.uid, f.facts IS NULL, f.facts FROM messages m JOIN files f ON f.guid=m.guid "
        "WHERE m.mailbox_id=? AND m.uid BETWEEN ? AND ? ORDER BY m.uid");
    q.bind(1, h->row.id)
        .bind(2, static_cast<int64_t>(uids[order[c]]))
        .bind(3, static_cast<int64_t>(uids[order[end - 1]]));
    size_t k = c;
    Status err;
    while (k < end && q.step(&err)) {
      auto uid = static_cast<uint32_t>(q.i64(0));
      while (k < end && uids[order[k]] < uid) ++k;  // not there: stays not_found
      for (; k < end && uids[order[k]] == uid; ++k) {
        if (q.i64(1) != 0 && options_.facts)
          uncached.push_back(order[k]);
        else
          out[order[k]] = q.text(2);
      }
    }
    if (!err.is_ok())
      for (size_t j = c; j < end; ++j) out[order[j]] = err;
  }
  for (size_t i : uncached) out[i] = facts(account_id, mailbox, uids[i]);
  return out;
}

Result<std::string> FileStore::cache_dir(const std::string& account_id) {
  if (auto ok = check_account_id(account_id); !ok.is_ok()) return ok;
  std::string dir = options_.root + "/" + account_id + "/cache";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return core::io_error("cannot create the cache directory", dir + ": " + std::strerror(errno));
  return dir;
}

}  // namespace mailroom::store
