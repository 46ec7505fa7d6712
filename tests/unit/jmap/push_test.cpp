// JMAP push by EventSource (RFC 8620 7.3): the URL's parameters on raw query strings, and the
// stream the route answers, rendered by hand as the HTTP server renders it after a store
// change (tests/unit/http/stream_test.cpp drives the server side).
#include "src/http/stream.h"
#include "src/jmap/push_params.h"
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

TEST(EventSourceParams, Table) {
  struct Case {
    const char* query;
    bool ok;
    std::vector<std::string> types;
    bool close;
    uint32_t ping;
  };
  const std::vector<std::string> all = {"Mailbox",         "Email",    "Thread",
                                        "EmailDelivery",   "Identity", "EmailSubmission",
                                        "VacationResponse"};
  const Case cases[] = {
      {"types=*&closeafter=no&ping=0", true, all, false, 0},
      {"", true, all, false, 0},
      {"types=Email&closeafter=state&ping=30", true, {"Email"}, true, 30},
      {"types=EmailDelivery,Email,Nope&ping=5", true, {"Email", "EmailDelivery"}, false, 5},
      {"types=Email%2CMailbox&closeafter=no&ping=0", true, {"Mailbox", "Email"}, false, 0},
      {"types=Email,Email&x=1&&", true, {"Email"}, false, 0},
      {"types=VacationResponse,Identity,EmailSubmission",
       true,
       {"Identity", "EmailSubmission", "VacationResponse"},
       false,
       0},
      {"ping=999999999", true, all, false, kMaxPing},
      {"types=Nope", false, {}, false, 0},
      {"types=", false, {}, false, 0},
      {"types=*&types=Email", false, {}, false, 0},
      {"closeafter=maybe", false, {}, false, 0},
      {"ping=-1", false, {}, false, 0},
      {"ping=", false, {}, false, 0},
      {"ping=1e3", false, {}, false, 0},
      {"ping=1234567890", false, {}, false, 0},
      {"types=%zz&ping=3", true, all, false, 3},  // a malformed pair is dropped
  };
  for (const auto& c : cases) {
    std::string error;
    auto p = parse_event_source_params(c.query, error);
    ASSERT_EQ(p.has_value(), c.ok) << c.query << " " << error;
    if (!p) {
      EXPECT_FALSE(error.empty()) << c.query;
      continue;
    }
    EXPECT_EQ(p->types, c.types) << c.query;
    EXPECT_EQ(p->close_after_state, c.close) << c.query;
    EXPECT_EQ(p->ping, c.ping) << c.query;
  }
  std::string error;
  EXPECT_FALSE(parse_event_source_params(std::string(5000, 'a'), error));
}

class PushTest : public JmapTest {
 protected:
  std::shared_ptr<http::Stream> open(const std::string& query,
                                     std::vector<std::pair<std::string, std::string>> extra = {}) {
    http::Request r;
    r.method = "GET";
    r.path = "/jmap/eventsource/";
    r.query = query;
    r.headers = {{"host", "mail.example.com"},
                 {"authorization", "Basic " + core::base64_encode("alice:wonderland")}};
    for (auto& h : extra) r.headers.push_back(h);
    r.loopback = true;
    auto m = router_.match("GET", r.path);
    EXPECT_TRUE(m.route);
    last_ = m.route->handler(r);
    EXPECT_EQ(last_.status, 200) << last_.body;
    EXPECT_EQ(last_.header("content-type").value_or(""), "text/event-stream; charset=utf-8");
    opened_.push_back(last_.stream);
    return last_.stream;
  }
  void TearDown() override {
    for (auto& s : opened_)
      if (s && s->on_close) s->on_close();  // as the server does: the watch goes
    JmapTest::TearDown();
  }
  // The "changed" object of a rendered state event for alice, or null when nothing was sent.
  static json::value changed(const http::Stream::Chunk& c) {
    if (c.bytes.empty()) return nullptr;
    EXPECT_EQ(c.bytes.rfind("event: state\nid: ", 0), 0u) << c.bytes;
    auto data = c.bytes.find("\ndata: ");
    EXPECT_NE(data, std::string::npos);
    EXPECT_TRUE(c.bytes.ends_with("\n\n"));
    auto v = json::parse(c.bytes.substr(data + 7));
    EXPECT_EQ(v.at("@type").as_string(), "StateChange");
    return v.at("changed").at(kAlice);
  }
  std::string state(const char* method) {
    return std::string(call1(method, "{" + acc() + R"(,"ids":[]})").at("state").as_string());
  }

