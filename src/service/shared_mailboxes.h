// Administrator-created shared mailboxes (issue 20, "Shared mailboxes and ACL"): an account of
// the local directory that nobody logs in to (its password hash matches no password), whose
// mailbox lives in the store under its own immutable id like any other, marked "shared" in the
// store so IMAP lists it under "Shared/<address>/" (src/imap/acl.h), and readable by the
// directory groups and users its ACL names (RFC 4314, auth/mailbox_acl.h). Mail to its address
// is delivered into its INBOX as to any account.
//
// Offboarding (issue 22 G7, "converted into a shared mailbox readable by a group"):
// convert_account() turns an existing account's mailbox into one; auth/offboarding.* would
// call it as a workflow step.
//
// Errors: not_found for an unknown shared mailbox, group or user; already_exists for an
// address in use; invalid_argument for malformed rights ("lrswipkxtea") or identifiers;
// unavailable / io_error from SQLite or the store. Messages name the object.
//
// Threading: one SharedMailboxes is called from one thread; every call blocks.
#pragma once

#include <string>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/store/mail_store.h"

namespace mailroom::service {

struct SharedMailbox {
  auth::Account account;
  // Every mailbox of it with an ACL; identifiers shown as names ("$support-team@example.com",
  // "bob@example.com", "anyone").
  std::vector<store::MailboxAcl> acls;
};

struct NewSharedMailbox {
  std::string address;       // its address (a local domain)
  std::string display_name;  // optional
  std::string group;         // address of the directory group that gets `rights` on INBOX
  std::string rights = "lrswipte";
};

class SharedMailboxes {
 public:
  SharedMailboxes(auth::LocalDirectory& directory, store::MailStore& store)
      : directory_(directory), store_(store) {}

  core::Result<SharedMailbox> create(const NewSharedMailbox& request);
  core::Result<std::vector<SharedMailbox>> list();
  core::Result<SharedMailbox> show(const std::string& address);
  // Removes the account from the directory and the "shared" mark; its mail stays in the store
  // (as `user remove` leaves a user's mailbox).
  core::Status remove(const std::string& address);
  // Sets (replaces) the rights of `identifier` ("$group@domain", a user's address or login,
  // "anyone", "-" + any) on `mailbox`; revoke removes the entry.
  core::Result<SharedMailbox> grant(const std::string& address, const std::string& identifier,
                                    const std::string& rights,
                                    const std::string& mailbox = "INBOX");
  core::Result<SharedMailbox> revoke(const std::string& address, const std::string& identifier,
                                     const std::string& mailbox = "INBOX");
  // Marks the existing account's mailbox shared and gives `group` `rights` on its INBOX (the
  // offboarding step; the account itself is left as the workflow set it).
  core::Status convert_account(const std::string& account_id, const std::string& group,
                               const std::string& rights);

 private:
  core::Result<auth::Account> find_shared(const std::string& address);
  core::Result<SharedMailbox> describe(const auth::Account& account);
  core::Status set(const std::string& account_id, const std::string& mailbox,
                   const std::string& identifier, const std::string& rights);

  auth::LocalDirectory& directory_;
  store::MailStore& store_;
};

}  // namespace mailroom::service
