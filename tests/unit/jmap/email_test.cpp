// Email/query, /get, /set, /changes, Thread/get and blob download (RFC 8621 3, 4; RFC 8620
// 6.2) against the store, with changes made behind JMAP's back as IMAP makes them.
#include <sys/stat.h>

#include "src/jmap/threads.h"
#include "src/jmap/uploads.h"
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

const char* kMultipart =
    "From: =?UTF-8?B?546L5bCP5piO?= <ming@example.com>\r\n"
    "To: Alice <alice@example.com>, bob@example.com\r\n"
    "Cc: carol@example.com\r\n"
    "Subject: =?UTF-8?B?5pyD6K2w6KiY6YyE?= minutes\r\n"
    "Date: Mon, 2 Jan 2023 10:00:00 +0800\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "References: <r0@example.com> <r1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b1\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: multipart/alternative; boundary=b2\r\n"
    "\r\n"
    "--b2\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "=E4=BB=8A=E5=A4=A9=E9=96=8B=E6=9C=83 agenda=\r\n"
    " items\r\n"
    "--b2\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>agenda</p>\r\n"
    "--b2--\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--b1--\r\n";

std::string simple(const std::string& from, const std::string& subject, const std::string& body) {
  return "From: " + from + "\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\n\r\n" + body +
         "\r\n";
}

std::vector<std::string> ids_of(const json::object& r) {
  std::vector<std::string> out;
  for (const auto& v : r.at("ids").as_array()) out.emplace_back(v.as_string());
  return out;
}

TEST_F(JmapTest, EmailQueryFiltersAsImapSearchDoes) {
  auto a = put("INBOX", kMultipart, 0, 1700000000);
  auto b =
      put("INBOX", simple("bob@example.com", "lunch", "see you at noon"), store::kSeen, 1700000100);
  auto c =
      put("Sent", simple("alice@example.com", "Re: lunch", "sure"), store::kFlagged, 1700000200);
  std::string A = "M" + a.guid, B = "M" + b.guid, C = "M" + c.guid;
  auto q = [&](const std::string& filter, const std::string& extra = "") {
    return ids_of(call1("Email/query", "{" + acc() + ",\"filter\":" + filter + extra + "}"));
  };
  using V = std::vector<std::string>;
  // Default order: newest first.
  EXPECT_EQ(ids_of(call1("Email/query", "{" + acc() + "}")), (V{C, B, A}));
  EXPECT_EQ(q("{\"inMailbox\":\"" + mailbox_id("INBOX") + "\"}"), (V{B, A}));
  EXPECT_EQ(q("{\"inMailboxOtherThan\":[\"" + mailbox_id("INBOX") + "\"]}"), (V{C}));
  EXPECT_EQ(q(R"({"from":"王小明"})"), (V{A}));  // decoded display name, CJK
  EXPECT_EQ(q(R"({"subject":"會議"})"), (V{A}));
  EXPECT_EQ(q(R"({"body":"今天開會"})"), (V{A}));  // quoted-printable UTF-8 body
  EXPECT_EQ(q(R"({"text":"NOON"})"), (V{B}));      // case-insensitive
  EXPECT_EQ(q(R"({"hasKeyword":"$seen"})"), (V{B}));
  EXPECT_EQ(q(R"({"notKeyword":"$seen"})"), (V{C, A}));
  EXPECT_EQ(q(R"({"hasAttachment":true})"), (V{A}));
  EXPECT_EQ(q(R"({"header":["Message-ID","m1@"]})"), (V{A}));
  EXPECT_EQ(q(R"({"after":"2023-11-14T22:14:00Z","before":"2023-11-14T22:16:00Z"})"), (V{B}));
  EXPECT_EQ(q(R"({"operator":"OR","conditions":[{"subject":"lunch"},{"hasAttachment":true}]})"),
            (V{C, B, A}));
  EXPECT_EQ(q(R"({"operator":"NOT","conditions":[{"subject":"lunch"}]})"), (V{A}));
  EXPECT_EQ(q(R"({"minSize":500})"), (V{A}));
  // Sorts, window, total.
  auto r = call1(
      "Email/query",
      "{" + acc() +
          R"(,"sort":[{"property":"size","isAscending":true}],"position":1,"limit":1,"calculateTotal":true})");
  EXPECT_EQ(r.at("total").as_int64(), 3);
  EXPECT_EQ(r.at("ids").as_array().size(), 1u);
  r = call1("Email/query", "{" + acc() + R"(,"sort":[{"property":"subject"}]})");
  EXPECT_EQ(ids_of(r), (V{B, C, A}));  // "lunch" < "Re: lunch" < CJK
  r = call1("Email/query", "{" + acc() + ",\"anchor\":\"" + B + "\",\"anchorOffset\":1}");
  EXPECT_EQ(ids_of(r), (V{A}));
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"filter":{"nope":1}})"),
            "unsupportedFilter");
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"filter":{"before":"yesterday"}})"),
            "invalidArguments");
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"sort":[{"property":"nope"}]})"),
            "unsupportedSort");
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"anchor":"Mnope"})"), "anchorNotFound");
}

