// Export (batch save as ZIP of .eml, offline backup as mboxrd) and mbox import.
#include <gmime/gmime.h>
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <set>

#include "src/store/maintenance.h"
#include "src/store/message_files.h"
#include "src/store/zip_writer.h"

namespace mailroom::store {
namespace {

// The unfolded value of the first `name` header (RFC 5322 2.2.3), raw (still encoded).
std::string header_value(std::string_view msg, std::string_view name) {
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t eol = msg.find('\n', pos);
    if (eol == std::string_view::npos) eol = msg.size();
    std::string_view line = msg.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string value(line.substr(name.size() + 1));
      size_t next = eol + 1;
      while (next < msg.size() && (msg[next] == ' ' || msg[next] == '\t')) {
        size_t e2 = msg.find('\n', next);
        if (e2 == std::string_view::npos) e2 = msg.size();
        std::string_view cont = msg.substr(next, e2 - next);
        if (!cont.empty() && cont.back() == '\r') cont.remove_suffix(1);
        value += cont;
        next = e2 + 1;
      }
      size_t b = value.find_first_not_of(" \t");
      return b == std::string::npos ? std::string() : value.substr(b);
    }
    pos = eol + 1;
  }
  return {};
}

// RFC 2047 encoded words and legacy charsets (Big5, GB2312, ...) to UTF-8 via GMime.
std::string decode_header_text(const std::string& raw) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  char* text = g_mime_utils_header_decode_text(nullptr, raw.c_str());
  std::string out = text ? text : raw;
  g_free(text);
  return out;
}

size_t utf8_cut(const std::string& s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

core::Status write_atomically(const std::string& path,
                              const std::function<core::Status(std::FILE*)>& body) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return core::io_error("cannot create " + path);
  auto s = body(f);
  if (s.is_ok() && (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0))
    s = core::io_error("cannot write " + path);
  std::fclose(f);
  if (s.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0)
    s = core::io_error("cannot rename to " + path);
  if (!s.is_ok()) std::remove(tmp.c_str());
  return s;
}

std::string from_line_date(int64_t when) {
  std::time_t t = static_cast<std::time_t>(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return buf;
}

}  // namespace

std::string eml_file_name(std::string_view message, int64_t internal_date) {
  std::time_t t = static_cast<std::time_t>(internal_date);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H%M", &tm);
  std::string subject = decode_header_text(header_value(message, "Subject"));
  std::string clean;
  bool space = false;
  for (char ch : subject) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == ' ') {
      space = true;
      continue;
    }
    if (space && !clean.empty()) clean += ' ';
    space = false;
    // Windows forbids these in file names; '/' and '\' would also make directories.
    if (std::string_view("<>:\"/\\|?*").find(ch) != std::string_view::npos)
      clean += '_';
    else
      clean += ch;
  }
  clean.resize(utf8_cut(clean, 100));
  while (!clean.empty() && (clean.back() == '.' || clean.back() == ' ')) clean.pop_back();
  if (clean.empty()) clean = "(no subject)";
  return std::string(date) + " " + clean + ".eml";
}

core::Status export_zip(MailStore& store, const std::string& account_id, const std::string& mailbox,
                        const std::vector<uint32_t>& uids, const std::string& out_path) {
  auto snap = store.snapshot(account_id, mailbox);
  if (!snap.is_ok()) return snap.status();
  std::set<uint32_t> wanted(uids.begin(), uids.end());
  for (uint32_t uid : wanted) {
    bool found = false;
    for (auto& m : snap->messages) found = found || m.uid == uid;
    if (!found) return core::not_found("no message with UID " + std::to_string(uid));
  }
  return write_atomically(out_path, [&](std::FILE* f) -> core::Status {
    ZipWriter zip(f);
    std::set<std::string> used;
    for (auto& m : snap->messages) {
      if (!wanted.empty() && !wanted.count(m.uid)) continue;
      auto data = store.read_message(account_id, mailbox, m.uid);
      if (!data.is_ok()) {
        if (data.code() == core::Code::not_found) continue;  // expunged meanwhile
        return data.status();
      }
      std::string name = eml_file_name(*data, m.internal_date);
      std::string base = name.substr(0, name.size() - 4);
      for (int n = 2; used.count(name); ++n) name = base + " (" + std::to_string(n) + ").eml";
      used.insert(name);
      auto s = zip.add(name, *data, m.internal_date);
      if (!s.is_ok()) return s;
    }
    return zip.finish();
  });
}

