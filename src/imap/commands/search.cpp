// SEARCH / UID SEARCH (RFC 3501 6.4.4) with CHARSET (UTF-8, US-ASCII, Big5, GB2312 ... via
// GMime/iconv), ESEARCH RETURN (RFC 4731), MODSEQ (RFC 7162 3.1.5), SAVEDBEFORE/SAVEDON/
// SAVEDSINCE/SAVEDATESUPPORTED (RFC 8514 2.2), EMAILID/THREADID (RFC 8474 6); SORT and THREAD
// (RFC 5256: REFERENCES, ORDEREDSUBJECT), with ESORT RETURN options (RFC 5267 3) and the
// PARTIAL and UPDATE options of RFC 5267 4 (the update contexts live in context.cpp).
//
// SORT, THREAD and SEARCH FROM/TO/CC/BCC/SUBJECT/SENT* compare precomputed keys from the
// mailbox's sort key table (src/imap/sort_keys.h); HEADER, BODY and TEXT read the message,
// BODY and TEXT only those the full-text index (src/fts) has not ruled out.
#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <unordered_map>

#include "src/core/address.h"
#include "src/core/services.h"
#include "src/fts/indexer.h"
#include "src/imap/message_facts.h"
#include "src/imap/session.h"
#include "src/imap/sort_keys.h"
#include "src/imap/sort_order.h"
#include "src/imap/thread.h"
#include "src/mime/conversation.h"
#include "src/mime/facts.h"

namespace mailroom::imap {
namespace {

using Op = proto::SearchKey::Op;

struct Candidate {
  MessageRow meta;
  const std::vector<std::string>* keywords = nullptr;
  uint32_t seq = 0;
  bool recent = false;
};

// The messages BODY, TEXT and HEADER read. When consecutive candidates need theirs (a search
// over a range), the next ones are read together (MailStore::read_messages: one index
// transaction instead of one per message), at most kReadAhead messages and about
// kReadAheadBytes (sizes from the view), so memory stays bounded; a program that needs a
// message only now and then reads them one by one.
class MessageSource {
 public:
  static constexpr size_t kReadAhead = 32;
  static constexpr uint64_t kReadAheadBytes = uint64_t{4} << 20;

  MessageSource(store::MailStore& store, const std::string& account, const std::string& mailbox,
                const std::vector<Candidate>& cands)
      : store_(store), account_(account), mailbox_(mailbox), cands_(cands) {}

  // The message of cands[i] ("" when it cannot be read: gone meanwhile, matches nothing).
  std::string take(uint32_t i) {
    bool sequential = last_ >= 0 && last_ + 1 == i;
    last_ = i;
    if (i < from_ || i - from_ >= batch_.size()) {
      from_ = i;
      batch_.clear();
      std::vector<uint32_t> uids{cands_[i].meta.uid};
      uint64_t bytes = cands_[i].meta.size;
      for (size_t j = i + 1; sequential && j < cands_.size() && uids.size() < kReadAhead &&
                             bytes + cands_[j].meta.size <= kReadAheadBytes;
           ++j) {
        uids.push_back(cands_[j].meta.uid);
        bytes += cands_[j].meta.size;
      }
      if (uids.size() == 1) {
        auto m = store_.read_message(account_, mailbox_, uids[0]);
        return m ? std::move(*m) : std::string();
      }
      batch_ = store_.read_messages(account_, mailbox_, uids);
    }
    auto& m = batch_[i - from_];
    return m ? std::move(*m) : std::string();
  }

 private:
  store::MailStore& store_;
  const std::string& account_;
  const std::string& mailbox_;
  const std::vector<Candidate>& cands_;
  int64_t last_ = -2;
  uint32_t from_ = 0;
  std::vector<core::Result<std::string>> batch_;  // the messages of cands_[from_...]
};

// Lazily loaded message data for one candidate (runs on a worker thread).
struct SearchMessage {
  store::MailStore& store;
  MessageSource& source;
  const std::string& account;
  const std::string& mailbox;
  const Candidate& c;
  std::optional<std::string> message;
  std::optional<mime::Facts> facts;
  std::optional<std::string> body_text;
  std::optional<std::string> header_text;
  KeyRecord keys;  // the sort/search keys (KeyRecord{} when the program needs none)
  // The store's record (save date), when the program asks for it; null otherwise or when the
  // message is gone meanwhile.
  const store::MessageMeta* meta = nullptr;