TEST_F(JmapTest, EmailGetRendersHeadersBodiesAndParts) {
  auto a = put("INBOX", kMultipart, store::kFlagged, 1700000000);
  std::string id = "M" + a.guid;
  auto r = call1(
      "Email/get",
      "{" + acc() + ",\"ids\":[\"" + id + "\",\"Mnope\"]," +
          R"("properties":["subject","from","to","cc","sentAt","receivedAt","messageId","references","keywords","mailboxIds","threadId","blobId","size","preview","hasAttachment","textBody","htmlBody","attachments","bodyValues","bodyStructure","header:Subject:asText","header:X-None"],"fetchAllBodyValues":true,"maxBodyValueBytes":12})");
  ASSERT_EQ(r.at("list").as_array().size(), 1u) << json::serialize(r);
  EXPECT_EQ(json::serialize(r.at("notFound")), R"(["Mnope"])");
  const auto& e = r.at("list").at(0).as_object();
  EXPECT_EQ(e.at("subject").as_string(), "會議記錄 minutes");
  EXPECT_EQ(e.at("header:Subject:asText").as_string(), "會議記錄 minutes");
  EXPECT_TRUE(e.at("header:X-None").is_null());
  EXPECT_EQ(json::serialize(e.at("from")), R"([{"name":"王小明","email":"ming@example.com"}])");
  EXPECT_EQ(
      json::serialize(e.at("to")),
      R"([{"name":"Alice","email":"alice@example.com"},{"name":null,"email":"bob@example.com"}])");
  EXPECT_EQ(e.at("sentAt").as_string(), "2023-01-02T10:00:00+08:00");
  EXPECT_EQ(e.at("receivedAt").as_string(), "2023-11-14T22:13:20Z");
  EXPECT_EQ(json::serialize(e.at("messageId")), R"(["m1@example.com"])");
  EXPECT_EQ(json::serialize(e.at("references")), R"(["r0@example.com","r1@example.com"])");
  EXPECT_EQ(json::serialize(e.at("keywords")), R"({"$flagged":true})");
  EXPECT_EQ(json::serialize(e.at("mailboxIds")), "{\"" + mailbox_id("INBOX") + "\":true}");
  // The thread of the first References id (threads.h).
  EXPECT_EQ(e.at("threadId").as_string(), thread_id_of("<r0@example.com>", a.guid));
  EXPECT_EQ(e.at("blobId").as_string(), "B" + a.guid);
  EXPECT_TRUE(e.at("hasAttachment").as_bool());
  ASSERT_EQ(e.at("textBody").as_array().size(), 1u);
  EXPECT_EQ(e.at("textBody").at(0).at("partId").as_string(), "1.1");
  EXPECT_EQ(e.at("htmlBody").at(0).at("partId").as_string(), "1.2");
  ASSERT_EQ(e.at("attachments").as_array().size(), 1u);
  EXPECT_EQ(e.at("attachments").at(0).at("name").as_string(), "report.pdf");
  EXPECT_EQ(e.at("attachments").at(0).at("type").as_string(), "application/pdf");
  EXPECT_EQ(e.at("attachments").at(0).at("size").as_int64(), 9);  // decoded "%PDF-1.4\n"
  // Body values: decoded, and cut at 12 octets on a character boundary.
  const auto& v = e.at("bodyValues").at("1.1").as_object();
  EXPECT_EQ(v.at("value").as_string(), "今天開會");
  EXPECT_TRUE(v.at("isTruncated").as_bool());
  EXPECT_FALSE(v.at("isEncodingProblem").as_bool());
  EXPECT_EQ(e.at("bodyValues").at("1.2").at("value").as_string(), "<p>agenda</p");
  const auto& bs = e.at("bodyStructure").as_object();
  EXPECT_EQ(bs.at("type").as_string(), "multipart/mixed");
  EXPECT_TRUE(bs.at("partId").is_null());
  EXPECT_EQ(bs.at("subParts").as_array().size(), 2u);
  EXPECT_FALSE(e.at("preview").as_string().empty());
  // Default properties, and the ids-required rule.
  r = call1("Email/get", "{" + acc() + ",\"ids\":[\"" + id + "\"]}");
  EXPECT_TRUE(r.at("list").at(0).as_object().contains("textBody"));
  EXPECT_EQ(call_error("Email/get", "{" + acc() + "}"), "requestTooLarge");
  EXPECT_EQ(call_error("Email/get", "{" + acc() + R"(,"ids":[],"properties":["header:"]})"),
            "invalidArguments");
}

