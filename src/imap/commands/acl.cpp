// SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS (RFC 4314 3) and the rights checks the other
// commands make on shared folders (RFC 4314 4); rights and identifiers in src/imap/acl.h.
#include "src/imap/acl.h"

#include <cstring>

#include "src/imap/session.h"
#include "src/mime/structure.h"

namespace mailroom::imap {

asio::awaitable<core::Result<acl::Target>> resolve_target(Session& s, const std::string& name) {
  if (!acl::in_shared_namespace(name)) {
    co_return acl::Target{s.principal.account_id, name, acl::kAll, true};
  }
  std::string account = s.principal.account_id;
  auto fn = [&s, &account, &name]() -> core::Result<acl::Target> {
    // The user's groups now (RFC 4314 rights follow the directory without a new login).
    acl::Subject who = acl::subject_of(s.services, account);
    return acl::resolve_shared(s.services, who, name);
  };
  co_return co_await net::blocking(*s.services.workers, fn);
}

std::optional<Reply> missing_rights(const acl::Target& t, uint32_t needed) {
  if ((t.rights & needed) == needed) return std::nullopt;
  // The user has "l" (resolve_shared answered not_found otherwise): it may know the mailbox.
  return Reply::no("[NOPERM] You lack the rights \"" +
                   acl::format_rights(needed & ~t.rights, false) + "\" on this mailbox");
}

namespace {

// RFC 4314 3.1: the mod-rights of SETACL: "+" adds, "-" removes, else replaces.
struct ModRights {
  char mode = 0;
  uint32_t rights = 0;
};

std::optional<ModRights> parse_mod_rights(const std::string& text) {
  ModRights m;
  std::string letters = text;
  if (!letters.empty() && (letters[0] == '+' || letters[0] == '-')) {
    m.mode = letters[0];
    letters.erase(0, 1);
  }
  auto r = acl::parse_rights(letters);
  if (!r) return std::nullopt;
  m.rights = *r;
  return m;
}

// An identifier or rights list as an astring (RFC 3501 9): an atom when it is one, else quoted.
std::string astring(const std::string& text) {
  bool atom = !text.empty();
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f || std::strchr("(){%*\"\\]", c) != nullptr) atom = false;
  }
  return atom ? text : mime::imap_string(text);
}

struct AclOutcome {
  core::Status status;
  std::vector<std::string> lines;  // untagged responses
  std::string forgot;              // a reader whose \Seen marks were dropped
};

}  // namespace

asio::awaitable<Reply> cmd_acl(Session& s, const proto::Command& cmd) {
  const std::string& op = cmd.name;
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  std::optional<ModRights> mod;
  if (op == "SETACL") {
    mod = parse_mod_rights(cmd.args[2]);
    // RFC 4314 3.1: an unrecognized right MUST be BAD, never silently ignored.
    if (!mod) co_return Reply::bad("Unrecognized rights in \"" + cmd.args[2] + "\"");
  }
  auto target = co_await resolve_target(s, *name);
  if (!target) co_return Session::store_error(target.status());
  // RFC 4314 4: MYRIGHTS needs any right (here "l", which resolve_target checked); the
  // others "a".
  if (op != "MYRIGHTS") {
    if (auto no = missing_rights(*target, acl::kAdminister)) co_return *no;
  }
  std::string box = Session::mailbox_string(*name, s.utf8_names());
  auto fn = [&s, &cmd, &op, &mod, &box, t = *target]() -> AclOutcome {
    AclOutcome out;
    store::MailStore& store = *s.services.store;
    if (op == "MYRIGHTS") {
      out.lines.push_back("MYRIGHTS " + box + " " + acl::format_rights(t.rights));
      return out;
    }
    auto entries = store.get_acl(t.owner, t.mailbox);
    if (!entries) {
      out.status = entries.status();
      return out;
    }
    std::string owner_stored = "u:" + t.owner;
    if (op == "GETACL") {
      // The owner first, with the rights it always has, then the stored entries.
      std::string line = "ACL " + box + " " +
                         astring(acl::wire_identifier(s.services, owner_stored)) + " " +
                         acl::format_rights(acl::kAll);
      for (const auto& e : *entries) {
        line += " " + astring(acl::wire_identifier(s.services, e.identifier)) + " " +
                acl::format_rights(acl::parse_rights(e.rights).value_or(0));
      }
      out.lines.push_back(std::move(line));
      return out;
    }
    auto id = acl::stored_identifier(s.services, cmd.args[1]);
    if (!id) {
      out.status = id.status();
      return out;
    }
    std::string ident = astring(cmd.args[1]);
    if (op == "LISTRIGHTS") {
      // RFC 4314 3.7: the owner's rights are all required; anyone else's may be any of them.
      if (*id == owner_stored) {
        out.lines.push_back("LISTRIGHTS " + box + " " + ident + " " +
                            acl::format_rights(acl::kAll, false));
      } else {
        out.lines.push_back("LISTRIGHTS " + box + " " + ident + " \"\" l r s w i p k x t e a c d");
      }
      return out;
    }
    if (*id == owner_stored || *id == "-" + owner_stored) {
      out.status = core::invalid_argument("The owner's rights cannot be changed");
      return out;
    }
    uint32_t now = 0;
    for (const auto& e : *entries) {
      if (e.identifier == *id) now = acl::parse_rights(e.rights).value_or(0);
    }
    uint32_t next = 0;  // DELETEACL (RFC 4314 3.2): the entry goes
    if (op == "SETACL") {
      next = mod->mode == '+'   ? now | mod->rights
             : mod->mode == '-' ? now & ~mod->rights
                                : mod->rights;
    }
    out.status = store.set_acl(t.owner, t.mailbox, *id, acl::format_rights(next, false));
    // A user's entry that no longer gives "r": its per-user \Seen marks go (a user who keeps
    // access through a group or "anyone" starts over unseen, as after any loss of rights).
    if (out.status.is_ok() && id->rfind("u:", 0) == 0 && !(next & acl::kRead)) {
      out.status = store.forget_reader(t.owner, id->substr(2), t.mailbox);
      out.forgot = id->substr(2);
    }
    return out;
  };
  auto result = co_await net::blocking(*s.services.workers, fn);
  if (result.status.is_ok() && !result.forgot.empty()) {
    // The reader's views hold the dropped marks: loaded afresh at their next refresh.
    auto drop = [&s, &result, t = *target] {
      s.views.invalidate(t.owner, t.mailbox, result.forgot);
    };
    co_await net::blocking(*s.services.workers, drop);
  }
  if (!result.status.is_ok()) {
    const core::Status& st = result.status;
    if (st.code() == core::Code::not_found &&
        (op == "SETACL" || op == "DELETEACL" || op == "LISTRIGHTS"))
      co_return Reply::no(st.client_message());  // RFC 4314 3.1: NO for an unknown identifier
    co_return Session::store_error(st);
  }
  s.untagged_lines(result.lines);
  co_return Reply::ok(op + " completed");
}

}  // namespace mailroom::imap
