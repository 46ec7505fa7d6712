// The IMAP command grammar (RFC 3501 section 9 and the extensions we advertise), parsed from a
// complete command buffer with no I/O. Literals appear inline as "{n}\r\n<n bytes>" (or
// "{n+}\r\n", RFC 7888), exactly as CommandReader assembled them.
//
// parse_command never throws and never recurses deeper than kMaxDepth; every failure carries
// a client-safe reason for the tagged BAD (or untagged "* BAD" when no tag could be read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/imap/proto/notify.h"
#include "src/mime/facts.h"

namespace mailroom::imap::proto {

constexpr int kMaxDepth = 32;  // parentheses in SEARCH / fetch lists / ID

// sequence-set (RFC 3501 9): ranges in any order; 0 stands for "*".
struct SequenceSet {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  // "$" (RFC 5182 2.1, RFC 9051 9 seq-last-command): the saved search result, which the session
  // resolves (ranges stay empty). Only where RFC 9051 allows a sequence-set of a command.
  bool saved = false;
  bool empty() const { return ranges.empty(); }
  // Members within 1..max with "*" = max (ranges are normalized low..high).
  std::vector<uint32_t> expand(uint32_t max) const;
  bool contains(uint32_t n, uint32_t max) const;
  // The largest explicit number (ignoring "*"), for "invalid sequence number" checks.
  uint32_t largest_explicit() const;
};
std::optional<SequenceSet> parse_sequence_set(std::string_view text);

enum class FetchItem {
  envelope,
  flags,
  internaldate,
  rfc822,
  rfc822_header,
  rfc822_size,
  rfc822_text,
  bodystructure,
  body,
  body_section,
  binary,
  binary_size,
  uid,
  modseq,
  preview,   // RFC 8970
  savedate,  // RFC 8514
  emailid,   // RFC 8474
  threadid,
};

struct FetchAtt {
  FetchItem item = FetchItem::flags;
  bool peek = false;
  mime::SectionRef section;
  std::vector<std::string> fields;                       // HEADER.FIELDS (...) names
  std::optional<std::pair<uint64_t, uint64_t>> partial;  // <origin.size>
  std::string label;  // the item name as it appears in the response, e.g. "BODY[1.MIME]"
  bool lazy = false;  // PREVIEW (LAZY): NIL is allowed when the preview is costly (RFC 8970 3.1)
};

struct SearchKey {
  enum class Op {
    all,
    and_,
    or_,
    not_,
    seqset,
    uidset,
    flag,
    not_flag,
    keyword,
    not_keyword,
    new_,
    old,
    recent,
    not_recent,
    header,
    field,
    body,
    text,
    larger,
    smaller,
    before,
    on,
    since,
    sent_before,
    sent_on,
    sent_since,
    modseq,
    saved_before,  // RFC 8514 2.2: SAVEDBEFORE / SAVEDON / SAVEDSINCE / SAVEDATESUPPORTED
    saved_on,
    saved_since,
    savedate_supported,
    emailid,  // RFC 8474 6: EMAILID / THREADID objectid (in `value`)
    threadid,
  };
  Op op = Op::all;
  uint32_t flag = 0;    // store::Flag bits for flag/not_flag
  std::string field;    // header: HEADER's field name; field: FROM, TO, CC, BCC or SUBJECT
  std::string value;    // raw bytes in the search charset
  uint64_t number = 0;  // LARGER/SMALLER/MODSEQ
  int64_t date = 0;     // days since the epoch (UTC date) for BEFORE/ON/SINCE...
  SequenceSet set;
  std::vector<SearchKey> children;
};

// ESEARCH RETURN options (RFC 4731).
struct SearchReturn {
  bool present = false;  // RETURN (...) was given: answer with ESEARCH
  bool min = false, max = false, all = false, count = false;
  // RFC 5267 4 (proto/context.cpp): keep the result and report its changes (UPDATE); the
  // client will ask again (CONTEXT, a hint); only positions low..high of the result (PARTIAL).
  bool update = false, context = false;
  bool save = false;  // RFC 5182 2.2 / RFC 9051 6.4.4.1: SAVE the result as "$"

