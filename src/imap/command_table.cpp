// The command table (STYLE.md example 8): which states allow each command.
#include <cstring>

#include "src/imap/session.h"

namespace mailroom::imap {
namespace {

constexpr uint8_t kAny = static_cast<uint8_t>(State::not_authenticated) |
                         static_cast<uint8_t>(State::authenticated) |
                         static_cast<uint8_t>(State::selected);
constexpr uint8_t kNotAuth = static_cast<uint8_t>(State::not_authenticated);
constexpr uint8_t kAuth =
    static_cast<uint8_t>(State::authenticated) | static_cast<uint8_t>(State::selected);
constexpr uint8_t kSelected = static_cast<uint8_t>(State::selected);
constexpr uint8_t kAuthOnly = static_cast<uint8_t>(State::authenticated);

const CommandSpec kCommands[] = {
    // RFC 3501 6.1: any state
    {"CAPABILITY", kAny, cmd_capability},
    {"NOOP", kAny, cmd_noop},
    {"LOGOUT", kAny, cmd_logout},
    {"ID", kAny, cmd_id},  // RFC 2971
    // RFC 3501 6.2: not authenticated
    {"STARTTLS", kNotAuth, cmd_starttls},
    {"AUTHENTICATE", kNotAuth, cmd_authenticate},
    {"LOGIN", kNotAuth, cmd_login},
    // RFC 3501 6.3: authenticated
    {"ENABLE", kAuthOnly, cmd_enable},  // RFC 5161 3.1: authenticated state only
    {"SELECT", kAuth, cmd_select},
    {"EXAMINE", kAuth, cmd_select},
    {"CREATE", kAuth, cmd_create},
    {"DELETE", kAuth, cmd_delete},
    {"RENAME", kAuth, cmd_rename},
    {"SUBSCRIBE", kAuth, cmd_subscribe},
    {"UNSUBSCRIBE", kAuth, cmd_subscribe},
    {"LIST", kAuth, cmd_list},
    {"LSUB", kAuth, cmd_list},
    {"NAMESPACE", kAuth, cmd_namespace},  // RFC 2342
    {"STATUS", kAuth, cmd_status},
    {"APPEND", kAuth, cmd_append},
    {"IDLE", kAuth, cmd_idle},       // RFC 2177
    {"GETQUOTA", kAuth, cmd_quota},  // RFC 9208
    {"GETQUOTAROOT", kAuth, cmd_quota},
    {"SETQUOTA", kAuth, cmd_quota},
    {"COMPRESS", kAuth, cmd_compress},  // RFC 4978
    {"SETACL", kAuth, cmd_acl},         // RFC 4314 3
    {"DELETEACL", kAuth, cmd_acl},
    {"GETACL", kAuth, cmd_acl},
    {"LISTRIGHTS", kAuth, cmd_acl},
    {"MYRIGHTS", kAuth, cmd_acl},
    {"GETMETADATA", kAuth, cmd_getmetadata},  // RFC 5464
    {"SETMETADATA", kAuth, cmd_setmetadata},
    {"NOTIFY", kAuth, cmd_notify},                  // RFC 5465
    {"UNAUTHENTICATE", kAuth, cmd_unauthenticate},  // RFC 8437 3
    // RFC 3501 6.4: selected
    {"CHECK", kSelected, cmd_check},
    {"CLOSE", kSelected, cmd_close},
    {"UNSELECT", kSelected, cmd_close},  // RFC 3691
    {"EXPUNGE", kSelected, cmd_expunge},
    {"SEARCH", kSelected, cmd_search},
    {"SORT", kSelected, cmd_search},  // RFC 5256
    {"THREAD", kSelected, cmd_search},
    {"FETCH", kSelected, cmd_fetch},
    {"STORE", kSelected, cmd_store},
    {"COPY", kSelected, cmd_copy},
    {"MOVE", kSelected, cmd_copy},                  // RFC 6851
    {"REPLACE", kSelected, cmd_replace},            // RFC 8508
    {"CANCELUPDATE", kSelected, cmd_cancelupdate},  // RFC 5267 4.3
};

}  // namespace

const CommandSpec* find_command(const std::string& name) {
  for (const auto& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

}  // namespace mailroom::imap
