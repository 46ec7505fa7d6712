// mailroomctl shared create|list|show|delete|grant|revoke (service::SharedMailboxes; src/ctl/ctl.h
// conventions): the administrator's shared mailboxes, read by directory groups (RFC 4314 ACLs).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>

#include "src/ctl/ctl_support.h"
#include "src/service/shared_mailboxes.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using namespace detail;

struct Opts {
  std::string address, group, rights = "lrswipte", name, identifier, mailbox = "INBOX";
};

json::object shared_json(const service::SharedMailbox& m) {
  json::object acls;
  for (const auto& box : m.acls) {
    json::object entries;
    for (const auto& e : box.entries) entries[e.identifier] = e.rights;
    acls[box.mailbox] = std::move(entries);
  }
  return {{"address", m.account.address},
          {"account_id", m.account.id},
          {"display_name", m.account.display_name},
          {"acl", std::move(acls)}};
}

std::string shared_text(const service::SharedMailbox& m) {
  std::string text = m.account.address + " (id " + m.account.id + ")";
  for (const auto& box : m.acls) {
    text += "\n  " + box.mailbox + ":";
    for (const auto& e : box.entries) text += " " + e.identifier + "=" + e.rights;
  }
  return text;
}

// Runs `body` with the service over the local directory and the store.
void with_shared(Context& ctx, int* ec, const std::function<int(service::SharedMailboxes&)>& body) {
  run(ctx, ec, [&](auth::LocalDirectory& d) {
    core::Services* sv = ctx.services();
    if (!sv || !sv->store)
      return ctx.fail(core::Status::error(core::Code::unavailable, "cannot open the mail store"));
    service::SharedMailboxes shared(d, *sv->store);
    return body(shared);
  });
}

int print(Context& ctx, const core::Result<service::SharedMailbox>& m, const std::string& verb) {
  if (!m) return ctx.fail(m.status());
  std::string text =
      verb.empty() ? shared_text(*m) : "shared mailbox " + m->account.address + " " + verb;
  return done(ctx, core::Status::ok(), text, shared_json(*m));
}

}  // namespace

void register_shared_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* shared =
      app.add_subcommand("shared", "Shared mailboxes read by directory groups (IMAP ACL)")
          ->require_subcommand(1);
  auto o = std::make_shared<Opts>();

  auto* create = shared->add_subcommand("create", "Create a shared mailbox for a group");
  create->add_option("address", o->address, "Its address (mail to it is delivered into it)")
      ->required();
  create->add_option("--group", o->group, "Directory group given --rights on its INBOX")
      ->required();
  create->add_option("--rights", o->rights, "RFC 4314 rights letters (default lrswipte)");
  create->add_option("--name", o->name, "Display name");
  create->callback([&ctx, ec, o] {
    with_shared(ctx, ec, [&](service::SharedMailboxes& s) {
      service::NewSharedMailbox req{o->address, o->name, o->group, o->rights};
      return print(ctx, s.create(req), "created");
    });
  });

  auto* list = shared->add_subcommand("list", "List shared mailboxes and their ACLs");
  list->callback([&ctx, ec] {
    with_shared(ctx, ec, [&](service::SharedMailboxes& s) {
      auto all = s.list();
      if (!all) return ctx.fail(all.status());
      json::array arr;
      std::string text;
      for (const auto& m : *all) {
        arr.push_back(shared_json(m));
        text += shared_text(m) + "\n";
      }
      if (!text.empty()) text.pop_back();
      return done(ctx, core::Status::ok(), text, arr);
    });
  });

  auto* show = shared->add_subcommand("show", "Show a shared mailbox and its ACLs");
  show->add_option("address", o->address, "Its address")->required();
  show->callback([&ctx, ec, o] {
    with_shared(ctx, ec,
                [&](service::SharedMailboxes& s) { return print(ctx, s.show(o->address), ""); });
  });

  auto* remove =
      shared->add_subcommand("delete", "Delete a shared mailbox's account (its mail stays)");
  remove->add_option("address", o->address, "Its address")->required();
  remove->callback([&ctx, ec, o] {
    with_shared(ctx, ec, [&](service::SharedMailboxes& s) {
      return done(ctx, s.remove(o->address), "shared mailbox " + o->address + " deleted",
                  json::object{{"deleted", o->address}});
    });
  });

  auto* grant = shared->add_subcommand("grant", "Give a user or $group rights on a folder");
  grant->add_option("address", o->address, "The shared mailbox")->required();
  grant->add_option("identifier", o->identifier, "$group@domain, a user, anyone (- for negative)")
      ->required();
  grant->add_option("rights", o->rights, "RFC 4314 rights letters (replace the entry)")->required();
  grant->add_option("--mailbox", o->mailbox, "Folder (default INBOX)");
  grant->callback([&ctx, ec, o] {
    with_shared(ctx, ec, [&](service::SharedMailboxes& s) {
      return print(ctx, s.grant(o->address, o->identifier, o->rights, o->mailbox), "changed");
    });
  });

  auto* revoke = shared->add_subcommand("revoke", "Remove a user's or $group's entry");
  revoke->add_option("address", o->address, "The shared mailbox")->required();
  revoke->add_option("identifier", o->identifier, "$group@domain, a user, anyone")->required();
  revoke->add_option("--mailbox", o->mailbox, "Folder (default INBOX)");
  revoke->callback([&ctx, ec, o] {
    with_shared(ctx, ec, [&](service::SharedMailboxes& s) {
      return print(ctx, s.revoke(o->address, o->identifier, o->mailbox), "changed");
    });
  });
}

}  // namespace mailroom::ctl
