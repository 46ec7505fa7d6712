// The script commands (RFC 5804 2.5-2.12) on the account's sieve::ScriptStore, through the
// worker pool (file system calls, fsync).
#include "src/core/log.h"
#include "src/managesieve/session.h"
#include "src/net/worker_pool.h"
#include "src/sieve/script.h"
#include "src/sieve/script_store.h"

namespace mailroom::managesieve {

namespace {

sieve::Limits parse_limits(const sieve::ScriptStore& store) {
  sieve::Limits l;
  l.max_script_bytes = store.limits().max_script_bytes;
  return l;
}

}  // namespace

#define MR_NEED_STORE()                                            \
  sieve::ScriptStore* store = services_.sieve_scripts.get();       \
  if (!store) {                                                    \
    no("TRYLATER", "Scripts cannot be stored on this server now"); \
    co_return;                                                     \
  }                                                                \
  const std::string account = principal_.account_id

Awaitable Session::cmd_havespace(const Args& a) {
  MR_NEED_STORE();
  if (a[1].kind != proto::Argument::Kind::number) {
    no("", "HAVESPACE needs a script name and a number");
    co_return;
  }
  uint64_t size = std::stoull(a[1].text);
  const std::string name = a[0].text;
  if (!store->valid_name(name)) {
    no("", "Invalid script name");
    co_return;
  }
  core::Status s = co_await net::blocking(*services_.workers,
                                          [&] { return store->have_space(account, name, size); });
  if (!s) {
    store_error("havespace", s);
    co_return;
  }
  ok("Putscript would succeed");
}

Awaitable Session::cmd_putscript(const Args& a) {
  MR_NEED_STORE();
  const std::string name = a[0].text;
  const std::string& text = a[1].text;
  if (!store->valid_name(name)) {
    no("", "Invalid script name");
    co_return;
  }
  sieve::Limits limits = parse_limits(*store);
  core::Status s = co_await net::blocking(*services_.workers, [&]() -> core::Status {
    if (auto space = store->have_space(account, name, text.size()); !space) return space;
    auto parsed = sieve::parse(text, limits);
    if (!parsed) return parsed.status();
    return store->put(account, name, text);
  });
  if (!s) {
    // RFC 5804 2.6: a script that does not parse is refused with a human-readable reason.
    store_error("putscript", s);
    co_return;
  }
  MR_LOG_INFO("event=managesieve_putscript session={} account={} name={} size={}",
              transport_.info().session_id, account, core::quote(name), text.size());
  ok("Script stored");
}

Awaitable Session::cmd_checkscript(const Args& a) {
  MR_NEED_STORE();
  (void)account;
  sieve::Limits limits = parse_limits(*store);
  const std::string& text = a[0].text;
  if (text.size() > limits.max_script_bytes) {
    no("QUOTA/MAXSIZE", "Script too large");
    co_return;
  }
  core::Status s = co_await net::blocking(*services_.workers, [&]() -> core::Status {
    auto parsed = sieve::parse(text, limits);
    return parsed ? core::Status::ok() : parsed.status();
  });
  if (!s) {
    no("", s.client_message());
    co_return;
  }
  ok("Script is valid");
}

Awaitable Session::cmd_listscripts(const Args&) {
  MR_NEED_STORE();
  auto list = co_await net::blocking(*services_.workers, [&] { return store->list(account); });
  if (!list) {
    store_error("listscripts", list.status());
    co_return;
  }
  std::string out;
  for (const auto& s : *list) out += proto::quote(s.name) + (s.active ? " ACTIVE\r\n" : "\r\n");
  send(out);
  ok("Listscripts completed");
}

Awaitable Session::cmd_setactive(const Args& a) {
  MR_NEED_STORE();
  const std::string name = a[0].text;
  core::Status s =
      co_await net::blocking(*services_.workers, [&] { return store->set_active(account, name); });
  if (!s) {
    store_error("setactive", s);
    co_return;
  }
  ok(name.empty() ? "No script active" : "Script activated");
}

Awaitable Session::cmd_getscript(const Args& a) {
  MR_NEED_STORE();
  const std::string name = a[0].text;
  auto text = co_await net::blocking(*services_.workers, [&] { return store->get(account, name); });
  if (!text) {
    store_error("getscript", text.status());
    co_return;
  }
  send("{" + std::to_string(text->size()) + "}\r\n" + *text + "\r\n");
  ok("Getscript completed");
}

Awaitable Session::cmd_deletescript(const Args& a) {
  MR_NEED_STORE();
  const std::string name = a[0].text;
  core::Status s =
      co_await net::blocking(*services_.workers, [&] { return store->remove(account, name); });
  if (!s) {
    store_error("deletescript", s);
    co_return;
  }
  ok("Script deleted");
}

Awaitable Session::cmd_renamescript(const Args& a) {
  MR_NEED_STORE();
  const std::string from = a[0].text, to = a[1].text;
  core::Status s =
      co_await net::blocking(*services_.workers, [&] { return store->rename(account, from, to); });
  if (!s) {
    store_error("renamescript", s);
    co_return;
  }
  ok("Script renamed");
}

#undef MR_NEED_STORE

}  // namespace mailroom::managesieve
