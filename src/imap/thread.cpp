// RFC 5256 base subject and threading. Written by hand: no library in Debian implements the
// IMAP THREAD algorithms (GMime's threading is JWZ's without the RFC's pruning and merge rules).
#include "src/imap/thread.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

#include "src/mime/facts.h"

namespace mailroom::imap {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// subj-blob = "[" *BLOBCHAR "]" *WSP ; returns the length at `p`, 0 when none.
size_t blob_at(std::string_view s, size_t p) {
  if (p >= s.size() || s[p] != '[') return 0;
  size_t q = p + 1;
  while (q < s.size() && s[q] != '[' && s[q] != ']') ++q;
  if (q >= s.size() || s[q] != ']') return 0;
  ++q;
  while (q < s.size() && is_wsp(s[q])) ++q;
  return q - p;
}

// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" ; length at `p`, 0 when none.
size_t refwd_at(std::string_view s, size_t p) {
  size_t q = p;  // the subject is in i;unicode-casemap form: upper case
  if (s.compare(q, 2, "RE") == 0)
    q += 2;
  else if (s.compare(q, 3, "FWD") == 0)
    q += 3;
  else if (s.compare(q, 2, "FW") == 0)
    q += 2;
  else
    return 0;
  while (q < s.size() && is_wsp(s[q])) ++q;
  q += blob_at(s, q);
  if (q >= s.size() || s[q] != ':') return 0;
  return q + 1 - p;
}

// subj-leader = (*subj-blob subj-refwd) / WSP ; length at the start, 0 when none.
size_t leader(std::string_view s, bool& refwd) {
  if (!s.empty() && is_wsp(s[0])) return 1;
  size_t p = 0;
  for (;;) {
    if (size_t r = refwd_at(s, p)) {
      refwd = true;
      return p + r;
    }
    size_t b = blob_at(s, p);
    if (!b) return 0;
    p += b;
  }
}

bool has_nonwsp(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return !is_wsp(c); });
}

}  // namespace

BaseSubject base_subject(std::string_view decoded) {
  BaseSubject out;
  // (1) Tabs and line breaks to spaces, runs of spaces to one. The text is first put in the
  // form the i;unicode-casemap comparator compares (RFC 5051: titlecase, full decomposition),
  // so that SORT orders and THREAD groups base subjects by their octets (RFC 5256 7), and
  // the ABNF's case-insensitive "re", "fw", "fwd" are matched as upper case.
  std::string folded = mime::casemap_key(decoded);
  std::string s;
  for (char c : folded) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s += c;
  }
  for (;;) {
    // (2) Remove trailing subj-trailer ("(fwd)" / WSP) repeatedly.
    for (;;) {
      if (!s.empty() && s.back() == ' ') {
        s.pop_back();
      } else if (s.size() >= 5 && s.compare(s.size() - 5, 5, "(FWD)") == 0) {
        s.resize(s.size() - 5);
        out.reply_or_forward = true;
      } else {
        break;
      }
    }
    // (3)-(5) Remove subj-leader, then a subj-blob that leaves a non-empty base, until stable.
    for (bool changed = true; changed;) {
      changed = false;
      while (size_t n = leader(s, out.reply_or_forward)) {
        s.erase(0, n);
        changed = true;
      }
      size_t b = blob_at(s, 0);
      if (b && has_nonwsp(std::string_view(s).substr(b))) {
        s.erase(0, b);
        changed = true;
      }
    }
    // (6) subj-fwd = "[fwd:" subject "]": unwrap and go back to (2).
    if (s.size() >= 6 && s.compare(0, 5, "[FWD:") == 0 && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      out.reply_or_forward = true;
      continue;
    }
    break;
  }
  out.text = std::move(s);
  return out;
}

