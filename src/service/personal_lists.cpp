// Personal block and allow lists for the front ends (personal_lists.h).
#include "src/service/personal_lists.h"

#include <algorithm>
#include <boost/json.hpp>

#include "src/service/mailboxes.h"

namespace mailroom::service {
namespace json = boost::json;

namespace {

json::array entries_json(const std::vector<filter::PersonalEntry>& list) {
  json::array a;
  for (const auto& e : list) a.push_back(json::object{{"kind", e.kind}, {"value", e.value}});
  return a;
}

}  // namespace

std::string PersonalListsService::to_json(const filter::PersonalLists& l) {
  json::object o{{"ads", l.ads_in_inbox ? "inbox" : "folder"},
                 {"blocked", l.blocked == filter::BlockedAction::discard ? "discard" : "junk"},
                 {"blocklist", entries_json(l.block)},
                 {"allowlist", entries_json(l.allow)}};
  return json::serialize(o);
}

core::Result<auth::Account> PersonalListsService::find(const std::string& user) {
  if (mail_root_.empty()) return core::unavailable("mail store not configured");
  return Mailboxes(directory_, store_).owner(user);
}

core::Result<UserLists> PersonalListsService::get(const std::string& user) {
  auto a = find(user);
  if (!a) return a.status();
  auto l = filter::read_personal_lists(mail_root_, a->id);
  if (!l) return l.status();
  return UserLists{*a, std::move(*l)};
}

core::Result<UserLists> PersonalListsService::add(const std::string& user, const std::string& list,
                                                  const std::string& entry) {
  return change(user, list, entry, true);
}

core::Result<UserLists> PersonalListsService::remove(const std::string& user,
                                                     const std::string& list,
                                                     const std::string& entry) {
  return change(user, list, entry, false);
}

core::Result<UserLists> PersonalListsService::change(const std::string& user,
                                                     const std::string& list,
                                                     const std::string& entry, bool add) {
  if (list != "blocklist" && list != "allowlist") {
    return core::invalid_argument("list must be blocklist or allowlist: " + list);
  }
  auto e = filter::make_personal_entry(entry);
  if (!e) return e.status();
  auto a = find(user);
  if (!a) return a.status();
  auto l = filter::update_personal_lists(mail_root_, a->id, [&](filter::PersonalLists& lists) {
    auto& v = list == "blocklist" ? lists.block : lists.allow;
    auto it = std::find(v.begin(), v.end(), *e);
    if (!add) {
      if (it == v.end()) return core::not_found(e->value + " is not on the " + list);
      v.erase(it);
      return core::Status::ok();
    }
    if (it != v.end()) {
      return core::Status::error(core::Code::already_exists,
                                 e->value + " is already on the " + list);
    }
    if (v.size() >= filter::kMaxPersonalEntries) {
      return core::invalid_argument("the " + list + " is full (" +
                                    std::to_string(filter::kMaxPersonalEntries) + " entries)");
    }
    v.push_back(*e);
    return core::Status::ok();
  });
  if (!l) return l.status();
  return UserLists{*a, std::move(*l)};
}

core::Result<UserLists> PersonalListsService::set_options(const std::string& user,
                                                          std::optional<std::string> ads,
                                                          std::optional<std::string> blocked) {
  if (ads && *ads != "inbox" && *ads != "folder") {
    return core::invalid_argument("ads must be inbox or folder: " + *ads);
  }
  if (blocked && *blocked != "discard" && *blocked != "junk") {
    return core::invalid_argument("blocked must be discard or junk: " + *blocked);
  }
  auto a = find(user);
  if (!a) return a.status();
  auto l = filter::update_personal_lists(mail_root_, a->id, [&](filter::PersonalLists& lists) {
    if (ads) lists.ads_in_inbox = *ads == "inbox";
    if (blocked) {
      lists.blocked =
          *blocked == "discard" ? filter::BlockedAction::discard : filter::BlockedAction::junk;
    }
    return core::Status::ok();
  });
  if (!l) return l.status();
  return UserLists{*a, std::move(*l)};
}

}  // namespace mailroom::service