  http::Response last_;
  std::vector<std::shared_ptr<http::Stream>> opened_;
};

TEST_F(PushTest, SessionNamesTheUrl) {
  auto r = send("GET", "/.well-known/jmap");
  auto s = json::parse(r.body).as_object();
  EXPECT_EQ(s.at("eventSourceUrl").as_string(),
            "http://mail.example.com/jmap/eventsource/"
            "?types={types}&closeafter={closeafter}&ping={ping}");
}

TEST_F(PushTest, StoreChangesNotifyAndRenderTheNewStates) {
  auto s = open("types=*&closeafter=no&ping=0");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->account_id, kAlice);
  EXPECT_FALSE(s->render_at_start);
  EXPECT_EQ(s->heartbeat_text, ":\n\n");   // no ping asked: a comment keeps the line alive
  EXPECT_TRUE(s->render().bytes.empty());  // nothing changed since the baseline
  EXPECT_FALSE(s->take_dirty());
  auto a = put("INBOX", "Subject: x\r\n\r\ny\r\n");
  EXPECT_TRUE(s->take_dirty());  // the account-wide watch (MailStore::watch with "")
  auto c = changed(s->render());
  EXPECT_EQ(c.at("Email").as_string(), state("Email/get"));
  EXPECT_EQ(c.at("Thread").as_string(), state("Email/get"));
  EXPECT_EQ(c.at("Mailbox").as_string(), state("Mailbox/get"));
  EXPECT_TRUE(c.as_object().contains("EmailDelivery"));
  EXPECT_TRUE(changed(s->render()).is_null());  // reported once
  // A flag: Email (and Thread) move, EmailDelivery does not.
  store::StoreFlagsRequest req;
  req.uids = {a.uid};
  req.flags = store::kFlagged;
  req.origin = "imap";
  ASSERT_TRUE(services_.store->store_flags(kAlice, "INBOX", req));
  c = changed(s->render());
  EXPECT_EQ(c.at("Email").as_string(), state("Email/get"));
  EXPECT_FALSE(c.as_object().contains("EmailDelivery"));
  // A new mailbox: Mailbox moves.
  ASSERT_TRUE(services_.store->create_mailbox(kAlice, "Projects", store::SpecialUse::none).is_ok());
  EXPECT_TRUE(s->take_dirty());
  c = changed(s->render());
  EXPECT_EQ(c.at("Mailbox").as_string(), state("Mailbox/get"));
  EXPECT_FALSE(c.as_object().contains("Email"));
  // Closed: the watch is gone.
  s->on_close();
  s->take_dirty();
  put("INBOX", "Subject: z\r\n\r\ny\r\n");
  EXPECT_FALSE(s->take_dirty());
}

// RFC 8620 7.1: the states of the objects the store does not keep are pushed too, when the
// methods that change them write (record_watch.h); a store change does not report them.
TEST_F(PushTest, IdentitySubmissionAndVacationChangesPushTheirStates) {
  const char* caps =
      R"(["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail",)"
      R"("urn:ietf:params:jmap:submission","urn:ietf:params:jmap:vacationresponse"])";
  auto one = [&](const std::string& name, const std::string& args) {
    auto r = call("[[\"" + name + "\"," + args + ",\"c\"]]", caps);
    EXPECT_EQ(r.size() >= 1 ? std::string(r[0].at(0).as_string()) : "", name) << json::serialize(r);
    return r.empty() ? json::object{} : r[0].at(1).as_object();
  };
  auto state_of = [&](const char* method) {
    return std::string(one(method, "{" + acc() + "}").at("state").as_string());
  };
  // The identities exist once a /get has synchronised them with the directory.
  auto identities = one("Identity/get", "{" + acc() + "}").at("list").as_array();
  std::string me;
  for (const auto& i : identities)
    if (i.at("email").as_string() == "alice@example.com") me = std::string(i.at("id").as_string());
  ASSERT_FALSE(me.empty());
  auto s = open("types=*&closeafter=no&ping=0");
  auto only_email = open("types=Email&closeafter=no&ping=0");
  EXPECT_TRUE(s->render().bytes.empty());

  one("Identity/set", "{" + acc() + R"(,"update":{")" + me + R"(":{"name":"Alice L."}}})");
  EXPECT_TRUE(s->take_dirty());
  EXPECT_FALSE(only_email->take_dirty());  // it asked for no record type: no record watch
  auto c = changed(s->render());
  EXPECT_EQ(c.as_object().size(), 1u) << json::serialize(c);
  EXPECT_EQ(c.at("Identity").as_string(), state_of("Identity/get"));

  one("VacationResponse/set",
      "{" + acc() + R"(,"update":{"singleton":{"isEnabled":true,"textBody":"away"}}})");
  EXPECT_TRUE(s->take_dirty());
  c = changed(s->render());
  EXPECT_EQ(c.as_object().size(), 1u) << json::serialize(c);
  EXPECT_EQ(c.at("VacationResponse").as_string(), state_of("VacationResponse/get"));

  // A submission: EmailSubmission moves, and the store's states with the sent copy.
  std::string draft = "M" + put("Drafts",
                                "From: alice@example.com\r\nTo: bob@example.com\r\n"
                                "Subject: hi\r\n\r\nhello\r\n",
                                store::kDraft)
                                .guid;
  changed(s->render());  // the draft's own Email change
  auto sub = one("EmailSubmission/set", "{" + acc() + R"(,"create":{"k":{"identityId":")" + me +
                                            R"(","emailId":")" + draft + R"("}}})");
  ASSERT_TRUE(sub.at("created").is_object()) << json::serialize(sub);
  c = changed(s->render());
  EXPECT_EQ(c.at("EmailSubmission").as_string(), state_of("EmailSubmission/get"));
  EXPECT_FALSE(c.as_object().contains("Identity"));
  EXPECT_FALSE(c.as_object().contains("VacationResponse"));

  // A store change alone reports no record type.
  put("INBOX", "Subject: x\r\n\r\ny\r\n");
  c = changed(s->render());
  EXPECT_TRUE(c.as_object().contains("Email"));
  EXPECT_FALSE(c.as_object().contains("EmailSubmission"));
  // Closed: the record watch is gone.
  s->on_close();
  s->take_dirty();
  one("VacationResponse/set", "{" + acc() + R"(,"update":{"singleton":{"isEnabled":false}}})");
  EXPECT_FALSE(s->take_dirty());
}