  const std::string& msg() {
    if (!message) message = source.take(c.seq - 1);
    return *message;
  }
  const mime::Facts& f() {
    if (!facts) {
      auto r = load_facts(store, account, mailbox, c.meta.uid, message ? &*message : nullptr);
      facts = r ? std::move(*r) : mime::Facts{};  // gone meanwhile: matches nothing
    }
    return *facts;
  }
  const std::string& body() {
    if (!body_text) body_text = mime::fold_case(mime::decoded_body_text(msg()));
    return *body_text;
  }
  // False when the body surely lacks `folded` (mime::body_text_may_contain), so most
  // messages are not decoded at all.
  bool body_may_contain(const std::string& folded) {
    return body_text || mime::body_text_may_contain(msg(), folded);
  }
  const std::string& header() {
    if (!header_text) {
      const auto& r = f().root.header;
      std::string_view h =
          std::string_view(msg()).substr(0, std::min<uint64_t>(r.end, msg().size()));
      header_text = mime::fold_case(mime::decode_header_text(h));
    }
    return *header_text;
  }
};

bool contains(std::string_view haystack_folded, const std::string& needle_folded) {
  return haystack_folded.find(needle_folded) != std::string_view::npos;
}

// The search text and presence bit of FROM, TO, CC, BCC or SUBJECT (RFC 3501 6.4.4): the
// folded address lists of the envelope, or the folded subject (search_subject()).
std::pair<std::string_view, uint8_t> envelope_field(const KeyRecord& k, const std::string& name) {
  if (name == "FROM") return {k.text(KeyText::search_from), mime::kFieldFrom};
  if (name == "TO") return {k.text(KeyText::search_to), mime::kFieldTo};
  if (name == "CC") return {k.text(KeyText::search_cc), mime::kFieldCc};
  if (name == "BCC") return {k.text(KeyText::search_bcc), mime::kFieldBcc};
  return {k.text(KeyText::search_subject), mime::kFieldSubject};
}

int64_t day_of(int64_t when, int32_t tz) {
  int64_t t = when + static_cast<int64_t>(tz) * 60;
  return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

// The full-text index's candidates for each BODY and TEXT key of a program (src/fts). The
// index narrows, the matcher below decides: a message at or below the index's mark that is
// not a candidate surely lacks the text; every other one is read and matched as without the
// index. So a message delivered a moment ago (above the mark) is still found, and the result
// is the substring match of RFC 3501 except inside words (src/fts/README.md "Semantics").
using FtsFilters = std::unordered_map<const proto::SearchKey*, fts::Candidates>;

void collect_fts(const proto::SearchKey& k, fts::Indexer& index, const std::string& account,
                 uint32_t uid_validity, uint32_t max_uid, FtsFilters& out) {
  if ((k.op == Op::body || k.op == Op::text) && !k.value.empty()) {
    auto scope = k.op == Op::body ? fts::Scope::body : fts::Scope::text;
    if (auto c = index.candidates(account, uid_validity, max_uid, scope, k.value))
      out.emplace(&k, std::move(*c));
  }
  for (const auto& c : k.children) collect_fts(c, index, account, uid_validity, max_uid, out);
}

bool uses_text(const proto::SearchKey& k) {
  if (k.op == Op::body || k.op == Op::text) return true;
  return std::any_of(k.children.begin(), k.children.end(), uses_text);
}

struct Evaluator {
  uint32_t exists = 0;
  uint32_t max_uid = 0;
  const FtsFilters* fts = nullptr;

  // The index says the message of `uid` surely lacks key `k`'s text.
  bool ruled_out(const proto::SearchKey& k, uint32_t uid) const {
    if (!fts) return false;
    auto it = fts->find(&k);
    if (it == fts->end() || !it->second.narrows || uid > it->second.indexed_through) return false;
    return !std::binary_search(it->second.uids.begin(), it->second.uids.end(), uid);
  }

  // The index holds attachment text (PDF/Office, src/fts/attachment.h) of that message that
  // contains key `k`'s text as a substring: the matcher below reads text/* parts only.
  bool in_attachment(const proto::SearchKey& k, uint32_t uid) const {
    if (!fts) return false;
    auto it = fts->find(&k);
    if (it == fts->end()) return false;
    const auto& a = it->second.attachment_uids;
    return std::binary_search(a.begin(), a.end(), uid);
  }

  bool eval(const proto::SearchKey& k, SearchMessage& l) {
    const auto& m = l.c.meta;
    switch (k.op) {
      case Op::all:
        return true;
      case Op::and_:
        for (const auto& c : k.children) {
          if (!eval(c, l)) return false;
        }
        return true;
      case Op::or_:
        return eval(k.children[0], l) || eval(k.children[1], l);
      case Op::not_:
        return !eval(k.children[0], l);
      case Op::seqset:
        return k.set.contains(l.c.seq, exists);
      case Op::uidset:
        return k.set.contains(m.uid, max_uid);
      case Op::flag:
        return (m.flags & k.flag) != 0;
      case Op::not_flag:
        return (m.flags & k.flag) == 0;
      case Op::keyword:
      case Op::not_keyword: {
        bool has = false;
        for (const auto& kw : *l.c.keywords) has = has || core::iequals(kw, k.value);
        return k.op == Op::keyword ? has : !has;
      }
      case Op::new_:
        return l.c.recent && !(m.flags & store::kSeen);
      case Op::old:
        return !l.c.recent;
      case Op::recent:
        return l.c.recent;
      case Op::not_recent:
        return !l.c.recent;
      case Op::larger:
        return m.size > k.number;
      case Op::smaller:
        return m.size < k.number;
      case Op::modseq:
        return m.modseq >= k.number;
      case Op::before:
        return day_of(m.internal_date, m.internal_tz) < k.date;
      case Op::on:
        return day_of(m.internal_date, m.internal_tz) == k.date;
      case Op::since:
        return day_of(m.internal_date, m.internal_tz) >= k.date;
      case Op::saved_before:
      case Op::saved_on:
      case Op::saved_since: {
        // RFC 8514 2.2: the save date's UTC day. A message saved before the store kept save
        // dates (FETCH SAVEDATE NIL) is compared by its internal date, the closest known time
        // it arrived; one gone meanwhile matches nothing.
        if (!l.meta) return false;
        int64_t d = l.meta->saved_at != 0 ? day_of(l.meta->saved_at, 0)
                                          : day_of(m.internal_date, m.internal_tz);
        return k.op == Op::saved_before ? d < k.date
               : k.op == Op::saved_on   ? d == k.date
                                        : d >= k.date;
      }
      case Op::savedate_supported:
        return true;     // RFC 8514 2.2: every mailbox of this store keeps save dates
      case Op::emailid:  // RFC 8474 6
        return l.meta && k.value.size() == l.meta->guid.size() + 1 && k.value[0] == 'M' &&
               k.value.compare(1, std::string::npos, l.meta->guid) == 0;
      case Op::threadid: {  // RFC 8474 6: the FETCH THREADID of the message (fetch.cpp)
        if (!l.meta || k.value.size() < 2 || k.value[0] != 'T') return false;
        const mime::Facts& f = l.f();
        return k.value ==
               mime::thread_id_of(mime::thread_root(f.message_id, f.in_reply_to, f.references),
                                  l.meta->guid);
      }
      case Op::sent_before:
      case Op::sent_on:
      case Op::sent_since: {
        // RFC 3501 6.4.4: the Date: header; a message without a usable one has no sent date
        // to compare (only RFC 5256 SORT/THREAD fall back to INTERNALDATE).
        if (!l.keys.has_sent_date()) return false;
        int64_t d = day_of(l.keys.sent_date(), l.keys.sent_tz());
        return k.op == Op::sent_before ? d < k.date
               : k.op == Op::sent_on   ? d == k.date
                                       : d >= k.date;
      }
      case Op::field: {
        // RFC 3501 6.4.4: FROM/TO/CC/BCC search the envelope's address lists (their search
        // form, see mime::Facts), SUBJECT the subject; "" asks whether the field exists.
        auto [text, bit] = envelope_field(l.keys, k.field);
        if (k.value.empty()) return (l.keys.fields() & bit) != 0;
        return contains(text, k.value);
      }
      case Op::header: {
        // RFC 3501 6.4.4 HEADER: the field's own text, also for From or Subject.
        const auto& f = l.f();
        const auto& r = f.root.header;
        std::string_view h =
            std::string_view(l.msg()).substr(0, std::min<uint64_t>(r.end, l.msg().size()));
        for (const auto& v : mime::header_values(h, k.field)) {
          // RFC 3501: an empty string matches every message that has the field.
          if (k.value.empty() || contains(mime::fold_case(mime::decode_header_text(v)), k.value))
            return true;
        }
        return false;
      }
      case Op::body:
        if (ruled_out(k, m.uid)) return false;
        if (in_attachment(k, m.uid)) return true;
        return l.body_may_contain(k.value) && contains(l.body(), k.value);
      case Op::text:
        if (ruled_out(k, m.uid)) return false;
        if (in_attachment(k, m.uid)) return true;
        return contains(l.header(), k.value) ||
               (l.body_may_contain(k.value) && contains(l.body(), k.value));
    }
    return false;
  }
};

// Converts every string of the program to folded UTF-8; false when the charset is unknown.
bool prepare(proto::SearchKey& k, const std::string& charset, std::string& error) {
  if (k.op == Op::header || k.op == Op::field || k.op == Op::body || k.op == Op::text) {
    std::string cs = charset.empty() ? "UTF-8" : charset;
    auto u = mime::to_utf8(k.value, cs);
    if (!u) {
      error = u.code() == core::Code::not_found ? "unknown" : "invalid";
      return false;
    }
    k.value = mime::fold_case(*u);
  }
  for (auto& c : k.children) {
    if (!prepare(c, charset, error)) return false;
  }
  return true;
}

bool uses_modseq(const proto::SearchKey& k) {
  if (k.op == Op::modseq) return true;
  for (const auto& c : k.children) {
    if (uses_modseq(c)) return true;
  }
  return false;
}

// Does the program compare what only the store's record holds (the save date)?
bool uses_meta(const proto::SearchKey& k) {
  if (k.op == Op::saved_before || k.op == Op::saved_on || k.op == Op::saved_since ||
      k.op == Op::emailid || k.op == Op::threadid)
    return true;
  return std::any_of(k.children.begin(), k.children.end(), uses_meta);
}

// Does the program compare a key of the sort key table?
bool uses_keys(const proto::SearchKey& k) {
  if (k.op == Op::field || k.op == Op::sent_before || k.op == Op::sent_on || k.op == Op::sent_since)
    return true;
  for (const auto& c : k.children) {
    if (uses_keys(c)) return true;
  }
  return false;
}

// Answered from the view alone (flags, keywords, sets, sizes, internal dates, MODSEQ): no
// message, fact or key is read.
bool view_only(const proto::SearchKey& k) {
  switch (k.op) {
    case Op::header:
    case Op::field:
    case Op::body:
    case Op::text:
    case Op::sent_before:
    case Op::sent_on:
    case Op::sent_since:
    case Op::saved_before:
    case Op::saved_on:
    case Op::saved_since:
    case Op::emailid:
    case Op::threadid:
      return false;
    default:
      return std::all_of(k.children.begin(), k.children.end(), view_only);
  }
}

// What evaluating the program costs per message: its nodes and the ranges of its sets (a set
// is searched range by range).
size_t program_weight(const proto::SearchKey& k) {
  size_t w = 1 + k.set.ranges.size();
  for (const auto& c : k.children) w += program_weight(c);
  return w;
}

// A SEARCH answered from the view runs on the I/O thread when messages x program weight stays
// under this (well under a millisecond): cheaper than the hand-over to a worker and back, and
// bounded however the command is written (a 64 KiB line of UID ranges goes to a worker).
constexpr uint64_t kInlineSearchWork = 100000;

// A message that matched: its candidate and its keys.
struct Row {
  uint32_t cand = 0;  // index into the candidates (sequence number - 1)
  KeyRecord keys;
};

// Does the program match every message (ALL, or only ALLs)? Then SORT needs no candidates.
bool matches_everything(const proto::SearchKey& k) {
  if (k.op == Op::all) return true;
  if (k.op != Op::and_) return false;
  return std::all_of(k.children.begin(), k.children.end(), matches_everything);
}

// Numbers in the order given, as a sequence-set whose ranges cover only numbers that ascend
// one by one in that order: it reads the same as a set and as a sequence (ESORT's ALL, RFC
// 5267 3.2; PARTIAL of a SORT, 4.4).
std::string ordered_set(const std::vector<uint32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (i) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += ':' + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

// ESORT (RFC 5267 3.2): SORT RETURN (...) answers with ESEARCH, MIN and MAX being the first and
// the last message in the sort order, ALL the matches in that order. A range in ALL covers only
// numbers that ascend one by one in the order, so it reads the same as a set and as a sequence.
std::string esort_line(const std::vector<uint32_t>& order, const std::vector<uint32_t>& uids,
                       const proto::Command& c, uint64_t modseq) {
  auto id = [&](uint32_t p) { return c.uid ? uids[p] : p + 1; };
  const auto& ret = c.search_return;
  std::string line = "ESEARCH (TAG \"" + c.tag + "\")";
  if (c.uid) line += " UID";
  if (ret.min && !order.empty()) line += " MIN " + std::to_string(id(order.front()));
  if (ret.max && !order.empty()) line += " MAX " + std::to_string(id(order.back()));
  if (ret.count) line += " COUNT " + std::to_string(order.size());
  if (ret.all && !order.empty()) {
    std::vector<uint32_t> ids;
    ids.reserve(order.size());
    for (uint32_t p : order) ids.push_back(id(p));
    line += " ALL " + ordered_set(ids);
  }
  if (modseq) line += " MODSEQ " + std::to_string(modseq);  // RFC 7162 3.1.5, RFC 4731 3.2
  return line;
}

// The SORT response (RFC 5256 4): the messages of `msgs` (the view's rows; sequence number
// = index + 1) that matched (`matched`: ascending indexes, null for all) in the order of
// c.sort. When all matched, or an order kept from an earlier SORT makes it a merge and at
// least 1/16 matched, the whole mailbox is ordered (sort_order_from() merges new mail into
// the kept order and leaves expunged messages out) and kept for the next SORT; the matching
// ones are then picked from it in one pass, the same sequence as sorting them alone
// (sort_order.h). Nothing is kept while a message lacks a key record (one may appear later).
// `sorted`: the matches in sort order (indexes into msgs).
std::string sort_response(SortKeyRegistry* registry, const std::string& account,
                          uint32_t uid_validity, const MessageRows& msgs,
                          const std::vector<KeyRecord>& keys, const std::vector<uint32_t>* matched,
                          const proto::Command& c, std::vector<uint32_t>& sorted) {
  const size_t n = msgs.size();
  const size_t hits = matched ? matched->size() : n;
  auto input = [&](uint32_t i) -> SortInput {
    return {keys[i], msgs[i].internal_date, msgs[i].size};
  };
  std::vector<uint32_t> uids;
  uids.reserve(n);
  for (const auto& m : msgs) uids.push_back(m.uid);
  bool every_record =
      keys.size() == n &&
      std::all_of(keys.begin(), keys.end(), [](const KeyRecord& k) { return k.present(); });
  std::shared_ptr<SortOrderCache> cache =
      registry && every_record ? registry->orders(account, uid_validity) : nullptr;
  std::string criteria = sort_criteria_key(c.sort);
  auto previous = cache ? cache->find(criteria) : nullptr;
  std::vector<uint32_t> order;  // indexes into msgs
  if (cache && (hits == n || (previous && hits * 16 >= n))) {
    bool unchanged = false;
    if (previous) {
      order = sort_order_from(uids, input, c.sort, *previous, &unchanged);
    } else {
      std::vector<SortInput> in;
      in.reserve(n);
      for (uint32_t i = 0; i < n; ++i) in.push_back(input(i));
      order = sort_order(in, c.sort);
    }
    if (!unchanged) {
      auto kept = std::make_shared<std::vector<uint32_t>>();
      kept->reserve(n);
      for (uint32_t p : order) kept->push_back(uids[p]);
      cache->put(criteria, std::move(kept));
    }
    if (matched) {
      std::vector<bool> hit(n, false);
      for (uint32_t i : *matched) hit[i] = true;
      std::erase_if(order, [&](uint32_t p) { return !hit[p]; });
    }
  } else {
    std::vector<SortInput> in;
    in.reserve(hits);
    for (size_t k = 0; k < hits; ++k) in.push_back(input(matched ? (*matched)[k] : k));
    order = sort_order(in, c.sort);
    if (matched)
      for (uint32_t& p : order) p = (*matched)[p];
  }
  sorted = order;
  // RFC 7162 3.1.5 (sort-data): with a MODSEQ search key, the highest mod-sequence returned.
  uint64_t modseq = 0;
  if (uses_modseq(c.search)) {
    const auto& ret = c.search_return;
    if (ret.present && (ret.min || ret.max) && !ret.all && !ret.count && !order.empty()) {
      // RFC 4731 3.2: MIN and/or MAX alone: the mod-sequence of the message(s) returned.
      if (ret.min) modseq = msgs[order.front()].modseq;
      if (ret.max) modseq = std::max(modseq, msgs[order.back()].modseq);
    } else {
      for (uint32_t p : order) modseq = std::max(modseq, msgs[p].modseq);
    }
  }
  if (c.search_return.present) return esort_line(order, uids, c, modseq);
  // Written from the dense UID array: reading each UID from its row in sort order would cost
  // a cache miss per message on a big mailbox.
  std::string line = "SORT";
  line.resize(4 + 11 * order.size());  // " " and at most 10 digits each
  char* out = line.data() + 4;
  char* end = line.data() + line.size();
  for (uint32_t p : order) {
    *out++ = ' ';
    out = std::to_chars(out, end, c.uid ? uids[p] : p + 1).ptr;
  }
  line.resize(static_cast<size_t>(out - line.data()));
  if (modseq) line += " (MODSEQ " + std::to_string(modseq) + ")";
  return line;
}

std::string thread_ids(const std::vector<Row>& rows, const std::vector<Candidate>& cands,
                       const std::string& algorithm, bool uid) {
  std::vector<ThreadItem> items;
  items.reserve(rows.size());
  for (const auto& r : rows) {
    const auto& meta = cands[r.cand].meta;
    ThreadItem t;
    t.id = uid ? meta.uid : cands[r.cand].seq;
    // RFC 5256 2.2: the sent date, or INTERNALDATE when the Date: header is missing/invalid.
    t.sent_date = r.keys.has_sent_date() ? r.keys.sent_date() : meta.internal_date;
    t.base_subject = r.keys.text(KeyText::base_subject);
    t.reply_or_forward = r.keys.reply_or_forward();
    t.message_id = r.keys.text(KeyText::message_id);
    t.references = r.keys.text(KeyText::references);
    t.in_reply_to = r.keys.text(KeyText::in_reply_to);
    items.push_back(t);
  }
  return algorithm == "ORDEREDSUBJECT" ? thread_orderedsubject(items) : thread_references(items);
}

// What a search program found in the selected mailbox: the candidates (its messages), the
// matches, and for SORT the response and the matches in sort order.
struct Evaluated {
  std::vector<Candidate> cands;
  std::vector<Row> rows;
  std::shared_ptr<const KeyTable> table;  // keeps the records `rows` point into
  std::string sort_line;                  // SORT: the response, built on the worker
  std::vector<uint32_t> sorted;           // SORT: the matches in order (indexes into the view)
};

// Runs `c`'s program (already prepared) over the view: on the I/O thread when it is cheap,
// else on the worker pool (the view does not change meanwhile).
asio::awaitable<Evaluated> evaluate(Session& s, const proto::Command& c) {
  Evaluated e;
  const MailboxView& view = *s.view;
  bool sort_or_thread = c.name != "SEARCH";
  bool needs_keys = sort_or_thread || uses_keys(c.search);
  bool needs_meta = uses_meta(c.search);
  std::string account = s.box_account();
  std::string mailbox = s.view->name;
  uint32_t uid_validity = s.view->uid_validity();
  Evaluator ev{s.view->exists(), s.view->max_uid()};
  auto fn1 = [&s, &view, &account, &mailbox, uid_validity, &e, &c, &ev, needs_keys, needs_meta]() {
    const auto& view_rows = view.rows();
    auto* registry = s.services.sort_keys.get();
    std::vector<KeyRecord> keys;
    if (needs_keys) {
      std::vector<uint32_t> uids;
      uids.reserve(view_rows.size());
      for (const auto& m : view_rows) uids.push_back(m.uid);
      auto& store = *s.services.store;
      e.table = registry ? registry->keys(store, account, mailbox, uid_validity, uids)
                         : transient_keys(store, account, mailbox, uid_validity, uids);
      keys = e.table->lookup(uids);
    }
    if (c.name == "SORT" && matches_everything(c.search)) {
      // SORT ... ALL: no candidates to build, no program to evaluate.
      e.sort_line =
          sort_response(registry, account, uid_validity, view_rows, keys, nullptr, c, e.sorted);
      return std::vector<Row>();
    }
    e.cands.reserve(view_rows.size());
    for (uint32_t i = 0; i < view_rows.size(); ++i) {
      const MessageRow& m = view_rows[i];
      e.cands.push_back({m, &view.keywords_of(m), i + 1, view.is_recent(m.uid)});
    }
    std::vector<core::Result<store::MessageMeta>> metas;
    if (needs_meta) {
      std::vector<uint32_t> uids;
      uids.reserve(e.cands.size());
      for (const auto& cand : e.cands) uids.push_back(cand.meta.uid);
      metas = s.services.store->message_metas(account, mailbox, uids);
    }
    FtsFilters fts;
    if (s.services.fts && uses_text(c.search)) {
      collect_fts(c.search, *s.services.fts, account, uid_validity, ev.max_uid, fts);
      ev.fts = &fts;
    }
    std::vector<Row> out;
    MessageSource source(*s.services.store, account, mailbox, e.cands);
    for (uint32_t i = 0; i < e.cands.size(); ++i) {
      SearchMessage l{*s.services.store,
                      source,
                      account,
                      mailbox,
                      e.cands[i],
                      {},
                      {},
                      {},
                      {},
                      keys.empty() ? KeyRecord{} : keys[i]};
      if (needs_meta && metas[i]) l.meta = &*metas[i];
      if (!ev.eval(c.search, l)) continue;
      out.push_back({i, l.keys});
    }
    if (c.name == "SORT") {
      std::vector<uint32_t> matched;
      matched.reserve(out.size());
      for (const auto& r : out) matched.push_back(r.cand);
      e.sort_line =
          sort_response(registry, account, uid_validity, view_rows, keys, &matched, c, e.sorted);
    }
    return out;
  };
  if (c.name == "SEARCH" && view_only(c.search) &&
      uint64_t{view.exists()} * program_weight(c.search) <= kInlineSearchWork)
    e.rows = fn1();
  else
    e.rows = co_await net::blocking(*s.services.workers, fn1);
  co_return e;
}

// RFC 5182 2.1: "$" in a search key is the saved result, a set of UIDs (for a sequence-set
// key too: the same messages), taken as it was before this command's own SAVE.
void resolve_saved(proto::SearchKey& k, const std::vector<uint32_t>& saved) {
  if ((k.op == Op::seqset || k.op == Op::uidset) && k.set.saved) {
    k.op = Op::uidset;
    k.set.saved = false;
    k.set.ranges.clear();
    for (uint32_t u : saved) {
      if (!k.set.ranges.empty() && k.set.ranges.back().second + 1 == u)
        k.set.ranges.back().second = u;
      else
        k.set.ranges.emplace_back(u, u);
    }
    // Nothing saved matches nothing: a range no UID reaches (UIDs are below 2^32 - 1).
    if (k.set.ranges.empty()) k.set.ranges.emplace_back(UINT32_MAX, UINT32_MAX);
  }
  for (auto& child : k.children) resolve_saved(child, saved);
}

// RFC 5182 2.4: what SEARCH/SORT RETURN (SAVE) keeps, from the result's UIDs in result order:
// only MIN and/or MAX when those are the only other options, else the whole result.
void save_result(Session& s, const proto::SearchReturn& ret, const std::vector<uint32_t>& uids) {
  std::vector<uint32_t> saved;
  if ((ret.min || ret.max) && !ret.all && !ret.count && !uids.empty()) {
    if (ret.min) saved.push_back(uids.front());
    if (ret.max) saved.push_back(uids.back());
  } else {
    saved = uids;
  }
  std::sort(saved.begin(), saved.end());
  saved.erase(std::unique(saved.begin(), saved.end()), saved.end());
  s.saved_result = std::move(saved);
}

// RFC 5182 2.2: RETURN (SAVE) with no option that asks for data.
bool only_saves(const proto::SearchReturn& r) {
  return r.save && !r.min && !r.max && !r.count && !r.all && !r.partial && !r.update;
}

}  // namespace

asio::awaitable<Reply> cmd_search(Session& s, const proto::Command& cmd) {
  proto::Command c = cmd;
  resolve_saved(c.search, s.saved_result);
  // RFC 5182 2.1: a SAVE that fails (BAD, NO, BADCHARSET below) leaves "$" empty.
  if (c.search_return.save) s.saved_result.clear();
  // RFC 9051 6.4.4: in IMAP4rev2 SEARCH always answers ESEARCH; no RETURN means RETURN (ALL).
  if (s.rev2 && c.name == "SEARCH" && !c.search_return.present) {
    c.search_return.present = true;
    c.search_return.all = true;
  }
  if (c.name == "THREAD" && c.atoms[0] != "REFERENCES" && c.atoms[0] != "ORDEREDSUBJECT")
    co_return Reply::bad("Unsupported threading algorithm");
  std::string charset = c.charset;
  // RFC 6855 3 (erratum 4029): after ENABLE UTF8=ACCEPT strings are UTF-8; SEARCH takes no
  // CHARSET, SORT and THREAD (where it is mandatory) only UTF-8.
  if (s.utf8_accept && !charset.empty() && (c.name == "SEARCH" || charset != "UTF-8"))
    co_return Reply::bad("CHARSET conflicts with UTF8=ACCEPT: strings are UTF-8");
  if (charset == "US-ASCII") charset = "UTF-8";
  std::string error;
  if (!charset.empty()) {
    auto probe = mime::to_utf8("", charset);
    if (!probe && probe.code() == core::Code::not_found) error = "unknown";
  }
  if (!error.empty() || !prepare(c.search, charset, error)) {
    if (error == "unknown")
      co_return Reply::no(
          "[BADCHARSET (UTF-8 US-ASCII BIG5 GB2312 GBK GB18030 ISO-8859-1)] "
          "Unsupported charset");
    co_return Reply::bad("Search string is not valid in charset " + c.charset);
  }
  bool modseq = uses_modseq(c.search);
  if (modseq) s.enable_condstore();  // RFC 7162 3.1.5
  Evaluated e = co_await evaluate(s, c);
  auto& cands = e.cands;
  auto& rows = e.rows;
  if (c.name == "SORT") {
    const auto& view_rows = s.view->rows();
    if (c.search_return.partial) {  // RFC 5267 4.4, the window in sort order
      std::vector<uint32_t> ids;
      for (uint32_t p : e.sorted) ids.push_back(c.uid ? view_rows[p].uid : p + 1);
      e.sort_line += partial_data(*c.search_return.partial, ids, true);
    }
    const auto& ret = c.search_return;
    if (!only_saves(ret)) s.untagged(e.sort_line);
    if (c.search_return.update || c.search_return.save) {
      std::vector<uint32_t> uids;
      for (uint32_t p : e.sorted) uids.push_back(view_rows[p].uid);
      if (c.search_return.save) save_result(s, ret, uids);
      if (c.search_return.update) keep_context(s, c, std::move(uids));  // RFC 5267 4.3
    }
    co_return Reply::ok("SORT completed");
  }
  if (c.name == "THREAD") {
    // RFC 5256 5: thread-data = "THREAD" [SP 1*thread-list]: no space when nothing matched.
    std::string threads = thread_ids(rows, cands, c.atoms[0], c.uid);
    s.untagged(threads.empty() ? "THREAD" : "THREAD " + threads);
    co_return Reply::ok("THREAD completed");
  }

  std::vector<uint32_t> ids;
  uint64_t result_modseq = 0;
  for (const auto& r : rows) {
    const auto& cand = cands[r.cand];
    ids.push_back(c.uid ? cand.meta.uid : cand.seq);
    result_modseq = std::max(result_modseq, cand.meta.modseq);
  }
  const auto& ret = c.search_return;
  if (ret.present && (ret.min || ret.max) && !ret.all && !ret.count && !rows.empty()) {
    // RFC 4731 3.2: with MIN and/or MAX alone, MODSEQ is that of the message(s) returned.
    result_modseq = 0;
    if (ret.min) result_modseq = cands[rows.front().cand].meta.modseq;
    if (ret.max) result_modseq = std::max(result_modseq, cands[rows.back().cand].meta.modseq);
  }
  if (ret.save) {
    std::vector<uint32_t> uids;
    for (const auto& r : rows) uids.push_back(cands[r.cand].meta.uid);
    save_result(s, ret, uids);
  }
  if (only_saves(ret)) {
    // RFC 5182 2.2: SAVE alone answers no ESEARCH.
  } else if (c.search_return.present) {
    // RFC 4731 3.1: ESEARCH (TAG "x") [UID] MIN/MAX/COUNT/ALL
    std::string line = "ESEARCH (TAG \"" + c.tag + "\")";
    if (c.uid) line += " UID";
    if (c.search_return.min && !ids.empty()) line += " MIN " + std::to_string(ids.front());
    if (c.search_return.max && !ids.empty()) line += " MAX " + std::to_string(ids.back());
    if (c.search_return.count) line += " COUNT " + std::to_string(ids.size());
    if (c.search_return.all && !ids.empty()) line += " ALL " + compact_set(ids);
    if (c.search_return.partial) line += partial_data(*c.search_return.partial, ids, false);
    if (modseq && !ids.empty()) line += " MODSEQ " + std::to_string(result_modseq);
    s.untagged(line);
    if (c.search_return.update) {  // RFC 5267 4.3
      std::vector<uint32_t> uids;
      for (const auto& r : rows) uids.push_back(cands[r.cand].meta.uid);
      keep_context(s, c, std::move(uids));
    }
  } else {
    std::string line = "SEARCH";
    for (uint32_t id : ids) line += " " + std::to_string(id);
    if (modseq && !ids.empty()) line += " (MODSEQ " + std::to_string(result_modseq) + ")";
    s.untagged(line);
  }
  co_return Reply::ok("SEARCH completed");
}

std::string partial_data(std::pair<uint32_t, uint32_t> range, const std::vector<uint32_t>& ids,
                         bool ordered) {
  std::string out =
      " PARTIAL (" + std::to_string(range.first) + ":" + std::to_string(range.second) + " ";
  if (range.first > ids.size()) return out + "NIL)";
  size_t end = std::min<size_t>(range.second, ids.size());
  std::vector<uint32_t> window(ids.begin() + (range.first - 1), ids.begin() + end);
  return out + (ordered ? ordered_set(window) : compact_set(window)) + ")";
}

asio::awaitable<std::vector<uint32_t>> result_uids(Session& s, const proto::Command& c) {
  Evaluated e = co_await evaluate(s, c);
  std::vector<uint32_t> uids;
  if (c.name == "SORT") {
    const auto& view_rows = s.view->rows();
    for (uint32_t p : e.sorted) uids.push_back(view_rows[p].uid);
  } else {
    for (const auto& r : e.rows) uids.push_back(e.cands[r.cand].meta.uid);
  }
  co_return uids;
}

}  // namespace mailroom::imap
