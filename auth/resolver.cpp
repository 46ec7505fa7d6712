// The identity rules of DESIGN.md, once. See resolver.h for the contract.
#include "auth/resolver.h"

#include <algorithm>
#include <set>

#include "auth/metered_directory.h"
#include "src/core/address.h"

namespace mailroom::auth {
namespace {

struct Parsed {
  std::string local;   // lower-cased
  std::string domain;  // lower-cased
  std::string key() const { return local + "@" + domain; }
};

std::optional<Parsed> parse(const std::string& text, bool allow_utf8) {
  auto a = core::parse_address(text);
  if (!a || a->domain.empty() || a->domain.front() == '[') return std::nullopt;
  if (!allow_utf8 && a->has_utf8()) return std::nullopt;
  return Parsed{core::ascii_lower(a->local), core::ascii_lower(a->domain)};
}

// "user+tag" -> "user" (RFC 5233 style subaddress), nullopt when there is no tag.
std::optional<std::string> strip_tag(const std::string& local, char sep) {
  if (sep == '\0') return std::nullopt;
  auto pos = local.find(sep);
  if (pos == std::string::npos || pos == 0) return std::nullopt;
  return local.substr(0, pos);
}

// One recipient expansion: walks accounts, aliases, groups and forwarding with a visited
// set (loop safety), a depth limit and a fan-out limit.
class Expansion {
 public:
  Expansion(Resolver& r, Directory& d, const ResolverOptions& o, std::string sender,
            std::string sender_id, bool sender_verified)
      : resolver_(r),
        dir_(d),
        opt_(o),
        sender_(std::move(sender)),
        sender_id_(std::move(sender_id)),
        sender_verified_(sender_verified || !sender_id_.empty()) {}

  Resolution run(const std::string& address) {
    auto p = parse(address, opt_.allow_utf8_local_parts);
    if (!p) return finish(RecipientOutcome::unknown, "invalid address " + address);
    auto dom = resolver_.local_domain(p->domain);
    if (!dom) {
      if (dom.code() == Code::not_found) {
        return finish(RecipientOutcome::not_local, "domain " + p->domain + " is not local");
      }
      return finish(RecipientOutcome::unavailable, dom.status().to_string());
    }
    auto outcome = expand_local(*p, *dom, 0, /*top=*/true);
    if (outcome != RecipientOutcome::deliver) return finish(outcome, detail_);
    if (res_.destinations.empty()) {
      return finish(RecipientOutcome::unknown, address + " expands to no recipient");
    }
    return finish(RecipientOutcome::deliver, detail_);
  }

 private:
  Resolution finish(RecipientOutcome o, std::string detail) {
    res_.outcome = o;
    res_.detail = std::move(detail);
    if (o != RecipientOutcome::deliver) res_.destinations.clear();
    return std::move(res_);
  }

  void note(const std::string& s) {
    if (!detail_.empty()) detail_ += "; ";
    detail_ += s;
  }

  RecipientOutcome add_mailbox(const Account& a) {
    for (const auto& d : res_.destinations) {
      if (d.kind == Destination::Kind::mailbox && d.account_id == a.id) {
        return RecipientOutcome::deliver;
      }
    }
    if (res_.destinations.size() >= opt_.max_expansion) {
      note("more than " + std::to_string(opt_.max_expansion) + " recipients");
      return RecipientOutcome::too_many;
    }
    Destination d;
    d.kind = Destination::Kind::mailbox;
    d.account_id = a.id;
    d.address = a.address;
    d.folder = "INBOX";
    d.quota_bytes = a.quota_bytes;
    d.quota_messages = a.quota_messages;
    res_.destinations.push_back(std::move(d));
    return RecipientOutcome::deliver;
  }

  RecipientOutcome add_remote(const std::string& address) {
    for (const auto& d : res_.destinations) {
      if (d.kind == Destination::Kind::remote && d.address == address) {
        return RecipientOutcome::deliver;
      }
    }
    if (res_.destinations.size() >= opt_.max_expansion) {
      note("more than " + std::to_string(opt_.max_expansion) + " recipients");
      return RecipientOutcome::too_many;
    }
    Destination d;
    d.kind = Destination::Kind::remote;
    d.address = address;
    res_.destinations.push_back(std::move(d));
    return RecipientOutcome::deliver;
  }

