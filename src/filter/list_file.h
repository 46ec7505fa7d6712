// The text files of the filters' lists (the administrator's blocklist.txt, each user's
// personal-lists.txt): one entry a line of words, "#" comments, rewritten whole and atomically,
// and re-read when their stamp changes.
#pragma once

#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::filter {

// mtime, size and inode of `path` ("missing" when it cannot be stat()ed): a change means re-read.
std::string list_file_stamp(const std::string& path);

// Calls fn(line number, words) for every line with words that is not a comment ("\r\n" or
// "\n" line ends); fn returns false to stop.
void read_list_lines(std::istream& in,
                     const std::function<bool(int, const std::vector<std::string>&)>& fn);

// Replaces `path` with `text`: a temp file beside it (mode `mode`), fsync, rename, then the
// directory fsync'd. io_error naming `what` ("block list") when any step fails.
core::Status write_list_file(const std::string& path, const std::string& text, int mode,
                             const std::string& what);

}  // namespace mailroom::filter
