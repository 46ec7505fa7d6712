// EmailSubmission/set (RFC 8621 7.5): create sends, update may only cancel (a final
// submission cannot: cannotUnsend), destroy forgets the record. onSuccessUpdateEmail and
// onSuccessDestroyEmail run as an implicit Email/set after the creates (RFC 8621 7.5).
//
// A create, in order (each refusal is the SetError RFC 8621 7.5 names):
//   identityId must be one of the caller's identities (identity.h)   invalidProperties
//   emailId must be a stored Email                                   invalidProperties
//   size within [smtp] max_message_size and the sender's policy      tooLarge
//   From:/Sender: parseable, and the send-as rule allows each        invalidEmail / forbiddenFrom
//   envelope (given, or From:/Sender: and To/Cc/Bcc, RFC 8621 7):
//     mailFrom allowed by send-as and the block list                 forbiddenMailFrom
//     at least one, at most [smtp] max_recipients recipients         noRecipients /
//     tooManyRecipients each recipient as SMTP RCPT TO checks it (submission_rules.h): unknown,
//     disabled or full mailboxes                                                 invalidRecipients
//     outside the company without send_outside, a group that
//     refuses the sender                                             forbiddenToSend
// then the message gets a Received: field, Date: and Message-ID: when missing
// ([smtp] submission_add_headers), loses its Bcc: fields (RFC 8621 7.5), passes the content
// scanners SMTP runs before its 250 (antivirus, spam: reject or quarantine   forbiddenToSend;
// tempfail: serverUnavailable), and goes to the queue.
#include <algorithm>
#include <boost/json.hpp>
#include <ctime>
#include <future>
#include <set>

#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/filter/blocklist.h"
#include "src/filter/content_scan.h"
#include "src/jmap/identity.h"
#include "src/jmap/records.h"
#include "src/jmap/submission.h"
#include "src/jmap/views.h"
#include "src/mime/header_fields.h"
#include "src/mime/originators.h"
#include "src/queue/queue.h"
#include "src/queue/submission_rules.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

// An envelope address as SMTP would take it: local@domain, printable, no spaces, <= 254.
bool valid_envelope_address(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  size_t at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '\\' || c == '"' || c == ',')
      return false;
  return true;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// The header block's length (up to and including the empty line).
size_t header_length(std::string_view m) {
  size_t p = m.find("\r\n\r\n");
  return p == std::string_view::npos ? m.size() : p + 4;
}

// The addresses of header fields `name` (mailboxes only, lower-cased domains kept as written).
std::vector<std::string> header_addresses(std::string_view message, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : mime::parse_fields(message.substr(0, header_length(message)))) {
    if (!mime::ascii_iequals(f.name, name)) continue;
    for (const auto& a : mime::parse_address_list(f.value)) {
      if (a.kind != mime::EnvelopeAddress::Kind::mailbox || !a.mailbox || !a.host) continue;
      if (a.mailbox->empty() || a.host->empty() || *a.host == "MISSING_DOMAIN") continue;
      out.push_back(*a.mailbox + "@" + *a.host);
    }
  }
  return out;
}

// The message without its Bcc: fields (RFC 8621 7.5: "MUST remove").
std::string without_bcc(const std::string& message) {
  size_t end = header_length(message);
  std::string out;
  out.reserve(message.size());
  size_t i = 0;
  bool skipping = false;
  while (i < end) {
    size_t eol = message.find("\r\n", i);
    size_t next = eol == std::string::npos || eol + 2 > end ? end : eol + 2;
    std::string_view line(message.data() + i, next - i);
    bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation)
      skipping = line.size() >= 4 && mime::ascii_iequals(line.substr(0, 4), "bcc:");
    if (!skipping) out.append(line);
    i = next;
  }
  out.append(message, end, std::string::npos);
  return out;
}

struct Rcpt {
  std::string address;
  std::vector<auth::Destination> destinations;
};

struct Prepared {
  std::string mail_from;
  std::vector<Rcpt> rcpts;
  json::object envelope;  // as recorded
};

