// Options of the LDAP directory backend ([directory.ldap]), parsed once at start-up.
//
// Two phases (STYLE.md example 4): parse_ldap_options() reads and validates every key and
// fills in the attribute-mapping profile ("openldap" or "activedirectory"); the request path
// only reads the resulting struct. Filter templates use %s (the whole key), %u (local part)
// and %d (domain); every substituted value is escaped (RFC 4515 section 3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth::ldap {

enum class TlsMode { none, starttls, ldaps };
enum class NestedGroups { member, in_chain };
enum class Profile { openldap, activedirectory };
// How service connections bind: a simple bind as bind_dn, or Kerberos (SASL GSSAPI, RFC 4752)
// as `principal` with the key in `keytab` (auth/ldap/ldap_gssapi.h). User password checks are
// simple binds on the bind pool either way.
enum class BindMethod { simple, gssapi };

// Attribute names of one profile; every one can be overridden in [directory.ldap.attributes].
// An empty name means "not mapped".
struct AttributeMap {
  std::string id;                   // entryUUID | objectGUID
  bool id_is_guid = false;          // objectGUID: 16 bytes, AD byte order
  std::string login;                // uid | sAMAccountName
  std::string login_alt;            // (none) | userPrincipalName
  std::string mail;                 // mail
  std::string alternate;            // mailAlternateAddress | proxyAddresses
  bool alternate_is_proxy = false;  // "SMTP:primary" / "smtp:secondary" values (AD)
  std::string display_name;         // cn | displayName
  std::string status;               // mailAccountStatus (active|disabled|deleted)
  bool ad_account_control = false;  // userAccountControl bit 2 + accountExpires (AD)
  std::string quota_bytes;          // mailQuotaBytes
  std::string quota_messages;       // mailQuotaMessages
  std::string forward;              // mailForwardingAddress
  std::string delivery_option;      // mailDeliveryOption ("forwardonly" drops the local copy)
  std::string send_as;              // mailSendAsAddress
  std::string group_mail;           // mail
  std::string member;               // member
  std::string unique_member;        // uniqueMember (groupOfUniqueNames)
  std::string member_url;           // memberURL (dynamic groups)
  std::string send_policy;          // mailGroupSendPolicy (anyone|domain|members|moderators)
  std::string allowed_sender;       // mailGroupAllowedSender
  std::string alias_target;         // mailForwardingAddress (mailroomAlias entries)
  std::string change_counter;       // uSNChanged (AD polling)
  // pwdChangedTime (operational; the ppolicy overlay writes it) | pwdLastSet. A new value
  // revokes the account's app passwords (auth/app_passwords.h). Missing from the server's
  // schema: a warning at start, not an error (slapd without ppolicy has no such attribute).
  std::string password_changed;
  // The user's manager, a DN (AD and inetOrgPerson `manager`): where offboarding forwards a
  // departed user's mail (auth/offboarding.h). Empty: not read.
  std::string manager;
  // The groups a user is in, as DNs (AD `memberOf`; OpenLDAP with the memberof overlay): read
  // only to tell membership of leavers_group.
  std::string member_of;

  // The attribute-name fields with their key under [directory.ldap.attributes] (one list for
  // the configuration reader and the schema check).
  struct Field {
    const char* key;
    std::string AttributeMap::*name;
  };
  static constexpr Field kFields[] = {
      {"id", &AttributeMap::id},
      {"login", &AttributeMap::login},
      {"login_alt", &AttributeMap::login_alt},
      {"mail", &AttributeMap::mail},
      {"alternate", &AttributeMap::alternate},
      {"display_name", &AttributeMap::display_name},
      {"status", &AttributeMap::status},
      {"quota_bytes", &AttributeMap::quota_bytes},
      {"quota_messages", &AttributeMap::quota_messages},
      {"forward", &AttributeMap::forward},
      {"delivery_option", &AttributeMap::delivery_option},
      {"send_as", &AttributeMap::send_as},
      {"group_mail", &AttributeMap::group_mail},
      {"member", &AttributeMap::member},
      {"unique_member", &AttributeMap::unique_member},
      {"member_url", &AttributeMap::member_url},
      {"send_policy", &AttributeMap::send_policy},
      {"allowed_sender", &AttributeMap::allowed_sender},
      {"alias_target", &AttributeMap::alias_target},
      {"change_counter", &AttributeMap::change_counter},
      {"password_changed", &AttributeMap::password_changed},
      {"manager", &AttributeMap::manager},
      {"member_of", &AttributeMap::member_of},
  };
};