  // A target of an alias, group or forward: local or remote. Unknown or disabled local
  // targets are skipped (noted) so one stale member does not bounce a whole list.
  RecipientOutcome expand_target(const std::string& target, size_t depth) {
    auto p = parse(target, true);
    if (!p) {
      note("skipped invalid target " + target);
      return RecipientOutcome::deliver;
    }
    auto dom = resolver_.local_domain(p->domain);
    if (!dom) {
      if (dom.code() == Code::not_found) return add_remote(p->key());
      note(dom.status().to_string());
      return RecipientOutcome::unavailable;
    }
    auto o = expand_local(*p, *dom, depth, false);
    if (o == RecipientOutcome::unknown || o == RecipientOutcome::disabled) {
      return RecipientOutcome::deliver;  // noted by expand_local
    }
    return o;
  }

  RecipientOutcome expand_local(Parsed p, const Domain& dom, size_t depth, bool top) {
    if (depth > opt_.max_group_depth) {
      note("nesting deeper than " + std::to_string(opt_.max_group_depth) + " at " + p.key());
      return RecipientOutcome::too_many;
    }
    // Domain aliases rewrite the domain first (one level: an alias domain targets a local one).
    std::string catch_all = dom.catch_all;
    if (dom.kind == DomainKind::alias && !dom.alias_of.empty()) {
      p.domain = dom.alias_of;
      if (catch_all.empty()) {
        auto target = resolver_.local_domain(p.domain);
        if (!target) {
          if (target.code() != Code::not_found) {
            note(target.status().to_string());
            return RecipientOutcome::unavailable;
          }
        } else {
          catch_all = target->catch_all;
        }
      }
    }
    if (!visited_.insert(p.key()).second) return RecipientOutcome::deliver;  // loop or dup

    auto o = lookup(p.key(), depth);
    if (o != RecipientOutcome::unknown) return o;
    if (auto base = strip_tag(p.local, opt_.subaddress_separator)) {
      std::string key = *base + "@" + p.domain;
      if (visited_.insert(key).second) {
        o = lookup(key, depth);
        if (o != RecipientOutcome::unknown) return o;
      } else {
        return RecipientOutcome::deliver;
      }
    }
    // RFC 5321 4.5.1: postmaster@ every local domain MUST be accepted. Without an account,
    // alias or group of its own it goes to [auth] postmaster.
    if (top && p.local == "postmaster" && !opt_.postmaster.empty() &&
        core::ascii_lower(opt_.postmaster) != p.key()) {
      note(p.key() + " -> postmaster " + opt_.postmaster);
      return expand_target(opt_.postmaster, depth + 1);
    }
    // Catch-all applies to addresses that were actually sent to, not to stale list members.
    if (top && !catch_all.empty()) {
      note(p.key() + " -> catch-all " + catch_all);
      return expand_target(catch_all, depth + 1);
    }
    note("unknown " + p.key());
    return RecipientOutcome::unknown;
  }

  // account > alias > group, for one exact key.
  RecipientOutcome lookup(const std::string& key, size_t depth) {
    auto acc = dir_.find_account_by_address(key);
    if (acc) return deliver_account(*acc, depth);
    if (acc.code() != Code::not_found) {
      note(acc.status().to_string());
      return RecipientOutcome::unavailable;
    }
    auto alias = dir_.find_alias(key);
    if (alias) {
      for (const auto& t : alias->targets) {
        auto o = expand_target(t, depth + 1);
        if (o != RecipientOutcome::deliver) return o;
      }
      return RecipientOutcome::deliver;
    }
    if (alias.code() != Code::not_found) {
      note(alias.status().to_string());
      return RecipientOutcome::unavailable;
    }
    auto group = dir_.find_group(key);
    if (group) return deliver_group(*group, depth);
    if (group.code() != Code::not_found) {
      note(group.status().to_string());
      return RecipientOutcome::unavailable;
    }
    return RecipientOutcome::unknown;
  }

  RecipientOutcome deliver_account(const Account& a, size_t depth) {
    const bool held = a.status == AccountStatus::disabled && opt_.hold_for_disabled && depth == 0;
    if (held) {
      note("held for disabled account " + a.address);
      if (!opt_.forward_held || a.forward_to.empty()) return add_mailbox(a);
    } else if (a.status != AccountStatus::active) {
      note("account " + a.address + " is " + account_status_name(a.status));
      return RecipientOutcome::disabled;
    }
    if (held || a.forward_to.empty() || a.forward_keep_copy) {
      auto o = add_mailbox(a);
      if (o != RecipientOutcome::deliver) return o;
    }
    size_t first = res_.destinations.size();
    for (const auto& t : a.forward_to) {
      auto o = expand_target(t, depth + 1);
      if (o != RecipientOutcome::deliver) return o;
    }
    // The nearest forwarder names the copy (a forward of a forward names the last hop).
    for (size_t i = first; i < res_.destinations.size(); ++i) {
      if (res_.destinations[i].forwarded_by.empty()) res_.destinations[i].forwarded_by = a.address;
    }
    return RecipientOutcome::deliver;
  }

