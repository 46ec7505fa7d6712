// Told when an IMAP client copies or moves messages between a user's mailboxes (COPY, MOVE and
// their UID forms), after the store did it. The spam learner (spam_learner.h) trains rspamd
// from moves into and out of Junk.
//
// Threading: copied() is called on an I/O thread: it must only queue work, never block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom::filter {

class MoveObserver {
 public:
  virtual ~MoveObserver() = default;
  // `to_uids`: the new messages' UIDs in `to`.
  virtual void copied(const std::string& account_id, const std::string& from, const std::string& to,
                      const std::vector<uint32_t>& to_uids) = 0;
};

}  // namespace mailroom::filter
