#include "auth/ldap/ldap_mapping.h"

#include <algorithm>
#include <charconv>

namespace mailroom::auth::ldap {

namespace {
const std::vector<std::string> kNone;

uint64_t to_u64(const std::string& s) {
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() ? v : 0;
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (s.empty()) return;
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}
}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const std::vector<std::string>& LdapEntry::values(std::string_view name) const {
  if (name.empty()) return kNone;
  auto it = attrs.find(lower(name));
  return it == attrs.end() ? kNone : it->second;
}

std::string LdapEntry::first(std::string_view name) const {
  const auto& v = values(name);
  return v.empty() ? std::string() : v.front();
}

bool LdapEntry::is_a(std::string_view object_class) const {
  std::string want = lower(object_class);
  for (const auto& v : values("objectclass"))
    if (lower(v) == want) return true;
  return false;
}

std::string guid_to_string(std::string_view b) {
  if (b.size() != 16) return {};
  static const char hex[] = "0123456789abcdef";
  // Data1 (4 bytes LE), Data2 (2 LE), Data3 (2 LE), Data4 (8 bytes as stored).
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    auto c = static_cast<unsigned char>(b[order[i]]);
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  return out;
}

std::optional<std::string> guid_from_string(std::string_view t) {
  std::string hexdigits;
  for (char c : t)
    if (c != '-') hexdigits += c;
  if (hexdigits.size() != 32) return std::nullopt;
  unsigned char linear[16];
  for (int i = 0; i < 16; ++i) {
    unsigned v = 0;
    auto r = std::from_chars(hexdigits.data() + 2 * i, hexdigits.data() + 2 * i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != hexdigits.data() + 2 * i + 2) return std::nullopt;
    linear[i] = static_cast<unsigned char>(v);
  }
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string out(16, '\0');
  for (int i = 0; i < 16; ++i) out[order[i]] = static_cast<char>(linear[i]);
  return out;
}

std::string entry_id(const LdapEntry& e, const AttributeMap& a) {
  std::string raw = e.first(a.id);
  if (raw.empty()) return {};
  if (a.id_is_guid) return guid_to_string(raw);
  return lower(raw);
}

std::optional<RangeOption> parse_range_option(std::string_view d) {
  std::string l = lower(d);
  auto pos = l.find(";range=");
  if (pos == std::string::npos) return std::nullopt;
  RangeOption r;
  r.attribute = l.substr(0, pos);
  std::string rest = l.substr(pos + 7);
  auto dash = rest.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto s = std::from_chars(rest.data(), rest.data() + dash, r.start);
  if (s.ec != std::errc()) return std::nullopt;
  std::string end = rest.substr(dash + 1);
  if (auto semi = end.find(';'); semi != std::string::npos) end.resize(semi);
  if (end == "*") {
    r.end = -1;
  } else {
    auto e = std::from_chars(end.data(), end.data() + end.size(), r.end);
    if (e.ec != std::errc()) return std::nullopt;
  }
  return r;
}

bool ad_account_expired(std::string_view v, int64_t now_unix) {
  int64_t ticks = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), ticks);
  if (r.ec != std::errc() || ticks <= 0 || ticks == INT64_MAX) return false;
  // 11644473600 s between 1601-01-01 and 1970-01-01.
  int64_t unix_s = ticks / 10000000 - 11644473600LL;
  return unix_s <= now_unix;
}

