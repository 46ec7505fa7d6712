// FETCH / UID FETCH (RFC 3501 6.4.5, 7.4.2) with CHANGEDSINCE/VANISHED (RFC 7162) and
// SAVEDATE (RFC 8514), EMAILID and THREADID (RFC 8474), BINARY (RFC 3516, fetch_binary.h).
// Messages are loaded and formatted on the worker pool in batches; ENVELOPE, BODYSTRUCTURE
// and section offsets come from the facts cached at delivery (src/mime), or for what clients
// fetch when they open a folder from the mailbox's FETCH cache (fetch_cache.h).
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <cassert>
#include <ctime>
#include <span>

#include "src/core/log.h"
#include "src/imap/fetch_binary.h"
#include "src/imap/fetch_cache.h"
#include "src/imap/message_facts.h"
#include "src/imap/session.h"
#include "src/mime/conversation.h"
#include "src/mime/facts.h"

namespace mailroom::imap {

std::string format_internal_date(int64_t when, int32_t tz) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t local = static_cast<time_t>(when + static_cast<int64_t>(tz) * 60);
  std::tm tm{};
  gmtime_r(&local, &tm);
  char buf[64];
  int atz = tz < 0 ? -tz : tz;
  std::snprintf(buf, sizeof(buf), "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                tz < 0 ? '-' : '+', atz / 60, atz % 60);
  return buf;
}

namespace {

void append_literal(std::string& out, std::string_view data) {
  out += '{';
  out += std::to_string(data.size());
  out += "}\r\n";
  out.append(data);
}

// The literal of a message read later straight into `out` (format_batch_direct): its size
// from the view, then a hole of that many octets whose offset goes to *at.
void reserve_literal(std::string& out, uint64_t size, size_t* at) {
  out += '{';
  out += std::to_string(size);
  out += "}\r\n";
  *at = out.size();
  out.resize(out.size() + size);
}

// The whole message as one literal: RFC822, or BODY[] without a part, a section text or a
// partial range.
bool whole_message(const proto::FetchAtt& a) {
  if (a.item == proto::FetchItem::rfc822) return true;
  return a.item == proto::FetchItem::body_section && !a.partial && a.section.parts.empty() &&
         a.section.text == mime::SectionText::none;
}

struct Item {
  MessageRow meta;
  uint32_t seq = 0;
  // This FETCH set \Seen: the new flags (RFC 3501 6.4.5), and under CONDSTORE UID and MODSEQ
  // (RFC 7162 3.1), go with the response even when not asked for.
  bool add_flags = false, add_uid = false, add_modseq = false;
};

// Where one message's response comes from: a FETCH cache record (fetch_cache.h), or its
// facts and octets (the message, or its header when only that was read).
struct Source {
  bool cached = false;
  KeyRecord record;                    // when cached
  const mime::Facts* facts = nullptr;  // else; null when none were needed
  std::string_view msg;
  // Set: the whole-message literal is left as a hole whose offset goes here (it is read into
  // the output afterwards); `msg` is not used.
  size_t* hole = nullptr;
  // The store's record, for what the view does not keep (SAVEDATE); null when not asked for.
  const store::MessageMeta* meta = nullptr;
};

// false: a BINARY item met an unknown transfer encoding (RFC 3516 4.3); `out` is left with
// part of the response, which the caller cuts off.
bool format_message(const MailboxView& view, const Item& it,
                    const std::vector<proto::FetchAtt>& atts, const Source& src, std::string& out) {
  static const mime::Facts kNoFacts;
  DecodedParts decoded;  // BINARY only
  const mime::Facts& facts = src.facts ? *src.facts : kNoFacts;
  std::string_view msg = src.msg;
  out += "* ";
  out += std::to_string(it.seq);
  out += " FETCH (";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ' ';
    first = false;
  };
  auto text = [&](FetchText t, const std::string& from_facts) -> std::string_view {
    return src.cached ? fetch_text(src.record, t) : std::string_view(from_facts);
  };
  for (const auto& a : atts) {
    switch (a.item) {
      case proto::FetchItem::uid:
        sep();
        out += "UID " + std::to_string(it.meta.uid);
        break;
      case proto::FetchItem::flags:
        sep();
        out += "FLAGS " + view.flags_of(it.meta);
        break;
      case proto::FetchItem::internaldate:
        sep();
        out += "INTERNALDATE \"" +
               format_internal_date(it.meta.internal_date, it.meta.internal_tz) + "\"";
        break;
      case proto::FetchItem::rfc822_size:
        sep();
        out += "RFC822.SIZE " + std::to_string(it.meta.size);
        break;
      case proto::FetchItem::modseq:
        sep();
        out += "MODSEQ (" + std::to_string(it.meta.modseq) + ")";
        break;
      case proto::FetchItem::envelope:
        sep();
        out += "ENVELOPE ";
        out += text(FetchText::envelope, facts.envelope);
        break;
      case proto::FetchItem::bodystructure:
        sep();
        out += "BODYSTRUCTURE ";
        out += text(FetchText::bodystructure, facts.bodystructure);
        break;
      case proto::FetchItem::body:
        sep();
        out += "BODY ";
        out += text(FetchText::body, facts.body);
        break;
      case proto::FetchItem::rfc822:
        sep();
        out += "RFC822 ";
        if (src.hole)
          reserve_literal(out, it.meta.size, src.hole);
        else
          append_literal(out, msg);
        break;
      case proto::FetchItem::rfc822_header: {
        const auto& h = facts.root.header;
        sep();
        out += "RFC822.HEADER ";
        append_literal(out, msg.substr(std::min<uint64_t>(h.begin, msg.size()), h.size()));
        break;
      }
      case proto::FetchItem::rfc822_text: {
        const auto& b = facts.root.body;
        sep();
        out += "RFC822.TEXT ";
        append_literal(out, msg.substr(std::min<uint64_t>(b.begin, msg.size()), b.size()));
        break;
      }
      case proto::FetchItem::body_section: {
        sep();
        out += a.label;
        out += ' ';
        if (src.hole && whole_message(a)) {
          reserve_literal(out, it.meta.size, src.hole);
          break;
        }
        std::string_view part;
        std::string filtered;
        if (src.cached) {
          // Only HEADER.FIELDS of cached names comes here (fetch_cacheable): the record's
          // fields filtered again give what the whole header gives (fetch_cache.h).
          filtered = mime::filter_header(fetch_text(src.record, FetchText::header_fields), a.fields,
                                         false);
          part = filtered;
        } else {
          core::Result<mime::Range> range = mime::Range{0, msg.size()};
          if (src.facts) range = mime::locate_section(facts.root, a.section);
          if (!range || range->end > msg.size()) {
            out += "NIL";
            break;
          }
          part = msg.substr(range->begin, range->size());
          if (a.section.text == mime::SectionText::header_fields ||
              a.section.text == mime::SectionText::header_fields_not) {
            filtered = mime::filter_header(part, a.fields,
                                           a.section.text == mime::SectionText::header_fields_not);
            part = filtered;
          }
        }
        if (a.partial) {
          uint64_t origin = a.partial->first, size = a.partial->second;
          part = origin >= part.size() ? std::string_view() : part.substr(origin, size);
        }
        append_literal(out, part);
        break;
      }
      case proto::FetchItem::preview: {
        // RFC 8970 3.1: computed now, with or without LAZY (which allows NIL). 8-bit text, or
        // text with a quote or a backslash, goes as a literal (RFC 3501 4.3).
        sep();
        out += "PREVIEW ";
        std::string text = mime::preview_text(msg);
        bool quotable = std::all_of(text.begin(), text.end(), [](char c) {
          return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
        });
        if (quotable) {
          out += '"';
          out += text;
          out += '"';
        } else {
          append_literal(out, text);
        }
        break;
      }
      case proto::FetchItem::savedate:
        // RFC 8514 2.1: NIL when the save date is not known (saved before it was kept).
        sep();
        out += "SAVEDATE ";
        if (src.meta && src.meta->saved_at != 0)
          out += "\"" + format_internal_date(src.meta->saved_at, 0) + "\"";
        else
          out += "NIL";
        break;
      case proto::FetchItem::emailid:
        // RFC 8474 5.1: the message file's guid, which COPY and MOVE keep (store::MessageMeta).
        sep();
        out += "EMAILID (M";
        out += src.meta ? src.meta->guid : std::string();
        out += ')';
        break;
      case proto::FetchItem::threadid:
        // RFC 8474 5.2: the JMAP Thread id of the message (src/mime/conversation.h), from its
        // own Message-ID, In-Reply-To and References and its guid: the same for every copy and
        // every message of a conversation, in IMAP and JMAP alike.
        sep();
        out += "THREADID (";
        out += mime::thread_id_of(
            mime::thread_root(facts.message_id, facts.in_reply_to, facts.references),
            src.meta ? src.meta->guid : std::string());
        out += ')';
        break;
      case proto::FetchItem::binary:
      case proto::FetchItem::binary_size:
        sep();
        if (!format_binary(a, atts, facts, msg, decoded, out)) return false;
        break;
    }
  }
  if (it.add_flags) {
    sep();
    out += "FLAGS " + view.flags_of(it.meta);
  }
  if (it.add_uid) {
    sep();
    out += "UID " + std::to_string(it.meta.uid);
  }
  if (it.add_modseq) {
    sep();
    out += "MODSEQ (" + std::to_string(it.meta.modseq) + ")";
  }
  out += ")\r\n";
  return true;
}

// The facts and octets of `uids` in two store calls: the facts (when needed), then the
// messages (one index transaction and the files), only their headers when nothing else of
// them is asked for.
struct Loaded {
  std::vector<core::Result<mime::Facts>> facts;
  std::vector<core::Result<std::string>> messages;
};
Loaded load_batch(store::MailStore& store, const std::string& account, const std::string& mailbox,
                  const std::vector<uint32_t>& uids, bool need_facts, bool need_message,
                  bool headers_only, uint64_t prefix = 0) {
  Loaded l;
  if (need_facts) l.facts = load_facts_batch(store, account, mailbox, uids);
  if (!need_message) return l;
  if (prefix) {  // only their start is needed (PREVIEW)
    l.messages = store.read_message_prefixes(account, mailbox, uids,
                                             std::vector<uint64_t>(uids.size(), prefix));
  } else if (headers_only) {
    std::vector<uint64_t> limits;
    limits.reserve(uids.size());
    for (const auto& f : l.facts) limits.push_back(f ? f->root.header.end : 0);
    l.messages = store.read_message_prefixes(account, mailbox, uids, limits);
  } else {
    l.messages = store.read_messages(account, mailbox, uids);
  }
  return l;
}

// Builds the FETCH responses of one batch into `out` (runs on a worker thread; `view` is not
// changed while the command runs).
void format_batch(store::MailStore& store, const std::string& account, const MailboxView& view,
                  const std::vector<Item>& items, const std::vector<proto::FetchAtt>& atts,
                  bool need_facts, bool need_message, bool need_meta, bool headers_only,
                  uint64_t prefix, bool& unknown_cte, std::string& out) {
  std::vector<uint32_t> uids;
  uids.reserve(items.size());
  for (const auto& it : items) uids.push_back(it.meta.uid);
  Loaded l =
      load_batch(store, account, view.name, uids, need_facts, need_message, headers_only, prefix);
  std::vector<core::Result<store::MessageMeta>> metas;
  if (need_meta) metas = store.message_metas(account, view.name, uids);
  for (size_t idx = 0; idx < items.size(); ++idx) {
    Source src;
    // Expunged meanwhile: RFC 3501 allows omitting it.
    if (need_message && !l.messages[idx]) continue;
    if (need_facts && !l.facts[idx]) continue;
    if (need_meta && !metas[idx]) continue;
    if (need_meta) src.meta = &*metas[idx];
    if (need_message) src.msg = *l.messages[idx];
    if (need_facts) src.facts = &*l.facts[idx];
    size_t start = out.size();
    if (!format_message(view, items[idx], atts, src, out)) {
      out.resize(start);  // RFC 3516 4.3: the command fails with NO [UNKNOWN-CTE]
      unknown_cte = true;
    }
  }
}

// Only one literal reads the message, and it is the whole message: the files can be read
// straight into the output (format_batch_direct).
bool direct_body(const std::vector<proto::FetchAtt>& atts) {
  int whole = 0;
  for (const auto& a : atts) {
    if (whole_message(a))
      ++whole;
    else if (a.item == proto::FetchItem::rfc822_header || a.item == proto::FetchItem::rfc822_text ||
             a.item == proto::FetchItem::body_section || a.item == proto::FetchItem::preview ||
             a.item == proto::FetchItem::binary || a.item == proto::FetchItem::binary_size)
      return false;
  }
  return whole == 1;
}

// format_batch for direct_body(): each response is formatted with a hole the size of its
// message, then the store reads the files into the holes (MailStore::read_messages_into), with
// no copy of the octets in between. A message expunged meanwhile has its response cut out
// again (RFC 3501 allows omitting it), as format_batch skips it.
void format_batch_direct(store::MailStore& store, const std::string& account,
                         const MailboxView& view, const std::vector<Item>& items,
                         const std::vector<proto::FetchAtt>& atts, bool need_facts, bool need_meta,
                         std::string& out) {
  std::vector<uint32_t> uids;
  uids.reserve(items.size());
  for (const auto& it : items) uids.push_back(it.meta.uid);
  std::vector<core::Result<mime::Facts>> facts;
  if (need_facts) facts = load_facts_batch(store, account, view.name, uids);
  std::vector<core::Result<store::MessageMeta>> metas;
  if (need_meta) metas = store.message_metas(account, view.name, uids);
  struct Placed {
    size_t begin = 0, hole = SIZE_MAX, end = 0;
    uint64_t size = 0;
  };
  std::vector<Placed> placed;
  std::vector<uint32_t> read_uids;
  placed.reserve(items.size());
  read_uids.reserve(items.size());
  for (size_t idx = 0; idx < items.size(); ++idx) {
    if (need_facts && !facts[idx]) continue;
    if (need_meta && !metas[idx]) continue;
    Placed p;
    Source src;
    if (need_facts) src.facts = &*facts[idx];
    if (need_meta) src.meta = &*metas[idx];
    src.hole = &p.hole;
    p.begin = out.size();
    p.size = items[idx].meta.size;
    [[maybe_unused]] bool formatted = format_message(view, items[idx], atts, src, out);
    assert(formatted);  // direct_body() admits no BINARY item
    p.end = out.size();
    placed.push_back(p);
    read_uids.push_back(items[idx].meta.uid);
  }
  // Spans only now: `out` may have moved while it grew. Every response has its hole:
  // direct_body() admits exactly one whole-message item, which format_message() reserves.
  std::vector<std::span<char>> dest;
  dest.reserve(placed.size());
  for (const auto& p : placed) {
    assert(p.hole != SIZE_MAX);
    dest.emplace_back(out.data() + p.hole, p.size);
  }
  std::vector<core::Status> read = store.read_messages_into(account, view.name, read_uids, dest);
  for (size_t k = placed.size(); k-- > 0;) {
    if (read[k]) continue;
    if (read[k].code() != core::Code::not_found)  // a damaged store, not a concurrent expunge
      MR_LOG_WARN("event=imap_fetch_read_failed account={} mailbox={} uid={} error={}", account,
                  core::quote(view.name), read_uids[k], core::quote(read[k].log_detail()));
    out.erase(placed[k].begin, placed[k].end - placed[k].begin);
  }
}

// What the FETCH cache answers (fetch_cache.h): ENVELOPE, BODYSTRUCTURE, BODY, HEADER.FIELDS
// of cached names and what the view holds, with at least one item from the cache.
bool fetch_cacheable(const std::vector<proto::FetchAtt>& atts) {
  bool uses = false;
  for (const auto& a : atts) {
    switch (a.item) {
      case proto::FetchItem::uid:
      case proto::FetchItem::flags:
      case proto::FetchItem::internaldate:
      case proto::FetchItem::rfc822_size:
      case proto::FetchItem::modseq:
        break;
      case proto::FetchItem::envelope:
      case proto::FetchItem::bodystructure:
      case proto::FetchItem::body:
        uses = true;
        break;
      case proto::FetchItem::body_section:
        if (!a.section.parts.empty() || a.section.text != mime::SectionText::header_fields ||
            !fetch_cached_fields_cover(a.fields))
          return false;
        uses = true;
        break;
      default:
        return false;
    }
  }
  return uses;
}

// Records a FETCH made, handed to the cache a few megabytes at a time (each hand-over copies
// the table's list of records in memory).
struct PendingRecords {
  std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> records;
  size_t bytes = 0;
  static constexpr size_t kHandOver = size_t{8} << 20;
};

// format_batch() from the mailbox's FETCH cache: the records it has, and for the others the
// facts and headers, from which their records are made and added (`last`: the command's
// final batch, when the cache file may be rewritten).
void format_batch_cached(store::MailStore& store, SortKeyRegistry& registry,
                         const std::string& account, const MailboxView& view,
                         const std::vector<Item>& items, const std::vector<proto::FetchAtt>& atts,
                         PendingRecords& pending, bool last, std::string& out) {
  uint32_t uid_validity = view.uid_validity();
  std::shared_ptr<MailboxKeys> cache = registry.open(store, account, uid_validity, kFetchCache);
  std::shared_ptr<const KeyTable> table = cache->current();
  std::vector<uint32_t> uids;
  uids.reserve(items.size());
  for (const auto& it : items) uids.push_back(it.meta.uid);
  std::vector<KeyRecord> records = table->lookup(uids);
  std::vector<uint32_t> missing;
  for (size_t i = 0; i < uids.size(); ++i)
    if (!records[i].present()) missing.push_back(uids[i]);
  Loaded l;
  if (!missing.empty()) l = load_batch(store, account, view.name, missing, true, true, true);
  size_t m = 0;
  for (size_t idx = 0; idx < items.size(); ++idx) {
    Source src;
    if (records[idx].present()) {
      src.cached = true;
      src.record = records[idx];
    } else {
      size_t k = m++;
      if (!l.facts[k] || !l.messages[k]) continue;  // expunged meanwhile
      if (auto rec = fetch_record(*l.facts[k], *l.messages[k])) {
        pending.bytes += rec->size();
        pending.records.emplace_back(uids[idx],
                                     std::make_shared<const std::string>(std::move(*rec)));
        src.cached = true;
        src.record = KeyRecord(pending.records.back().second->data());
      } else {
        src.facts = &*l.facts[k];
        src.msg = *l.messages[k];
      }
    }
    [[maybe_unused]] bool formatted = format_message(view, items[idx], atts, src, out);
    assert(formatted);  // fetch_cacheable() admits no BINARY item
  }
  if (!last && pending.bytes < PendingRecords::kHandOver) return;
  std::vector<uint32_t> now;
  if (last) {
    const auto& rows = view.version()->rows;
    now.reserve(rows.size());
    for (const auto& r : rows) now.push_back(r.uid);
  }
  table = cache->add(store, account, view.name, std::move(pending.records), last ? &now : nullptr);
  pending = PendingRecords{};
  registry.note(account, uid_validity, kFetchCache, *table);
}

}  // namespace