TEST_F(JmapTest, AMessageWithoutIdsIsAThreadOfItsOwn) {
  auto a = put("INBOX", simple("b@example.com", "x", "y"));
  auto r = call1("Thread/get", "{" + acc() + ",\"ids\":[\"T" + a.guid + "\",\"Tnope\"]}");
  EXPECT_EQ(json::serialize(r.at("list")),
            "[{\"id\":\"T" + a.guid + "\",\"emailIds\":[\"M" + a.guid + "\"]}]");
  EXPECT_EQ(json::serialize(r.at("notFound")), R"(["Tnope"])");
}

// The thread indexes are bounded by their memory, not only by the number of accounts: the
// least recently used go first, one larger than the whole budget is not kept.
TEST_F(JmapTest, ThreadCacheIsBoundedByBytes) {
  for (int i = 0; i < 40; ++i) put("INBOX", simple("b@example.com", "s" + std::to_string(i), "y"));
  const std::string to_bob = simple("a@example.com", "hi bob", "x");
  store::AppendRequest bob_mail;
  bob_mail.mailbox = "INBOX";
  bob_mail.message = to_bob;
  ASSERT_TRUE(services_.store->append("id-bob", bob_mail).is_ok());
  auto alice_boxes = load_mailboxes(*services_.store, kAlice);
  auto bob_boxes = load_mailboxes(*services_.store, "id-bob");
  ASSERT_TRUE(alice_boxes && bob_boxes);

  ThreadCache roomy;
  auto a = roomy.get(*services_.store, kAlice, *alice_boxes);
  auto b = roomy.get(*services_.store, "id-bob", *bob_boxes);
  ASSERT_TRUE(a && b);
  const size_t alice_bytes = (*a)->bytes, bob_bytes = (*b)->bytes;
  EXPECT_GT(alice_bytes, bob_bytes);
  EXPECT_GT(alice_bytes, 40 * 64u);  // 40 Emails, each a guid and a thread id twice
  EXPECT_EQ(roomy.bytes(), alice_bytes + bob_bytes);
  EXPECT_EQ(roomy.entries(), 2u);
  ASSERT_TRUE(roomy.get(*services_.store, kAlice, *alice_boxes));
  EXPECT_EQ(roomy.builds(), 2u);  // kept: not built again

  // Room for alice's index or bob's, not both: the least recently used goes.
  ThreadCache tight(alice_bytes + bob_bytes - 1);
  ASSERT_TRUE(tight.get(*services_.store, kAlice, *alice_boxes));
  ASSERT_TRUE(tight.get(*services_.store, "id-bob", *bob_boxes));
  EXPECT_EQ(tight.entries(), 1u);
  EXPECT_EQ(tight.bytes(), bob_bytes);
  ASSERT_TRUE(tight.get(*services_.store, "id-bob", *bob_boxes));
  EXPECT_EQ(tight.builds(), 2u);  // bob's was kept
  ASSERT_TRUE(tight.get(*services_.store, kAlice, *alice_boxes));
  EXPECT_EQ(tight.builds(), 3u);  // alice's was not
  EXPECT_EQ(tight.bytes(), alice_bytes);

  // An index over the whole budget is answered, not kept.
  ThreadCache tiny(bob_bytes - 1);
  auto again = tiny.get(*services_.store, "id-bob", *bob_boxes);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->members.size(), 1u);
  EXPECT_EQ(tiny.entries(), 0u);
  EXPECT_EQ(tiny.bytes(), 0u);
}

TEST(ThreadRoot, FirstReferenceThenInReplyToThenMessageId) {
  EXPECT_EQ(thread_root("<m@x>", "<p@x>", " <r0@x>\r\n <r1@x>"), "<r0@x>");
  EXPECT_EQ(thread_root("<m@x>", "junk <p@x> <q@x>", ""), "<p@x>");
  EXPECT_EQ(thread_root("<m@x>", "", "no ids here"), "<m@x>");
  EXPECT_EQ(thread_root("", "", ""), "");
  EXPECT_EQ(thread_root("<unclosed", "", "<also"), "");
  EXPECT_EQ(thread_id_of("", "abc"), "Tabc");
  EXPECT_EQ(thread_id_of("<r@x>", "abc"), thread_id_of("<r@x>", "def"));
  EXPECT_EQ(thread_id_of("<r@x>", "abc").size(), 17u);
  EXPECT_NE(thread_id_of("<r@x>", "abc"), thread_id_of("<s@x>", "abc"));
}