std::optional<Account> entry_to_account(const LdapEntry& e, const LdapOptions& o, int64_t now) {
  const AttributeMap& a = o.attrs;
  Account acc;
  acc.id = entry_id(e, a);
  if (acc.id.empty()) return std::nullopt;
  acc.address = lower(e.first(a.mail));
  if (a.alternate_is_proxy) {
    // proxyAddresses: "SMTP:" marks the primary address, "smtp:" secondary ones; other
    // prefixes (X500:, SIP:) are not mail addresses.
    for (const auto& v : e.values(a.alternate)) {
      if (v.size() < 6 || lower(v.substr(0, 5)) != "smtp:") continue;
      std::string addr = lower(v.substr(5));
      if (v.compare(0, 5, "SMTP:") == 0) {
        if (!acc.address.empty() && acc.address != addr)
          add_unique(acc.other_addresses, acc.address);
        acc.address = addr;
      } else {
        add_unique(acc.other_addresses, addr);
      }
    }
  } else {
    for (const auto& v : e.values(a.alternate)) add_unique(acc.other_addresses, lower(v));
  }
  if (acc.address.empty() || acc.address.find('@') == std::string::npos) return std::nullopt;
  acc.other_addresses.erase(
      std::remove(acc.other_addresses.begin(), acc.other_addresses.end(), acc.address),
      acc.other_addresses.end());
  acc.login = lower(e.first(a.login));
  if (acc.login.empty()) acc.login = acc.address;
  acc.display_name = e.first(a.display_name);
  if (acc.display_name.empty()) acc.display_name = e.first("cn");

  acc.status = AccountStatus::active;
  if (!a.status.empty() && e.has(a.status)) {
    std::string s = lower(e.first(a.status));
    if (s == "active" || s == "enabled")
      acc.status = AccountStatus::active;
    else if (s == "deleted" || s == "removed")
      acc.status = AccountStatus::deleted;
    else
      acc.status = AccountStatus::disabled;  // disabled, noaccess, unknown values: fail closed
  }
  if (a.ad_account_control) {
    uint64_t uac = to_u64(e.first("userAccountControl"));
    if (uac & 0x2) acc.status = AccountStatus::disabled;  // ACCOUNTDISABLE
    if (ad_account_expired(e.first("accountExpires"), now)) acc.status = AccountStatus::disabled;
  }
  acc.quota_bytes = to_u64(e.first(a.quota_bytes));
  acc.quota_messages = to_u64(e.first(a.quota_messages));
  for (const auto& v : e.values(a.forward)) add_unique(acc.forward_to, lower(v));
  acc.forward_keep_copy = true;
  for (const auto& v : e.values(a.delivery_option))
    if (lower(v) == "forwardonly" && !acc.forward_to.empty()) acc.forward_keep_copy = false;
  for (const auto& v : e.values(a.send_as)) add_unique(acc.send_as, lower(v));
  if (!a.password_changed.empty()) acc.password_changed = e.first(a.password_changed);
  if (!a.manager.empty()) acc.manager = e.first(a.manager);
  if (acc.status == AccountStatus::active && is_leaver(e, o)) acc.status = AccountStatus::disabled;
  return acc;
}

bool dn_under(std::string_view dn, std::string_view base) {
  std::string d = lower(dn), b = lower(base);
  auto squeeze = [](std::string& s) {  // "ou=x, dc=y" and "ou=x,dc=y" are one DN
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == ' ' && ((i > 0 && s[i - 1] == ',') || (i + 1 < s.size() && s[i + 1] == ',')))
        continue;
      out += s[i];
    }
    s = out;
  };
  squeeze(d);
  squeeze(b);
  if (b.empty() || d.size() <= b.size()) return false;
  return d.compare(d.size() - b.size(), b.size(), b) == 0 && d[d.size() - b.size() - 1] == ',';
}

bool is_leaver(const LdapEntry& e, const LdapOptions& o) {
  if (!o.leavers_ou.empty() && dn_under(e.dn, o.leavers_ou)) return true;
  if (o.leavers_group.empty() || o.attrs.member_of.empty()) return false;
  for (const auto& g : e.values(o.attrs.member_of)) {
    if (lower(g) == lower(o.leavers_group)) return true;
  }
  return false;
}

std::optional<Group> entry_to_group_header(const LdapEntry& e, const LdapOptions& o) {
  const AttributeMap& a = o.attrs;
  Group g;
  g.address = lower(e.first(a.group_mail));
  if (a.alternate_is_proxy) {
    for (const auto& v : e.values(a.alternate))
      if (v.compare(0, 5, "SMTP:") == 0) g.address = lower(v.substr(5));
  }
  if (g.address.empty()) return std::nullopt;
  g.id = entry_id(e, a);  // policies follow the group by it through renames
  g.display_name = e.first("displayName");
  if (g.display_name.empty()) g.display_name = e.first("cn");
  std::string p = lower(e.first(a.send_policy));
  if (p == "domain")
    g.send_policy = GroupSendPolicy::domain;
  else if (p == "members")
    g.send_policy = GroupSendPolicy::members;
  else if (p == "moderators")
    g.send_policy = GroupSendPolicy::moderators;
  else
    g.send_policy = GroupSendPolicy::anyone;
  for (const auto& v : e.values(a.allowed_sender)) add_unique(g.allowed_senders, lower(v));
  return g;
}

