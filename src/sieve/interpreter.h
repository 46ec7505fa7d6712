// Runs checked Sieve scripts (script.h) against one message for one recipient and returns
// what to do with it: the actions and whether the implicit keep still holds (RFC 5228 2.10.2).
// Nothing here stores, sends or reads files: the delivery side (delivery.h) applies the
// outcome, and answers the few questions a script asks of the world through Environment.
//
// Several scripts (the administrator's "before" script, the user's, the "after" script) run
// one after the other on the same Run: actions accumulate, a cancelled implicit keep stays
// cancelled, header edits carry over, and "stop" ends the whole sequence.
//
// Limits: a step budget (commands, tests, and every octet compared by :matches) and caps on
// actions and redirects; exceeding one is a runtime error, after which the caller must keep
// the message in INBOX (a broken script never loses mail).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/sieve/match.h"
#include "src/sieve/script.h"

namespace mailroom::sieve {

struct RunLimits {
  uint64_t max_steps = 200000;
  std::size_t max_actions = 32;
  std::size_t max_redirects = 4;
  std::size_t max_variable_bytes = 4096;  // RFC 5229 3: at least 4000 octets
  std::size_t max_variables = 128;
  std::size_t max_header_edits = 64;
};

// The questions a script asks of the world. Calls happen on the delivery thread.
class Environment {
 public:
  virtual ~Environment() = default;
  // RFC 5490 3.1: whether the user's mailbox exists.
  virtual bool mailbox_exists(const std::string& name) = 0;
  // RFC 7352: whether a message with this tracking id was seen within its period.
  virtual bool duplicate_seen(const std::string& id) = 0;
  // Unix seconds and the local zone (minutes east of UTC), for currentdate (RFC 5260 5).
  virtual int64_t now() = 0;
  virtual int32_t zone_minutes() { return 0; }
};

struct Action {
  enum class Kind { keep, fileinto, redirect, reject, ereject, vacation };
  Kind kind = Kind::keep;
  std::string target;  // fileinto: mailbox; redirect: address
  bool create = false;
  bool copy = false;
  bool has_flags = false;          // :flags given, or the imap4flags variable was in use
  std::vector<std::string> flags;  // keep / fileinto: IMAP flags and keywords
  std::string text;                // reject reason; vacation reason
  // vacation (RFC 5230 4)
  int64_t period_seconds = 7 * 86400;
  std::string subject, from, handle;
  std::vector<std::string> addresses;
  bool mime = false;
};

struct DuplicateRecord {
  std::string id;
  int64_t seconds = 0;
  bool last = false;
};

// One header field as the scripts see and edit it: name as written, raw value (folded, with
// leading space), in message order.
struct HeaderField {
  std::string name;
  std::string raw_value;
};

struct MessageInput {
  std::string_view message;   // CRLF, as it will be stored (without Return-Path)
  std::string envelope_from;  // "" for the null sender
  std::string envelope_to;    // the recipient (RCPT TO as given: keeps +detail)
  std::string envelope_auth;  // authenticated submitter, "" when none
};

class Run {
 public:
  Run(const MessageInput& input, Environment& env, const RunLimits& limits);

  // Runs one script; false on a runtime error (error() says which line and why). After an
  // error, or after a "stop", later scripts are not run.
  bool execute(const Script& script);
  bool stopped() const { return stopped_; }

  const std::vector<Action>& actions() const { return actions_; }
  bool implicit_keep() const { return implicit_keep_; }
  // Flags for the implicit keep (the imap4flags internal variable when the last script that
  // ran used imap4flags).
  const std::vector<std::string>& implicit_flags() const { return implicit_flags_; }
  const std::vector<DuplicateRecord>& duplicates() const { return duplicates_; }
  const std::string& error() const { return error_; }
  uint64_t steps() const { return budget_.used; }
  // editheader (RFC 5293): whether the header was changed, and the message with the edits.
  bool header_edited() const { return edited_; }
  std::string edited_message() const;
  // The header fields after edits (for tests and for vacation's reply).
  const std::vector<HeaderField>& fields() const { return fields_; }

 private:
  friend class Executor;
  const MessageInput& input_;
  Environment& env_;
  RunLimits limits_;
  Budget budget_;
  std::vector<HeaderField> fields_;
  std::string_view body_;  // after the blank line
  bool edited_ = false;
  std::vector<Action> actions_;
  bool implicit_keep_ = true;
  std::vector<std::string> implicit_flags_;
  std::vector<DuplicateRecord> duplicates_;
  bool stopped_ = false;
  std::string error_;
  size_t redirects_ = 0;
  size_t header_edits_ = 0;
};

// Splits a flag list string into flags (RFC 5232 3: space-separated, duplicates removed,
// system flags in their canonical case).
std::vector<std::string> split_flags(const std::vector<std::string>& values);

}  // namespace mailroom::sieve