std::string threaded_message(const std::string& subject, const std::string& id,
                             const std::string& refs) {
  return "From: bob@example.com\r\nTo: alice@example.com\r\nSubject: " + subject +
         "\r\nMessage-ID: " + id + "\r\n" +
         (refs.empty() ? ""
                       : "In-Reply-To: " + refs.substr(refs.rfind('<')) +
                             "\r\nReferences: " + refs + "\r\n") +
         "\r\nbody\r\n";
}

TEST_F(JmapTest, ConversationsByReferencesInThreadGetQueryAndChanges) {
  auto root = put("INBOX", threaded_message("plan", "<p1@x>", ""), 0, 1700000000);
  auto other = put("INBOX", simple("c@example.com", "other", "z"), 0, 1700000050);
  auto r1 = put("INBOX", threaded_message("Re: plan", "<p2@x>", "<p1@x>"), 0, 1700000100);
  auto sent = put("Sent", threaded_message("Re: plan", "<p3@x>", "<p1@x> <p2@x>"), 0, 1700000200);
  std::string T = thread_id_of("<p1@x>", "");
  auto e = call1("Email/get", "{" + acc() + ",\"ids\":[\"M" + sent.guid + "\",\"M" + other.guid +
                                  "\"],\"properties\":[\"threadId\"]}");
  EXPECT_EQ(e.at("list").at(0).at("threadId").as_string(), T);
  EXPECT_EQ(e.at("list").at(1).at("threadId").as_string(), "T" + other.guid);
  std::string s0(e.at("state").as_string());
  // RFC 8621 3: the thread's Emails across mailboxes, oldest first.
  auto t = call1("Thread/get", "{" + acc() + ",\"ids\":[\"" + T + "\"]}");
  EXPECT_EQ(json::serialize(t.at("list").at(0).at("emailIds")),
            "[\"M" + root.guid + "\",\"M" + r1.guid + "\",\"M" + sent.guid + "\"]");
  // collapseThreads keeps the first Email of each thread in the sorted list: the general
  // path (every mailbox) and the web client's folder list (list_order.h).
  auto q = call1("Email/query", "{" + acc() + R"(,"collapseThreads":true,"calculateTotal":true})");
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"M" + sent.guid, "M" + other.guid}));
  EXPECT_EQ(q.at("total").as_int64(), 2);
  q = call1(
      "Email/query",
      "{" + acc() + ",\"filter\":{\"inMailbox\":\"" + mailbox_id("INBOX") +
          R"("},"sort":[{"property":"receivedAt"}],"collapseThreads":true,"calculateTotal":true})");
  EXPECT_EQ(ids_of(q), (std::vector<std::string>{"M" + root.guid, "M" + other.guid}));
  q = call1("Email/query", "{" + acc() + ",\"filter\":{\"inMailbox\":\"" + mailbox_id("INBOX") +
                               R"("},"collapseThreads":false})");
  EXPECT_EQ(q.at("ids").as_array().size(), 3u);
  // A new reply updates the thread; a new message of its own creates one.
  auto r3 =
      put("INBOX", threaded_message("Re: plan", "<p4@x>", "<p1@x> <p2@x> <p3@x>"), 0, 1700000300);
  auto lone = put("INBOX", simple("d@example.com", "lone", "w"), 0, 1700000400);
  auto c = call1("Thread/changes", "{" + acc() + ",\"sinceState\":\"" + s0 + "\"}");
  EXPECT_EQ(json::serialize(c.at("updated")), "[\"" + T + "\"]");
  EXPECT_EQ(json::serialize(c.at("created")), "[\"T" + lone.guid + "\"]");
  t = call1("Thread/get", "{" + acc() + ",\"ids\":[\"" + T + "\"]}");
  EXPECT_EQ(t.at("list").at(0).at("emailIds").as_array().size(), 4u);
  (void)r3;
}