namespace {

// Threads as nested lists of item indexes; -1 marks a dummy (no message).
struct Node {
  int item = -1;
  int parent = -1;
  std::vector<int> children;
  bool dead = false;
};

// Renders a thread rooted at `n` (RFC 5256 4: thread-members / thread-nested). With an
// explicit stack: a thread may be as deep as the mailbox is large.
void render(const std::vector<Node>& nodes, const std::vector<ThreadItem>& items, int n,
            std::string& out) {
  // >= 0: a node to render; kOpen/kClose: a parenthesis to write.
  constexpr int kOpen = -1, kClose = -2;
  std::vector<int> todo{n};
  auto nested = [&](const std::vector<int>& children) {
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      todo.push_back(kClose);
      todo.push_back(*it);
      todo.push_back(kOpen);
    }
  };
  while (!todo.empty()) {
    int t = todo.back();
    todo.pop_back();
    if (t < 0) {
      out += t == kOpen ? '(' : ')';
      continue;
    }
    const Node* cur = &nodes[t];
    if (cur->item < 0) {
      // A dummy: its children are siblings (a dummy with one child is that child).
      if (cur->children.size() == 1)
        todo.push_back(cur->children[0]);
      else
        nested(cur->children);
      continue;
    }
    out += std::to_string(items[cur->item].id);
    while (cur->children.size() == 1 && nodes[cur->children[0]].item >= 0) {
      cur = &nodes[cur->children[0]];
      out += ' ';
      out += std::to_string(items[cur->item].id);
    }
    if (cur->children.empty()) continue;
    out += ' ';
    nested(cur->children);
  }
}

// Message IDs in a header value, in order ("<a@b> <c@d>"): each "<...>" without whitespace.
std::vector<std::string_view> msg_ids(std::string_view v) {
  std::vector<std::string_view> ids;
  size_t p = 0;
  while ((p = v.find('<', p)) != std::string_view::npos) {
    size_t e = v.find('>', p);
    if (e == std::string_view::npos) break;
    std::string_view id = v.substr(p, e - p + 1);
    if (id.size() > 2 && id.find_first_of(" \t\r\n<", 1) == std::string_view::npos)
      ids.emplace_back(id);
    p = e + 1;
  }
  return ids;
}

}  // namespace

std::string thread_orderedsubject(const std::vector<ThreadItem>& items) {
  // RFC 5256 2.1 ORDEREDSUBJECT: sort by (base subject, sent date), split into threads by
  // base subject, threads ordered by the sent date of their first message.
  std::map<std::string_view, std::vector<size_t>> groups;
  for (size_t i = 0; i < items.size(); ++i) groups[items[i].base_subject].push_back(i);
  auto before = [&](size_t a, size_t b) {
    return items[a].sent_date < items[b].sent_date ||
           (items[a].sent_date == items[b].sent_date && a < b);
  };
  std::vector<std::vector<size_t>> threads;
  for (auto& [k, v] : groups) {
    std::stable_sort(v.begin(), v.end(), before);
    threads.push_back(v);
  }
  std::stable_sort(threads.begin(), threads.end(),
                   [&](const auto& a, const auto& b) { return before(a[0], b[0]); });
  std::string out;
  for (const auto& t : threads) {
    out += "(" + std::to_string(items[t[0]].id);
    if (t.size() == 2) out += " " + std::to_string(items[t[1]].id);
    if (t.size() > 2) {
      out += " ";
      for (size_t k = 1; k < t.size(); ++k) out += "(" + std::to_string(items[t[k]].id) + ")";
    }
    out += ")";
  }
  return out;
}

namespace {

// RFC 5256 REFERENCES threading, step by step (the numbers are the RFC's steps).
class Threader {
 public:
  explicit Threader(const std::vector<ThreadItem>& items) : items_(items) {}

  std::string run() {
    link_by_references();                 // (1)
    std::vector<int> roots = root_set();  // (2), (3)
    roots = prune(roots);                 // (4)
    sort_by_sent_date(roots);             // (6), used by (5)
    roots = gather_by_subject(roots);     // (5)
    sort_by_sent_date(roots);             // (6)
    std::string out;
    for (int r : roots) {
      out += '(';
      render(nodes_, items_, r, out);
      out += ')';
    }
    return out;
  }

 private:
  struct Key {
    int64_t date;
    size_t seq;
  };