std::optional<Alias> entry_to_alias(const LdapEntry& e, const LdapOptions& o) {
  Alias al;
  al.address = lower(e.first(o.attrs.mail));
  if (al.address.empty()) return std::nullopt;
  for (const auto& v : e.values(o.attrs.alias_target)) add_unique(al.targets, lower(v));
  if (al.targets.empty()) return std::nullopt;
  return al;
}

std::vector<std::string> account_attributes(const LdapOptions& o) {
  const AttributeMap& a = o.attrs;
  std::vector<std::string> v;
  for (const std::string* s :
       {&a.id, &a.login, &a.login_alt, &a.mail, &a.alternate, &a.display_name, &a.status,
        &a.quota_bytes, &a.quota_messages, &a.forward, &a.delivery_option, &a.send_as,
        &a.change_counter, &a.password_changed, &a.manager})
    if (!s->empty()) add_unique(v, *s);
  add_unique(v, "cn");
  add_unique(v, "objectClass");
  if (!o.leavers_group.empty()) add_unique(v, a.member_of);
  if (a.ad_account_control) {
    add_unique(v, "userAccountControl");
    add_unique(v, "accountExpires");
  }
  return v;
}

std::vector<std::string> group_attributes(const LdapOptions& o) {
  const AttributeMap& a = o.attrs;
  std::vector<std::string> v;
  for (const std::string* s :
       {&a.id, &a.group_mail, &a.send_policy, &a.allowed_sender, &a.change_counter})
    if (!s->empty()) add_unique(v, *s);
  // In-chain expansion asks for the members by memberOf; reading `member` too would only
  // fetch every value again (range retrieval, 1,500 a request on AD) for nothing.
  if (o.nested_groups != NestedGroups::in_chain)
    for (const std::string* s : {&a.member, &a.unique_member, &a.member_url})
      if (!s->empty()) add_unique(v, *s);
  if (a.alternate_is_proxy) add_unique(v, a.alternate);
  add_unique(v, "cn");
  add_unique(v, "displayName");
  add_unique(v, "objectClass");
  return v;
}

std::string strip_optional_uid(std::string_view value) {
  auto pos = value.rfind('#');
  if (pos != std::string_view::npos && value.size() > pos + 1 && value[pos + 1] == '\'' &&
      (pos == 0 || value[pos - 1] != '\\'))
    return std::string(value.substr(0, pos));
  return std::string(value);
}

namespace {
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc() && r.ptr == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}
}  // namespace

// RFC 4516 section 2: ldap://host/dn?attributes?scope?filter?extensions
std::optional<MemberUrl> parse_member_url(std::string_view url) {
  std::string l = lower(url.substr(0, 8));
  size_t start;
  if (l.rfind("ldap://", 0) == 0)
    start = 7;
  else if (l.rfind("ldaps://", 0) == 0)
    start = 8;
  else
    return std::nullopt;
  auto slash = url.find('/', start);
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(slash + 1);
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    auto q = rest.find('?', pos);
    parts.push_back(percent_decode(
        rest.substr(pos, q == std::string_view::npos ? rest.size() - pos : q - pos)));
    if (q == std::string_view::npos) break;
    pos = q + 1;
  }
  MemberUrl m;
  m.base = parts[0];
  if (m.base.empty()) return std::nullopt;
  if (parts.size() > 2 && !parts[2].empty()) {
    std::string sc = lower(parts[2]);
    if (sc != "base" && sc != "one" && sc != "sub") return std::nullopt;
    m.scope = sc;
  } else {
    m.scope = "base";  // RFC 4516: the default scope is base
  }
  if (parts.size() > 3 && !parts[3].empty()) m.filter = parts[3];
  if (m.filter.front() != '(') m.filter = "(" + m.filter + ")";
  return m;
}

}  // namespace mailroom::auth::ldap