TEST_F(JmapTest, EmailSetChangesKeywordsAndMailboxesInTheStore) {
  auto a = put("INBOX", simple("b@example.com", "x", "y"), store::kDeleted);
  std::string id = "M" + a.guid;
  auto r = call1("Email/set", "{" + acc() + ",\"update\":{\"" + id +
                                  R"(":{"keywords/$seen":true,"keywords/$Work":true}}})");
  EXPECT_TRUE(r.at("updated").as_object().contains(id)) << json::serialize(r);
  auto snap = services_.store->snapshot(kAlice, "INBOX");
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->messages.size(), 1u);
  EXPECT_EQ(snap->messages[0].flags, store::kSeen | store::kDeleted);  // \Deleted kept
  EXPECT_EQ(snap->messages[0].keywords, std::vector<std::string>{"$work"});
  EXPECT_EQ(snap->messages[0].seen_via, "jmap");
  // Replace all keywords.
  call1("Email/set",
        "{" + acc() + ",\"update\":{\"" + id + R"(":{"keywords":{"$flagged":true}}}})");
  snap = services_.store->snapshot(kAlice, "INBOX");
  EXPECT_EQ(snap->messages[0].flags, store::kFlagged | store::kDeleted);
  EXPECT_TRUE(snap->messages[0].keywords.empty());
  // Move INBOX -> Trash, then copy into Sent too: one Email, same id.
  std::string inbox = mailbox_id("INBOX"), trash = mailbox_id("Trash"), sent = mailbox_id("Sent");
  r = call1("Email/set", "{" + acc() + ",\"update\":{\"" + id + "\":{\"mailboxIds\":{\"" + trash +
                             "\":true}}}}");
  EXPECT_TRUE(r.at("updated").as_object().contains(id)) << json::serialize(r);
  EXPECT_EQ(services_.store->mailbox_status(kAlice, "INBOX")->messages, 0u);
  EXPECT_EQ(services_.store->mailbox_status(kAlice, "Trash")->messages, 1u);
  call1("Email/set",
        "{" + acc() + ",\"update\":{\"" + id + "\":{\"mailboxIds/" + sent + "\":true}}}");
  r = call1("Email/get",
            "{" + acc() + ",\"ids\":[\"" + id + "\"],\"properties\":[\"mailboxIds\"]}");
  EXPECT_EQ(r.at("list").at(0).at("mailboxIds").as_object().size(), 2u);
  // Errors.
  r = call1("Email/set", "{" + acc() + ",\"update\":{\"" + id +
                             R"(":{"mailboxIds":{}},"Mnope":{"keywords":{}}}})");
  EXPECT_EQ(r.at("notUpdated").at(id).at("type").as_string(), "invalidProperties");
  EXPECT_EQ(r.at("notUpdated").at("Mnope").at("type").as_string(), "notFound");
  r = call1("Email/set", "{" + acc() + ",\"update\":{\"" + id + R"(":{"subject":"new"}}})");
  EXPECT_EQ(r.at("notUpdated").at(id).at("type").as_string(), "invalidProperties");
  r = call1("Email/set", "{" + acc() + R"(,"create":{"k":{}}})");
  EXPECT_EQ(r.at("notCreated").at("k").at("type").as_string(), "forbidden");
  // Destroy removes every copy.
  r = call1("Email/set", "{" + acc() + ",\"destroy\":[\"" + id + "\"]}");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"" + id + "\"]");
  EXPECT_EQ(services_.store->mailbox_status(kAlice, "Trash")->messages, 0u);
  EXPECT_EQ(services_.store->mailbox_status(kAlice, "Sent")->messages, 0u);
}

