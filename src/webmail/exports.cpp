#include "src/webmail/exports.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>

#include "src/core/log.h"
#include "src/store/mail_store.h"
#include "src/store/maintenance.h"
#include "src/store/zip_writer.h"

namespace mailroom::webmail {
namespace {

http::Response refuse(int status, std::string_view title, std::string_view detail) {
  auto r = http::Response::problem(status, title, detail);
  r.set_header("Cache-Control", "no-store");
  return r;
}

http::Response store_failure(const core::Status& s, const std::string& session_id) {
  MR_LOG_WARN("event=webmail.export_failed session={} detail={}", session_id,
              core::quote(s.to_string()));
  if (s.code() == core::Code::unavailable || s.code() == core::Code::busy) {
    auto r = refuse(503, "Service Unavailable", "the mailbox cannot be read now; try again");
    r.set_header("Retry-After", "30");
    return r;
  }
  return refuse(500, "Internal Server Error", "internal error (see the server log)");
}

http::Response too_large(const ExportLimits& limits) {
  return refuse(413, "Content Too Large",
                "at most " + std::to_string(limits.max_messages) + " messages and " +
                    std::to_string(limits.max_bytes >> 20) +
                    " MiB in one download; select fewer messages, or use IMAP");
}

http::Response file(std::string body, const char* type, const std::string& name) {
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  r.set_header("Content-Type", type);
  r.set_header("Content-Disposition", attachment_disposition(name));
  r.set_header("Cache-Control", "no-store");
  return r;
}

std::string stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M", &tm);
  return buf;
}

// A ZIP written into memory (open_memstream) by the store's ZipWriter.
class MemoryFile {
 public:
  MemoryFile() : f_(open_memstream(&data_, &size_)) {}
  ~MemoryFile() {
    if (f_) std::fclose(f_);
    std::free(data_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::FILE* get() { return f_; }
  std::string take() {
    std::fflush(f_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* f_;
};

}  // namespace

std::string attachment_disposition(const std::string& name) {
  // RFC 6266 4.3: filename= for old clients (ASCII, no quotes or backslashes), filename*
  // (RFC 8187 3.2.3: UTF-8, attr-char kept, the rest percent-encoded) for the real name.
  std::string ascii, star;
  bool plain = true;
  for (unsigned char c : name) {
    bool attr =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (attr) {
      star += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      star += '%';
      star += hex[c >> 4];
      star += hex[c & 15];
    }
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      ascii += '_';
      plain = false;
    } else {
      ascii += static_cast<char>(c);
    }
  }
  std::string out = "attachment; filename=\"" + ascii + "\"";
  if (!plain) out += "; filename*=UTF-8''" + star;
  return out;
}

http::Response batch_save(store::MailStore& store, const std::string& account_id,
                          const std::vector<std::string>& email_ids, const ExportLimits& limits,
                          const std::string& session_id) {
  if (email_ids.size() > limits.max_messages) return too_large(limits);
  struct Item {
    std::string mailbox;
    uint32_t uid;
    int64_t internal_date;
  };
  std::vector<Item> items;
  uint64_t bytes = 0;
  for (const auto& id : email_ids) {
    // "M" + the guid (32 hex digits); the store answers only for this account's mailboxes.
    std::string guid = id.substr(1);
    auto copies =
        id.size() == 33
            ? store.find_copies(account_id, guid)
            : core::Result<std::vector<store::MessageCopy>>(std::vector<store::MessageCopy>{});
    if (!copies.is_ok() && copies.code() != core::Code::invalid_argument) {
      return store_failure(copies.status(), session_id);
    }
    if (!copies.is_ok() || copies->empty()) {
      MR_LOG_INFO("event=webmail.export_refused session={} account={} reason=unknown_id",
                  session_id, account_id);
      return refuse(404, "Not Found", "no such message: " + id);
    }
    const auto& c = copies->front();
    bytes += c.meta.size;
    if (bytes > limits.max_bytes) return too_large(limits);
    items.push_back({c.mailbox, c.meta.uid, c.meta.internal_date});
  }
  MemoryFile out;
  if (!out.get()) return store_failure(core::internal_error("open_memstream failed"), session_id);
  store::ZipWriter zip(out.get());
  std::set<std::string> used;
  for (const auto& it : items) {
    auto data = store.read_message(account_id, it.mailbox, it.uid);
    if (!data.is_ok()) {
      if (data.code() == core::Code::not_found) continue;  // expunged meanwhile
      return store_failure(data.status(), session_id);
    }
    std::string name = store::eml_file_name(*data, it.internal_date);
    std::string base = name.substr(0, name.size() - 4);
    for (int n = 2; used.count(name); ++n) name = base + " (" + std::to_string(n) + ").eml";
    used.insert(name);
    auto s = zip.add(name, *data, it.internal_date);
    if (!s.is_ok()) return store_failure(s, session_id);
  }
  auto s = zip.finish();
  if (!s.is_ok()) return store_failure(s, session_id);
  MR_LOG_INFO("event=webmail.batch_save session={} account={} messages={} bytes={}", session_id,
              account_id, used.size(), bytes);
  return file(out.take(), "application/zip", "mail-" + stamp() + ".zip");
}

http::Response folder_backup(store::MailStore& store, const std::string& account_id,
                             const std::string& mailbox_id, const ExportLimits& limits,
                             const std::string& session_id) {
  auto boxes = store.list_mailboxes(account_id);
  if (!boxes.is_ok()) return store_failure(boxes.status(), session_id);
  const store::MailboxInfo* box = nullptr;
  for (const auto& b : *boxes) {
    if (!b.object_id.empty() && "F" + b.object_id == mailbox_id) box = &b;
  }
  if (!box) {
    MR_LOG_INFO("event=webmail.export_refused session={} account={} reason=unknown_mailbox",
                session_id, account_id);
    return refuse(404, "Not Found", "no such mailbox: " + mailbox_id);
  }
  auto snap = store.snapshot(account_id, box->name);
  if (!snap.is_ok()) return store_failure(snap.status(), session_id);
  uint64_t bytes = 0;
  for (const auto& m : snap->messages) bytes += m.size;
  if (bytes > limits.max_bytes) return too_large(limits);
  std::string body;
  body.reserve(bytes + snap->messages.size() * 64);
  uint64_t count = 0;
  for (const auto& m : snap->messages) {
    auto data = store.read_message(account_id, box->name, m.uid);
    if (!data.is_ok()) {
      if (data.code() == core::Code::not_found) continue;
      return store_failure(data.status(), session_id);
    }
    body += store::mboxrd_entry(*data, m.internal_date);  // RFC 4155, mboxrd quoting
    ++count;
  }
  MR_LOG_INFO("event=webmail.folder_backup session={} account={} mailbox={} messages={} bytes={}",
              session_id, account_id, core::quote(box->name), count, body.size());
  // The file is named after the mailbox's last name ("Projects/2026" -> "2026.mbox").
  std::string leaf = box->name.substr(box->name.rfind('/') + 1);
  std::string name;
  for (char c : leaf) {
    name += std::string_view("<>:\"/\\|?*").find(c) != std::string_view::npos ||
                    static_cast<unsigned char>(c) < 0x20
                ? '_'
                : c;
  }
  if (name.empty() || name.front() == '.') name = "mailbox" + name;
  return file(std::move(body), "application/mbox", name + ".mbox");
}

}  // namespace mailroom::webmail
