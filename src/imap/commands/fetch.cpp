// FETCH / UID FETCH (RFC 3501 6.4.5, 7.4.2) with CHANGEDSINCE/VANISHED (RFC 7162).
// Messages are loaded and formatted on the worker pool in batches; ENVELOPE, BODYSTRUCTURE
// and section offsets come from the facts cached at delivery (src/mime).
#include <algorithm>
#include <ctime>

#include "src/imap/message_facts.h"
#include "src/imap/session.h"
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

std::string literal(std::string_view data) {
  std::string out = "{" + std::to_string(data.size()) + "}\r\n";
  out.append(data);
  return out;
}

struct Item {
  store::MessageMeta meta;
  uint32_t seq = 0;
  std::string flags;  // formatted, with \Recent
  // This FETCH set \Seen: the new flags (RFC 3501 6.4.5), and under CONDSTORE UID and MODSEQ
  // (RFC 7162 3.1), go with the response even when not asked for.
  bool add_flags = false, add_uid = false, add_modseq = false;
};

// Builds the FETCH responses of one batch (runs on a worker thread).
std::string format_batch(store::MailStore& store, const std::string& account,
                         const std::string& mailbox, const std::vector<Item>& items,
                         const std::vector<proto::FetchAtt>& atts, bool need_facts,
                         bool need_message) {
  std::string out;
  for (const auto& it : items) {
    std::string message;
    bool have_message = false;
    if (need_message) {
      auto m = store.read_message(account, mailbox, it.meta.uid);
      if (!m) continue;  // expunged meanwhile: RFC 3501 allows omitting it
      message = std::move(*m);
      have_message = true;
    }
    mime::Facts facts;
    if (need_facts) {
      auto f = load_facts(store, account, mailbox, it.meta.uid, have_message ? &message : nullptr);
      if (!f) continue;  // expunged meanwhile
      facts = std::move(*f);
    }
    std::string line = "* " + std::to_string(it.seq) + " FETCH (";
    bool first = true;
    auto add = [&](const std::string& s) {
      if (!first) line += " ";
      first = false;
      line += s;
    };
    for (const auto& a : atts) {
      switch (a.item) {
        case proto::FetchItem::uid:
          add("UID " + std::to_string(it.meta.uid));
          break;
        case proto::FetchItem::flags:
          add("FLAGS " + it.flags);
          break;
        case proto::FetchItem::internaldate:
          add("INTERNALDATE \"" + format_internal_date(it.meta.internal_date, it.meta.internal_tz) +
              "\"");
          break;
        case proto::FetchItem::rfc822_size:
          add("RFC822.SIZE " + std::to_string(it.meta.size));
          break;
        case proto::FetchItem::modseq:
          add("MODSEQ (" + std::to_string(it.meta.modseq) + ")");
          break;
        case proto::FetchItem::envelope:
          add("ENVELOPE " + facts.envelope);
          break;
        case proto::FetchItem::bodystructure:
          add("BODYSTRUCTURE " + facts.bodystructure);
          break;
        case proto::FetchItem::body:
          add("BODY " + facts.body);
          break;
        case proto::FetchItem::rfc822:
          add("RFC822 " + literal(message));
          break;
        case proto::FetchItem::rfc822_header: {
          const auto& h = facts.root.header;
          add("RFC822.HEADER " + literal(std::string_view(message).substr(h.begin, h.size())));
          break;
        }
        case proto::FetchItem::rfc822_text: {
          const auto& b = facts.root.body;
          add("RFC822.TEXT " + literal(std::string_view(message).substr(b.begin, b.size())));
          break;
        }
        case proto::FetchItem::body_section: {
          auto range = mime::locate_section(facts.root, a.section);
          std::string data;
          bool nil = false;
          if (!range || range->end > message.size()) {
            nil = true;
          } else {
            std::string_view part = std::string_view(message).substr(range->begin, range->size());
            if (a.section.text == mime::SectionText::header_fields ||
                a.section.text == mime::SectionText::header_fields_not) {
              data = mime::filter_header(part, a.fields,
                                         a.section.text == mime::SectionText::header_fields_not);
            } else {
              data.assign(part);
            }
          }
          if (a.partial && !nil) {
            uint64_t origin = a.partial->first, size = a.partial->second;
            data = origin >= data.size() ? std::string() : data.substr(origin, size);
          }
          add(a.label + " " + (nil ? std::string("NIL") : literal(data)));
          break;
        }
        case proto::FetchItem::binary:
        case proto::FetchItem::binary_size:
          break;  // refused before formatting
      }
    }
    if (it.add_flags) add("FLAGS " + it.flags);
    if (it.add_uid) add("UID " + std::to_string(it.meta.uid));
    if (it.add_modseq) add("MODSEQ (" + std::to_string(it.meta.modseq) + ")");
    line += ")\r\n";
    out += line;
  }
  return out;
}

}  // namespace