TEST_F(JmapTest, EmailChangesSeeStoreChangesAtOnce) {
  auto a = put("INBOX", simple("b@example.com", "x", "y"));
  auto r = call1("Email/get", "{" + acc() + R"(,"ids":[]})");
  std::string s0(r.at("state").as_string());
  // A flag set as IMAP STORE sets it.
  store::StoreFlagsRequest req;
  req.uids = {a.uid};
  req.flags = store::kSeen;
  req.origin = "imap";
  ASSERT_TRUE(services_.store->store_flags(kAlice, "INBOX", req));
  r = call1("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s0 + "\"}");
  EXPECT_EQ(json::serialize(r.at("updated")), "[\"M" + a.guid + "\"]");
  EXPECT_EQ(json::serialize(r.at("created")), "[]");
  std::string s1(r.at("newState").as_string());
  EXPECT_NE(s1, s0);
  // New mail, and a copy of the old message (an update of it, not a creation).
  auto b = put("INBOX", simple("c@example.com", "z", "w"));
  ASSERT_TRUE(services_.store->copy(kAlice, "INBOX", {a.uid}, "Sent", {}));
  r = call1("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s1 + "\"}");
  EXPECT_EQ(json::serialize(r.at("created")), "[\"M" + b.guid + "\"]");
  EXPECT_EQ(json::serialize(r.at("updated")), "[\"M" + a.guid + "\"]");
  r = call1("Thread/changes", "{" + acc() + ",\"sinceState\":\"" + s1 + "\"}");
  EXPECT_EQ(json::serialize(r.at("created")), "[\"T" + b.guid + "\"]");
  std::string s2(r.at("newState").as_string());
  // Nothing changed since.
  r = call1("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s2 + "\"}");
  EXPECT_EQ(r.at("created").as_array().size() + r.at("updated").as_array().size(), 0u);
  // An expunge as IMAP makes it: the Email is destroyed; a move is an update of the Email.
  ASSERT_TRUE(services_.store->expunge(kAlice, "INBOX", {b.uid}));
  ASSERT_TRUE(services_.store->move(kAlice, "INBOX", {a.uid}, "Trash"));
  r = call1("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s2 + "\"}");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"M" + b.guid + "\"]");
  EXPECT_EQ(json::serialize(r.at("updated")), "[\"M" + a.guid + "\"]");
  EXPECT_EQ(json::serialize(r.at("created")), "[]");
  std::string s3(r.at("newState").as_string());
  r = call1("Thread/changes", "{" + acc() + ",\"sinceState\":\"" + s2 + "\"}");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"T" + b.guid + "\"]");
  // One copy of two removed: an update. Then the last one: destroyed.
  ASSERT_TRUE(services_.store->expunge(kAlice, "Sent", {1}));
  r = call1("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s3 + "\"}");
  EXPECT_EQ(json::serialize(r.at("updated")), "[\"M" + a.guid + "\"]");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[]");
  std::string s4(r.at("newState").as_string());
  ASSERT_TRUE(services_.store->expunge(kAlice, "Trash", {1}));
  r = call1("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s4 + "\"}");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"M" + a.guid + "\"]");
  // A deleted mailbox that held mail leaves no tombstones: the client must resync.
  auto c = put("Drafts", simple("d@example.com", "draft", "x"));
  (void)c;
  r = call1("Email/get", "{" + acc() + R"(,"ids":[]})");
  std::string s5(r.at("state").as_string());
  ASSERT_TRUE(services_.store->delete_mailbox(kAlice, "Drafts"));
  EXPECT_EQ(call_error("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s5 + "\"}"),
            "cannotCalculateChanges");
  EXPECT_EQ(call_error("Email/changes", "{" + acc() + R"(,"sinceState":"e,zz"})"),
            "cannotCalculateChanges");
  EXPECT_EQ(
      call_error("Email/changes", "{" + acc() + ",\"sinceState\":\"" + s4 + "\",\"maxChanges\":0}"),
      "invalidArguments");
}

TEST_F(JmapTest, BlobsDownloadWholeMessagesAndDecodedParts) {
  auto a = put("INBOX", kMultipart);
  auto r = send("GET", "/jmap/download/id-alice/B" + a.guid + "/m.eml?type=message/rfc822");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kMultipart);
  EXPECT_EQ(r.header("Content-Type").value_or(""), "message/rfc822");
  r = send("GET", "/jmap/download/id-alice/B" + a.guid + ".2/report.pdf?type=application/pdf");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "%PDF-1.4\n");
  EXPECT_NE(r.header("Content-Disposition").value_or("").find("attachment"), std::string::npos);
  // The user's mail is kept by no cache (it would outlive a sign-out in the browser's).
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "private, no-store");
  EXPECT_EQ(send("GET", "/jmap/download/id-bob/B" + a.guid + "/x").status, 404);
  EXPECT_EQ(send("GET", "/jmap/download/id-alice/B" + a.guid + ".9/x").status, 404);
  EXPECT_EQ(send("GET", "/jmap/download/id-alice/Bzz/x").status, 404);
  EXPECT_EQ(send("GET", "/jmap/download/id-alice/B" + a.guid + "/x", "", "alice:bad").status, 401);
}

