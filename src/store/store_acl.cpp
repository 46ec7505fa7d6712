// FileStore: access control lists (RFC 4314), FORMAT.md "Access control lists".
//
// The rows live in the owner's index (table `acl`, keyed by the mailbox's row id, so RENAME
// keeps them and DELETE drops them with the mailbox). `<root>/.acl/<account id>` marks an
// account that ever had a row: LIST of the "Other Users" namespace reads those accounts'
// ACLs, not every index of the store.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

constexpr size_t kMaxIdentifier = 256;
constexpr size_t kMaxRights = 32;

Status check_entry(const std::string& identifier, const std::string& rights) {
  if (identifier.empty() || identifier.size() > kMaxIdentifier)
    return core::invalid_argument("bad ACL identifier");
  for (unsigned char c : identifier) {
    if (c < 0x20 || c == 0x7f) return core::invalid_argument("bad ACL identifier");
  }
  if (rights.size() > kMaxRights) return core::invalid_argument("bad ACL rights");
  for (char c : rights) {
    if (c < 'a' || c > 'z') return core::invalid_argument("bad ACL rights");
  }
  return Status::ok();
}

}  // namespace

// Version 6: the ACL rows (FORMAT.md). IF NOT EXISTS: a migration run twice ends the same.
core::Status add_acl_table(db::Sqlite& db) {
  return db.exec(
      "CREATE TABLE IF NOT EXISTS acl(mailbox_id INTEGER NOT NULL, identifier TEXT NOT NULL, "
      "rights TEXT NOT NULL, PRIMARY KEY(mailbox_id, identifier)) WITHOUT ROWID");
}

Result<std::vector<AclEntry>> FileStore::get_acl(const std::string& account_id,
                                                 const std::string& mailbox) {
  auto h = hold_mailbox(account_id, mailbox);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  auto q = db.prepare_or_abort(
      "SELECT identifier, rights FROM acl WHERE mailbox_id=? ORDER BY identifier");
  q.bind(1, h->row.id);
  std::vector<AclEntry> out;
  core::Status err;
  while (q.step(&err)) out.push_back({q.text(0), q.text(1)});
  if (!err.is_ok()) return err;
  return out;
}

Status FileStore::set_acl(const std::string& account_id, const std::string& mailbox,
                          const std::string& identifier, const std::string& rights) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto s = check_entry(identifier, rights);
  if (!s.is_ok()) return s;
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  if (!rights.empty()) {
    // The marker first: a crash after it leaves an account LIST reads in vain, never an ACL
    // LIST does not find.
    s = write_acl_marker(account_id, false, true);
    if (!s.is_ok()) return s;
  }
  auto h = hold_mailbox(std::move(*u), *name, IndexHold::Txn::write);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  const MailboxRow& row = h->row;
  if (rights.empty()) {
    s = db.prepare_or_abort("DELETE FROM acl WHERE mailbox_id=? AND identifier=?")
            .bind(1, row.id)
            .bind(2, identifier)
            .run();
  } else {
    s = db.prepare_or_abort(
              "INSERT OR REPLACE INTO acl(mailbox_id, identifier, rights) VALUES (?, ?, ?)")
            .bind(1, row.id)
            .bind(2, identifier)
            .bind(3, rights)
            .run();
  }
  if (!s.is_ok()) return s;
  return h->commit();
}

Result<std::vector<MailboxAcl>> FileStore::acls(const std::string& account_id) {
  auto u = existing_user(account_id);
  if (!u.is_ok()) return u.status();
  std::vector<MailboxAcl> out;
  if (!*u) return out;
  auto h = hold(*u);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  auto q = db.prepare_or_abort(
      "SELECT b.name, a.identifier, a.rights FROM acl a JOIN mailboxes b ON b.id=a.mailbox_id "
      "ORDER BY b.name, a.identifier");
  core::Status err;
  while (q.step(&err)) {
    std::string name = q.text(0);
    if (out.empty() || out.back().mailbox != name) out.push_back({name, {}});
    out.back().entries.push_back({q.text(1), q.text(2)});
  }
  if (!err.is_ok()) return err;
  return out;
}

Status FileStore::write_acl_marker(const std::string& account_id, bool shared, bool keep_kind) {
  std::string dir = options_.root + "/.acl";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return core::io_error("mail store error", "mkdir " + dir);
  std::string marker = dir + "/" + account_id;
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (keep_kind ? 0 : O_TRUNC), 0600);
  if (fd < 0) return core::io_error("mail store error", "open " + marker);
  bool ok = true;
  if (!keep_kind && shared) ok = ::write(fd, "shared\n", 7) == 7;
  if (ok && options_.fsync) ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return core::io_error("mail store error", "write " + marker);
  return Status::ok();
}

Status FileStore::mark_shared_account(const std::string& account_id, bool shared) {
  auto u = user(account_id);  // checks the id and creates the user's store
  if (!u.is_ok()) return u.status();
  return write_acl_marker(account_id, shared, false);
}

Result<std::vector<MailStore::AclAccount>> FileStore::acl_accounts() {
  std::vector<AclAccount> out;
  std::string dir = options_.root + "/.acl";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;  // no ACL was ever written
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.') continue;
    AclAccount a{n, false};
    int fd = ::open((dir + "/" + n).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[8] = {};
      a.shared = ::read(fd, buf, 6) == 6 && std::string(buf, 6) == "shared";
      ::close(fd);
    }
    out.push_back(std::move(a));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const AclAccount& a, const AclAccount& b) { return a.account_id < b.account_id; });
  return out;
}

}  // namespace mailroom::store