  int make() {
    nodes_.emplace_back();
    return static_cast<int>(nodes_.size() - 1);
  }
  int container(std::string_view id) {
    auto it = by_id_.find(id);
    if (it != by_id_.end()) return it->second;
    int n = make();
    by_id_.emplace(id, n);
    return n;
  }
  // Is `a` equal to `b` or below it?
  bool descends(int a, int b) const {
    // A node without children has nothing below it: messages mostly arrive after what they
    // reply to, so this spares the walk up a long thread (quadratic in its length).
    if (a != b && nodes_[b].children.empty()) return false;
    for (int p = a; p >= 0; p = nodes_[p].parent)
      if (p == b) return true;
    return false;
  }
  void unlink(int c) {
    int p = nodes_[c].parent;
    if (p < 0) return;
    auto& ch = nodes_[p].children;
    ch.erase(std::remove(ch.begin(), ch.end(), c), ch.end());
    nodes_[c].parent = -1;
  }
  void link(int parent, int child) {
    nodes_[child].parent = parent;
    nodes_[parent].children.push_back(child);
  }

  // (1) Link messages by their references.
  void link_by_references() {
    for (size_t i = 0; i < items_.size(); ++i) {
      auto own = msg_ids(items_[i].message_id);
      int me = -1;
      if (!own.empty()) {
        int c = container(own[0]);
        // A duplicate Message-ID: only the first message (lowest sequence number) keeps it.
        if (nodes_[c].item < 0) me = c;
      }
      if (me < 0) me = make();
      nodes_[me].item = static_cast<int>(i);
      auto refs = msg_ids(items_[i].references);
      if (refs.empty()) {
        auto irt = msg_ids(items_[i].in_reply_to);
        if (!irt.empty()) refs.push_back(irt[0]);
      }
      // (1A) Each reference is the parent of the next, unless already parented or a loop.
      for (size_t k = 0; k + 1 < refs.size(); ++k) {
        int parent = container(refs[k]);
        int child = container(refs[k + 1]);
        if (nodes_[child].parent < 0 && !descends(parent, child)) link(parent, child);
      }
      // (1B) The last reference is the message's parent (replacing a truncated chain's guess).
      unlink(me);
      if (!refs.empty()) {
        int parent = container(refs.back());
        if (!descends(parent, me)) link(parent, me);
      }
    }
  }

  // (2) The root set; (3) the ID table is no longer needed.
  std::vector<int> root_set() const {
    std::vector<int> roots;
    for (int n = 0; n < static_cast<int>(nodes_.size()); ++n)
      if (nodes_[n].parent < 0) roots.push_back(n);
    return roots;
  }

  // Every node below `roots`, each before its descendants (pre-order, without recursion: a
  // thread may be as deep as the mailbox is large).
  std::vector<int> preorder(const std::vector<int>& roots) const {
    std::vector<int> order, todo(roots.rbegin(), roots.rend());
    while (!todo.empty()) {
      int n = todo.back();
      todo.pop_back();
      order.push_back(n);
      const auto& ch = nodes_[n].children;
      todo.insert(todo.end(), ch.rbegin(), ch.rend());
    }
    return order;
  }

  // (4) Prune dummies: empty ones go, others hand their children to their parent — except
  // at the root level, where a dummy keeps two or more children. Children are pruned before
  // their parent (reverse pre-order), as the RFC's recursive description does.
  std::vector<int> prune(const std::vector<int>& roots) {
    std::vector<int> order = preorder(roots);
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      nodes_[*it].children = prune_list(nodes_[*it].children, *it, false);
    return prune_list(roots, -1, true);
  }
  // One level of (4): `list` are the children of `parent` (the roots when at_root), their own
  // children already pruned.
  std::vector<int> prune_list(const std::vector<int>& list, int parent, bool at_root) {
    std::vector<int> out;
    for (int c : list) {
      if (nodes_[c].item >= 0) {
        out.push_back(c);
      } else if (nodes_[c].children.empty()) {
        nodes_[c].dead = true;
      } else if (!at_root || nodes_[c].children.size() == 1) {
        for (int g : nodes_[c].children) {
          nodes_[g].parent = parent;
          out.push_back(g);
        }
        nodes_[c].children.clear();
        nodes_[c].dead = true;
      } else {
        out.push_back(c);
      }
    }
    return out;
  }