// The web client's attachment list and preview (web/src/attachments.ts): names decoded from
// RFC 2231 and RFC 2047, downloads never rendered as documents of our origin, inline only for
// images and PDF whose bytes are what the type says.
TEST_F(JmapTest, AttachmentsHaveDecodedNamesAndSafeDownloads) {
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "rest";
  const std::string msg =
      "From: a@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"dot.png\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      core::base64_encode(png) +
      "\r\n"
      "--b\r\nContent-Type: text/html\r\n"
      "Content-Disposition: attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A%22%2F.html\r\n\r\n"
      "<script>alert(1)</script>\r\n"
      "--b\r\nContent-Type: image/png; name=\"=?UTF-8?B?5YGHLnBuZw==?=\"\r\n"
      "Content-Disposition: attachment\r\n\r\n"
      "<html><script>alert(2)</script></html>\r\n"
      "--b--\r\n";
  auto a = put("INBOX", msg);
  auto r =
      call1("Email/get",
            "{" + acc() + ",\"ids\":[\"M" + a.guid +
                R"("],"properties":["attachments"],"bodyProperties":["partId","name","type"]})");
  EXPECT_EQ(json::serialize(r.at("list").as_array()[0].at("attachments")),
            R"([{"partId":"2","name":"dot.png","type":"image/png"},)"
            R"({"partId":"3","name":"報告\"/.html","type":"text/html"},)"
            R"({"partId":"4","name":"假.png","type":"image/png"}])");
  const std::string base = "/jmap/download/id-alice/B" + a.guid;
  // A real PNG inline: shown, and still sandboxed, nosniff, same-origin only.
  auto d = send("GET", base + ".2/dot.png?type=image/png&disposition=inline");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.body, png);
  EXPECT_EQ(d.header("Content-Type").value_or(""), "image/png");
  EXPECT_EQ(d.header("Content-Disposition").value_or(""),
            "inline; filename=\"dot.png\"; filename*=UTF-8''dot.png");
  EXPECT_EQ(d.header("X-Content-Type-Options").value_or(""), "nosniff");
  EXPECT_EQ(d.header("Cross-Origin-Resource-Policy").value_or(""), "same-origin");
  EXPECT_TRUE(d.header("Content-Security-Policy").value_or("").starts_with("sandbox;"));
  // HTML is never inline, whatever the client asks; the name keeps no quote or slash.
  d = send("GET", base + ".3/%E5%A0%B1%E5%91%8A%22%2F.html?type=text/html&disposition=inline");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.header("Content-Disposition").value_or(""),
            "attachment; filename=\"______.html\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.html");
  EXPECT_TRUE(d.header("Content-Security-Policy").value_or("").starts_with("sandbox;"));
  // An "image/png" that holds HTML (a content type lie): a download, never shown.
  d = send("GET", base + ".4/x.png?type=image/png&disposition=inline");
  EXPECT_TRUE(d.header("Content-Disposition").value_or("").starts_with("attachment;"));
  // SVG and types with parameters: never inline.
  d = send("GET", base + ".2/x.svg?type=image/svg%2Bxml&disposition=inline");
  EXPECT_TRUE(d.header("Content-Disposition").value_or("").starts_with("attachment;"));
  d = send("GET", base + ".2/x.png?type=IMAGE/PNG;x=1&disposition=inline");
  EXPECT_EQ(d.header("Content-Type").value_or(""), "image/png");
  EXPECT_TRUE(d.header("Content-Disposition").value_or("").starts_with("inline;"));
  // A PDF inline gets no sandbox (browsers refuse to run their viewer in one).
  auto m = put("INBOX", kMultipart);
  d = send("GET", "/jmap/download/id-alice/B" + m.guid +
                      ".2/r.pdf?type=application/pdf&disposition=inline");
  EXPECT_TRUE(d.header("Content-Disposition").value_or("").starts_with("inline;"));
  EXPECT_EQ(d.header("Content-Security-Policy").value_or("").find("sandbox"), std::string::npos);
  EXPECT_EQ(d.header("X-Content-Type-Options").value_or(""), "nosniff");
}

TEST_F(JmapTest, UploadedBlobsAreImportedIntoMailboxes) {
  std::string msg = simple("z@example.com", "imported 匯入", "body");
  auto r = send("POST", "/jmap/upload/id-alice", msg, "alice:wonderland", "message/rfc822");
  ASSERT_EQ(r.status, 201) << r.body;
  auto up = json::parse(r.body).as_object();
  std::string blob(up.at("blobId").as_string());
  EXPECT_EQ(up.at("size").to_number<uint64_t>(), msg.size());
  EXPECT_EQ(up.at("type").as_string(), "message/rfc822");
  // Private files; another account's upload URL is not found.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/jmap-uploads/id-alice/" + blob).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(send("POST", "/jmap/upload/id-bob", "x").status, 404);
  EXPECT_EQ(send("GET", "/jmap/download/id-alice/" + blob + "/x").body, msg);
  std::string inbox = mailbox_id("INBOX"), sent = mailbox_id("Sent");
  r = send(
      "POST", "/jmap/api",
      std::string("{\"using\":") + kMailCaps +
          R"(,"methodCalls":[["Email/import",{"accountId":"id-alice","emails":{)"
          R"("a":{"blobId":")" +
          blob + R"(","mailboxIds":{")" + inbox + R"(":true,")" + sent +
          R"(":true},"keywords":{"$Seen":true,"$work":true},"receivedAt":"2024-05-06T07:08:09Z"},)"
          R"("b":{"blobId":"U00000000000000000000000000000000","mailboxIds":{")" +
          inbox +
          R"(":true}},)"
          R"("c":{"blobId":")" +
          blob +
          R"(","mailboxIds":{"Fnope":true}}}},"i"],)"
          R"(["Email/get",{"accountId":"id-alice","ids":["#a"],"properties":["subject","mailboxIds","keywords","receivedAt"]},"g"]]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto res = json::parse(r.body).at("methodResponses").as_array();
  const auto& imp = res[0].at(1).as_object();
  ASSERT_TRUE(imp.at("created").is_object()) << r.body;
  std::string id(imp.at("created").at("a").at("id").as_string());
  EXPECT_EQ(imp.at("notCreated").at("b").at("type").as_string(), "blobNotFound");
  EXPECT_EQ(imp.at("notCreated").at("c").at("type").as_string(), "invalidProperties");
  const auto& e = res[1].at(1).at("list").at(0).as_object();
  EXPECT_EQ(e.at("subject").as_string(), "imported 匯入");
  EXPECT_EQ(e.at("mailboxIds").as_object().size(), 2u);
  EXPECT_EQ(json::serialize(e.at("keywords")), R"({"$seen":true,"$work":true})");
  EXPECT_EQ(e.at("receivedAt").as_string(), "2024-05-06T07:08:09Z");
  auto snap = services_.store->snapshot(kAlice, "Sent");
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->messages.size(), 1u);
  EXPECT_EQ("M" + snap->messages[0].guid, id);
  EXPECT_EQ(snap->messages[0].flags, store::kSeen);
}

