#include "src/queue/dsn.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "src/core/clock.h"

namespace mailroom::queue {
namespace {

// Unity builds put this file in a batch with the rest of src/queue: every helper here is
// prefixed dsn_ so that no anonymous-namespace name clashes with another file's.

constexpr size_t dsn_fold_width = 78;  // RFC 5322 2.1.1: SHOULD be no more than 78 characters

// A field value from untrusted text (a peer's reply, an address from the envelope): every run
// of CR/LF becomes one space (a multi-line SMTP reply reads as one line), other control
// characters are dropped, tabs become spaces, and the ends are trimmed. Bytes >= 0x80 stay:
// UTF-8 in replies and SMTPUTF8 addresses.
std::string dsn_clean(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  bool in_break = false;
  for (char c : in) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') {
      if (!in_break && !out.empty()) out += ' ';
      in_break = true;
      continue;
    }
    in_break = false;
    if (c == '\t') {
      out += ' ';
    } else if (u >= 0x20 && u != 0x7f) {
      out += c;
    }
  }
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  size_t e = out.find_last_not_of(' ');
  return out.substr(b, e - b + 1);
}

bool dsn_non_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

// "first" followed by `rest` broken at spaces into lines of at most `width` characters where
// a word allows it; continuation lines start with `indent` (for a header field, whitespace:
// RFC 5322 2.2.3 folding). Every line ends in CRLF.
std::string dsn_fold(std::string_view first, std::string_view rest, std::string_view indent,
                     size_t width = dsn_fold_width) {
  std::string out(first);
  size_t line_len = out.size();
  size_t pos = 0;
  bool line_has_word = !first.empty() && first.back() != ' ';
  while (pos < rest.size()) {
    size_t sp = rest.find(' ', pos);
    std::string_view word = rest.substr(pos, sp == rest.npos ? rest.npos : sp - pos);
    pos = sp == rest.npos ? rest.size() : sp + 1;
    if (word.empty()) continue;
    if (line_has_word && line_len + 1 + word.size() > width) {
      out += "\r\n";
      out += indent;
      line_len = indent.size();
      line_has_word = false;
    }
    if (line_has_word) {
      out += ' ';
      ++line_len;
    }
    out += word;
    line_len += word.size();
    line_has_word = true;
  }
  out += "\r\n";
  return out;
}

std::string dsn_field(std::string_view name, std::string_view value) {
  std::string first(name);
  first += ": ";
  return dsn_fold(first, value, " ");
}

// Every line ending (CRLF, bare LF, bare CR) as CRLF; a last line without one gets one.
std::string dsn_to_crlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32 + 2);
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r') {
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

// The header block of a CRLF-normalised message: up to and including the CRLF of its last
// header line, without the empty line that ends it.
std::string_view dsn_header_block(std::string_view crlf_message) {
  if (crlf_message.starts_with("\r\n")) return {};
  size_t end = crlf_message.find("\r\n\r\n");
  return end == crlf_message.npos ? crlf_message : crlf_message.substr(0, end + 2);
}

// "rfc822;a@b" stays as it came (RFC 3461 4.2: addr-type ";" xtext); a bare address is
// given the rfc822 type. The type is an atom, so a ';' after '@' or '"' is not its end.
std::string dsn_original_recipient(std::string_view orcpt) {
  std::string v = dsn_clean(orcpt);
  size_t semi = v.find(';');
  bool typed = semi != std::string::npos && semi > 0;
  for (size_t i = 0; typed && i < semi; ++i) {
    char c = v[i];
    typed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.';
  }
  return typed ? v : "rfc822;" + v;
}

const char* dsn_subject(DsnAction kind) {
  switch (kind) {
    case DsnAction::failed:
      return "Undelivered Mail Returned to Sender";
    case DsnAction::delayed:
      return "Delayed Mail (still being retried)";
    case DsnAction::delivered:
    case DsnAction::relayed:
    case DsnAction::expanded:
      return "Successful Mail Delivery Report";
  }
  return "Mail Delivery Report";
}

// The report is about one kind of outcome (dsn.h); should a caller mix them, the gravest
// one names it, so a failure is never announced as a success.
DsnAction dsn_report_kind(const std::vector<DsnRecipient>& recipients) {
  if (recipients.empty()) return DsnAction::failed;
  bool delayed = false;
  for (const auto& r : recipients) {
    if (r.action == DsnAction::failed) return DsnAction::failed;
    if (r.action == DsnAction::delayed) delayed = true;
  }
  return delayed ? DsnAction::delayed : recipients.front().action;
}

