// CAPABILITY, NOOP, LOGOUT (RFC 3501 6.1), ID (RFC 2971), ENABLE (RFC 5161, RFC 9051 6.3.1).
#include "src/core/log.h"
#include "src/imap/session.h"

namespace mailroom::imap {

std::string Session::capabilities() const {
  // RFC 7888: before login only literals up to login_max_literal are read (Options), so only
  // LITERAL- (non-synchronizing literals up to 4096 octets) is promised; LITERAL+ after.
  bool login = state == State::not_authenticated;
  // RFC 9051 (Appendix E, and 6.3.1): both revisions; a session is rev1 until it sends
  // ENABLE IMAP4rev2.
  std::string caps = login ? "IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID ENABLE IDLE"
                           : "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE";
  if (login) {
    if (can_start_tls()) caps += " STARTTLS";
    auth::ClientInfo ci = client_info();
    if (!services.authenticator || !services.authenticator->plaintext_allowed(ci)) {
      caps += " LOGINDISABLED";
    }
    if (services.authenticator) {
      for (const auto& m : services.authenticator->mechanisms(ci)) caps += " AUTH=" + m;
    }
    return caps;
  }
  caps +=
      " UIDPLUS MOVE NAMESPACE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED"
      " LIST-STATUS SEARCHRES CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE ESEARCH "
      "SORT"
      " SORT=DISPLAY"  // RFC 5957 (sort_display.h)
      " THREAD=ORDEREDSUBJECT THREAD=REFERENCES STATUS=SIZE ESORT PREVIEW"
      " MULTIAPPEND REPLACE SAVEDATE OBJECTID"  // RFC 3502, RFC 8508, RFC 8514, RFC 8474
      " BINARY COMPRESS=DEFLATE"                // RFC 3516, RFC 4978
      " UTF8=ACCEPT"                            // RFC 6855
      " CATENATE"                               // RFC 4469 (commands/catenate.cpp)
      " CONTEXT=SEARCH CONTEXT=SORT"            // RFC 5267 4 (commands/context.cpp)
      " ACL RIGHTS=texk"                        // RFC 4314 (commands/acl.cpp, acl.h)
      " METADATA METADATA-SERVER"               // RFC 5464 (commands/metadata.cpp)
      " LIST-METADATA"                          // RFC 9590 (commands/list.cpp)
      " NOTIFY"                                 // RFC 5465 (commands/notify.cpp)
      " UNAUTHENTICATE";                        // RFC 8437 (commands/auth.cpp)
  return caps;
}

asio::awaitable<Reply> cmd_capability(Session& s, const proto::Command&) {
  s.untagged("CAPABILITY " + s.capabilities());
  co_return Reply::ok("CAPABILITY completed");
}

asio::awaitable<Reply> cmd_noop(Session&, const proto::Command&) {
  co_return Reply::ok("NOOP completed");  // the session syncs the mailbox after every command
}

asio::awaitable<Reply> cmd_logout(Session& s, const proto::Command&) {
  s.untagged("BYE Logging out");
  s.unselect();
  s.state = State::logout;
  Reply r = Reply::ok("LOGOUT completed");
  r.close = true;
  r.no_sync = true;
  co_return r;
}

asio::awaitable<Reply> cmd_id(Session& s, const proto::Command& cmd) {
  // RFC 2971: log what the client says about itself (bounded by the parser), answer ours.
  std::string client;
  for (const auto& [k, v] : cmd.id_params) {
    if (client.size() < 512) client += k + "=" + (v ? *v : "NIL") + ";";
  }
  if (!client.empty()) {
    spdlog::info("event=imap_client_id session={} id={}", s.session_id(), core::quote(client));
  }
  s.untagged("ID (\"name\" \"Mailroom\" \"vendor\" \"Mailroom\" \"support-url\" NIL)");
  co_return Reply::ok("ID completed");
}

asio::awaitable<Reply> cmd_enable(Session& s, const proto::Command& cmd) {
  std::string enabled;
  for (const auto& cap : cmd.atoms) {
    if (cap == "CONDSTORE" && !s.condstore) {
      s.enable_condstore();
      enabled += " CONDSTORE";
    } else if (cap == "UTF8=ACCEPT" && !s.utf8_accept) {
      s.utf8_accept = true;  // RFC 6855 3
      enabled += " UTF8=ACCEPT";
    } else if (cap == "IMAP4REV2" && !s.rev2) {
      // RFC 9051 6.3.1: from now on the session follows IMAP4rev2 (Session::rev2).
      s.rev2 = true;
      enabled += " IMAP4rev2";
    } else if (cap == "QRESYNC" && !s.qresync) {
      s.qresync = true;
      s.enable_condstore();  // RFC 7162 3.2.3: QRESYNC implies CONDSTORE
      enabled += " QRESYNC";
    }
  }
  s.untagged("ENABLED" + enabled);
  co_return Reply::ok("ENABLE completed");
}

}  // namespace mailroom::imap
