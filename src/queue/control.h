// Administrative requests to a running queue (`mailroomctl queue flush|hold|release|delete`),
// passed through the spool directory so they work whether or not mailroomd runs:
//   <spool>/control/<unique>.cmd   one request per file, "<verb>[ <queue id>]\n", written
//                                  whole (temporary name, then rename) and deleted once done;
//                                  mailroomd looks about once a second and at start.
//   <spool>/held/<queue id>        a held message (empty file): kept across restarts, never
//                                  tried until released.
// Verbs: flush (every waiting remote recipient now, or one message's), hold, release, delete
// (its recipients still open are dropped without a bounce, like postsuper -d).
#pragma once

#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::queue {

struct ControlRequest {
  std::string verb;      // flush | hold | release | delete
  std::string queue_id;  // "" only for flush (all)
};

// Validates and writes one request; invalid_argument for an unknown verb or a malformed id.
core::Status write_control_request(const std::string& spool_dir, const ControlRequest& request);
// Reads and removes every pending request, oldest first. Malformed files are removed too.
std::vector<ControlRequest> take_control_requests(const std::string& spool_dir);
bool valid_queue_id(const std::string& id);

// Held messages (ids of files in <spool>/held).
std::vector<std::string> held_messages(const std::string& spool_dir);
core::Status set_held(const std::string& spool_dir, const std::string& queue_id, bool held);

}  // namespace mailroom::queue