  std::optional<std::pair<uint32_t, uint32_t>> partial;
};

// One piece of a CATENATE message (RFC 4469 5): a TEXT literal (or literal8, or UTF8 of
// RFC 6855 4) or the URL of a message or part on this server (RFC 5092, proto/imap_url.h).
struct CatenatePart {
  bool url = false;
  bool utf8 = false;  // UTF8 (~{n}): allowed after ENABLE UTF8=ACCEPT
  std::string data;   // the literal's octets or the URL as sent
};
constexpr size_t kMaxCatenateParts = 1000;  // per message

// One message of APPEND (RFC 3501 6.3.11; several with RFC 3502 MULTIAPPEND) or REPLACE
// (RFC 8508 3.3).
struct AppendMessage {
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::optional<int64_t> date_time;  // seconds since the epoch
  int32_t date_tz = 0;
  std::string message;
  bool utf8 = false;  // sent as UTF8 (~{n}) (RFC 6855 4): allowed after ENABLE UTF8=ACCEPT
  // CATENATE (RFC 4469): `message` is empty and the session builds it from the parts.
  bool catenate = false;
  std::vector<CatenatePart> parts;
};

// METADATA (RFC 5464) and LIST-METADATA (RFC 9590), parsed by proto/metadata.cpp. Entry names
// are validated and lower-cased there (RFC 5464 3.2: case-insensitive).
struct MetadataArgs {
  std::optional<uint64_t> maxsize;   // MAXSIZE n (4.2.1)
  int depth = 0;                     // DEPTH 0 / 1 / infinity (-1) (4.2.2)
  std::vector<std::string> entries;  // GETMETADATA, LIST RETURN (METADATA (...))
  std::vector<std::pair<std::string, std::optional<std::string>>> values;  // SETMETADATA; NIL
};

struct Command {
  std::string tag;
  std::string name;  // upper-case command name ("FETCH" for UID FETCH, uid=true)
  bool uid = false;

  std::vector<std::string> args;   // astrings/mailboxes in order (still modified UTF-7)
  std::vector<std::string> atoms;  // upper-cased atoms: ENABLE caps, STATUS items, options
  std::optional<std::string> initial_response;  // AUTHENTICATE SASL-IR
  SequenceSet set;

  std::vector<FetchAtt> fetch;
  std::optional<uint64_t> changed_since;  // FETCH (CHANGEDSINCE n)
  bool vanished = false;                  // FETCH (... VANISHED)

  SearchKey search;     // an AND of the keys
  std::string charset;  // SEARCH/SORT/THREAD CHARSET (upper-case; "" = none)
  SearchReturn search_return;
  std::vector<std::pair<std::string, bool>> sort;  // SORT criteria, reverse flag

  // STORE
  char store_mode = 0;  // '+', '-' or 0 (replace)
  bool silent = false;
  std::optional<uint64_t> unchanged_since;
  // STORE flags
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  bool has_flag_list = false;
  // APPEND / REPLACE: the messages in order (REPLACE: exactly one, its target in `set`)
  std::vector<AppendMessage> appends;

  // SELECT/EXAMINE (CONDSTORE) / (QRESYNC (uidvalidity modseq [known-uids [seq uids]]))
  bool condstore = false;
  bool qresync = false;
  uint32_t qr_uidvalidity = 0;
  uint64_t qr_modseq = 0;
  std::optional<SequenceSet> qr_known_uids;
  std::optional<std::pair<SequenceSet, SequenceSet>> qr_seq_match;

  // LIST-EXTENDED (RFC 5258) / LIST-STATUS (RFC 5819)
  bool list_extended = false;
  std::vector<std::string> list_select;   // SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE
  std::vector<std::string> list_return;   // SUBSCRIBED CHILDREN SPECIAL-USE STATUS
  std::vector<std::string> status_items;  // STATUS (...) or LIST RETURN (STATUS (...))
  std::vector<std::string> patterns;      // LIST patterns (modified UTF-7)

  std::vector<std::pair<std::string, std::optional<std::string>>> id_params;  // ID
  std::vector<std::string> create_use;  // CREATE (USE (\Sent ...)) RFC 6154
  MetadataArgs metadata;                // GETMETADATA, SETMETADATA, LIST RETURN (METADATA)
  NotifyArgs notify;                    // NOTIFY (RFC 5465; MessageNew's fetch-atts in `fetch`)
};

struct ParseError {
  std::string tag;      // empty when no valid tag could be read (answer "* BAD")
  std::string message;  // client-safe reason
  // A SEARCH/SORT that asked RETURN (SAVE) failed to parse: "$" is emptied (RFC 5182 2.1).
  bool failed_save = false;
};

struct ParseResult {
  std::optional<Command> command;
  ParseError error;
  bool ok() const { return command.has_value(); }
};

// `buffer` is one complete command without the final CRLF.
ParseResult parse_command(std::string_view buffer);

// Parses an IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 3501 9).
std::optional<std::pair<int64_t, int32_t>> parse_date_time(std::string_view text);
// "dd-Mon-yyyy" as days since the epoch.
std::optional<int64_t> parse_date(std::string_view text);

}  // namespace mailroom::imap::proto