std::string mboxrd_entry(std::string_view message, int64_t internal_date) {
  std::string out = "From MAILER-DAEMON " + from_line_date(internal_date) + "\n";
  size_t pos = 0;
  while (pos < message.size()) {
    size_t eol = message.find('\n', pos);
    size_t end = eol == std::string_view::npos ? message.size() : eol;
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t q = 0;
    while (q < line.size() && line[q] == '>') ++q;
    if (line.substr(q, 5) == "From ") out += '>';  // mboxrd quoting
    out.append(line);
    out += '\n';
    pos = end + 1;
  }
  out += '\n';
  return out;
}

std::vector<std::pair<std::string, int64_t>> split_mbox(std::string_view mbox) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::string* cur = nullptr;
  size_t pos = 0;
  while (pos < mbox.size()) {
    size_t eol = mbox.find('\n', pos);
    size_t end = eol == std::string_view::npos ? mbox.size() : eol;
    std::string_view line = mbox.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    if (line.substr(0, 5) == "From ") {
      int64_t when = 0;
      size_t sp = line.find(' ', 5);
      if (sp != std::string_view::npos) {
        std::tm tm{};
        std::string date(line.substr(sp + 1));
        if (strptime(date.c_str(), "%a %b %d %H:%M:%S %Y", &tm)) when = timegm(&tm);
      }
      out.emplace_back(std::string(), when);
      cur = &out.back().first;
      continue;
    }
    if (!cur) continue;  // junk before the first From line
    size_t q = 0;
    while (q < line.size() && line[q] == '>') ++q;
    if (q > 0 && line.substr(q, 5) == "From ") line.remove_prefix(1);
    cur->append(line);
    cur->append("\r\n");
  }
  // Drop the separating blank line the writer put after each message.
  for (auto& [msg, when] : out)
    if (msg.size() >= 4 && msg.compare(msg.size() - 4, 4, "\r\n\r\n") == 0)
      msg.resize(msg.size() - 2);
  return out;
}

core::Result<uint64_t> export_mbox(MailStore& store, const std::string& account_id,
                                   const std::vector<std::string>& mailboxes,
                                   const std::string& out_path) {
  std::vector<std::string> names = mailboxes;
  if (names.empty()) {
    auto list = store.list_mailboxes(account_id);
    if (!list.is_ok()) return list.status();
    for (auto& b : *list) names.push_back(b.name);
  }
  uint64_t count = 0;
  auto s = write_atomically(out_path, [&](std::FILE* f) -> core::Status {
    for (auto& name : names) {
      auto snap = store.snapshot(account_id, name);
      if (!snap.is_ok()) return snap.status();
      for (auto& m : snap->messages) {
        auto data = store.read_message(account_id, name, m.uid);
        if (!data.is_ok()) {
          if (data.code() == core::Code::not_found) continue;
          return data.status();
        }
        std::string entry = mboxrd_entry(*data, m.internal_date);
        if (std::fwrite(entry.data(), 1, entry.size(), f) != entry.size())
          return core::io_error("cannot write " + out_path);
        ++count;
      }
    }
    return core::Status::ok();
  });
  if (!s.is_ok()) return s;
  return count;
}

core::Result<uint64_t> import_mbox(MailStore& store, const std::string& account_id,
                                   const std::string& mailbox, const std::string& in_path,
                                   const Quota& quota) {
  std::FILE* f = std::fopen(in_path.c_str(), "rb");
  if (!f) return core::not_found("cannot open " + in_path);
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  std::fclose(f);
  uint64_t count = 0;
  for (auto& [msg, when] : split_mbox(data)) {
    AppendRequest req;
    req.mailbox = mailbox;
    req.message = msg;
    req.internal_date = when;
    req.quota_bytes = quota.bytes;
    req.quota_messages = quota.messages;
    req.create_mailbox = true;
    auto r = store.append(account_id, req);
    if (!r.is_ok()) return r.status();
    ++count;
  }
  return count;
}

}  // namespace mailroom::store