// The envelope of the request, or one derived from the headers (RFC 8621 7: Sender, else
// From; To, Cc and Bcc, each address once). A SetError when malformed.
std::optional<json::object> read_envelope(const json::value* given, const std::string& message,
                                          Prepared& out) {
  std::vector<std::string> rcpts;
  if (given && !given->is_null()) {
    if (!given->is_object()) return invalid_properties({"envelope"});
    const auto& e = given->as_object();
    const auto* from = e.if_contains("mailFrom");
    const auto* to = e.if_contains("rcptTo");
    auto address_of = [](const json::value& v, std::string* a) {
      if (!v.is_object()) return false;
      const auto* email = v.as_object().if_contains("email");
      const auto* params = v.as_object().if_contains("parameters");
      // No SMTP extension is passed through (submissionExtensions is empty).
      if (params && !params->is_null() && !(params->is_object() && params->as_object().empty()))
        return false;
      if (!email || !email->is_string()) return false;
      *a = std::string(email->as_string());
      return true;
    };
    if (!from || !to || !to->is_array() || !address_of(*from, &out.mail_from))
      return invalid_properties({"envelope"});
    if (to->as_array().size() > 10000) return set_error("tooManyRecipients", "");
    for (const auto& r : to->as_array()) {
      std::string a;
      if (!address_of(r, &a)) return invalid_properties({"envelope"});
      rcpts.push_back(a);
    }
    if (!out.mail_from.empty() && !valid_envelope_address(out.mail_from))
      return set_error("invalidProperties", "mailFrom is not an address");
  } else {
    auto sender = header_addresses(message, "Sender");
    auto from = header_addresses(message, "From");
    out.mail_from = !sender.empty() ? sender.front() : (!from.empty() ? from.front() : "");
    for (const char* h : {"To", "Cc", "Bcc"})
      for (auto& a : header_addresses(message, h)) rcpts.push_back(std::move(a));
  }
  std::set<std::string> seen;
  for (auto& a : rcpts) {
    if (!seen.insert(core::ascii_lower(a)).second) continue;
    out.rcpts.push_back({std::move(a), {}});
  }
  json::array to;
  for (const auto& r : out.rcpts)
    to.push_back(json::object{{"email", r.address}, {"parameters", nullptr}});
  out.envelope =
      json::object{{"mailFrom", json::object{{"email", out.mail_from}, {"parameters", nullptr}}},
                   {"rcptTo", std::move(to)}};
  return std::nullopt;
}

// Waits for the queue's callback (a queue thread) on this worker thread: the HTTP handler
// runs on the worker pool, never on an I/O thread.
core::Result<std::string> submit_and_wait(queue::Queue& q, const std::string& queue_id,
                                          queue::Envelope env, std::string message) {
  auto promise = std::make_shared<std::promise<core::Result<std::string>>>();
  auto future = promise->get_future();
  q.submit(queue_id, std::move(env), std::move(message),
           [promise](core::Result<std::string> r) { promise->set_value(std::move(r)); });
  return future.get();
}

struct Sent {
  std::string id;
  std::string email_id;
};

