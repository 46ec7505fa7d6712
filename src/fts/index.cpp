// The Xapian side of the full-text index (index.h).
//
// Terms: B body, H header (both from mime::fold_case()d text, CJK as unigrams and bigrams by
// Xapian's FLAG_CJK_NGRAM, no positions: SEARCH verifies every candidate with its own matcher,
// so phrase positions would only cost space), S subject, F from, T to, C cc, Y bcc (for JMAP's
// field filters later), Q<guid> the message file, M<uidvalidity> a mailbox it is in,
// L<uidvalidity>:<uid> a location, XA: the document has attachment text, which is also
// indexed under B and kept folded in value slot kAttachmentSlot for SEARCH's verification.
// Metadata "mark:<uidvalidity>" = "<uid> <modseq>".
#include "src/fts/index.h"

#include <xapian.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <thread>

#include "src/mime/facts.h"

namespace mailroom::fts {
namespace {

constexpr Xapian::valueno kAttachmentSlot = 0;
constexpr const char* kHasAttachmentText = "XA";

constexpr Xapian::termcount kMaxWildcardExpansion = 10000;

std::string mailbox_term(uint32_t uv) { return "M" + std::to_string(uv); }
std::string location_prefix(uint32_t uv) { return "L" + std::to_string(uv) + ":"; }
std::string location_term(uint32_t uv, uint32_t uid) {
  return location_prefix(uv) + std::to_string(uid);
}
std::string mark_key(uint32_t uv) { return "mark:" + std::to_string(uv); }

Mark parse_mark(const std::string& v) {
  Mark m;
  size_t sp = v.find(' ');
  if (sp == std::string::npos) return m;
  std::from_chars(v.data(), v.data() + sp, m.uid);
  std::from_chars(v.data() + sp + 1, v.data() + v.size(), m.modseq);
  return m;
}

// The UIDs a document has in mailbox `uv`.
std::vector<uint32_t> locations_in(const Xapian::Document& doc, uint32_t uv) {
  std::vector<uint32_t> out;
  std::string prefix = location_prefix(uv);
  auto it = doc.termlist_begin();
  it.skip_to(prefix);
  for (; it != doc.termlist_end(); ++it) {
    const std::string& t = *it;
    if (t.compare(0, prefix.size(), prefix) != 0) break;
    uint32_t uid = 0;
    std::from_chars(t.data() + prefix.size(), t.data() + t.size(), uid);
    out.push_back(uid);
  }
  return out;
}

bool has_any_location(const Xapian::Document& doc) {
  auto it = doc.termlist_begin();
  it.skip_to("L");
  return it != doc.termlist_end() && (*it)[0] == 'L';
}

bool is_cjk_term(const std::string& term) {
  // Xapian's n-grams are made of CJK characters only; their first code point is >= U+2E80.
  Xapian::Utf8Iterator it(term);
  return it != Xapian::Utf8Iterator() && *it >= 0x2E80;
}

Xapian::TermGenerator generator() {
  Xapian::TermGenerator g;
  g.set_flags(Xapian::TermGenerator::FLAG_CJK_NGRAM);
  return g;
}

// The needle's terms, as the generator makes them from the indexed text.
std::vector<std::string> needle_terms(std::string_view needle) {
  Xapian::Document d;
  auto g = generator();
  g.set_document(d);
  g.index_text_without_positions(std::string(needle));
  std::vector<std::string> out;
  for (auto it = d.termlist_begin(); it != d.termlist_end(); ++it) out.push_back(*it);
  return out;
}

// One needle term as a query over the scope's prefixes: CJK n-grams exactly (the text's
// n-grams include every n-gram of any substring of it); other words as prefixes (a word of
// the needle may be the start of a longer one in the text); words shorter than three
// characters are left to the verifying matcher (they narrow little and expand to many terms).
std::optional<Xapian::Query> term_query(const std::string& term, Scope scope) {
  bool cjk = is_cjk_term(term);
  if (!cjk) {
    size_t chars = 0;
    for (Xapian::Utf8Iterator it(term); it != Xapian::Utf8Iterator(); ++it) ++chars;
    if (chars < 3) return std::nullopt;
  }
  std::vector<Xapian::Query> parts;
  for (const char* prefix : {"B", "H"}) {
    if (scope == Scope::body && prefix[0] == 'H') continue;
    std::string t = prefix + term;
    if (cjk)
      parts.emplace_back(t);
    else
      parts.emplace_back(Xapian::Query::OP_WILDCARD, t, kMaxWildcardExpansion,
                         Xapian::Query::WILDCARD_LIMIT_ERROR);
  }
  return Xapian::Query(Xapian::Query::OP_OR, parts.begin(), parts.end());
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

}  // namespace

std::string index_dir(const std::string& mail_root, const std::string& account_id) {
  return mail_root + "/" + account_id + "/fts";
}

core::Result<std::optional<Candidates>> find_candidates(const std::string& dir,
                                                        uint32_t uid_validity, Scope scope,
                                                        std::string_view folded_needle) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/iamglass", ec)) return std::optional<Candidates>();
  try {
    Xapian::Database db(dir);
    Mark mark = parse_mark(db.get_metadata(mark_key(uid_validity)));
    if (mark.uid == 0) return std::optional<Candidates>();
    std::vector<Xapian::Query> terms;
    for (const auto& t : needle_terms(folded_needle)) {
      if (auto q = term_query(t, scope)) terms.push_back(std::move(*q));
    }
    if (terms.empty()) return std::optional<Candidates>();
    Xapian::Query q(Xapian::Query::OP_AND, terms.begin(), terms.end());
    q = Xapian::Query(Xapian::Query::OP_FILTER, q, Xapian::Query(mailbox_term(uid_validity)));
    Xapian::Enquire enquire(db);
    enquire.set_query(q);
    enquire.set_weighting_scheme(Xapian::BoolWeight());
    enquire.set_docid_order(Xapian::Enquire::ASCENDING);
    Candidates out;
    out.indexed_through = mark.uid;
    Xapian::MSet matches;
    Xapian::MSet with_attachments;
    try {
      matches = enquire.get_mset(0, std::max<Xapian::doccount>(db.get_doccount(), 1));
      // Candidates with attachment text: their kept text is matched here, as a substring
      // (the same folded form as SEARCH's matcher), so an index hit is never taken on trust.
      Xapian::Enquire att(db);
      att.set_query(Xapian::Query(Xapian::Query::OP_FILTER, q, Xapian::Query(kHasAttachmentText)));
      att.set_weighting_scheme(Xapian::BoolWeight());
      att.set_docid_order(Xapian::Enquire::ASCENDING);
      with_attachments = att.get_mset(0, std::max<Xapian::doccount>(db.get_doccount(), 1));
    } catch (const Xapian::WildcardError&) {
      return std::optional<Candidates>();  // a prefix too common to narrow anything
    }
    for (auto it = with_attachments.begin(); it != with_attachments.end(); ++it) {
      Xapian::Document d = it.get_document();
      if (d.get_value(kAttachmentSlot).find(folded_needle) == std::string::npos) continue;
      for (uint32_t uid : locations_in(d, uid_validity)) {
        if (uid <= mark.uid) out.attachment_uids.push_back(uid);
      }
    }
    std::sort(out.attachment_uids.begin(), out.attachment_uids.end());
    out.attachment_uids.erase(std::unique(out.attachment_uids.begin(), out.attachment_uids.end()),
                              out.attachment_uids.end());
    // When most of the mailbox may match, the index does not narrow enough to pay for
    // reading every candidate's locations: the caller's scan is as fast.
    if (matches.size() * 2 > db.get_termfreq(mailbox_term(uid_validity))) {
      out.narrows = false;
      return std::optional<Candidates>(std::move(out));
    }
    for (auto it = matches.begin(); it != matches.end(); ++it) {
      for (uint32_t uid : locations_in(it.get_document(), uid_validity)) {
        if (uid <= mark.uid) out.uids.push_back(uid);
      }
    }
    std::sort(out.uids.begin(), out.uids.end());
    out.uids.erase(std::unique(out.uids.begin(), out.uids.end()), out.uids.end());
    return std::optional<Candidates>(std::move(out));
  } catch (const Xapian::Error& e) {
    return core::io_error("full-text index unreadable", dir + ": " + e.get_description());
  }
}

core::Result<IndexSummary> summarize(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/iamglass", ec)) return core::not_found("no index");
  try {
    Xapian::Database db(dir);
    IndexSummary s;
    s.documents = db.get_doccount();
    s.bytes = dir_bytes(dir);
    for (auto it = db.metadata_keys_begin("mark:"); it != db.metadata_keys_end("mark:"); ++it) {
      const std::string& k = *it;
      uint32_t uv = 0;
      std::from_chars(k.data() + 5, k.data() + k.size(), uv);
      s.marks.emplace_back(uv, parse_mark(db.get_metadata(k)));
    }
    return s;
  } catch (const Xapian::Error& e) {
    return core::io_error("full-text index unreadable", dir + ": " + e.get_description());
  }
}

// --- writer ---------------------------------------------------------------------------------

struct IndexWriter::Impl {
  Xapian::WritableDatabase db;
  Xapian::TermGenerator gen = generator();
};

IndexWriter::IndexWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IndexWriter::~IndexWriter() {
  if (!impl_) return;
  try {
    impl_->db.close();  // uncommitted changes are dropped (Xapian commits only on commit())
  } catch (const Xapian::Error&) {
  }
}

core::Result<std::unique_ptr<IndexWriter>> IndexWriter::open(const std::string& dir, bool overwrite,
                                                             int wait_ms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    try {
      auto impl = std::make_unique<Impl>();
      impl->db = Xapian::WritableDatabase(
          dir, overwrite ? Xapian::DB_CREATE_OR_OVERWRITE : Xapian::DB_CREATE_OR_OPEN);
      return std::unique_ptr<IndexWriter>(new IndexWriter(std::move(impl)));
    } catch (const Xapian::DatabaseLockError& e) {
      if (std::chrono::steady_clock::now() >= deadline)
        return core::Status::error(core::Code::busy, "full-text index busy",
                                   dir + ": " + e.get_description());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const Xapian::Error& e) {
      return core::io_error("cannot open the full-text index", dir + ": " + e.get_description());
    }
  }
}