struct LdapOptions {
  Profile profile = Profile::openldap;
  std::vector<std::string> uris;  // preference order; the first is the preferred server
  TlsMode tls = TlsMode::none;
  std::string ca_file;        // CA bundle for StartTLS/LDAPS
  bool tls_verify = true;     // false only for tests; logs a warning
  std::string bind_dn;        // service bind; empty = anonymous
  std::string bind_password;  // from bind_password or bind_password_file
  // Servers of the service pool (searches, sync) when they differ from `uris`, which the bind
  // pool (user password checks) keeps using: Samba binds GSSAPI only outside TLS and simple
  // binds only inside it. Empty: `uris`.
  std::vector<std::string> service_uris;
  BindMethod bind_method = BindMethod::simple;
  std::string keytab;     // gssapi: the service account's keytab (mode 0600)
  std::string principal;  // gssapi: "name@REALM", whose key the keytab holds
  // gssapi: true = SASL confidentiality (sealing, minssf=56) over plain ldap:// (Samba, AD);
  // false = no SASL security layer (maxssf=0), for GSSAPI inside TLS (AD over LDAPS).
  bool sasl_seal = true;
  // gssapi: the credential is acquired again from the keytab this long before its tickets
  // expire, and service connections bound with the old one are replaced (AD closes a
  // connection whose ticket expired). A lifetime shorter than this: at half the lifetime.
  int gssapi_renew_before_s = 300;
  std::string base_dn;
  std::string user_base;             // default base_dn
  std::string group_base;            // default base_dn
  std::vector<std::string> domains;  // local domains; default: dc= parts of base_dn
  std::string user_class_filter;     // all users (sync)
  std::string account_filter;        // by address
  std::string login_filter;          // by login
  std::string group_filter;          // by group address
  std::string group_class_filter;    // all groups (sync)
  // nested_groups = "in_chain": every group a chain of nesting may pass through, mail or not
  // (the sync follows chains through them under base_dn); "" = only group_class_filter's.
  std::string nested_group_filter;
  std::string alias_filter;        // by alias address; empty = no alias entries
  std::string alias_class_filter;  // all aliases (sync)
  AttributeMap attrs;
  NestedGroups nested_groups = NestedGroups::member;
  int pool_size = 4;          // service connections
  int bind_pool_size = 4;     // connections used for user binds
  int connect_timeout_s = 5;  // LDAP_OPT_NETWORK_TIMEOUT
  int op_timeout_s = 10;      // LDAP_OPT_TIMEOUT + client-side result wait
  int time_limit_s = 10;      // search timelimit sent to the server
  int size_limit = 10000;     // entries per search (group members)
  int page_size = 500;        // RFC 2696 paged results
  int retry_down_s = 10;      // a failed server is skipped this long
  int fail_back_s = 60;       // connections to a non-preferred server live this long
  bool follow_referrals = false;
  int max_group_members = 10000;
  // Sync into the local replica ([directory.ldap.sync]).
  std::string sync_mode = "off";       // off | persist (RFC 4533) | poll (AD uSNChanged)
  int sync_interval_s = 30;            // poll period / persist reconnect delay
  int full_compare_s = 3600;           // poll: full compare for deletions
  std::string on_removed = "disable";  // disable | delete
  int64_t old_address_grace_s = 0;     // old primary address kept as an alias (0 = not)
  std::string lookup = "live";         // live (ask LDAP) | replica (ask directory.db)
  // Leavers (issue 22, G7): an entry under leavers_ou, or a member of leavers_group (by the
  // member_of attribute), is disabled as if the directory had disabled it; the offboarding
  // workflow then runs. DNs, compared case-insensitively; "" = not used.
  std::string leavers_ou;
  std::string leavers_group;
};

// The servers of the service pool (service = true) or of the bind pool.
const std::vector<std::string>& pool_uris(const LdapOptions& options, bool service);

// Parses [directory.ldap]. Errors are reported through section.error(); defaults are kept.
LdapOptions parse_ldap_options(core::ConfigSection& section);

// The defaults of a profile (attributes and filters).
void apply_profile(Profile profile, LdapOptions& options);

}  // namespace mailroom::auth::ldap
