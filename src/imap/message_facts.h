// The parsed facts of one stored message (src/mime/facts.h) as FETCH and SEARCH need them:
// runs on a worker thread (it may read the message file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/status.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"

namespace mailroom::imap {

// The cached facts when their blob has the current format (mime::kFactsVersion). A blob of an
// older format is recomputed by the store once (MailStore::refresh_facts keeps the new one);
// when that fails too, the message is parsed here: `message` when the caller already has it
// (else nullptr), otherwise read from the store. not_found when the message is gone.
core::Result<mime::Facts> load_facts(store::MailStore& store, const std::string& account,
                                     const std::string& mailbox, uint32_t uid,
                                     const std::string* message);

// The facts of several messages, in the order of `uids`: the cached blobs in one store call
// (MailStore::facts_batch), load_facts() for any that is missing or of an older format.
std::vector<core::Result<mime::Facts>> load_facts_batch(store::MailStore& store,
                                                        const std::string& account,
                                                        const std::string& mailbox,
                                                        const std::vector<uint32_t>& uids);

}  // namespace mailroom::imap