#define FTS_GUARD(body)                                                             \
  try {                                                                             \
    body;                                                                           \
  } catch (const Xapian::Error& e) {                                                \
    if (error_.is_ok())                                                             \
      error_ = core::io_error("full-text index write failed", e.get_description()); \
  }

Mark IndexWriter::mark(uint32_t uv) {
  Mark m;
  FTS_GUARD(m = parse_mark(impl_->db.get_metadata(mark_key(uv))));
  return m;
}

void IndexWriter::set_mark(uint32_t uv, Mark m) {
  FTS_GUARD(
      impl_->db.set_metadata(mark_key(uv), std::to_string(m.uid) + " " + std::to_string(m.modseq)));
}

std::vector<uint32_t> IndexWriter::marked_mailboxes() {
  std::vector<uint32_t> out;
  FTS_GUARD({
    auto& db = impl_->db;
    for (auto it = db.metadata_keys_begin("mark:"); it != db.metadata_keys_end("mark:"); ++it) {
      uint32_t uv = 0;
      const std::string& k = *it;
      std::from_chars(k.data() + 5, k.data() + k.size(), uv);
      out.push_back(uv);
    }
  });
  return out;
}

bool IndexWriter::add_location(const std::string& guid, uint32_t uv, uint32_t uid) {
  bool found = false;
  FTS_GUARD({
    auto& db = impl_->db;
    auto p = db.postlist_begin("Q" + guid);
    if (p != db.postlist_end("Q" + guid)) {
      found = true;
      Xapian::Document doc = db.get_document(*p);
      doc.add_boolean_term(mailbox_term(uv));
      doc.add_boolean_term(location_term(uv, uid));
      db.replace_document(*p, doc);
    }
  });
  return found;
}

