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

}  // namespace mailroom::imap