  RecipientOutcome deliver_group(const Group& g, size_t depth) {
    // The policy of the group the sender addressed decides; nested groups inherit it.
    bool check = !policy_checked_;
    policy_checked_ = true;
    size_t first = res_.destinations.size();
    for (const auto& m : g.members) {
      auto o = expand_target(m, depth + 1);
      if (o != RecipientOutcome::deliver) return o;
    }
    if (check) {
      auto allowed = may_send_to(g, first);
      if (!allowed) {
        note(allowed.status().to_string());
        return RecipientOutcome::unavailable;
      }
      if (!*allowed) {
        note("sender " + (sender_.empty() ? std::string("<>") : sender_) +
             " may not send to group " + g.address);
        return RecipientOutcome::not_allowed;
      }
    }
    return RecipientOutcome::deliver;
  }

  // Whether the envelope sender may be believed for a group policy: always when the session
  // vouches for it (authenticated, or a trusted gateway); otherwise only for addresses outside
  // our domains (issue 13, item 11: anyone can write MAIL FROM:<ceo@our-domain> on port 25,
  // and a members-only or moderated group must not open for it).
  Result<bool> envelope_sender_believed(const Parsed& p) {
    if (sender_verified_) return true;
    auto d = resolver_.local_domain(p.domain);
    if (d) return false;
    if (d.code() == Code::not_found) return true;
    return d.status();
  }

  // The sender's addresses: the envelope sender (when believed), plus every address of the
  // authenticated account (an authenticated member may use any of its addresses).
  Result<std::vector<std::string>> sender_addresses() {
    std::vector<std::string> out;
    if (auto p = parse(sender_, true)) {
      auto believed = envelope_sender_believed(*p);
      if (!believed) return believed.status();
      if (*believed) out.push_back(p->key());
    }
    if (!sender_id_.empty()) {
      auto a = dir_.find_account_by_id(sender_id_);
      if (a) {
        out.push_back(a->address);
        for (const auto& o : a->other_addresses) out.push_back(o);
      } else if (a.code() != Code::not_found) {
        return a.status();
      }
    }
    return out;
  }

  Result<bool> may_send_to(const Group& g, size_t first) {
    switch (g.send_policy) {
      case GroupSendPolicy::anyone:
        return true;
      case GroupSendPolicy::domain: {
        if (!sender_id_.empty()) return true;
        auto p = parse(sender_, true);
        if (!p) return false;
        auto d = resolver_.local_domain(p->domain);
        if (d) return sender_verified_;  // a local sender, if vouched for
        if (d.code() == Code::not_found) return false;
        return d.status();
      }
      case GroupSendPolicy::members: {
        auto addrs = sender_addresses();
        if (!addrs) return addrs.status();
        for (const auto& a : *addrs) {
          if (std::find(g.members.begin(), g.members.end(), a) != g.members.end()) return true;
        }
        // Members of nested groups: the sender's account is one of the expanded mailboxes.
        std::string id = sender_id_;
        if (id.empty() && !addrs->empty()) {
          auto acc = dir_.find_account_by_address(addrs->front());
          if (acc)
            id = acc->id;
          else if (acc.code() != Code::not_found)
            return acc.status();
        }
        if (id.empty()) return false;
        for (size_t i = first; i < res_.destinations.size(); ++i) {
          if (res_.destinations[i].account_id == id) return true;
        }
        return false;
      }
      case GroupSendPolicy::moderators: {
        auto addrs = sender_addresses();
        if (!addrs) return addrs.status();
        for (const auto& a : *addrs) {
          if (std::find(g.allowed_senders.begin(), g.allowed_senders.end(), a) !=
              g.allowed_senders.end()) {
            return true;
          }
        }
        return false;
      }
    }
    return false;
  }