void IndexWriter::add_message(const std::string& guid, uint32_t uv, uint32_t uid,
                              const MessageText& text) {
  FTS_GUARD({
    Xapian::Document doc;
    doc.set_data(guid);
    doc.add_boolean_term("Q" + guid);
    doc.add_boolean_term(mailbox_term(uv));
    doc.add_boolean_term(location_term(uv, uid));
    auto& g = impl_->gen;
    g.set_document(doc);
    auto index = [&](const std::string& s, const char* prefix) {
      if (!s.empty()) g.index_text_without_positions(mime::fold_case(s), 1, prefix);
    };
    index(text.subject, "S");
    index(text.from, "F");
    index(text.to, "T");
    index(text.cc, "C");
    index(text.bcc, "Y");
    index(text.header, "H");
    index(text.body, "B");
    if (!text.attachments.empty()) {
      std::string folded = mime::fold_case(text.attachments);
      g.index_text_without_positions(folded, 1, "B");
      doc.add_value(kAttachmentSlot, folded);
      doc.add_boolean_term(kHasAttachmentText);
    }
    impl_->db.replace_document("Q" + guid, doc);
  });
}

void IndexWriter::remove_location(uint32_t uv, uint32_t uid) {
  FTS_GUARD({
    auto& db = impl_->db;
    std::string term = location_term(uv, uid);
    std::vector<Xapian::docid> ids;
    for (auto p = db.postlist_begin(term); p != db.postlist_end(term); ++p) ids.push_back(*p);
    for (Xapian::docid id : ids) {
      Xapian::Document doc = db.get_document(id);
      doc.remove_term(term);
      if (locations_in(doc, uv).empty()) doc.remove_term(mailbox_term(uv));
      if (has_any_location(doc))
        db.replace_document(id, doc);
      else
        db.delete_document(id);
    }
  });
}

void IndexWriter::forget_mailbox(uint32_t uv) {
  FTS_GUARD({
    auto& db = impl_->db;
    std::string mterm = mailbox_term(uv);
    std::vector<Xapian::docid> ids;
    for (auto p = db.postlist_begin(mterm); p != db.postlist_end(mterm); ++p) ids.push_back(*p);
    for (Xapian::docid id : ids) {
      Xapian::Document doc = db.get_document(id);
      for (uint32_t uid : locations_in(doc, uv)) doc.remove_term(location_term(uv, uid));
      doc.remove_term(mterm);
      if (has_any_location(doc))
        db.replace_document(id, doc);
      else
        db.delete_document(id);
    }
    db.set_metadata(mark_key(uv), "");
  });
}

core::Status IndexWriter::commit() {
  if (!error_.is_ok()) return error_;
  FTS_GUARD(impl_->db.commit());
  return error_;
}

uint64_t IndexWriter::documents() {
  uint64_t n = 0;
  FTS_GUARD(n = impl_->db.get_doccount());
  return n;
}

#undef FTS_GUARD

}  // namespace mailroom::fts
