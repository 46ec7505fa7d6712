// Batch save and folder backup for the web client (issue 19), behind the session cookie and
// the CSRF rules of webmail.cpp (which calls these after its checks):
//
//   POST /webmail/save    form field ids=M<guid>,M<guid>,...  -> application/zip of .eml files
//   POST /webmail/backup  form field mailboxId=F<id>          -> application/mbox (mboxrd)
//
// The ids are JMAP's (src/jmap/views.h): an Email id names the message file's guid and is
// looked up in the signed-in account only (another account's id is "not found", as a wrong
// one), a Mailbox id the mailbox's object id.
// Files: the ZIP has one "<date> <subject>.eml" per message (store::eml_file_name: no path,
// no characters Windows refuses; a repeated name gets " (2)"), the bytes as stored. The mbox
// is RFC 4155's with mboxrd quoting (store::mboxrd_entry: every ^>*From  line gets one more
// '>'), in UID order.
// Memory: the HTTP server sends a response whole, so the file is built in memory; the limits
// below bound it (sizes are summed from the index before anything is read) and at most
// `max_concurrent` exports run at once in this process. Over a limit: 413; busy: 503.
// Threading: blocks on the store (the HTTP server runs routes on its worker pool).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/http/http.h"

namespace mailroom::store {
class MailStore;
}

namespace mailroom::webmail {

struct ExportLimits {
  std::size_t max_messages = 1000;  // messages in one ZIP (ids per request)
  uint64_t max_bytes = 100u << 20;  // stored bytes of the messages of one ZIP or mbox
};

// The ZIP of the account's messages `email_ids` ("M..." ids, already parsed).
http::Response batch_save(store::MailStore& store, const std::string& account_id,
                          const std::vector<std::string>& email_ids, const ExportLimits& limits,
                          const std::string& session_id);

// The mbox of one of the account's mailboxes ("F..." id).
http::Response folder_backup(store::MailStore& store, const std::string& account_id,
                             const std::string& mailbox_id, const ExportLimits& limits,
                             const std::string& session_id);

// RFC 6266 Content-Disposition "attachment" with an ASCII filename= and, for other names, an
// RFC 8187 filename*=UTF-8''...
std::string attachment_disposition(const std::string& name);

}  // namespace mailroom::webmail
