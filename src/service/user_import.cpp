// Users::import: bulk creation from a tab-separated stream (users.h has the format).
#include <istream>
#include <utility>

#include "src/core/address.h"
#include "src/service/change_tracking.h"
#include "src/service/users.h"

namespace mailroom::service {
namespace {

// Big enough to amortize the commit's fsync, small enough to keep the write lock short
// while mailroomd reads the directory.
constexpr size_t kBatch = 5000;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (true) {
    auto tab = line.find('\t', pos);
    fields.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
    if (tab == std::string::npos) break;
    pos = tab + 1;
  }
  return fields;
}

}  // namespace

core::Result<uint64_t> Users::import(std::istream& in, const std::string& source_name,
                                     bool create_domains) {
  uint64_t added = 0;
  std::vector<std::pair<size_t, auth::Account>> batch;
  // One change set for the whole import, journaled batch by batch ("user.add" per account,
  // "domain.add" per created domain). A dry run is one batch, so that later rows see the
  // domains and addresses of earlier ones exactly as the real import would.
  ChangeContext change = change_;
  if (change.change_set.empty()) change.change_set = ChangeJournal::new_change_set_id();
  const size_t batch_limit = change.dry_run ? SIZE_MAX : kBatch;
  auto flush = [&]() -> core::Status {
    std::vector<tracking::ObjectKey> keys;
    for (auto& [line_no, account] : batch) {
      if (create_domains) {
        std::string domain = account.address.substr(account.address.rfind('@') + 1);
        keys.push_back({tracking::ObjectKind::domain, core::ascii_lower(domain)});
      }
    }
    for (auto& [line_no, account] : batch) {
      if (account.id.empty()) account.id = auth::LocalDirectory::new_uuid();
      keys.push_back({tracking::ObjectKind::user, account.id});
    }
    uint64_t added_here = 0;
    core::Status st = tracking::run_tracked(
        directory_, change, "user.add", tracking::fixed_keys(std::move(keys)),
        [&]() -> core::Status {
          added_here = 0;
          for (auto& [line_no, account] : batch) {
            if (create_domains) {
              std::string domain = account.address.substr(account.address.rfind('@') + 1);
              auto found = directory_.find_domain(core::ascii_lower(domain));
              if (!found && found.code() == core::Code::not_found) {
                auth::Domain d;
                d.name = domain;
                if (auto s = directory_.add_domain(d); !s) return s;
              }
            }
            auto r = directory_.add_account(account);
            if (!r) {
              auto s = r.status();
              return core::Status::error(
                  s.code(), source_name + ":" + std::to_string(line_no) + ": " + s.client_message(),
                  s.log_detail());
            }
            ++added_here;
          }
          return core::Status::ok();
        });
    batch.clear();
    if (st) added += added_here;
    return st;
  };

  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto f = split_tabs(line);
    std::string where = source_name + ":" + std::to_string(line_no);
    if (f.size() < 2 || f[1].empty() || f[1][0] != '{') {
      return core::invalid_argument(where + ": expected address<TAB>{SCHEME}hash");
    }
    auth::Account a;
    a.address = f[0];
    a.password_hash = f[1];
    if (f.size() > 2) a.display_name = f[2];
    if (f.size() > 3 && !f[3].empty()) {
      auto q = parse_size(f[3], where + ": quota");
      if (!q) return q.status();
      a.quota_bytes = *q;
    }
    batch.emplace_back(line_no, std::move(a));
    if (batch.size() >= batch_limit) {
      if (auto st = flush(); !st) return st;
    }
  }
  if (auto st = flush(); !st) return st;
  return added;
}

}  // namespace mailroom::service