  // Sent date order (6): dummies take the date of their first child.
  Key key(int n) const {
    if (nodes_[n].item >= 0)
      return {items_[nodes_[n].item].sent_date, static_cast<size_t>(nodes_[n].item)};
    return nodes_[n].children.empty() ? Key{0, 0} : key(nodes_[n].children[0]);
  }
  bool before(int a, int b) const {
    Key ka = key(a), kb = key(b);
    return ka.date < kb.date || (ka.date == kb.date && ka.seq < kb.seq);
  }
  void sort_by_sent_date(std::vector<int>& roots) {
    // Children before parents: a dummy's key is its first child's after that one's sort.
    std::vector<int> order = preorder(roots);
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      std::stable_sort(nodes_[*it].children.begin(), nodes_[*it].children.end(),
                       [this](int a, int b) { return before(a, b); });
    std::stable_sort(roots.begin(), roots.end(), [this](int a, int b) { return before(a, b); });
  }

  // The item whose base subject stands for the thread at `n`, or null when it has none.
  const ThreadItem* thread_subject(int n) const {
    int m = nodes_[n].item >= 0 ? n : (nodes_[n].children.empty() ? -1 : nodes_[n].children[0]);
    if (m < 0 || nodes_[m].item < 0) return nullptr;
    const ThreadItem& it = items_[nodes_[m].item];
    return it.base_subject.empty() ? nullptr : &it;
  }

  // (5) Gather root threads with the same base subject.
  std::vector<int> gather_by_subject(const std::vector<int>& roots) {
    std::unordered_map<std::string_view, int> table;
    std::unordered_map<int, bool> refwd;  // reply_or_forward of root messages
    for (int r : roots) {                 // (5B)
      auto subj = thread_subject(r);
      if (!subj) continue;
      refwd[r] = subj->reply_or_forward;
      auto it = table.find(subj->base_subject);
      if (it == table.end()) {
        table.emplace(subj->base_subject, r);
        continue;
      }
      int t = it->second;
      bool t_dummy = nodes_[t].item < 0, r_dummy = nodes_[r].item < 0;
      if (!t_dummy && (r_dummy || (refwd[t] && !subj->reply_or_forward))) it->second = r;
    }
    std::vector<int> merged_roots;
    // Where each root sits in merged_roots: a new dummy takes its table entry's place without
    // a search of the list (one per merge was quadratic in the number of threads).
    std::unordered_map<int, size_t> position;
    auto keep = [&](int n) {
      position[n] = merged_roots.size();
      merged_roots.push_back(n);
    };
    for (int r : roots) {                                     // (5C)
      if (nodes_[r].parent >= 0 || nodes_[r].dead) continue;  // merged into a later entry
      auto subj = thread_subject(r);
      if (!subj) {
        keep(r);
        continue;
      }
      int& t = table[subj->base_subject];
      if (t == r) {
        keep(r);
        continue;
      }
      bool t_dummy = nodes_[t].item < 0, r_dummy = nodes_[r].item < 0;
      if (t_dummy && r_dummy) {
        for (int c : nodes_[r].children) link(t, c);
        nodes_[r].children.clear();
        nodes_[r].dead = true;
      } else if (t_dummy || (refwd[r] && !refwd[t])) {
        link(t, r);
      } else {
        // A new dummy holds both; it takes the table's place (and its place among the roots).
        int d = make();
        int old = t;
        t = d;
        auto pos = position.find(old);
        if (pos != position.end()) {
          size_t at = pos->second;
          merged_roots[at] = d;
          position[d] = at;
        } else {
          keep(d);
        }
        link(d, old);
        link(d, r);
      }
    }
    std::vector<int> out;
    for (int r : merged_roots)
      if (!nodes_[r].dead && nodes_[r].parent < 0) out.push_back(r);
    return out;
  }

  const std::vector<ThreadItem>& items_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string_view, int> by_id_;
};

}  // namespace

std::string thread_references(const std::vector<ThreadItem>& items) {
  return Threader(items).run();
}

}  // namespace mailroom::imap
