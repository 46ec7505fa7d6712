// The change journal's operations for front ends (issue 17): list, show and revert change
// sets (mailroomctl journal, the HTTP admin API's journal resources).
//
// Revert undoes one change set where that is possible, in the reverse order of its records,
// as one new change set (journaled, each record's `reverts` naming the undone set):
//   *.add -> removed; *.remove -> created again as it was; *.change -> the before values.
//   user.remove: the account comes back with its immutable id (so the mailbox still on disk
//   is its mailbox again), its addresses, settings, group memberships and the password hash
//   and SCRAM secret it had (kept in the journal's private column for this purpose only).
//   domain.remove --force: the domain, then its accounts, aliases and groups.
//   blocklist.add/remove: the entry removed/added again.
//   app_password.create: the app password revoked (reason "reverted").
//   app_password.revoke: cannot be reverted (the secret is gone): the revert is refused.
// Every object must still be as the change set left it; an object changed since (or an
// address taken since) refuses the whole revert and changes nothing: already_exists ("...
// has changed since change set X; revert the later change sets first" or the directory's
// "address ... is already used"), which the HTTP API answers 409. Directory objects are
// restored in one directory.db transaction; block list and app password undos run last,
// inside it, after every check passed.
//
// Errors: not_found for an unknown change set; invalid_argument for a set that cannot be
// reverted (an app password revoke; a directory object without a writable local directory);
// already_exists for a conflict ("... was already reverted by change set Y" when it was);
// unavailable / io_error from SQLite and the disk.
//
// Threading: one ChangeSets is used by one thread; every call blocks. The ChangeJournal may
// be shared by many.
#pragma once

#include <string>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::auth {
class AppPasswordStore;
}

namespace mailroom::service {

class ChangeSets {
 public:
  // `directory`: the writable local directory (null: change sets of directory objects cannot
  // be reverted); `data_dir`: where the block list lives; `app_passwords` may be null (app
  // password change sets cannot be reverted). `change`: who reverts, dry run, where the
  // records of the revert go.
  ChangeSets(ChangeJournal& journal, auth::LocalDirectory* directory, std::string data_dir,
             auth::AppPasswordStore* app_passwords, ChangeContext change = {});

  core::Result<std::vector<ChangeRecord>> list(const JournalFilter& filter);
  core::Result<std::vector<ChangeRecord>> show(const std::string& change_set);
  // The records of the revert (its new change set), or in a dry run those it would make.
  core::Result<std::vector<ChangeRecord>> revert(const std::string& change_set);

 private:
  core::Result<std::vector<ChangeRecord>> revert_once(const std::string& change_set);

  ChangeJournal& journal_;
  auth::LocalDirectory* directory_;
  std::string data_dir_;
  auth::AppPasswordStore* app_passwords_;
  ChangeContext change_;
};

}  // namespace mailroom::service
