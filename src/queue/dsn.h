// Delivery status notifications (RFC 3464 multipart/report; RFC 3461 NOTIFY/RET/ENVID/ORCPT;
// RFC 3462/6522 report type; RFC 3463 status codes). Built by the queue for failures, delays
// and (NOTIFY=SUCCESS) deliveries; sent from the null sender so they are never bounced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom::queue {

enum class DsnAction : uint8_t { failed, delayed, delivered, relayed, expanded };
const char* dsn_action_name(DsnAction a);

// RFC 3461 4.1: does NOTIFY (as given with RCPT; "" = not given) ask for a report of this
// kind? `kind` is "SUCCESS", "FAILURE" or "DELAY". Not given means FAILURE,DELAY; NEVER, none.
bool notify_requests(const std::string& notify, const char* kind);

struct DsnRecipient {
  std::string recipient;           // RCPT TO address as given
  std::string original_recipient;  // ORCPT ("rfc822;addr" as received), may be empty
  DsnAction action = DsnAction::failed;
  std::string status;            // "5.1.1"
  std::string remote_mta;        // host name of the peer that answered, may be empty
  std::string diagnostic;        // the peer's reply ("550 5.1.1 no such user"), may be empty
  int64_t last_attempt = 0;      // unix seconds, 0 = none
  int64_t will_retry_until = 0;  // delayed only
};

struct DsnInput {
  std::string reporting_mta;  // our host name
  std::string postmaster;     // From: address, e.g. "MAILER-DAEMON@host"
  std::string to;             // the original envelope sender (never empty)
  std::string envid;          // RFC 3461 ENVID (xtext-decoded), may be empty
  std::string queue_id;
  int64_t arrival_date = 0;   // when we received the message
  int64_t now = 0;            // Date: of the report
  std::string message_id;     // Message-ID of the report, "<...>"
  bool full_message = false;  // RET=FULL: message/rfc822 of the whole original; else its headers
  uint64_t max_returned = 1 << 20;       // cap of a returned full message; over it: headers only
  std::vector<DsnRecipient> recipients;  // all with the same kind of action for one report
};

// The complete report message (CRLF line endings): human-readable part (English, naming each
// recipient and the reply), message/delivery-status, and the original headers
// (text/rfc822-headers) or message (message/rfc822). Field values are made single-line (a
// multi-line reply is joined with spaces, control characters dropped) and folded. Any non-ASCII
// recipient address makes the status part RFC 6533 message/global-delivery-status with
// "utf-8;" Final-Recipients. A report mixing kinds is titled by the gravest (failed, delayed).
std::string build_dsn(const DsnInput& input, const std::string& original_message);

}  // namespace mailroom::queue