const char* dsn_outcome_text(DsnAction a) {
  switch (a) {
    case DsnAction::failed:
      return "delivery failed";
    case DsnAction::delayed:
      return "delivery delayed";
    case DsnAction::delivered:
      return "delivered";
    case DsnAction::relayed:
      return "relayed to a server that does not send delivery reports";
    case DsnAction::expanded:
      return "delivered and forwarded to further recipients";
  }
  return "unknown";
}

std::string dsn_human_part(const DsnInput& in, DsnAction kind) {
  std::string host = dsn_clean(in.reporting_mta);
  std::string intro = "This is the mail system at " + host + ".";
  switch (kind) {
    case DsnAction::failed:
      intro +=
          " Your message could not be delivered to one or more recipients. It has been given "
          "up on; the details are below.";
      break;
    case DsnAction::delayed:
      intro +=
          " Your message has not yet been delivered to one or more recipients. No action is "
          "needed: delivery will be attempted again until the time shown below.";
      break;
    default:
      intro += " Your message has been delivered to the recipients below, as you asked.";
      break;
  }
  std::string text = dsn_fold("", intro, "");
  std::string queue_id = dsn_clean(in.queue_id);
  if (!queue_id.empty()) text += "\r\n" + dsn_fold("", "Queue ID: " + queue_id, "");
  for (const auto& r : in.recipients) {
    text += "\r\n";
    std::string line = "<" + dsn_clean(r.recipient) + ">: " + dsn_outcome_text(r.action);
    std::string status = dsn_clean(r.status);
    if (!status.empty()) line += " (" + status + ")";
    text += dsn_fold("", line, "    ");
    std::string remote = dsn_clean(r.remote_mta);
    if (!remote.empty()) text += dsn_fold("    ", "Remote server: " + remote, "      ");
    std::string reply = dsn_clean(r.diagnostic);
    if (!reply.empty()) text += dsn_fold("    ", "It replied: " + reply, "      ");
    if (r.action == DsnAction::delayed && r.will_retry_until != 0)
      text += dsn_fold("    ", "Will keep trying until: " + core::rfc5322_date(r.will_retry_until),
                       "      ");
  }
  return text;
}

std::string dsn_status_part(const DsnInput& in, bool utf8_addresses) {
  // RFC 3464 2.2: per-message fields.
  std::string s = dsn_field("Reporting-MTA", "dns; " + dsn_clean(in.reporting_mta));
  std::string envid = dsn_clean(in.envid);
  if (!envid.empty()) s += dsn_field("Original-Envelope-Id", envid);
  s += dsn_field("X-Mailroom-Queue-ID", dsn_clean(in.queue_id));
  if (in.arrival_date != 0) s += dsn_field("Arrival-Date", core::rfc5322_date(in.arrival_date));
  // RFC 3464 2.3: one group per recipient, each after an empty line.
  for (const auto& r : in.recipients) {
    s += "\r\n";
    if (!dsn_clean(r.original_recipient).empty())
      s += dsn_field("Original-Recipient", dsn_original_recipient(r.original_recipient));
    s += dsn_field("Final-Recipient",
                   std::string(utf8_addresses ? "utf-8; " : "rfc822; ") + dsn_clean(r.recipient));
    s += dsn_field("Action", dsn_action_name(r.action));
    s += dsn_field("Status", dsn_clean(r.status));
    std::string remote = dsn_clean(r.remote_mta);
    if (!remote.empty()) s += dsn_field("Remote-MTA", "dns; " + remote);
    std::string reply = dsn_clean(r.diagnostic);
    if (!reply.empty()) s += dsn_field("Diagnostic-Code", "smtp; " + reply);
    if (r.last_attempt != 0)
      s += dsn_field("Last-Attempt-Date", core::rfc5322_date(r.last_attempt));
    if (r.action == DsnAction::delayed && r.will_retry_until != 0)
      s += dsn_field("Will-Retry-Until", core::rfc5322_date(r.will_retry_until));
  }
  // RFC 3464 fields are US-ASCII; only the RFC 6533 global type may carry UTF-8. A peer's
  // 8-bit reply text in a plain report is kept readable in the human part instead.
  if (!utf8_addresses)
    for (char& c : s)
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  return s;
}

