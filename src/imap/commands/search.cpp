// SEARCH / UID SEARCH (RFC 3501 6.4.4) with CHARSET (UTF-8, US-ASCII, Big5, GB2312 ... via
// GMime/iconv), ESEARCH RETURN (RFC 4731), MODSEQ (RFC 7162 3.1.5); SORT and THREAD
// (RFC 5256: REFERENCES, ORDEREDSUBJECT).
#include <algorithm>
#include <map>
#include <optional>

#include "src/core/address.h"
#include "src/imap/session.h"
#include "src/mime/facts.h"

namespace mailroom::imap {
namespace {

using Op = proto::SearchKey::Op;

struct Candidate {
  store::MessageMeta meta;
  uint32_t seq = 0;
  bool recent = false;
};

// Lazily loaded message data for one candidate (runs on a worker thread).
struct Loaded {
  store::MailStore& store;
  const std::string& account;
  const std::string& mailbox;
  const Candidate& c;
  std::optional<std::string> message;
  std::optional<mime::Facts> facts;
  std::optional<std::string> body_text;
  std::optional<std::string> header_text;

  const std::string& msg() {
    if (!message) {
      auto m = store.read_message(account, mailbox, c.meta.uid);
      message = m ? std::move(*m) : std::string();
    }
    return *message;
  }
  const mime::Facts& f() {
    if (!facts) {
      auto blob = store.facts(account, mailbox, c.meta.uid);
      auto d = blob ? mime::decode_facts(*blob) : core::Result<mime::Facts>(blob.status());
      facts = d ? std::move(*d) : mime::parse_facts(msg());
    }
    return *facts;
  }
  const std::string& body() {
    if (!body_text) body_text = mime::fold_case(mime::decoded_body_text(msg()));
    return *body_text;
  }
  const std::string& header() {
    if (!header_text) {
      const auto& r = f().root.header;
      std::string_view h = std::string_view(msg()).substr(0, std::min<uint64_t>(r.end, msg().size()));
      header_text = mime::fold_case(mime::decode_header_text(h));
    }
    return *header_text;
  }
};

bool contains(const std::string& haystack_folded, const std::string& needle_folded) {
  return haystack_folded.find(needle_folded) != std::string::npos;
}

int64_t day_of(int64_t when, int32_t tz) {
  int64_t t = when + static_cast<int64_t>(tz) * 60;
  return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

struct Evaluator {
  uint32_t exists = 0;
  uint32_t max_uid = 0;

  bool eval(const proto::SearchKey& k, Loaded& l) {
    const auto& m = l.c.meta;
    switch (k.op) {
      case Op::all: return true;
      case Op::and_:
        for (const auto& c : k.children) {
          if (!eval(c, l)) return false;
        }
        return true;
      case Op::or_: return eval(k.children[0], l) || eval(k.children[1], l);
      case Op::not_: return !eval(k.children[0], l);
      case Op::seqset: return k.set.contains(l.c.seq, exists);
      case Op::uidset: return k.set.contains(m.uid, max_uid);
      case Op::flag: return (m.flags & k.flag) != 0;
      case Op::not_flag: return (m.flags & k.flag) == 0;
      case Op::keyword:
      case Op::not_keyword: {
        bool has = false;
        for (const auto& kw : m.keywords) has = has || core::iequals(kw, k.value);
        return k.op == Op::keyword ? has : !has;
      }
      case Op::new_: return l.c.recent && !(m.flags & store::kSeen);
      case Op::old: return !l.c.recent;
      case Op::recent: return l.c.recent;
      case Op::not_recent: return !l.c.recent;
      case Op::larger: return m.size > k.number;
      case Op::smaller: return m.size < k.number;
      case Op::modseq: return m.modseq >= k.number;
      case Op::before: return day_of(m.internal_date, m.internal_tz) < k.date;
      case Op::on: return day_of(m.internal_date, m.internal_tz) == k.date;
      case Op::since: return day_of(m.internal_date, m.internal_tz) >= k.date;
      case Op::sent_before:
      case Op::sent_on:
      case Op::sent_since: {
        const auto& f = l.f();
        int64_t d = f.sent_date ? day_of(f.sent_date, f.sent_tz)
                                : day_of(m.internal_date, m.internal_tz);
        return k.op == Op::sent_before ? d < k.date : k.op == Op::sent_on ? d == k.date : d >= k.date;
      }
      case Op::header: {
        const auto& f = l.f();
        const std::string* field = nullptr;
        if (k.field == "FROM") field = &f.from;
        else if (k.field == "TO") field = &f.to;
        else if (k.field == "CC") field = &f.cc;
        else if (k.field == "BCC") field = &f.bcc;
        else if (k.field == "SUBJECT") field = &f.subject;
        if (field) return contains(mime::fold_case(*field), k.value);
        const auto& r = f.root.header;
        std::string_view h = std::string_view(l.msg()).substr(0, std::min<uint64_t>(r.end, l.msg().size()));
        for (const auto& v : mime::header_values(h, k.field)) {
          // RFC 3501: an empty string matches every message that has the field.
          if (k.value.empty() || contains(mime::fold_case(mime::decode_header_text(v)), k.value))
            return true;
        }
        return false;
      }
      case Op::body: return contains(l.body(), k.value);
      case Op::text: return contains(l.header(), k.value) || contains(l.body(), k.value);
    }
    return false;
  }
};

// Converts every string of the program to folded UTF-8; false when the charset is unknown.
bool prepare(proto::SearchKey& k, const std::string& charset, std::string& error) {
  if (k.op == Op::header || k.op == Op::body || k.op == Op::text) {
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

// RFC 5256 2.1 base subject (simplified: decoded, folded, reply/forward markers removed).
std::string base_subject(const std::string& subject) {
  std::string s = mime::fold_case(subject);
  for (auto& c : s) {
    if (c == '\t') c = ' ';
  }
  bool changed = true;
  while (changed) {
    changed = false;
    size_t b = s.find_first_not_of(' ');
    s.erase(0, b == std::string::npos ? s.size() : b);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s.size() >= 5 && s.compare(s.size() - 5, 5, "(fwd)") == 0) {
      s.resize(s.size() - 5);
      changed = true;
      continue;
    }
    for (const char* p : {"re:", "fw:", "fwd:"}) {
      size_t n = std::strlen(p);
      if (s.compare(0, n, p) == 0) {
        s.erase(0, n);
        changed = true;
      }
    }
    if (!s.empty() && s[0] == '[') {
      size_t close = s.find(']');
      if (close != std::string::npos && close + 1 < s.size()) {
        s.erase(0, close + 1);
        changed = true;
      }
    }
  }
  return s;
}

struct Row {
  Candidate c;
  mime::Facts facts;
};

std::string thread_ids(const std::vector<Row>& rows, const std::string& algorithm, bool uid) {
  auto id = [&](size_t i) { return std::to_string(uid ? rows[i].c.meta.uid : rows[i].c.seq); };
  auto date = [&](size_t i) {
    return rows[i].facts.sent_date ? rows[i].facts.sent_date : rows[i].c.meta.internal_date;
  };
  std::string out;
  if (algorithm == "ORDEREDSUBJECT") {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i = 0; i < rows.size(); ++i) groups[base_subject(rows[i].facts.subject)].push_back(i);
    std::vector<std::vector<size_t>> threads;
    for (auto& [k, v] : groups) {
      std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) { return date(a) < date(b); });
      threads.push_back(v);
    }
    std::stable_sort(threads.begin(), threads.end(),
                     [&](const auto& a, const auto& b) { return date(a[0]) < date(b[0]); });
    for (const auto& t : threads) {
      out += "(" + id(t[0]);
      if (t.size() == 2) out += " " + id(t[1]);
      if (t.size() > 2) {
        out += " ";
        for (size_t k = 1; k < t.size(); ++k) out += "(" + id(t[k]) + ")";
      }
      out += ")";
    }
    return out;
  }
  // REFERENCES (RFC 5256 2.2, simplified): parent = the last referenced message present.
  std::map<std::string, size_t> by_id;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].facts.message_id.empty()) by_id.emplace(rows[i].facts.message_id, i);
  }
  std::vector<std::vector<size_t>> children(rows.size());
  std::vector<size_t> roots;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string refs = rows[i].facts.references + " " + rows[i].facts.in_reply_to;
    std::optional<size_t> parent;
    size_t pos = 0;
    while ((pos = refs.find('<', pos)) != std::string::npos) {
      size_t end = refs.find('>', pos);
      if (end == std::string::npos) break;
      auto it = by_id.find(refs.substr(pos, end - pos + 1));
      if (it != by_id.end() && it->second != i) parent = it->second;
      pos = end + 1;
    }
    // Refuse cycles: the parent must not descend from i.
    if (parent) {
      size_t p = *parent;
      bool cycle = false;
      for (int guard = 0; guard < 1000; ++guard) {
        if (p == i) {
          cycle = true;
          break;
        }
        bool found = false;
        for (size_t q = 0; q < rows.size() && !found; ++q) {
          for (size_t ch : children[q]) {
            if (ch == p) {
              p = q;
              found = true;
              break;
            }
          }
        }
        if (!found) break;
      }
      if (cycle) parent.reset();
    }
    if (parent) children[*parent].push_back(i);
    else roots.push_back(i);
  }
  auto by_date = [&](size_t a, size_t b) { return date(a) < date(b) || (date(a) == date(b) && a < b); };
  std::sort(roots.begin(), roots.end(), by_date);
  for (auto& c : children) std::sort(c.begin(), c.end(), by_date);
  std::function<std::string(size_t)> render = [&](size_t n) -> std::string {
    std::string s = id(n);
    size_t cur = n;
    while (children[cur].size() == 1) {
      cur = children[cur][0];
      s += " " + id(cur);
    }
    if (children[cur].size() > 1) {
      s += " ";
      for (size_t c : children[cur]) s += "(" + render(c) + ")";
    }
    return s;
  };
  for (size_t r : roots) out += "(" + render(r) + ")";
  return out;
}

}  // namespace

