#include "src/service/users.h"

#include <algorithm>
#include <cctype>

#include "auth/password/password_hash.h"
#include "src/core/address.h"
#include "src/service/change_tracking.h"
#include "src/service/passwords.h"

namespace mailroom::service {

core::Result<uint64_t> parse_size(const std::string& text, const std::string& what) {
  if (text.empty()) return core::invalid_argument(what + ": empty size");
  uint64_t mult = 1;
  std::string num = text;
  char last = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
  if (last == 'k' || last == 'm' || last == 'g' || last == 't') {
    mult = last == 'k'   ? 1ULL << 10
           : last == 'm' ? 1ULL << 20
           : last == 'g' ? 1ULL << 30
                         : 1ULL << 40;
    num.pop_back();
  }
  // At most 12 digits: the product stays far below 2^64 even in terabytes.
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos || num.size() > 12) {
    return core::invalid_argument(what + ": '" + text + "' is not a size (e.g. 500M, 1G)");
  }
  return std::stoull(num) * mult;
}

core::Result<auth::AccountStatus> parse_account_status(const std::string& text) {
  if (text == "active") return auth::AccountStatus::active;
  if (text == "disabled") return auth::AccountStatus::disabled;
  if (text == "deleted") return auth::AccountStatus::deleted;
  return core::invalid_argument("status must be active, disabled or deleted, not '" + text + "'");
}

core::Result<auth::Account> Users::find(const std::string& user) {
  auto a = directory_.find_account_by_address(core::ascii_lower(user));
  if (a || a.code() != core::Code::not_found) return a;
  a = directory_.find_account_by_login(core::ascii_lower(user));
  if (a || a.code() != core::Code::not_found) return a;
  a = directory_.find_account_by_id(user);
  if (a || a.code() != core::Code::not_found) return a;
  return core::not_found("user " + user + " not found");
}

namespace {

// A dry run validates the password as hashing would (not empty, a known scheme) but does not
// pay for the hash (argon2: tens of ms and 20 MiB): the result carries a placeholder.
core::Result<PasswordHash> users_hash_or_placeholder(const std::string& password,
                                                     const std::string& scheme, bool with_scram,
                                                     bool dry_run) {
  if (!dry_run) return hash_password(password, scheme, with_scram);
  if (password.empty()) return core::invalid_argument("password must not be empty");
  if (!auth::password::parse_scheme(scheme)) {
    return core::invalid_argument("unknown password scheme " + scheme);
  }
  return PasswordHash{"{DRY-RUN}", with_scram ? "DRY-RUN" : ""};
}

}  // namespace

core::Result<auth::AccountRecord> Users::add(const NewUser& request) {
  auth::Account a;
  // The id is chosen here, not by the directory, so the journal knows the object beforehand.
  a.id = request.id.empty() ? auth::LocalDirectory::new_uuid() : request.id;
  a.address = request.address;
  a.login = request.login;
  a.display_name = request.display_name;
  a.forward_to = request.forward_to;
  a.forward_keep_copy = request.forward_keep_copy;
  a.other_addresses = request.other_addresses;
  a.send_as = request.send_as;
  a.quota_bytes = request.quota_bytes;
  a.quota_messages = request.quota_messages;
  a.status = request.status;
  std::string secret;
  if (!request.password_hash.empty()) {
    if (request.password_hash.front() != '{') {
      return core::invalid_argument("password hash must look like {SCHEME}...");
    }
    a.password_hash = request.password_hash;
  } else if (!request.password.empty()) {
    auto h = users_hash_or_placeholder(request.password, request.scheme, request.with_scram,
                                       change_.dry_run);
    if (!h) return h.status();
    a.password_hash = h->hash;
    secret = h->scram_secret;
  } else {
    return core::invalid_argument("user " + request.address +
                                  ": a password or a password hash is required");
  }
  auth::AccountRecord stored;
  auto st = tracking::run_tracked(directory_, change_, "user.add",
                                  tracking::fixed_keys({{tracking::ObjectKind::user, a.id}}),
                                  [&]() -> core::Status {
                                    auto added = directory_.add_account(a, secret);
                                    if (!added) return added.status();
                                    auto r = directory_.get_account_record(added->id);
                                    if (!r) return r.status();
                                    stored = std::move(*r);
                                    return core::Status::ok();
                                  });
  if (!st) return st;
  return stored;
}

