#include "src/imap/message_facts.h"

#include <optional>

namespace mailroom::imap {
namespace {

std::optional<mime::Facts> decode(const core::Result<std::string>& blob) {
  if (!blob) return std::nullopt;
  auto facts = mime::decode_facts(*blob);
  if (!facts) return std::nullopt;
  return std::move(*facts);
}

}  // namespace

core::Result<mime::Facts> load_facts(store::MailStore& store, const std::string& account,
                                     const std::string& mailbox, uint32_t uid,
                                     const std::string* message) {
  std::optional<mime::Facts> facts = decode(store.facts(account, mailbox, uid));
  if (facts && facts->version < mime::kFactsVersion)
    facts = decode(store.refresh_facts(account, mailbox, uid));
  if (facts && facts->version == mime::kFactsVersion) return std::move(*facts);
  if (message) return mime::parse_facts(*message);
  auto read = store.read_message(account, mailbox, uid);
  if (!read) return read.status();
  return mime::parse_facts(*read);
}

std::vector<core::Result<mime::Facts>> load_facts_batch(store::MailStore& store,
                                                        const std::string& account,
                                                        const std::string& mailbox,
                                                        const std::vector<uint32_t>& uids) {
  std::vector<core::Result<mime::Facts>> out;
  out.reserve(uids.size());
  std::vector<core::Result<std::string>> blobs = store.facts_batch(account, mailbox, uids);
  for (size_t i = 0; i < uids.size(); ++i) {
    std::optional<mime::Facts> facts =
        i < blobs.size() ? decode(blobs[i]) : std::optional<mime::Facts>();
    if (facts && facts->version == mime::kFactsVersion) {
      out.emplace_back(std::move(*facts));
    } else if (i < blobs.size() && !blobs[i] && blobs[i].code() == core::Code::not_found) {
      out.emplace_back(blobs[i].status());  // expunged meanwhile
    } else {
      out.push_back(load_facts(store, account, mailbox, uids[i], nullptr));
    }
  }
  return out;
}

}  // namespace mailroom::imap
