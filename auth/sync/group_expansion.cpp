#include "auth/sync/group_expansion.h"

#include <cctype>
#include <unordered_set>

namespace mailroom::auth::sync {

std::string dn_key(std::string_view dn) {
  std::string out;
  out.reserve(dn.size());
  bool escaped = false;
  for (size_t i = 0; i < dn.size(); ++i) {
    char c = dn[i];
    if (!escaped && c == ' ') {
      // RFC 4514 2.4: unescaped leading and trailing spaces of a value are not part of it.
      bool after_sep = out.empty() || out.back() == ',' || out.back() == '=' || out.back() == '+';
      size_t j = i;
      while (j < dn.size() && dn[j] == ' ') ++j;
      bool before_sep = j == dn.size() || dn[j] == ',' || dn[j] == '=' || dn[j] == '+';
      if (after_sep || before_sep) {
        i = j - 1;
        continue;
      }
    }
    escaped = !escaped && c == '\\';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

namespace {

class Expander {
 public:
  explicit Expander(ExpansionInput& in) : in_(in) {
    for (size_t i = 0; i < in_.groups.size(); ++i) index_.emplace(dn_key(in_.groups[i].dn), i);
  }

  Result<std::vector<Group>> run() {
    std::vector<Group> out;
    for (size_t i = 0; i < in_.groups.size(); ++i) {
      if (!in_.groups[i].header) continue;
      Group g = *in_.groups[i].header;
      g.members.clear();
      Members m{g.address, {}, {}};
      if (in_.mode == NestedMode::flatten) {
        std::unordered_set<size_t> visited;
        flatten(i, visited, m);
      } else if (auto st = keep(i, m); !st) {
        return st;
      }
      g.members = std::move(m.list);
      out.push_back(std::move(g));
    }
    return out;
  }

 private:
  struct Members {
    std::string self;
    std::unordered_set<std::string> seen;
    std::vector<std::string> list;
  };

  bool full(const Members& m) const { return static_cast<int>(m.list.size()) >= in_.max_members; }

  void add(Members& m, const std::string& address) const {
    if (address.empty() || address == m.self || full(m)) return;
    if (m.seen.insert(address).second) m.list.push_back(address);
  }

  // Users of the group and of the groups nested in it; an explicit stack, so a chain as deep
  // as the directory allows cannot overflow ours.
  void flatten(size_t root, std::unordered_set<size_t>& visited, Members& m) const {
    std::vector<size_t> stack{root};
    visited.insert(root);
    while (!stack.empty() && !full(m)) {
      size_t gi = stack.back();
      stack.pop_back();
      for (const auto& dn : in_.groups[gi].member_dns) {
        std::string key = dn_key(dn);
        if (auto u = in_.user_address.find(key); u != in_.user_address.end()) {
          add(m, u->second);
        } else if (auto g = index_.find(key); g != index_.end()) {
          if (visited.insert(g->second).second) stack.push_back(g->second);
        }
        if (full(m)) break;
      }
    }
  }

  Status keep(size_t gi, Members& m) const {
    for (const auto& dn : in_.groups[gi].member_dns) {
      if (full(m)) break;
      std::string key = dn_key(dn);
      if (auto u = in_.user_address.find(key); u != in_.user_address.end()) {
        add(m, u->second);
      } else if (auto g = index_.find(key); g != index_.end()) {
        const auto& h = in_.groups[g->second].header;
        if (h) add(m, h->address);
      } else if (in_.resolve_other) {
        auto a = in_.resolve_other(dn);
        if (!a) return a.status();
        add(m, *a);
      }
    }
    return Status::ok();
  }

  ExpansionInput& in_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

Result<std::vector<Group>> expand_groups(ExpansionInput in) { return Expander(in).run(); }

}  // namespace mailroom::auth::sync
