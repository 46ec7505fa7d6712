// Update contexts (RFC 5267 4.3, CONTEXT=SEARCH and CONTEXT=SORT): a UID SEARCH or UID SORT
// with RETURN (UPDATE) keeps its result; whenever the session's view of the mailbox has
// changed (new mail, flags, expunges: at the points the session sends EXISTS, FETCH and
// EXPUNGE, after every command, and during IDLE) its program runs again and the difference
// goes out as "* ESEARCH (TAG "t") UID REMOVEFROM (...) ADDTO (...)". SEARCH contexts use
// position 0 (unordered); SORT contexts give each message's position in the sorted result:
// removals from the last to the first in the old order, then additions from the first to the
// last in the new one, so applying them in turn yields the new result.
//
// Not kept (the search still answers, with "* NO [NOUPDATE "t"]", RFC 5267 4.3): a SEARCH or
// SORT without UID (sequence numbers shift under expunges), a program with a sequence set, or
// beyond Session::kMaxUpdateContexts live contexts per session. CANCELUPDATE ends contexts.
#include <algorithm>
#include <unordered_set>

#include "src/imap/session.h"

namespace mailroom::imap {

namespace {

std::tuple<uint32_t, uint32_t, uint64_t> view_state(const MailboxView& v) {
  return {v.exists(), v.max_uid(), v.highest_modseq()};
}

bool uses_sequence_numbers(const proto::SearchKey& k) {
  if (k.op == proto::SearchKey::Op::seqset) return true;
  return std::any_of(k.children.begin(), k.children.end(), uses_sequence_numbers);
}

// " REMOVEFROM (...) ADDTO (...)" from `before` to `after` ("" when the result is the same).
std::string difference(const std::vector<uint32_t>& before, const std::vector<uint32_t>& after,
                       bool sorted) {
  std::unordered_set<uint32_t> was(before.begin(), before.end()), is(after.begin(), after.end());
  std::vector<uint32_t> removed, added;
  std::string remove_pairs, add_pairs;
  for (size_t i = before.size(); i-- > 0;) {
    if (is.count(before[i])) continue;
    removed.push_back(before[i]);
    remove_pairs +=
        (remove_pairs.empty() ? "" : " ") + std::to_string(i + 1) + " " + std::to_string(before[i]);
  }
  for (size_t j = 0; j < after.size(); ++j) {
    if (was.count(after[j])) continue;
    added.push_back(after[j]);
    add_pairs +=
        (add_pairs.empty() ? "" : " ") + std::to_string(j + 1) + " " + std::to_string(after[j]);
  }
  std::string out;
  if (!removed.empty()) {
    std::sort(removed.begin(), removed.end());
    out += " REMOVEFROM (" + (sorted ? remove_pairs : "0 " + compact_set(removed)) + ")";
  }
  if (!added.empty()) {
    std::sort(added.begin(), added.end());
    out += " ADDTO (" + (sorted ? add_pairs : "0 " + compact_set(added)) + ")";
  }
  return out;
}

}  // namespace

void keep_context(Session& s, const proto::Command& c, std::vector<uint32_t> uids) {
  auto refuse = [&](const std::string& why) {
    s.untagged("NO [NOUPDATE \"" + c.tag + "\"] " + why);
  };
  if (!c.uid) return refuse("Updates are kept for UID SEARCH and UID SORT only");
  if (uses_sequence_numbers(c.search)) return refuse("The search depends on sequence numbers");
  // A tag used again replaces its context (tags ought to be unique, RFC 3501 2.2.1).
  std::erase_if(s.contexts, [&](const Session::UpdateContext& u) { return u.cmd.tag == c.tag; });
  if (s.contexts.size() >= Session::kMaxUpdateContexts)
    return refuse("Too many update contexts (at most " +
                  std::to_string(Session::kMaxUpdateContexts) + ")");
  s.contexts.push_back({c, std::move(uids), view_state(*s.view)});
}

asio::awaitable<void> update_contexts(Session& s) {
  for (size_t i = 0; i < s.contexts.size(); ++i) {
    if (!s.view || s.closing) co_return;
    auto now = view_state(*s.view);
    if (s.contexts[i].at == now) continue;
    proto::Command cmd = s.contexts[i].cmd;
    std::vector<uint32_t> uids = co_await result_uids(s, cmd);
    // The contexts may have gone meanwhile (the mailbox closed by a failure elsewhere).
    if (i >= s.contexts.size() || s.contexts[i].cmd.tag != cmd.tag || !s.view) co_return;
    std::string change = difference(s.contexts[i].uids, uids, cmd.name == "SORT");
    s.contexts[i].uids = std::move(uids);
    s.contexts[i].at = now;
    if (!change.empty()) s.untagged("ESEARCH (TAG \"" + cmd.tag + "\") UID" + change);
  }
}

asio::awaitable<Reply> cmd_cancelupdate(Session& s, const proto::Command& cmd) {
  // RFC 5267 4.3: every tag must name a live context; none is cancelled otherwise.
  for (const auto& tag : cmd.args) {
    bool known = std::any_of(s.contexts.begin(), s.contexts.end(),
                             [&](const Session::UpdateContext& u) { return u.cmd.tag == tag; });
    if (!known) co_return Reply::bad("No update context for tag " + tag);
  }
  for (const auto& tag : cmd.args)
    std::erase_if(s.contexts, [&](const Session::UpdateContext& u) { return u.cmd.tag == tag; });
  co_return Reply::ok("CANCELUPDATE completed");
}

}  // namespace mailroom::imap