  Resolver& resolver_;
  Directory& dir_;
  const ResolverOptions& opt_;
  std::string sender_;
  std::string sender_id_;
  bool sender_verified_ = false;
  Resolution res_;
  std::set<std::string> visited_;
  std::string detail_;
  bool policy_checked_ = false;
};

}  // namespace

Resolver::Resolver(std::shared_ptr<Directory> directory, ResolverOptions options)
    : directory_(with_metrics(std::move(directory))), options_(std::move(options)) {
  options_.default_domain = core::ascii_lower(options_.default_domain);
}

Result<Domain> Resolver::local_domain(const std::string& domain) {
  return directory_->find_domain(core::ascii_lower(domain));
}

Resolution Resolver::resolve_recipient(const std::string& address, const std::string& sender,
                                       const std::string& sender_account_id, bool sender_verified) {
  Expansion e(*this, *directory_, options_, sender, sender_account_id, sender_verified);
  return e.run(address);
}

Result<Account> Resolver::find_login(const std::string& login_in) {
  std::string login = core::ascii_lower(login_in);
  if (login.empty() || login.size() > 512) return core::not_found("empty login");
  for (unsigned char c : login) {
    if (c < 0x21 || c == 0x7f) return core::not_found("login contains spaces or controls");
    if (c >= 0x80 && !options_.allow_utf8_local_parts) {
      return core::not_found("UTF-8 logins are not allowed");
    }
  }
  // An explicit login name always wins (it is unique across accounts).
  auto by_login = directory_->find_account_by_login(login);
  if (by_login || by_login.code() != Code::not_found) return by_login;

  std::string address;
  if (login.find('@') != std::string::npos) {
    auto p = parse(login, options_.allow_utf8_local_parts);
    if (!p) return core::not_found("invalid login " + login);
    auto dom = local_domain(p->domain);
    if (!dom) return dom.status();  // not_found: not one of our domains
    if (dom->kind == DomainKind::alias && !dom->alias_of.empty()) p->domain = dom->alias_of;
    address = p->key();
  } else if (!options_.default_domain.empty()) {
    address = login + "@" + options_.default_domain;  // single-domain edition
  } else {
    // Multi-domain: a bare local part is unambiguous only with exactly one local domain.
    auto domains = directory_->list_domains();
    if (!domains) {
      if (domains.code() == Code::not_found) return core::not_found("login needs a domain");
      return domains.status();
    }
    std::string only;
    int count = 0;
    for (const auto& d : *domains) {
      if (d.kind == DomainKind::local) {
        only = d.name;
        ++count;
      }
    }
    if (count != 1) return core::not_found("login " + login + " is ambiguous: use the address");
    address = login + "@" + only;
  }
  return directory_->find_account_by_address(address);
}

Result<bool> Resolver::may_send_as(const Account& account, const std::string& address) {
  auto p = parse(address, true);
  if (!p) return false;
  auto dom = local_domain(p->domain);
  if (dom && dom->kind == DomainKind::alias && !dom->alias_of.empty()) p->domain = dom->alias_of;
  if (!dom && dom.code() != Code::not_found) return dom.status();

  std::vector<std::string> own{account.address};
  own.insert(own.end(), account.other_addresses.begin(), account.other_addresses.end());
  auto is_own = [&](const std::string& a) {
    return std::find(own.begin(), own.end(), core::ascii_lower(a)) != own.end();
  };
  std::vector<std::string> keys{p->key()};
  if (auto base = strip_tag(p->local, options_.subaddress_separator)) {
    keys.push_back(*base + "@" + p->domain);
  }
  for (const auto& key : keys) {
    if (is_own(key)) return true;
    for (const auto& s : account.send_as) {
      if (core::ascii_lower(s) == key) return true;
    }
    if (!dom) continue;  // not a local domain: only explicit send_as grants it
    // An address owned by another account is never ours, even if an alias says so.
    auto other = directory_->find_account_by_address(key);
    if (other) return other->id == account.id;
    if (other.code() != Code::not_found) return other.status();
    auto alias = directory_->find_alias(key);
    if (alias) {
      for (const auto& t : alias->targets) {
        if (is_own(t)) return true;
      }
    } else if (alias.code() != Code::not_found) {
      return alias.status();
    }
    auto group = directory_->find_group(key);
    if (group) {
      for (const auto& s : group->allowed_senders) {
        if (is_own(s)) return true;
      }
    } else if (group.code() != Code::not_found) {
      return group.status();
    }
  }
  return false;
}

}  // namespace mailroom::auth