std::string dsn_sanitize_token(std::string_view s) {
  std::string out;
  for (char c : s)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out += c;
  return out;
}

std::string dsn_part_headers(std::string_view boundary, std::string_view content_type,
                             std::string_view body) {
  std::string h = "--";
  h += boundary;
  h += "\r\nContent-Type: ";
  h += content_type;
  h += "\r\nContent-Transfer-Encoding: ";
  h += dsn_non_ascii(body) ? "8bit" : "7bit";
  h += "\r\n\r\n";
  return h;
}

}  // namespace

const char* dsn_action_name(DsnAction a) {
  switch (a) {
    case DsnAction::failed:
      return "failed";
    case DsnAction::delayed:
      return "delayed";
    case DsnAction::delivered:
      return "delivered";
    case DsnAction::relayed:
      return "relayed";
    case DsnAction::expanded:
      return "expanded";
  }
  return "failed";
}

std::string build_dsn(const DsnInput& input, const std::string& original_message) {
  const DsnAction kind = dsn_report_kind(input.recipients);

  // RFC 6533, kept simple: when any recipient address is non-ASCII the status part is
  // message/global-delivery-status and Final-Recipient uses the "utf-8" address type (the
  // address as UTF-8 rather than an encoded form). The returned original keeps the types
  // below; RFC 6533 would make it message/global(-headers) when its header is UTF-8.
  bool utf8_addresses = false;
  for (const auto& r : input.recipients)
    utf8_addresses =
        utf8_addresses || dsn_non_ascii(r.recipient) || dsn_non_ascii(r.original_recipient);

  const std::string original = dsn_to_crlf(original_message);
  const bool whole = input.full_message && original_message.size() <= input.max_returned;
  const std::string_view returned = whole ? std::string_view(original) : dsn_header_block(original);

  const std::string human = dsn_human_part(input, kind);
  const std::string status = dsn_status_part(input, utf8_addresses);

  // RFC 2046 5.1.1: the boundary must not occur in any part. "=_" cannot start an encoded
  // line (quoted-printable, base64); the loop makes sure of the rest.
  const std::string base =
      "=_mailroom_dsn_" + dsn_sanitize_token(input.queue_id) + "_" + std::to_string(input.now);
  std::string boundary = base;
  for (int n = 1;
       human.find(boundary) != std::string::npos || status.find(boundary) != std::string::npos ||
       returned.find(boundary) != std::string_view::npos;
       ++n)
    boundary = base + "_" + std::to_string(n);

  std::string out;
  out.reserve(human.size() + status.size() + returned.size() + 2048);
  out += dsn_field("From", "\"Mail Delivery System\" <" + dsn_clean(input.postmaster) + ">");
  out += dsn_field("To", "<" + dsn_clean(input.to) + ">");
  out += dsn_field("Subject", dsn_subject(kind));
  out += dsn_field("Date", core::rfc5322_date(input.now));
  std::string message_id = dsn_clean(input.message_id);
  if (!message_id.starts_with('<')) message_id = "<" + message_id + ">";
  out += dsn_field("Message-ID", message_id);
  out += "MIME-Version: 1.0\r\n";
  out += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 5: never answered automatically
  out += "Content-Type: multipart/report; report-type=delivery-status;\r\n";
  out += "\tboundary=\"" + boundary + "\"\r\n";
  out += "\r\nThis is a MIME-encapsulated message (RFC 6522 multipart/report).\r\n\r\n";

  out += dsn_part_headers(boundary, "text/plain; charset=utf-8", human);
  out += human;
  out += "\r\n";
  out += dsn_part_headers(
      boundary, utf8_addresses ? "message/global-delivery-status" : "message/delivery-status",
      status);
  out += status;
  out += "\r\n";
  out += dsn_part_headers(boundary, whole ? "message/rfc822" : "text/rfc822-headers", returned);
  out += returned;
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

bool notify_requests(const std::string& notify, const char* kind) {
  if (notify.empty()) return std::string_view(kind) != "SUCCESS";
  std::string upper = notify;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper.find(kind) != std::string::npos;
}

}  // namespace mailroom::queue
