// CATENATE (RFC 4469): the messages of an APPEND (or MULTIAPPEND, or REPLACE) built from TEXT
// literals and IMAP URLs (RFC 5092) of messages and parts on this server, before anything is
// stored. No URLAUTH: a URL must name this server and the logged-in user (or be relative), a
// mailbox of that user, the right UIDVALIDITY when it gives one, a message still there and a
// section the message has; otherwise NO [BADURL url] (RFC 4469 5). A message larger than an
// APPEND literal may be (Options::max_literal), or messages together larger than one command
// may carry, is NO [TOOBIG] (RFC 4469 5), and so are URLs naming more distinct messages than
// that together (each is read once per command). The result then goes the way of a plain APPEND:
// quota and all-or-nothing in the store's one transaction.
#include <map>

#include "src/core/address.h"
#include "src/imap/proto/imap_url.h"
#include "src/imap/proto/utf7.h"
#include "src/imap/session.h"
#include "src/net/transport.h"

namespace mailroom::imap {

namespace {

// A URL checked against the session: which message of which mailbox, and what of it.
struct Resolved {
  std::string url;  // as sent (for BADURL)
  std::string mailbox;
  proto::ImapUrl parsed;
};

Reply bad_url(const std::string& url, std::string_view why) {
  return Reply::no("[BADURL " + proto::badurl_text(url) + "] " + std::string(why));
}

// The host of an absolute URL names this server: its configured name or the address the
// client connected to.
bool our_host(const Session& s, const std::string& host) {
  if (core::iequals(host, s.services.hostname)) return true;
  std::string local = s.conn.info().local_ip;
  if (local.rfind("::ffff:", 0) == 0 && local.find('.') != std::string::npos) local.erase(0, 7);
  return !local.empty() && core::iequals(host, local);
}

// Checks one URL against the session (I/O thread: no store access).
std::optional<Reply> resolve(const Session& s, const std::string& url, Resolved& out) {
  std::string why;
  auto parsed = proto::parse_imap_url(url, &why);
  if (!parsed) return bad_url(url, why);
  if (parsed->network) {
    if (parsed->user.empty()) return bad_url(url, "Anonymous access is not offered");
    if (!core::iequals(parsed->user, s.principal.login) &&
        !core::iequals(parsed->user, s.principal.address))
      return bad_url(url, "The URL names another user");
    if (!our_host(s, parsed->host)) return bad_url(url, "The URL names another server");
  }
  if (parsed->has_mailbox) {
    std::string wire = parsed->mailbox;
    if (!s.utf8_names()) {
      auto m = proto::utf8_to_mutf7(parsed->mailbox);
      if (!m) return bad_url(url, "Invalid mailbox name");
      wire = std::move(*m);
    }
    auto name = s.mailbox_from_wire(wire);
    if (!name) return bad_url(url, name.status().client_message());
    out.mailbox = std::move(*name);
  } else {
    // RFC 5092 7.2: a relative URL without a mailbox is based on the selected mailbox.
    if (s.state != State::selected || !s.view) return bad_url(url, "No mailbox is selected");
    out.mailbox = s.view->name;
  }
  out.url = url;
  out.parsed = std::move(*parsed);
  return std::nullopt;
}

// What the worker reports: the messages, or which URL failed or that the result is too big.
struct Built {
  std::vector<std::string> messages;
  enum class Error { none, bad_url, too_big, store } error = Error::none;
  std::string url, why;
  core::Status status;
};

// The messages the URLs of one command name, each read (and parsed, for a section) once: a
// command naming one large message a thousand times reads it once. Reading stops at `budget`
// octets (too big: the result could not hold them anyway).
struct UrlReader {
  store::MailStore& store;
  const std::string& account;
  uint64_t budget;
  struct Message {
    std::string octets;
    std::optional<mime::Facts> facts;
  };
  std::map<std::string, uint32_t> validity;  // per mailbox
  std::map<std::pair<std::string, uint32_t>, Message> read;
  uint64_t bytes_read = 0;

  // The section of `m` a URL names, or nullopt when the message has no such part.
  static std::optional<std::string> section_of(Message& m, const proto::ImapUrl& u) {
    std::string_view part = m.octets;
    std::string filtered;
    if (!u.section.parts.empty() || u.section.text != mime::SectionText::none) {
      if (!m.facts) m.facts = mime::parse_facts(m.octets);
      auto range = mime::locate_section(m.facts->root, u.section);
      if (!range || range->end > part.size() || range->begin > range->end) return std::nullopt;
      part = part.substr(range->begin, range->size());
      if (u.section.text == mime::SectionText::header_fields ||
          u.section.text == mime::SectionText::header_fields_not) {
        filtered = mime::filter_header(part, u.fields,
                                       u.section.text == mime::SectionText::header_fields_not);
        part = filtered;
      }
    }
    if (u.partial) {  // RFC 5092 ";PARTIAL=offset[.length]", as FETCH BODY[]<o.l> cuts
      uint64_t origin = u.partial->first;
      part = origin >= part.size() ? std::string_view()
                                   : part.substr(origin, u.partial->second.value_or(part.size()));
    }
    return std::string(part);
  }

