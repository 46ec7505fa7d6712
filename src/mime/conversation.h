// Which conversation a message belongs to, from its own header fields: the one rule that JMAP
// Thread ids (RFC 8621 3, src/jmap/threads.h) and IMAP THREADID (RFC 8474 5.2) share, so both
// protocols name a conversation alike. A message belongs to the thread of its root, the first
// message id of References (RFC 5322 3.6.4: the thread's first message), else of In-Reply-To,
// else its own Message-ID; a message without any is a thread of its own. Subjects are not
// compared (no merging of "Re:" chains without References).
//
// Thread id: "T" + 16 hex digits of a hash (FNV-1a 64) of the root, so every copy of a message
// and every message of one conversation answer the same id, and the id survives rebuilds; a
// message without a root gets "T" + its guid (MessageMeta::guid, which copies keep).
//
// Threading: pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::mime {

// The root message id of a message's thread from its raw header fields; "" when it has none.
std::string thread_root(std::string_view message_id, std::string_view in_reply_to,
                        std::string_view references);
// The thread id of a root ("" root: the message's own thread, from its guid).
std::string thread_id_of(std::string_view root, std::string_view guid);

}  // namespace mailroom::mime