asio::awaitable<Reply> cmd_search(Session& s, const proto::Command& cmd) {
  proto::Command c = cmd;
  if (c.name == "THREAD" && c.atoms[0] != "REFERENCES" && c.atoms[0] != "ORDEREDSUBJECT")
    co_return Reply::bad("Unsupported threading algorithm");
  std::string charset = c.charset;
  if (charset == "US-ASCII") charset = "UTF-8";
  std::string error;
  if (!charset.empty()) {
    auto probe = mime::to_utf8("", charset);
    if (!probe && probe.code() == core::Code::not_found) error = "unknown";
  }
  if (!error.empty() || !prepare(c.search, charset, error)) {
    if (error == "unknown")
      co_return Reply::no("[BADCHARSET (UTF-8 US-ASCII BIG5 GB2312 GBK GB18030 ISO-8859-1)] "
                          "Unsupported charset");
    co_return Reply::bad("Search string is not valid in charset " + c.charset);
  }
  std::vector<Candidate> cands;
  for (uint32_t i = 0; i < s.view->messages.size(); ++i) {
    const auto& m = s.view->messages[i];
    cands.push_back({m, i + 1, s.view->recent.count(m.uid) > 0});
  }
  bool sort_or_thread = c.name != "SEARCH";
  std::string account = s.principal.account_id;
  std::string mailbox = s.view->name;
  Evaluator ev{s.view->exists(), s.view->max_uid()};
  auto fn1 = [&s, &account, &mailbox, &cands, &c, &ev, sort_or_thread]() {
        std::vector<Row> out;
        for (const auto& cand : cands) {
          Loaded l{*s.services.store, account, mailbox, cand, {}, {}, {}, {}};
          if (!ev.eval(c.search, l)) continue;
          Row r;
          r.c = cand;
          if (sort_or_thread) r.facts = l.f();
          out.push_back(std::move(r));
        }
        return out;
      };
  std::vector<Row> rows = co_await s.blocking(fn1);

  if (c.name == "SORT") {
    auto date = [](const Row& r) { return r.facts.sent_date ? r.facts.sent_date : r.c.meta.internal_date; };
    std::vector<std::string> subj(rows.size());
    std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
      for (const auto& [key, rev] : c.sort) {
        int cmp = 0;
        if (key == "ARRIVAL") cmp = (a.c.meta.internal_date > b.c.meta.internal_date) - (a.c.meta.internal_date < b.c.meta.internal_date);
        else if (key == "DATE") cmp = (date(a) > date(b)) - (date(a) < date(b));
        else if (key == "SIZE") cmp = (a.c.meta.size > b.c.meta.size) - (a.c.meta.size < b.c.meta.size);
        else if (key == "FROM") cmp = a.facts.sort_from.compare(b.facts.sort_from);
        else if (key == "TO") cmp = a.facts.sort_to.compare(b.facts.sort_to);
        else if (key == "CC") cmp = a.facts.sort_cc.compare(b.facts.sort_cc);
        else if (key == "SUBJECT") cmp = base_subject(a.facts.subject).compare(base_subject(b.facts.subject));
        if (cmp != 0) return rev ? cmp > 0 : cmp < 0;
      }
      return a.c.seq < b.c.seq;
    });
    std::string line = "SORT";
    for (const auto& r : rows) line += " " + std::to_string(c.uid ? r.c.meta.uid : r.c.seq);
    s.untagged(line);
    co_return Reply::ok("SORT completed");
  }
  if (c.name == "THREAD") {
    s.untagged("THREAD " + thread_ids(rows, c.atoms[0], c.uid));
    co_return Reply::ok("THREAD completed");
  }

  std::vector<uint32_t> ids;
  uint64_t max_modseq = 0;
  for (const auto& r : rows) {
    ids.push_back(c.uid ? r.c.meta.uid : r.c.seq);
    max_modseq = std::max(max_modseq, r.c.meta.modseq);
  }
  bool modseq = uses_modseq(c.search);
  if (modseq) s.condstore = true;
  if (c.search_return.present) {
    // RFC 4731 3.1: ESEARCH (TAG "x") [UID] MIN/MAX/COUNT/ALL
    std::string line = "ESEARCH (TAG \"" + c.tag + "\")";
    if (c.uid) line += " UID";
    if (c.search_return.min && !ids.empty()) line += " MIN " + std::to_string(ids.front());
    if (c.search_return.max && !ids.empty()) line += " MAX " + std::to_string(ids.back());
    if (c.search_return.count) line += " COUNT " + std::to_string(ids.size());
    if (c.search_return.all && !ids.empty()) line += " ALL " + compact_set(ids);
    if (modseq && !ids.empty()) line += " MODSEQ " + std::to_string(max_modseq);
    s.untagged(line);
  } else {
    std::string line = "SEARCH";
    for (uint32_t id : ids) line += " " + std::to_string(id);
    if (modseq && !ids.empty()) line += " (MODSEQ " + std::to_string(max_modseq) + ")";
    s.untagged(line);
  }
  co_return Reply::ok("SEARCH completed");
}

}  // namespace mailroom::imap