core::Result<auth::AccountRecord> Users::change(const UserChange& request) {
  auto found = find(request.user);
  if (!found) return found.status();
  const std::string id = found->id;
  // Hashing happens before the transaction: it is slow and needs nothing from the directory.
  std::optional<PasswordHash> new_password;
  if (!request.password_hash && request.password) {
    auto h = users_hash_or_placeholder(*request.password, request.scheme, request.with_scram,
                                       change_.dry_run);
    if (!h) return h.status();
    new_password = *h;
  }
  auth::AccountRecord stored;
  auto body = [&]() -> core::Status {
    auto rec = directory_.get_account_record(id);
    if (!rec) return rec.status();
    auth::AccountRecord r = *rec;
    auth::Account& a = r.account;
    if (request.password_hash) {
      a.password_hash = *request.password_hash;
      r.scram_secret.clear();
    } else if (new_password) {
      a.password_hash = new_password->hash;
      r.scram_secret = new_password->scram_secret;
    }
    if (request.display_name) a.display_name = *request.display_name;
    if (request.status) a.status = *request.status;
    if (request.quota_bytes) a.quota_bytes = *request.quota_bytes;
    if (request.quota_messages) a.quota_messages = *request.quota_messages;
    if (request.forward_to) a.forward_to = *request.forward_to;
    if (request.forward_keep_copy) a.forward_keep_copy = *request.forward_keep_copy;
    if (request.send_as) a.send_as = *request.send_as;
    for (const auto& x : request.add_addresses) a.other_addresses.push_back(x);
    for (const auto& x : request.remove_addresses) {
      if (std::erase(a.other_addresses, core::ascii_lower(x)) == 0) {
        return core::not_found("address " + x + " is not a secondary address of " + a.address);
      }
    }
    if (request.login) a.login = *request.login;
    auto s = directory_.upsert_account_by_id(r, /*keep_empty_secrets=*/false);
    if (!s) return s.status();
    if (request.primary_address) {
      if (auto p = directory_.set_primary_address(id, *request.primary_address, true); !p) {
        return p;
      }
    }
    auto after = directory_.get_account_record(id);
    if (!after) return after.status();
    stored = std::move(*after);
    return core::Status::ok();
  };
  auto st = tracking::run_tracked(directory_, change_, "user.change",
                                  tracking::fixed_keys({{tracking::ObjectKind::user, id}}), body);
  if (!st) return st;
  return stored;
}

core::Result<auth::Account> Users::remove(const std::string& user) {
  auto a = find(user);
  if (!a) return a;
  // Removing an account also takes its addresses out of every group (LocalDirectory): those
  // groups change too, and a revert puts the addresses back.
  auto keys = [&]() -> core::Result<std::vector<tracking::ObjectKey>> {
    std::vector<std::string> addresses = a->other_addresses;
    addresses.push_back(a->address);
    auto groups = tracking::groups_with_members(directory_, addresses);
    if (!groups) return groups.status();
    std::vector<tracking::ObjectKey> out = std::move(*groups);
    out.push_back({tracking::ObjectKind::user, a->id});
    return out;
  };
  auto st = tracking::run_tracked(directory_, change_, "user.remove", keys,
                                  [&] { return directory_.remove_account(a->id); });
  if (!st) return st;
  return a;
}

core::Result<std::vector<auth::Account>> Users::list(const std::string& domain) {
  return directory_.list_accounts(domain);
}

core::Result<auth::AccountRecord> Users::show(const std::string& user) {
  auto a = find(user);
  if (!a) return a.status();
  return directory_.get_account_record(a->id);
}

}  // namespace mailroom::service