  // One URL's octets, or nullopt with out.error set (bad_url, too_big or store).
  std::optional<std::string> octets(const Resolved& r, Built& out) {
    auto refuse = [&](const core::Status& st, const char* why) -> std::optional<std::string> {
      if (st.code() != core::Code::not_found) {
        out.error = Built::Error::store;
        out.status = st;
      } else {
        out.error = Built::Error::bad_url;
        out.url = r.url;
        out.why = why;
      }
      return std::nullopt;
    };
    auto v = validity.find(r.mailbox);
    if (v == validity.end()) {
      auto st = store.mailbox_status(account, r.mailbox);
      if (!st) return refuse(st.status(), "No such mailbox");
      v = validity.emplace(r.mailbox, st->uid_validity).first;
    }
    if (r.parsed.uid_validity != 0 && r.parsed.uid_validity != v->second)
      return refuse(core::not_found("uidvalidity"), "UIDVALIDITY has changed");
    auto key = std::make_pair(r.mailbox, r.parsed.uid);
    auto it = read.find(key);
    if (it == read.end()) {
      auto whole = store.read_message(account, r.mailbox, r.parsed.uid);
      if (!whole) return refuse(whole.status(), "No such message (expunged?)");
      bytes_read += whole->size();
      if (bytes_read > budget) {
        out.error = Built::Error::too_big;
        return std::nullopt;
      }
      it = read.emplace(key, Message{std::move(*whole), std::nullopt}).first;
    }
    auto section = section_of(it->second, r.parsed);
    if (!section) return refuse(core::not_found("section"), "No such section");
    return section;
  }
};

// Worker pool: reads every URL's message and builds the messages, bounded as it goes.
Built build(store::MailStore& store, const std::string& account, const proto::Command& cmd,
            const std::vector<std::vector<Resolved>>& urls, uint64_t max_message,
            uint64_t max_total) {
  Built out;
  UrlReader reader{store, account, max_total, {}, {}, 0};
  uint64_t total = 0;
  for (size_t i = 0; i < cmd.appends.size(); ++i) {
    std::string& msg = out.messages.emplace_back();
    const auto& m = cmd.appends[i];
    if (!m.catenate) {
      total += m.message.size();
      continue;
    }
    size_t next_url = 0;
    for (const auto& p : m.parts) {
      std::optional<std::string> owned;
      std::string_view data = p.data;
      if (p.url) {
        owned = reader.octets(urls[i][next_url++], out);
        if (!owned) return out;
        data = *owned;
      }
      if (msg.size() + data.size() > max_message || total + data.size() > max_total) {
        out.error = Built::Error::too_big;
        return out;
      }
      msg.append(data);
      total += data.size();
    }
  }
  return out;
}

}  // namespace

asio::awaitable<std::optional<Reply>> catenate_messages(Session& s, const proto::Command& cmd,
                                                        std::vector<std::string>& built) {
  std::vector<std::vector<Resolved>> urls(cmd.appends.size());
  bool any = false;
  for (size_t i = 0; i < cmd.appends.size(); ++i) {
    const auto& m = cmd.appends[i];
    if (!m.catenate) continue;
    any = true;
    for (const auto& p : m.parts) {
      if (!p.url) continue;
      if (auto refused = resolve(s, p.data, urls[i].emplace_back())) co_return refused;
    }
  }
  if (!any) co_return std::nullopt;
  const uint64_t max_message = s.options.max_literal;
  const uint64_t max_total = s.options.max_literal + 16 * s.options.max_line;
  std::string account = s.principal.account_id;
  store::MailStore& store = *s.services.store;
  auto fn1 = [&store, &account, &cmd, &urls, max_message, max_total] {
    return build(store, account, cmd, urls, max_message, max_total);
  };
  Built result = co_await net::blocking(*s.services.workers, fn1);
  switch (result.error) {
    case Built::Error::none:
      break;
    case Built::Error::bad_url:
      co_return bad_url(result.url, result.why);
    case Built::Error::too_big:
      co_return Reply::no("[TOOBIG] The catenated message would be larger than " +
                          std::to_string(max_message) + " octets");
    case Built::Error::store:
      co_return Session::store_error(result.status);
  }
  built = std::move(result.messages);
  co_return std::nullopt;
}

}  // namespace mailroom::imap