// One create: the checks, then the queue. A SetError, or the record to keep in *record.
std::optional<json::object> send_one(CallContext& ctx, const json::object& in,
                                     const std::vector<IdentityRecord>& identities,
                                     json::object* record, MethodResult* fatal) {
  std::vector<std::string> bad;
  for (const auto& kv : in) {
    std::string_view k = kv.key();
    if (k != "identityId" && k != "emailId" && k != "envelope") bad.emplace_back(k);
  }
  if (!bad.empty()) return invalid_properties(bad, "server-set or unknown properties");
  const auto* identity_v = in.if_contains("identityId");
  const auto* email_v = in.if_contains("emailId");
  if (!identity_v || !identity_v->is_string()) return invalid_properties({"identityId"});
  if (!email_v || !email_v->is_string()) return invalid_properties({"emailId"});
  auto identity_id = resolve_creation_id(ctx, identity_v->as_string());
  const IdentityRecord* identity = nullptr;
  for (const auto& i : identities)
    if (identity_id && i.id == *identity_id) identity = &i;
  if (!identity) return invalid_properties({"identityId"}, "no such identity");
  auto email_id = resolve_creation_id(ctx, email_v->as_string());
  if (!email_id) return invalid_properties({"emailId"}, "unknown creation id");
  auto copies = copies_of(ctx.store, ctx.account_id, *email_id, 'M');
  if (!copies) {
    *fatal = store_error(copies.status());
    return std::nullopt;
  }
  if (copies->empty()) return invalid_properties({"emailId"}, "no such Email");
  auto data =
      ctx.store.read_message(ctx.account_id, copies->front().mailbox, copies->front().meta.uid);
  if (!data) {
    *fatal = store_error(data.status());
    return std::nullopt;
  }
  std::string message = mime::normalize_header_line_ends(*data);
  auto too_large = [](uint64_t max) {
    auto e = set_error("tooLarge", "the message is larger than the server accepts");
    e["maxSize"] = max;
    return e;
  };
  if (message.size() > ctx.options.max_message_size) return too_large(ctx.options.max_message_size);
  auto limits = queue::sender_limits(ctx.services.policies.get(), ctx.account_id);
  if (!limits) {
    *fatal = MethodError{"serverUnavailable", "the directory cannot answer"};
    return std::nullopt;
  }
  if (limits->max_message_bytes != 0 && message.size() > limits->max_message_bytes)
    return too_large(limits->max_message_bytes);

  // From: and Sender: (RFC 6409 8.1), as SMTP submission checks them.
  mime::Originators originators = mime::originator_addresses(message);
  if (originators.addresses.empty() || originators.unparseable)
    return set_error("invalidEmail",
                     "the From: or Sender: field has no address that can be checked");
  bool allowed = false;
  if (auto e = may_send_as(ctx, originators.addresses, &allowed)) {
    *fatal = *e;
    return std::nullopt;
  }
  if (!allowed) return set_error("forbiddenFrom", "you may not send as the From: address");

  Prepared p;
  if (auto err = read_envelope(in.if_contains("envelope"), message, p)) return err;
  if (!p.mail_from.empty()) {
    if (ctx.services.blocklist && ctx.services.blocklist->blocks_sender(p.mail_from))
      return set_error("forbiddenMailFrom", "the sender address is blocked");
    if (auto e = may_send_as(ctx, {p.mail_from}, &allowed)) {
      *fatal = *e;
      return std::nullopt;
    }
    if (!allowed) return set_error("forbiddenMailFrom", "you may not use this envelope sender");
  }
  if (p.rcpts.empty()) return set_error("noRecipients", "");
  if (p.rcpts.size() > ctx.options.max_recipients) {
    auto e = set_error("tooManyRecipients", "");
    e["maxRecipients"] = ctx.options.max_recipients;
    return e;
  }
  json::array invalid;
  std::string forbidden;
  for (auto& r : p.rcpts) {
    if (!valid_envelope_address(r.address)) {
      invalid.push_back(json::value(r.address));
      continue;
    }
    // RCPT TO as SMTP submission checks it (the sender is authenticated: inside).
    auto a =
        queue::check_recipient(*ctx.services.resolver, &ctx.store, ctx.services.policies.get(),
                               r.address, p.mail_from, ctx.account_id, true, message.size(), false);
    switch (a.res.outcome) {
      case auth::RecipientOutcome::deliver:
        if (a.policy == queue::RcptPolicy::unavailable) {
          *fatal = MethodError{"serverUnavailable", "the directory cannot answer"};
          return std::nullopt;
        }
        if (a.policy != queue::RcptPolicy::ok || a.quota != 0) {
          // The recipient refuses it: its policy's size limit, its quota (as SMTP's RCPT).
          invalid.push_back(json::value(r.address));
          continue;
        }
        r.destinations = std::move(a.res.destinations);
        break;
      case auth::RecipientOutcome::not_local:
        if (!limits->may_send_outside) {
          forbidden = "sending outside the company is not allowed for this account";
          continue;
        }
        r.destinations.push_back({});
        r.destinations.back().kind = auth::Destination::Kind::remote;
        r.destinations.back().address = r.address;
        break;
      case auth::RecipientOutcome::not_allowed:
        forbidden = "you may not send to " + r.address;
        continue;
      case auth::RecipientOutcome::too_many: {
        auto e = set_error("tooManyRecipients", r.address + " expands to too many addresses");
        e["maxRecipients"] = ctx.options.max_recipients;
        return e;
      }
      case auth::RecipientOutcome::unavailable:
        *fatal = MethodError{"serverUnavailable", "the directory cannot answer"};
        return std::nullopt;
      default:  // unknown, disabled
        invalid.push_back(json::value(r.address));
        continue;
    }
  }
  if (!forbidden.empty()) return set_error("forbiddenToSend", forbidden);
  if (!invalid.empty()) {
    auto e = set_error("invalidRecipients", "");
    e["invalidRecipients"] = std::move(invalid);
    return e;
  }

  // The message as it leaves: trace field, submission fixes (RFC 6409 8), no Bcc:.
  auto& q = *ctx.services.queue;
  std::string queue_id = q.new_queue_id();
  const int64_t now = std::time(nullptr);
  std::string prefix = "Received: by " + ctx.services.hostname + " (Mailroom) with JMAP id " +
                       queue_id + "\r\n\t(authenticated user " + ctx.username + ")";
  if (p.rcpts.size() == 1) prefix += "\r\n\tfor <" + p.rcpts[0].address + ">";
  prefix += "; " + core::rfc5322_date(now) + "\r\n";
  if (ctx.options.submission_add_headers) {
    auto fields = mime::parse_fields(std::string_view(message).substr(0, header_length(message)));
    if (!mime::find_field(fields, "Date")) prefix += "Date: " + core::rfc5322_date(now) + "\r\n";
    if (!mime::find_field(fields, "Message-ID"))
      prefix += "Message-ID: <" + queue_id + "@" + ctx.services.hostname + ">\r\n";
  }
  std::string out = prefix + without_bcc(message);
  // A sender's own verdict fields go, as from an SMTP client (Sieve of local recipients reads
  // them).
  if (filter::strip_verdict_fields(out))
    MR_LOG_INFO("event=jmap_verdict_fields_removed account={}", ctx.account_id);

  // The content scanners SMTP runs before its 250 (src/smtp/content_scan_stage.cpp), on the
  // message as it leaves. SMTP quarantines a suspicious message it has accepted; a JMAP
  // client is told instead (nothing is sent): the user sees why at once.
  if (const auto& chain = ctx.services.content_scan; chain && !chain->empty()) {
    filter::ContentScanInput scan;
    scan.message = std::make_shared<const std::string>(out);
    scan.queue_id = queue_id;
    scan.client_ip = ctx.client_ip;
    scan.helo = "jmap";
    scan.envelope_sender = p.mail_from;
    for (const auto& r : p.rcpts) scan.recipients.push_back(r.address);
    scan.auth_account_id = ctx.account_id;
    filter::ContentScanResult verdict = chain->run(std::move(scan));
    if (verdict.action != filter::ContentAction::accept || !verdict.add_headers.empty()) {
      MR_LOG_INFO(
          "event=content_scan session=jmap account={} queue_id={} action={} scanner={} "
          "reason={}",
          ctx.account_id, queue_id, filter::content_action_name(verdict.action), verdict.decided_by,
          core::quote(verdict.reason));
    }
    switch (verdict.action) {
      case filter::ContentAction::reject:
      case filter::ContentAction::quarantine:
        return set_error("forbiddenToSend", "refused by the content scanner: " + verdict.reason);
      case filter::ContentAction::tempfail:
        *fatal = MethodError{"serverUnavailable", "the content scanner cannot answer, try again"};
        return std::nullopt;
      case filter::ContentAction::junk:  // folders of the recipients' side: not for sending
      case filter::ContentAction::ads:
      case filter::ContentAction::accept:
        break;
    }
    if (verdict.replacement) out = *verdict.replacement;
    out = filter::format_added_headers(verdict.add_headers) + out;
  }

  queue::Envelope env;
  env.sender = p.mail_from;
  env.body = is_ascii(out) ? "7BIT" : "8BITMIME";
  env.smtputf8 = !is_ascii(p.mail_from);
  env.auth_account_id = ctx.account_id;
  env.client_ip = ctx.client_ip;
  env.helo = "jmap";
  env.received_at = now;
  for (auto& r : p.rcpts) {
    env.smtputf8 = env.smtputf8 || !is_ascii(r.address);
    for (auto& d : r.destinations) env.recipients.push_back({r.address, "", "", std::move(d)});
  }
  const size_t size = out.size();
  auto queued = submit_and_wait(q, queue_id, std::move(env), std::move(out));
  if (!queued) {
    MR_LOG_ERROR("event=jmap_submission_queue_failed account={} detail={}", ctx.account_id,
                 core::quote(queued.status().log_detail()));
    *fatal = MethodError{"serverFail", "the message could not be queued, try again"};
    return std::nullopt;
  }
  MR_LOG_INFO("event=jmap_submission_queued account={} queue_id={} rcpts={} size={}",
              ctx.account_id, *queued, p.rcpts.size(), size);

  json::object delivery;
  for (const auto& r : p.rcpts) {
    delivery[r.address] = json::object{{"smtpReply", "250 2.0.0 Ok: queued as " + *queued},
                                       {"delivered", "queued"},
                                       {"displayed", "unknown"}};
  }
  auto guid = guid_of(*email_id, 'M');
  *record = json::object{{"id", "S" + *queued},
                         {"identityId", identity->id},
                         {"emailId", *email_id},
                         {"threadId", guid ? thread_id(*guid) : std::string()},
                         {"envelope", std::move(p.envelope)},
                         {"sendAt", utc_date(now)},
                         {"t", now},
                         {"undoStatus", "final"},
                         {"deliveryStatus", std::move(delivery)},
                         {"dsnBlobIds", json::array{}},
                         {"mdnBlobIds", json::array{}}};
  return std::nullopt;
}