asio::awaitable<Reply> cmd_fetch(Session& s, const proto::Command& cmd) {
  // RFC 7162 3.2.6: the VANISHED modifier only after ENABLE QRESYNC.
  if (cmd.vanished && !s.qresync) co_return Reply::bad("VANISHED needs ENABLE QRESYNC");
  std::vector<uint32_t> uids;
  if (auto err = s.resolve_set(cmd.set, cmd.uid, uids)) co_return Reply::bad(*err);
  std::vector<proto::FetchAtt> atts = cmd.fetch;
  bool need_facts = false, need_message = false, need_meta = false, sets_seen = false,
       has_uid = false, has_flags = false, has_modseq = false;
  for (const auto& a : atts) {
    switch (a.item) {
      case proto::FetchItem::binary:
      case proto::FetchItem::binary_size:
        // RFC 3516 4.2: the part tree finds the leaf and its transfer encoding; BINARY sets
        // \Seen, BINARY.PEEK and BINARY.SIZE do not.
        need_facts = need_message = true;
        sets_seen = sets_seen || !a.peek;
        break;
      case proto::FetchItem::envelope:
      case proto::FetchItem::bodystructure:
      case proto::FetchItem::body:
        need_facts = true;
        break;
      case proto::FetchItem::rfc822_header:
        need_facts = need_message = true;
        break;
      case proto::FetchItem::rfc822:
        need_message = sets_seen = true;  // the whole message: no part boundaries needed
        break;
      case proto::FetchItem::rfc822_text:
        need_facts = need_message = sets_seen = true;
        break;
      case proto::FetchItem::body_section:
        // BODY[] and BODY[]<partial> are the whole message: no facts needed.
        need_facts =
            need_facts || !a.section.parts.empty() || a.section.text != mime::SectionText::none;
        need_message = true;
        sets_seen = sets_seen || !a.peek;
        break;
      case proto::FetchItem::uid:
        has_uid = true;
        break;
      case proto::FetchItem::flags:
        has_flags = true;
        break;
      case proto::FetchItem::modseq:
        has_modseq = true;
        break;
      case proto::FetchItem::preview:
        need_message = true;  // RFC 8970 3.1: PREVIEW does not set \Seen
        break;
      case proto::FetchItem::savedate:
      case proto::FetchItem::emailid:
        need_meta = true;  // not in the view: asked of the store only when fetched
        break;
      case proto::FetchItem::threadid:
        need_meta = need_facts = true;  // the guid and the thread's header fields
        break;
      default:
        break;
    }
  }
  // Only the top-level header of the messages is read (RFC822.HEADER, BODY[HEADER],
  // BODY[HEADER.FIELDS (...)]): their files are read up to the end of the header.
  bool headers_only = need_message && need_facts;
  for (const auto& a : atts) {
    bool header_part = a.item == proto::FetchItem::rfc822_header ||
                       (a.item == proto::FetchItem::body_section && a.section.parts.empty() &&
                        (a.section.text == mime::SectionText::header ||
                         a.section.text == mime::SectionText::header_fields ||
                         a.section.text == mime::SectionText::header_fields_not));
    bool reads_message =
        a.item == proto::FetchItem::rfc822 || a.item == proto::FetchItem::rfc822_text ||
        a.item == proto::FetchItem::body_section || a.item == proto::FetchItem::preview ||
        a.item == proto::FetchItem::binary || a.item == proto::FetchItem::binary_size;
    if ((reads_message || a.item == proto::FetchItem::rfc822_header) && !header_part)
      headers_only = false;
  }
  if (cmd.uid && !has_uid) {  // RFC 3501 6.4.8: UID FETCH always returns UID
    proto::FetchAtt u;
    u.item = proto::FetchItem::uid;
    atts.insert(atts.begin(), u);
  }
  if (cmd.changed_since || has_modseq) s.enable_condstore();  // RFC 7162 3.1
  if (cmd.changed_since && !has_modseq) {
    proto::FetchAtt m;
    m.item = proto::FetchItem::modseq;
    atts.push_back(m);
  }
  std::string account = s.box_account();
  std::string mailbox = s.view->name;

  if (cmd.vanished) {
    uint64_t since = *cmd.changed_since;
    auto fn1 = [&s, &account, &mailbox, since] {
      return s.services.store->changes_since(account, mailbox, since);
    };
    auto ch = co_await net::blocking(*s.services.workers, fn1);
    if (ch) {
      std::vector<uint32_t> gone;
      // "*" reaches past the highest UID left: resynchronizing clients send "1:*" to learn
      // of expunged UIDs above it too (as SELECT's QRESYNC known-uids, select.cpp).
      for (uint32_t u : ch->expunged) {
        bool asked = cmd.set.saved
                         ? std::binary_search(s.saved_result.begin(), s.saved_result.end(), u)
                         : cmd.set.contains(u, UINT32_MAX);
        if (asked) gone.push_back(u);
      }
      if (!gone.empty()) s.untagged("VANISHED (EARLIER) " + compact_set(gone));
    }
  }
  if (cmd.changed_since) {
    uint64_t since = *cmd.changed_since;
    std::erase_if(uids, [&](uint32_t u) {
      const MessageRow* m = s.view->by_uid(u);
      return !m || m->modseq <= since;
    });
  }

  std::vector<uint32_t> newly_seen;  // ascending
  if (sets_seen && !s.view->read_only) {
    store::StoreFlagsRequest req;
    for (uint32_t u : uids) {
      const MessageRow* m = s.view->by_uid(u);
      if (m && !(m->flags & store::kSeen)) req.uids.push_back(u);
    }
    if (!req.uids.empty()) {
      req.op = store::FlagOp::add;
      req.flags = store::kSeen;
      req.origin = "imap";  // "opened" evidence for mail recall (MessageMeta::seen_via)
      req.reader = s.box ? s.box->reader() : std::string();  // per-user \Seen (RFC 4314 "s")
      std::shared_ptr<SharedMailbox> box = s.box;
      auto fn2 = [&s, &account, &mailbox, &req, &box,
                  &newly_seen]() -> core::Result<std::shared_ptr<const Version>> {
        auto r = s.services.store->store_flags(account, mailbox, req);
        if (!r) return r.status();
        for (const auto& m : r->updated) newly_seen.push_back(m.uid);
        return box->refresh(*s.services.store);
      };
      auto version = co_await net::blocking(*s.services.workers, fn2);
      std::sort(newly_seen.begin(), newly_seen.end());
      // The responses below show the new flags of these messages themselves.
      if (version) co_await s.adopt(std::move(*version), false, newly_seen);
      if (!s.view) co_return Reply::no("Mailbox closed");
    }
  }

  // Flags, sizes and dates come from the view alone: large batches. Anything read from the
  // store: fetch_batch messages per worker round trip.
  size_t batch =
      need_facts || need_message || need_meta ? static_cast<size_t>(s.options.fetch_batch) : 4096;
  SortKeyRegistry* cache = fetch_cacheable(atts) ? s.services.sort_keys.get() : nullptr;
  bool direct = need_message && !headers_only && direct_body(atts);
  // PREVIEW, when nothing else reads the message, reads only its first 256 KiB (RFC 8970:
  // 256 characters are shown; a part cut short still decodes).
  bool preview_only =
      need_message && !headers_only && std::none_of(atts.begin(), atts.end(), [](const auto& a) {
        return a.item == proto::FetchItem::rfc822 || a.item == proto::FetchItem::rfc822_header ||
               a.item == proto::FetchItem::rfc822_text ||
               a.item == proto::FetchItem::body_section || a.item == proto::FetchItem::binary ||
               a.item == proto::FetchItem::binary_size;
      });
  uint64_t prefix = preview_only ? uint64_t{256} << 10 : 0;
  PendingRecords pending;
  bool unknown_cte = false;  // set on a worker while the command waits for it
  // Two buffers: a worker formats the next batch into `text` while the previous one goes out
  // from `sending` (the file reads overlap the socket writes; neither buffer is copied again).
  // A batch is sent once this much is ready: small enough that nearly every batch of bodies or
  // headers is sent on its own (a batch kept back is formatted without a send to overlap).
  constexpr size_t kFlushAt = 64u << 10;
  std::string text, sending;
  auto lost = [] {
    Reply r = Reply::no("Connection lost");
    r.close = true;
    return r;
  };
  for (size_t i = 0; i < uids.size(); i += batch) {
    std::vector<Item> items;
    items.reserve(std::min(batch, uids.size() - i));
    for (size_t k = i; k < std::min(uids.size(), i + batch); ++k) {
      uint32_t seq = s.view->seq_of(uids[k]);
      if (!seq) continue;
      Item it;
      it.meta = s.view->at(seq);
      it.seq = seq;
      bool seen_now = std::binary_search(newly_seen.begin(), newly_seen.end(), it.meta.uid);
      it.add_flags = seen_now && !has_flags;
      it.add_uid = seen_now && s.condstore && !has_uid && !cmd.uid;
      it.add_modseq = seen_now && s.condstore && !has_modseq && !cmd.changed_since;
      items.push_back(it);
    }
    const MailboxView& view = *s.view;
    bool last = i + batch >= uids.size();
    auto fn3 = [&s, &account, &view, &items, &atts, &text, need_facts, need_message, need_meta,
                headers_only, cache, &pending, last, direct, prefix, &unknown_cte] {
      if (cache)
        format_batch_cached(*s.services.store, *cache, account, view, items, atts, pending, last,
                            text);
      else if (direct)
        format_batch_direct(*s.services.store, account, view, items, atts, need_facts, need_meta,
                            text);
      else
        format_batch(*s.services.store, account, view, items, atts, need_facts, need_message,
                     need_meta, headers_only, prefix, unknown_cte, text);
    };
    if (sending.empty()) {
      co_await net::blocking(*s.services.workers, fn3);
    } else {
      // Both at once, each on its own buffer; both finish before either buffer is touched.
      // A parallel group of spawned tasks, not awaitable operators (GCC 12 coroutine rules).
      auto ex = co_await asio::this_coro::executor;
      auto [order, write_error, ok, format_error] =
          co_await asio::experimental::make_parallel_group(
              asio::co_spawn(ex, s.flush_with(sending), asio::deferred),
              asio::co_spawn(ex, net::blocking(*s.services.workers, fn3), asio::deferred))
              .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
      (void)order;
      if (format_error) std::rethrow_exception(format_error);
      if (write_error) std::rethrow_exception(write_error);
      sending.clear();
      if (!ok) co_return lost();
    }
    if (text.size() < kFlushAt && !last) continue;
    std::swap(text, sending);
  }
  if (!co_await s.flush_with(sending)) co_return lost();
  if (unknown_cte)  // RFC 3516 4.3; the other messages' responses were sent
    co_return Reply::no("[UNKNOWN-CTE] Unknown Content-Transfer-Encoding, cannot decode");
  co_return Reply::ok("FETCH completed");
}

}  // namespace mailroom::imap
