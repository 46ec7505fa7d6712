#include "src/service/mailboxes.h"

#include <sstream>
#include <stdexcept>

#include "src/service/change_tracking.h"
#include "src/store/store_options.h"

namespace mailroom::service {

core::Result<std::vector<uint32_t>> parse_uid_list(const std::string& text) {
  std::vector<uint32_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      size_t used = 0;
      unsigned long v = std::stoul(part, &used);
      if (used != part.size() || v == 0 || v > 0xFFFFFFFFul) throw std::invalid_argument(part);
      out.push_back(static_cast<uint32_t>(v));
    } catch (const std::exception&) {
      return core::invalid_argument("invalid UID list: " + text);
    }
  }
  return out;
}

core::Result<auth::Account> Mailboxes::owner(const std::string& user) {
  if (!store_ || !directory_) {
    return core::Status::error(core::Code::unavailable, "mail store or directory not configured");
  }
  core::Result<auth::Account> acct = user.find('@') != std::string::npos
                                         ? directory_->find_account_by_address(user)
                                         : directory_->find_account_by_login(user);
  if (!acct.is_ok() && acct.code() == core::Code::not_found) {
    acct = directory_->find_account_by_id(user);
  }
  if (!acct.is_ok()) {
    if (acct.code() == core::Code::not_found) return core::not_found("user " + user + " not found");
    return acct.status();
  }
  return acct;
}

core::Result<std::vector<store::MailboxInfo>> Mailboxes::list(const std::string& user) {
  auto a = owner(user);
  if (!a) return a.status();
  return store_->list_mailboxes(a->id);
}

namespace {

core::Status mailboxes_no_dry_run(const char* what) {
  return core::invalid_argument(std::string("mailbox ") + what + " has no dry run");
}

// Journals one mailbox change that has been made (the store has no transaction to undo).
core::Status mailboxes_journal(const ChangeContext& ctx, const std::string& operation,
                               const auth::Account& a, const std::string& name,
                               const std::string& before_name, const std::string& after_name,
                               bool recursive = false) {
  auto doc = [&](const std::string& n) {
    if (n.empty()) return std::string("null");
    tracking::JsonObject o;
    o.add("account_id", a.id).add("address", a.address).add("name", n);
    if (recursive) o.add("recursive", true);
    return o.str();
  };
  std::vector<JournalEntry> records;
  records.push_back(tracking::make_entry(ctx, operation, "mailbox:" + a.address + ":" + name, a.id,
                                         doc(before_name), doc(after_name), "", ""));
  return tracking::finish_entries(ctx, std::move(records));
}

}  // namespace

core::Status Mailboxes::create(const std::string& user, const std::string& mailbox) {
  if (change_.dry_run) return mailboxes_no_dry_run("create");
  auto a = owner(user);
  if (!a) return a.status();
  if (auto st = store_->create_mailbox(a->id, mailbox, store::SpecialUse::none); !st) return st;
  return mailboxes_journal(change_, "mailbox.create", *a, mailbox, "", mailbox);
}

core::Status Mailboxes::remove(const std::string& user, const std::string& mailbox,
                               bool recursive) {
  if (change_.dry_run) return mailboxes_no_dry_run("remove");
  auto a = owner(user);
  if (!a) return a.status();
  if (auto st = store_->delete_mailbox(a->id, mailbox, recursive); !st) return st;
  return mailboxes_journal(change_, "mailbox.remove", *a, mailbox, mailbox, "", recursive);
}

core::Status Mailboxes::rename(const std::string& user, const std::string& from,
                               const std::string& to) {
  if (change_.dry_run) return mailboxes_no_dry_run("rename");
  auto a = owner(user);
  if (!a) return a.status();
  if (auto st = store_->rename_mailbox(a->id, from, to); !st) return st;
  return mailboxes_journal(change_, "mailbox.rename", *a, from, from, to);
}

core::Result<std::vector<store::FsckReport>> Mailboxes::fsck(const FsckRequest& request) {
  if (request.all == !request.user.empty()) {
    return core::invalid_argument("name one user, or ask for all accounts");
  }
  if (!store_) return core::Status::error(core::Code::unavailable, "mail store not configured");
  const store::StoreOptions* opts = store::file_store_options(*store_);
  if (!opts) return core::invalid_argument("store has no files to check");
  std::vector<std::string> ids;
  if (request.all) {
    ids = store::list_store_accounts(*opts);
  } else {
    auto a = owner(request.user);
    if (!a) return a.status();
    ids.push_back(a->id);
  }
  std::vector<store::FsckReport> reports;
  for (const auto& id : ids) {
    auto r = store::fsck_user(*opts, id, request.options);
    if (!r) return r.status();
    reports.push_back(std::move(*r));
  }
  return reports;
}

core::Status Mailboxes::export_zip(const std::string& user, const std::string& mailbox,
                                   const std::vector<uint32_t>& uids, const std::string& out_path) {
  auto a = owner(user);
  if (!a) return a.status();
  return store::export_zip(*store_, a->id, mailbox, uids, out_path);
}

core::Result<uint64_t> Mailboxes::export_mbox(const std::string& user,
                                              const std::vector<std::string>& mailboxes,
                                              const std::string& out_path) {
  auto a = owner(user);
  if (!a) return a.status();
  return store::export_mbox(*store_, a->id, mailboxes, out_path);
}

core::Result<uint64_t> Mailboxes::import_mbox(const std::string& user, const std::string& mailbox,
                                              const std::string& in_path) {
  auto a = owner(user);
  if (!a) return a.status();
  store::Quota q{a->quota_bytes, a->quota_messages};
  return store::import_mbox(*store_, a->id, mailbox, in_path, q);
}

core::Result<QuotaReport> Mailboxes::quota(const std::string& user) {
  auto a = owner(user);
  if (!a) return a.status();
  auto usage = store_->quota_usage(a->id);
  if (!usage) return usage.status();
  return QuotaReport{*a, *usage};
}

}  // namespace mailroom::service
