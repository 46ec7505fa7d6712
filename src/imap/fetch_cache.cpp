// The FETCH cache: records from facts and headers (fetch_cache.h).
#include "src/imap/fetch_cache.h"

#include <algorithm>
#include <optional>

#include "src/imap/message_facts.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"

namespace mailroom::imap {
namespace {

// CacheSpec::derive of the FETCH cache: the facts in one store call, then each message's
// top-level header (MailStore::read_message_prefixes).
std::vector<std::optional<std::string>> derive_fetch_records(store::MailStore& store,
                                                             const std::string& account_id,
                                                             const std::string& mailbox,
                                                             const std::vector<uint32_t>& uids) {
  auto facts = load_facts_batch(store, account_id, mailbox, uids);
  std::vector<uint64_t> limits;
  limits.reserve(uids.size());
  for (const auto& f : facts) limits.push_back(f ? f->root.header.end : 0);
  auto heads = store.read_message_prefixes(account_id, mailbox, uids, limits);
  std::vector<std::optional<std::string>> out(uids.size());
  for (size_t i = 0; i < uids.size() && i < heads.size(); ++i) {
    if (facts[i] && heads[i]) out[i] = fetch_record(*facts[i], *heads[i]);
  }
  return out;
}

bool ascii_iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

const CacheSpec kFetchCache{kFetchCacheFile, ".fetch", derive_fetch_records};

const std::vector<std::string_view>& fetch_cached_fields() {
  static const std::vector<std::string_view> kFields = {"from",
                                                        "to",
                                                        "cc",
                                                        "bcc",
                                                        "subject",
                                                        "date",
                                                        "message-id",
                                                        "in-reply-to",
                                                        "references",
                                                        "reply-to",
                                                        "sender",
                                                        "content-type",
                                                        "mime-version",
                                                        "priority",
                                                        "x-priority",
                                                        "importance",
                                                        "x-msmail-priority",
                                                        "newsgroups",
                                                        "list-id",
                                                        "list-post",
                                                        "list-unsubscribe",
                                                        "list-unsubscribe-post",
                                                        "disposition-notification-to",
                                                        "return-receipt-to",
                                                        "x-mailer",
                                                        "user-agent",
                                                        "content-class",
                                                        "thread-topic",
                                                        "thread-index",
                                                        "x-uniform-type-identifier",
                                                        "x-universally-unique-identifier",
                                                        "delivered-to",
                                                        "x-original-to",
                                                        "x-spam-flag",
                                                        "auto-submitted",
                                                        "precedence"};
  return kFields;
}

bool fetch_cached_fields_cover(const std::vector<std::string>& names) {
  const auto& cached = fetch_cached_fields();
  return std::all_of(names.begin(), names.end(), [&](const std::string& n) {
    return std::any_of(cached.begin(), cached.end(),
                       [&](std::string_view c) { return ascii_iequal(n, c); });
  });
}

std::optional<std::string> fetch_record(const mime::Facts& f, std::string_view message) {
  static const std::vector<std::string> kNames(fetch_cached_fields().begin(),
                                               fetch_cached_fields().end());
  const mime::Range& h = f.root.header;
  if (h.end > message.size() || h.begin > h.end) return std::nullopt;
  std::string_view header = message.substr(h.begin, h.size());
  KeyFields k;
  k.texts[static_cast<size_t>(FetchText::envelope)] = f.envelope;
  k.texts[static_cast<size_t>(FetchText::bodystructure)] = f.bodystructure;
  k.texts[static_cast<size_t>(FetchText::body)] = f.body;
  k.texts[static_cast<size_t>(FetchText::header_fields)] =
      mime::filter_header(header, kNames, false);
  return encode_key_record(k);
}

}  // namespace mailroom::imap
