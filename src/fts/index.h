// One user's full-text index: a Xapian database under <mail root>/<account id>/fts/
// (src/store/FORMAT.md "Full-text index"; src/fts/README.md for the design).
//
// Documents are message files (keyed by the file's guid, so COPY and MOVE add a location
// instead of indexing the text again); each document carries its locations, one boolean term
// per (UIDVALIDITY, UID), and one term per mailbox (UIDVALIDITY) it is in. Per mailbox the
// index keeps a mark: every UID at or below `uid` and every change up to `modseq` was seen.
//
// Threading: an IndexWriter belongs to one thread at a time; Xapian's lock allows one writer
// per database across processes (open() waits for it). find_candidates() opens its own
// read-only handle and may run on any thread, also while a writer commits.
// Errors: Xapian's exceptions never leave this file; they come back as io_error / busy.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"
#include "src/fts/extract.h"

namespace mailroom::fts {

// <mail_root>/<account_id>/fts
std::string index_dir(const std::string& mail_root, const std::string& account_id);

// What a SEARCH key asks (RFC 3501 6.4.4): BODY searches the body text, TEXT the header and
// the body text.
enum class Scope { body, text };

struct Candidates {
  // UIDs of the mailbox at or below this were all seen by the index (the mark); above it the
  // index knows nothing and the caller must look at the messages themselves.
  uint32_t indexed_through = 0;
  // Of those, the ones that may contain the text (ascending). One not listed surely does not.
  std::vector<uint32_t> uids;
  // false: the index could not narrow (most of the mailbox matches): `uids` is empty and
  // rules nothing out; only `attachment_uids` is meaningful.
  bool narrows = true;
  // UIDs (ascending) whose attachment text (PDF/Office, extracted by the tools and kept in
  // the document) contains the needle as a substring: these match although the text/*
  // matcher, which cannot read those parts, would not find it.
  std::vector<uint32_t> attachment_uids;
};

// The candidates for `folded_needle` (mime::fold_case form) in the mailbox of `uid_validity`.
// nullopt when the index cannot narrow the search: no index or no mark for that mailbox
// yet, or the needle has no term the index can use (see README: words shorter than three
// characters, punctuation only). When more than half of the mailbox's messages would be
// candidates, `narrows` is false (attachment matches only). io_error when the index cannot be
// read.
core::Result<std::optional<Candidates>> find_candidates(const std::string& dir,
                                                        uint32_t uid_validity, Scope scope,
                                                        std::string_view folded_needle);

struct Mark {
  uint32_t uid = 0;
  uint64_t modseq = 0;
};

// Document count, marks and size of an index, read-only; not_found when there is none.
struct IndexSummary {
  uint64_t documents = 0;
  uint64_t bytes = 0;                            // on disk
  std::vector<std::pair<uint32_t, Mark>> marks;  // by UIDVALIDITY
};
core::Result<IndexSummary> summarize(const std::string& dir);

class IndexWriter {
 public:
  // Opens (creating) the database, waiting up to `wait_ms` for another writer's lock (busy
  // after that). `overwrite` starts an empty database (rebuild).
  static core::Result<std::unique_ptr<IndexWriter>> open(const std::string& dir, bool overwrite,
                                                         int wait_ms = 30000);
  ~IndexWriter();

  Mark mark(uint32_t uid_validity);
  void set_mark(uint32_t uid_validity, Mark m);
  std::vector<uint32_t> marked_mailboxes();

  // Adds (uid_validity, uid) to the document of `guid`; false when the index has none.
  bool add_location(const std::string& guid, uint32_t uid_validity, uint32_t uid);
  // Indexes a message's text as a new document at that location.
  void add_message(const std::string& guid, uint32_t uid_validity, uint32_t uid,
                   const MessageText& text);
  // The location is gone (expunge); the document goes with its last location.
  void remove_location(uint32_t uid_validity, uint32_t uid);
  // Every location in that mailbox is gone (the mailbox was deleted), and its mark.
  void forget_mailbox(uint32_t uid_validity);

  core::Status commit();
  uint64_t documents();

  // Any of the calls above may fail inside Xapian; the first failure is kept here (the
  // caller checks after a batch and drops the writer: nothing uncommitted survives).
  const core::Status& error() const { return error_; }

 private:
  struct Impl;
  explicit IndexWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  core::Status error_ = core::Status::ok();
};

}  // namespace mailroom::fts