asio::awaitable<Reply> cmd_fetch(Session& s, const proto::Command& cmd) {
  // RFC 7162 3.2.6: the VANISHED modifier only after ENABLE QRESYNC.
  if (cmd.vanished && !s.qresync) co_return Reply::bad("VANISHED needs ENABLE QRESYNC");
  std::vector<uint32_t> uids;
  if (auto err = s.resolve_set(cmd.set, cmd.uid, uids)) co_return Reply::bad(*err);
  std::vector<proto::FetchAtt> atts = cmd.fetch;
  bool need_facts = false, need_message = false, sets_seen = false, has_uid = false,
       has_flags = false, has_modseq = false;
  for (const auto& a : atts) {
    switch (a.item) {
      case proto::FetchItem::binary:
      case proto::FetchItem::binary_size:
        co_return Reply::bad("BINARY is not supported");
      case proto::FetchItem::envelope:
      case proto::FetchItem::bodystructure:
      case proto::FetchItem::body:
        need_facts = true;
        break;
      case proto::FetchItem::rfc822_header:
        need_facts = need_message = true;
        break;
      case proto::FetchItem::rfc822:
      case proto::FetchItem::rfc822_text:
        need_facts = need_message = sets_seen = true;
        break;
      case proto::FetchItem::body_section:
        need_facts = need_message = true;
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
      default:
        break;
    }
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
  std::string account = s.principal.account_id;
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
        if (cmd.set.contains(u, UINT32_MAX)) gone.push_back(u);
      }
      if (!gone.empty()) s.untagged("VANISHED (EARLIER) " + compact_set(gone));
    }
  }
  if (cmd.changed_since) {
    uint64_t since = *cmd.changed_since;
    std::erase_if(uids, [&](uint32_t u) {
      const store::MessageMeta* m = s.view->by_uid(u);
      return !m || m->modseq <= since;
    });
  }

  std::vector<uint32_t> newly_seen;
  if (sets_seen && !s.view->read_only) {
    store::StoreFlagsRequest req;
    for (uint32_t u : uids) {
      const store::MessageMeta* m = s.view->by_uid(u);
      if (m && !(m->flags & store::kSeen)) req.uids.push_back(u);
    }
    if (!req.uids.empty()) {
      req.op = store::FlagOp::add;
      req.flags = store::kSeen;
      req.origin = "imap";  // "opened" evidence for mail recall (MessageMeta::seen_via)
      auto fn2 = [&s, &account, &mailbox, &req] {
        return s.services.store->store_flags(account, mailbox, req);
      };
      auto r = co_await net::blocking(*s.services.workers, fn2);
      if (r) {
        for (const auto& m : r->updated) {
          if (store::MessageMeta* v = s.view->by_uid(m.uid)) *v = m;
          newly_seen.push_back(m.uid);
        }
      }
    }
  }

  size_t batch = static_cast<size_t>(s.options.fetch_batch);
  for (size_t i = 0; i < uids.size(); i += batch) {
    std::vector<Item> items;
    for (size_t k = i; k < std::min(uids.size(), i + batch); ++k) {
      const store::MessageMeta* m = s.view->by_uid(uids[k]);
      if (!m) continue;
      Item it;
      it.meta = *m;
      it.seq = s.view->seq_of(m->uid);
      it.flags = s.view->flags_of(*m);
      bool seen_now = std::find(newly_seen.begin(), newly_seen.end(), m->uid) != newly_seen.end();
      it.add_flags = seen_now && !has_flags;
      it.add_uid = seen_now && s.condstore && !has_uid && !cmd.uid;
      it.add_modseq = seen_now && s.condstore && !has_modseq && !cmd.changed_since;
      items.push_back(std::move(it));
    }
    auto fn3 = [&s, &account, &mailbox, &items, &atts, need_facts, need_message] {
      return format_batch(*s.services.store, account, mailbox, items, atts, need_facts,
                          need_message);
    };
    std::string text = co_await net::blocking(*s.services.workers, fn3);
    s.queue(text);
    if (!co_await s.flush()) {
      Reply r = Reply::no("Connection lost");
      r.close = true;
      co_return r;
    }
  }
  co_return Reply::ok("FETCH completed");
}

}  // namespace mailroom::imap
