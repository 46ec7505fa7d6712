// SORT/THREAD helpers of RFC 5256, pure (no I/O): the base subject (section 2.1) and the
// ORDEREDSUBJECT and REFERENCES threading algorithms (section 2.2, steps 1-6, including the
// merge of threads with the same base subject). Unit-tested in tests/unit/imap/thread_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::imap {

struct BaseSubject {
  std::string text;  // whitespace-normalized base subject, i;unicode-casemap form (RFC 5051)
  bool reply_or_forward = false;  // a "re:", "fw:", "fwd:", "(fwd)" or "[fwd: ...]" was removed
};

// RFC 5256 2.1 on an already decoded (RFC 2047, charset -> UTF-8) subject.
BaseSubject base_subject(std::string_view decoded_subject);

// One message as threading sees it. Items are given in mailbox (sequence number) order. The
// views are the caller's (the sort key table, src/imap/sort_keys.h) and outlive the call.
struct ThreadItem {
  uint32_t id = 0;        // what is printed: sequence number or UID
  int64_t sent_date = 0;  // Date: header (UTC seconds), else INTERNALDATE (RFC 5256 2.2)
  // base_subject() of the decoded subject, computed once per message (not per command).
  std::string_view base_subject;
  bool reply_or_forward = false;
  std::string_view message_id, references, in_reply_to;  // raw header values
};

// The THREAD response data after "THREAD " (e.g. "(2)(3 6 (4 23)(44 7 96))").
std::string thread_orderedsubject(const std::vector<ThreadItem>& items);
std::string thread_references(const std::vector<ThreadItem>& items);

}  // namespace mailroom::imap