TEST_F(PushTest, TypesPingCloseAfterAndLastEventId) {
  auto s = open("types=EmailDelivery&closeafter=state&ping=99999");
  EXPECT_EQ(s->heartbeat, std::chrono::seconds(kMaxPing));
  EXPECT_EQ(s->heartbeat_text, "event: ping\ndata: {\"interval\":3600}\n\n");
  put("INBOX", "Subject: x\r\n\r\ny\r\n");
  auto chunk = s->render();
  EXPECT_TRUE(chunk.last);  // closeafter=state
  auto c = changed(chunk);
  EXPECT_EQ(c.as_object().size(), 1u);
  EXPECT_TRUE(c.as_object().contains("EmailDelivery"));
  auto id_at = chunk.bytes.find("id: ") + 4;
  std::string id = chunk.bytes.substr(id_at, chunk.bytes.find('\n', id_at) - id_at);
  // Reconnecting with that id: nothing new, nothing sent at once.
  auto again = open("types=EmailDelivery&closeafter=state&ping=0", {{"last-event-id", id}});
  EXPECT_FALSE(again->render_at_start);
  // After another delivery the old id differs: every requested state is sent at once.
  put("INBOX", "Subject: w\r\n\r\ny\r\n");
  auto late = open("types=EmailDelivery,Email&closeafter=no&ping=0", {{"last-event-id", id}});
  EXPECT_TRUE(late->render_at_start);
  c = changed(late->render());
  EXPECT_EQ(c.as_object().size(), 2u);
  EXPECT_EQ(c.at("Email").as_string(), state("Email/get"));
}

TEST_F(PushTest, RefusalsAndRechecks) {
  auto r = send("GET", "/jmap/eventsource/?types=*", "", std::nullopt, "");
  EXPECT_EQ(r.status, 401);
  EXPECT_FALSE(r.stream);
  r = send("GET", "/jmap/eventsource/?types=*", "", "alice:wrong", "");
  EXPECT_EQ(r.status, 401);
  r = send("GET", "/jmap/eventsource/?types=Nope", "", "alice:wonderland", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(r.stream);
  // Basic: the directory's account status is rechecked.
  auto s = open("types=*");
  ASSERT_TRUE(s->still_allowed);
  EXPECT_EQ(s->recheck, std::chrono::seconds(30));
  EXPECT_TRUE(s->still_allowed());
  directory_->fail_all = true;  // a directory that cannot answer keeps the stream
  EXPECT_TRUE(s->still_allowed());
  directory_->fail_all = false;
  directory_->account(kAlice)->status = auth::AccountStatus::disabled;
  EXPECT_FALSE(s->still_allowed());
}

}  // namespace
}  // namespace mailroom::jmap::testing
