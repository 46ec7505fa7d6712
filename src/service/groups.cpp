#include "src/service/groups.h"

#include "src/core/address.h"

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

core::Result<auth::Group> Groups::add(const auth::Group& group) {
  if (auto st = directory_.add_group(group); !st) return st;
  return show(group.address);
}

core::Result<auth::Group> Groups::change(const GroupChange& request) {
  auto g = show(request.address);
  if (!g) return g;
  if (request.send_policy) g->send_policy = *request.send_policy;
  if (request.allowed_senders) g->allowed_senders = *request.allowed_senders;
  if (request.display_name) g->display_name = *request.display_name;
  if (auto st = directory_.update_group(*g); !st) return st;
  return show(request.address);
}

core::Result<auth::Group> Groups::add_member(const std::string& group, const std::string& member) {
  if (auto st = directory_.add_group_member(group, member); !st) return st;
  return show(group);
}

core::Result<auth::Group> Groups::remove_member(const std::string& group,
                                                const std::string& member) {
  if (auto st = directory_.remove_group_member(group, member); !st) return st;
  return show(group);
}

core::Status Groups::remove(const std::string& address) { return directory_.remove_group(address); }

core::Result<std::vector<auth::Group>> Groups::list(const std::string& domain) {
  return directory_.list_groups(domain);
}

}  // namespace mailroom::service