// onSuccessUpdateEmail / onSuccessDestroyEmail (RFC 8621 7.5): keys and entries are
// submission ids or "#creationId" of this call's creates.
// `touched`: the submissions this call updated or destroyed -> their emailId (only those
// count: "if the create/update/destroy succeeds").
MethodResult implicit_email_set(CallContext& ctx, const json::object& args,
                                const std::map<std::string, Sent>& created_now,
                                const std::map<std::string, std::string>& touched) {
  const auto* upd = args.if_contains("onSuccessUpdateEmail");
  const auto* del = args.if_contains("onSuccessDestroyEmail");
  bool has_upd = upd && !upd->is_null(), has_del = del && !del->is_null();
  if (!has_upd && !has_del) return std::nullopt;
  auto email_of = [&](std::string_view ref) -> std::optional<std::string> {
    if (!ref.empty() && ref[0] == '#') {
      auto it = created_now.find(std::string(ref.substr(1)));
      if (it == created_now.end()) return std::nullopt;  // not created (RFC: ignored)
      return it->second.email_id;
    }
    auto it = touched.find(std::string(ref));
    if (it == touched.end()) return std::nullopt;
    return it->second;
  };
  json::object update;
  json::array destroy;
  if (has_upd) {
    for (const auto& kv : upd->as_object())
      if (auto e = email_of(kv.key())) update[*e] = kv.value();
  }
  if (has_del) {
    for (const auto& v : del->as_array())
      if (v.is_string())
        if (auto e = email_of(v.as_string())) destroy.push_back(json::value(*e));
  }
  if (update.empty() && destroy.empty()) return std::nullopt;
  json::object set_args{{"accountId", ctx.account_id}};
  if (!update.empty()) set_args["update"] = std::move(update);
  if (!destroy.empty()) set_args["destroy"] = std::move(destroy);
  auto response = std::make_shared<json::object>();
  if (auto e = email_set(ctx, set_args, *response)) {
    // The submissions are sent; the implicit call's error is its own response.
    json::object err{{"type", e->type}};
    if (!e->description.empty()) err["description"] = e->description;
    ctx.implicit.emplace_back("error", std::make_shared<json::object>(std::move(err)));
    return std::nullopt;
  }
  ctx.implicit.emplace_back("Email/set", std::move(response));
  return std::nullopt;
}

}  // namespace

