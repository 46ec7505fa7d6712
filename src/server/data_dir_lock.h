// One mailroomd per data directory: the spool's recovery, POP3's [IN-USE] lock and IMAP's
// \Recent claims are kept in the process. An exclusive flock on <data_dir>/run/mailroomd.lock,
// held until the process ends (also by kill -9: the kernel drops it), with the holder's pid.
#pragma once

#include <string>

namespace mailroom::server {

// Returns the descriptor holding the lock, or -1 with `error` set ("another mailroomd (pid
// N) is running on the data directory D").
int lock_data_dir(const std::string& data_dir, std::string* error);

}  // namespace mailroom::server
