#include "src/service/blocklists.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>

#include "src/service/change_tracking.h"

namespace mailroom::service {
namespace {

// Serializes concurrent edits of the block list by several processes (read, change, write
// must not interleave). Held until destruction; without the lock the edit still goes ahead.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

Blocklists::Blocklists(const std::string& data_dir) : path_(filter::blocklist_path(data_dir)) {}

Blocklists::Blocklists(const std::string& data_dir, ChangeContext change)
    : path_(filter::blocklist_path(data_dir)), change_(std::move(change)) {}

std::string Blocklists::entry_json(const filter::BlockEntry& entry) {
  return tracking::JsonObject().add("kind", entry.kind).add("value", entry.value).str();
}

core::Result<filter::BlockEntry> Blocklists::add(const std::string& kind,
                                                 const std::string& value) {
  return change(kind, value, true);
}

core::Result<filter::BlockEntry> Blocklists::remove(const std::string& kind,
                                                    const std::string& value) {
  return change(kind, value, false);
}

core::Result<std::vector<filter::BlockEntry>> Blocklists::list() {
  return filter::read_blocklist(path_);
}

core::Result<filter::BlockEntry> Blocklists::change(const std::string& kind,
                                                    const std::string& value, bool add) {
  auto entry = filter::make_block_entry(kind, value);
  if (!entry) return entry;
  FileLock lock(path_ + ".lock");
  auto entries = filter::read_blocklist(path_);
  if (!entries) return entries.status();
  auto& list = *entries;
  const std::vector<filter::BlockEntry> old_list = list;
  auto it = std::find_if(list.begin(), list.end(), [&](const filter::BlockEntry& e) {
    return e.kind == entry->kind && e.value == entry->value;
  });
  if (add) {
    if (it != list.end()) {
      return core::Status::error(core::Code::already_exists,
                                 entry->kind + " " + entry->value + " is already blocked");
    }
    list.push_back(*entry);
  } else {
    if (it == list.end())
      return core::not_found(entry->kind + " " + entry->value + " is not blocked");
    list.erase(it);
  }
  const std::string json = entry_json(*entry);
  const std::string restore =
      tracking::encode_fields({{"kind", entry->kind}, {"value", entry->value}});
  std::vector<JournalEntry> records;
  records.push_back(tracking::make_entry(change_, add ? "blocklist.add" : "blocklist.remove",
                                         "blocklist:" + entry->kind + ":" + entry->value, "",
                                         add ? "null" : json, add ? json : "null",
                                         add ? "" : restore, add ? restore : ""));
  if (change_.dry_run) {
    if (auto s = tracking::finish_entries(change_, std::move(records)); !s) return s;
    return entry;
  }
  if (auto s = filter::write_blocklist(path_, list); !s) return s;
  if (auto s = tracking::finish_entries(change_, std::move(records)); !s) {
    (void)filter::write_blocklist(path_, old_list);  // no unjournaled edit
    return s;
  }
  return entry;
}

}  // namespace mailroom::service
