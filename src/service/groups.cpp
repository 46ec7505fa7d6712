#include "src/service/groups.h"

#include "src/core/address.h"
#include "src/service/change_tracking.h"

namespace mailroom::service {

core::Result<auth::GroupSendPolicy> parse_group_policy(const std::string& text) {
  if (text == "anyone") return auth::GroupSendPolicy::anyone;
  if (text == "domain") return auth::GroupSendPolicy::domain;
  if (text == "members") return auth::GroupSendPolicy::members;
  if (text == "moderators") return auth::GroupSendPolicy::moderators;
  return core::invalid_argument("policy must be anyone, domain, members or moderators, not '" +
                                text + "'");
}

const char* group_policy_name(auth::GroupSendPolicy policy) {
  switch (policy) {
    case auth::GroupSendPolicy::anyone:
      return "anyone";
    case auth::GroupSendPolicy::domain:
      return "domain";
    case auth::GroupSendPolicy::members:
      return "members";
    case auth::GroupSendPolicy::moderators:
      return "moderators";
  }
  return "anyone";
}

core::Result<auth::Group> Groups::show(const std::string& address) {
  return directory_.find_group(core::ascii_lower(address));
}

namespace {

// One tracked write of one group that returns the group as stored afterwards.
core::Result<auth::Group> groups_tracked(auth::LocalDirectory& directory,
                                         const ChangeContext& change, const std::string& operation,
                                         const std::string& address,
                                         const std::function<core::Status()>& write) {
  const std::string key = tracking::address_key(address);
  auth::Group out;
  auto st = tracking::run_tracked(directory, change, operation,
                                  tracking::fixed_keys({{tracking::ObjectKind::group, key}}),
                                  [&]() -> core::Status {
                                    if (auto s = write(); !s) return s;
                                    auto g = directory.find_group(key);
                                    if (!g) return g.status();
                                    out = *g;
                                    return core::Status::ok();
                                  });
  if (!st) return st;
  return out;
}

}  // namespace

core::Result<auth::Group> Groups::add(const auth::Group& group) {
  return groups_tracked(directory_, change_, "group.add", group.address,
                        [&] { return directory_.add_group(group); });
}

core::Result<auth::Group> Groups::change(const GroupChange& request) {
  return groups_tracked(directory_, change_, "group.change", request.address, [&] {
    auto g = show(request.address);
    if (!g) return g.status();
    if (request.send_policy) g->send_policy = *request.send_policy;
    if (request.allowed_senders) g->allowed_senders = *request.allowed_senders;
    if (request.display_name) g->display_name = *request.display_name;
    return directory_.update_group(*g);
  });
}

core::Result<auth::Group> Groups::add_member(const std::string& group, const std::string& member) {
  return groups_tracked(directory_, change_, "group.member_add", group,
                        [&] { return directory_.add_group_member(group, member); });
}

core::Result<auth::Group> Groups::remove_member(const std::string& group,
                                                const std::string& member) {
  return groups_tracked(directory_, change_, "group.member_remove", group,
                        [&] { return directory_.remove_group_member(group, member); });
}

core::Status Groups::remove(const std::string& address) {
  return tracking::run_tracked(
      directory_, change_, "group.remove",
      tracking::fixed_keys({{tracking::ObjectKind::group, tracking::address_key(address)}}),
      [&] { return directory_.remove_group(address); });
}

core::Result<std::vector<auth::Group>> Groups::list(const std::string& domain) {
  return directory_.list_groups(domain);
}

}  // namespace mailroom::service