// A draft save is an upload and an import (web/src/compose.ts): an imported upload no longer
// counts against the pending uploads (uploads.h), so saves never run out; it stays readable
// by its id for an hour, at most kMaxImportedPerAccount of them. Pending ones still do.
TEST_F(JmapTest, ImportedUploadsAreReleasedFromTheUploadAllowance) {
  std::string drafts = mailbox_id("Drafts");
  const std::string upload_dir = dir_ + "/jmap-uploads/id-alice";
  auto count = [&](bool released) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(upload_dir))
      n += e.path().filename().string().ends_with(".i") == released;
    return n;
  };
  std::string first, newest, previous;
  for (size_t i = 0; i < kMaxUploadsPerAccount + 6; ++i) {
    auto r = send("POST", "/jmap/upload/id-alice",
                  simple("z@example.com", "draft", "v" + std::to_string(i)), "alice:wonderland",
                  "message/rfc822");
    ASSERT_EQ(r.status, 201) << i << " " << r.body;
    std::string blob(json::parse(r.body).at("blobId").as_string());
    if (first.empty()) first = blob;
    newest = blob;
    std::string calls = R"([["Email/import",{"accountId":"id-alice","emails":{"d":{"blobId":")" +
                        blob + R"(","mailboxIds":{")" + drafts +
                        R"(":true},"keywords":{"$draft":true}}}},"i"])";
    if (!previous.empty())
      calls += R"(,["Email/set",{"accountId":"id-alice","destroy":[")" + previous + R"("]},"x"])";
    auto res = call(calls + "]");
    ASSERT_FALSE(res.empty());
    const auto& created = res[0].at(1).at("created");
    ASSERT_TRUE(created.is_object()) << i << " " << json::serialize(res[0]);
    previous = std::string(created.at("d").at("id").as_string());
  }
  EXPECT_EQ(services_.store->snapshot(kAlice, "Drafts")->messages.size(), 1u);
  EXPECT_EQ(count(false), 0u);
  EXPECT_EQ(count(true), kMaxImportedPerAccount);  // the oldest released ones went
  EXPECT_EQ(send("GET", "/jmap/download/id-alice/" + first + "/x").status, 404);
  // The newest released one is still readable by its id, and may be imported again.
  EXPECT_EQ(send("GET", "/jmap/download/id-alice/" + newest + "/x").status, 200);
  auto again = call1("Email/import", "{" + acc() + R"(,"emails":{"a":{"blobId":")" + newest +
                                         R"(","mailboxIds":{")" + drafts + R"(":true}}}})");
  EXPECT_TRUE(again.at("created").is_object()) << json::serialize(again);
  // Pending uploads (never imported) still stop at the allowance.
  for (size_t i = 0; i < kMaxUploadsPerAccount; ++i) {
    auto r = send("POST", "/jmap/upload/id-alice", "x", "alice:wonderland", "text/plain");
    ASSERT_EQ(r.status, 201) << i;
  }
  EXPECT_EQ(send("POST", "/jmap/upload/id-alice", "x", "alice:wonderland", "text/plain").status,
            413);
}

}  // namespace
}  // namespace mailroom::jmap::testing