MethodResult email_submission_set(CallContext& ctx, const json::object& args,
                                  json::object& response) {
  if (auto e = check_known(args, {"accountId", "ifInState", "create", "update", "destroy",
                                  "onSuccessUpdateEmail", "onSuccessDestroyEmail"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  SetArgs set;
  if (auto e = read_set_args(ctx, args, &set)) return e;
  const json::object* create = set.create;
  const json::object* update = set.update;
  const json::array* destroy = set.destroy;
  if (const auto* v = args.if_contains("onSuccessUpdateEmail");
      v && !v->is_null() && !v->is_object())
    return invalid_arguments("onSuccessUpdateEmail must be an object");
  if (const auto* v = args.if_contains("onSuccessDestroyEmail");
      v && !v->is_null() && !v->is_array())
    return invalid_arguments("onSuccessDestroyEmail must be an array");
  if (create && !create->empty() && (!ctx.services.queue || !ctx.services.resolver))
    return MethodError{"serverFail", "this server cannot send"};

  std::vector<IdentityRecord> identities;
  if (create && !create->empty()) {
    if (auto e = list_identities(ctx, &identities)) return e;
  }
  auto lock = records_lock();
  json::object doc;
  if (auto s = load_record(ctx.services.mail_root, ctx.account_id, kSubmissionRecord, &doc); !s)
    return store_error(s);
  ensure_record_keys(doc);
  const std::string old_state = record_state(doc);
  if (auto e = check_if_in_state(args, old_state)) return e;
  auto& items = doc["items"].as_array();
  const uint64_t next = record_uint(doc, "seq") + 1;
  bool changed = false;
  json::object created, updated, not_created, not_updated, not_destroyed;
  json::array destroyed;
  std::map<std::string, Sent> created_now;
  std::map<std::string, std::string> touched;  // updated or destroyed -> emailId
  auto save = [&]() -> MethodResult {
    if (!changed) return std::nullopt;
    doc["seq"] = next;
    if (auto s = save_record(ctx.services.mail_root, ctx.account_id, kSubmissionRecord, doc); !s)
      return store_error(s);
    return std::nullopt;
  };

  if (create) {
    for (const auto& kv : *create) {
      std::string cid(kv.key());
      if (!kv.value().is_object()) {
        not_created[cid] = invalid_properties({}, "an EmailSubmission is an object");
        continue;
      }
      json::object record;
      MethodResult fatal;
      auto err = send_one(ctx, kv.value().as_object(), identities, &record, &fatal);
      if (fatal) {
        // What was sent before stays recorded.
        if (auto e = save()) return e;
        return fatal;
      }
      if (err) {
        not_created[cid] = std::move(*err);
        continue;
      }
      record["created"] = next;
      record["seq"] = next;
      std::string id(record["id"].as_string());
      created[cid] = json::object{{"id", id},
                                  {"undoStatus", "final"},
                                  {"sendAt", record["sendAt"]},
                                  {"threadId", record["threadId"]}};
      created_now[cid] = Sent{id, std::string(record["emailId"].as_string())};
      ctx.created_ids[cid] = id;
      items.push_back(std::move(record));
      while (items.size() > kMaxSubmissions) {
        add_tombstone(doc, record_str(items.front().as_object(), "id"), next,
                      kMaxSubmissionTombstones);
        items.erase(items.begin());
      }
      changed = true;
    }
  }
  if (update) {
    for (const auto& kv : *update) {
      std::string id(kv.key());
      json::object* it = update_target(ctx, items, id, kv.value(), not_updated);
      if (!it) continue;
      const auto& patch = kv.value();
      bool only_status = true;
      for (const auto& p : patch.as_object()) only_status = only_status && p.key() == "undoStatus";
      if (!only_status) {
        not_updated[id] = invalid_properties({}, "only undoStatus may change");
      } else if (const auto* u = patch.as_object().if_contains("undoStatus");
                 !u || *u == json::value("final")) {
        updated[id] = nullptr;  // no change
        touched[record_str(*it, "id")] = record_str(*it, "emailId");
      } else if (*u == json::value("canceled")) {
        not_updated[id] = set_error("cannotUnsend", "the message has been sent");
      } else {
        not_updated[id] = invalid_properties({"undoStatus"});
      }
    }
  }
  if (destroy) {
    auto may_destroy = [&](const json::object& it, json::object*) {
      touched[record_str(it, "id")] = record_str(it, "emailId");
      return true;
    };
    if (auto e = destroy_record_items(ctx, doc, *destroy, next, kMaxSubmissionTombstones,
                                      may_destroy, destroyed, not_destroyed, &changed))
      return e;
  }
  if (auto e = save()) return e;
  finish_set(response, old_state, record_state(doc), created, updated, destroyed, not_created,
             not_updated, not_destroyed);
  lock.unlock();
  return implicit_email_set(ctx, args, created_now, touched);
}

}  // namespace mailroom::jmap
