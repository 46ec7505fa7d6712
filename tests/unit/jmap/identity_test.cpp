// Identity/get, /changes, /set (RFC 8621 6) through the real routes: identities from the
// directory and the send-as rule, per-user settings, created identities.
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

class IdentityTest : public JmapTest {
 protected:
  json::object sub1(const std::string& name, const std::string& args) {
    auto res = call("[[\"" + name + "\"," + args + ",\"c\"]]", kSubmissionCaps);
    EXPECT_EQ(res.size(), 1u);
    if (res.empty()) return {};
    EXPECT_EQ(res[0].as_array()[0].as_string(), name) << json::serialize(res[0]);
    return res[0].as_array()[1].as_object();
  }
  // email -> identity object
  std::map<std::string, json::object> identities() {
    auto r = sub1("Identity/get", "{" + acc() + ",\"ids\":null}");
    std::map<std::string, json::object> out;
    for (const auto& v : r.at("list").as_array())
      out[std::string(v.at("email").as_string())] = v.as_object();
    return out;
  }
};

TEST_F(IdentityTest, TheDirectoryAddressesAreIdentitiesWithTheDisplayName) {
  auto all = identities();
  ASSERT_EQ(all.size(), 2u);
  ASSERT_TRUE(all.count("alice@example.com"));
  ASSERT_TRUE(all.count("a.liddell@example.com"));
  const auto& a = all["alice@example.com"];
  EXPECT_EQ(a.at("name").as_string(), "Alice Liddell");
  EXPECT_FALSE(a.at("mayDelete").as_bool());
  EXPECT_TRUE(a.at("replyTo").is_null());
  EXPECT_EQ(a.at("textSignature").as_string(), "");
  // The same ids on every call (stable, derived from the address).
  EXPECT_EQ(identities()["alice@example.com"].at("id"), a.at("id"));
  // Without the submission capability in "using", the method is unknown.
  EXPECT_EQ(call_error("Identity/get", "{" + acc() + "}"), "unknownMethod");
  auto session = json::parse(send("GET", "/.well-known/jmap").body).as_object();
  EXPECT_TRUE(session.at("capabilities").as_object().contains("urn:ietf:params:jmap:submission"));
  EXPECT_EQ(session.at("accounts")
                .at(kAlice)
                .at("accountCapabilities")
                .at("urn:ietf:params:jmap:submission")
                .at("maxDelayedSend")
                .to_number<int>(),
            0);
  // What EmailSubmission can send, less base64's growth.
  EXPECT_EQ(session.at("accounts")
                .at(kAlice)
                .at("accountCapabilities")
                .at("urn:ietf:params:jmap:mail")
                .at("maxSizeAttachmentsPerEmail")
                .to_number<uint64_t>(),
            options_.max_message_size / 4 * 3);
}

TEST_F(IdentityTest, SetChangesTheUsersSettingsAndChangesReportsThem) {
  auto all = identities();
  std::string id(all["alice@example.com"].at("id").as_string());
  auto state = std::string(sub1("Identity/get", "{" + acc() + "}").at("state").as_string());
  auto r = sub1("Identity/set", "{" + acc() + ",\"update\":{\"" + id +
                                    R"(":{"name":"Alice L.","textSignature":"-- \nA",
        "replyTo":[{"name":null,"email":"help@example.com"}]}}})");
  ASSERT_TRUE(r.at("updated").as_object().contains(id)) << json::serialize(r);
  EXPECT_EQ(r.at("oldState").as_string(), state);
  auto a = identities()["alice@example.com"];
  EXPECT_EQ(a.at("name").as_string(), "Alice L.");
  EXPECT_EQ(a.at("textSignature").as_string(), "-- \nA");
  EXPECT_EQ(a.at("replyTo").at(0).at("email").as_string(), "help@example.com");
  auto ch = sub1("Identity/changes", "{" + acc() + ",\"sinceState\":\"" + state + "\"}");
  EXPECT_EQ(json::serialize(ch.at("updated")), "[\"" + id + "\"]");
  EXPECT_TRUE(ch.at("created").as_array().empty());
  // The email is immutable; unknown properties and malformed lists are invalidProperties.
  r = sub1("Identity/set", "{" + acc() + ",\"update\":{\"" + id +
                               R"(":{"email":"x@example.com","bcc":[{"email":"nope"}]}}})");
  auto err = r.at("notUpdated").at(id).as_object();
  EXPECT_EQ(err.at("type").as_string(), "invalidProperties");
  EXPECT_EQ(err.at("properties").as_array().size(), 2u);
  // name null: the directory's name again.
  sub1("Identity/set", "{" + acc() + ",\"update\":{\"" + id + R"(":{"name":null}}})");
  EXPECT_EQ(identities()["alice@example.com"].at("name").as_string(), "Alice Liddell");
  // The settings are on disk with the mailbox, private.
  auto path = dir_ + "/mail/" + kAlice + "/jmap/identities.json";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // ifInState that is not the state: stateMismatch.
  auto res = call(
      "[[\"Identity/set\",{" + acc() + ",\"ifInState\":\"" + state + "\",\"update\":{}},\"c\"]]",
      kSubmissionCaps);
  EXPECT_EQ(res[0].at(1).at("type").as_string(), "stateMismatch");
}

TEST_F(IdentityTest, CreateFollowsTheSendAsRule) {
  auto state = std::string(sub1("Identity/get", "{" + acc() + "}").at("state").as_string());
  auto r = sub1("Identity/set", "{" + acc() + R"(,"create":{
      "a":{"email":"Sales@example.com","name":"Sales"},
      "b":{"email":"bob@example.com"},
      "c":{"email":"someone@elsewhere.example"},
      "d":{"name":"no email"}}})");
  ASSERT_TRUE(r.at("created").as_object().contains("a")) << json::serialize(r);
  std::string sales(r.at("created").at("a").at("id").as_string());
  EXPECT_TRUE(r.at("created").at("a").at("mayDelete").as_bool());
  EXPECT_EQ(r.at("notCreated").at("b").at("type").as_string(), "forbiddenFrom");
  EXPECT_EQ(r.at("notCreated").at("c").at("type").as_string(), "forbiddenFrom");
  EXPECT_EQ(r.at("notCreated").at("d").at("type").as_string(), "invalidProperties");
  auto all = identities();
  ASSERT_TRUE(all.count("sales@example.com"));
  EXPECT_EQ(all["sales@example.com"].at("name").as_string(), "Sales");
  auto ch = sub1("Identity/changes", "{" + acc() + ",\"sinceState\":\"" + state + "\"}");
  EXPECT_EQ(json::serialize(ch.at("created")), "[\"" + sales + "\"]");
  // The directory's identities cannot be destroyed; created ones can.
  std::string primary(all["alice@example.com"].at("id").as_string());
  r = sub1("Identity/set",
           "{" + acc() + ",\"destroy\":[\"" + primary + "\",\"" + sales + "\",\"Inope\"]}");
  EXPECT_EQ(r.at("notDestroyed").at(primary).at("type").as_string(), "forbidden");
  EXPECT_EQ(r.at("notDestroyed").at("Inope").at("type").as_string(), "notFound");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"" + sales + "\"]");
  state = std::string(r.at("oldState").as_string());
  ch = sub1("Identity/changes", "{" + acc() + ",\"sinceState\":\"" + state + "\"}");
  EXPECT_EQ(json::serialize(ch.at("destroyed")), "[\"" + sales + "\"]");
  EXPECT_EQ(identities().count("sales@example.com"), 0u);
}

TEST_F(IdentityTest, DirectoryChangesShowAsChangesAndAnOutageIsServerUnavailable) {
  auto state = std::string(sub1("Identity/get", "{" + acc() + "}").at("state").as_string());
  // No change in the directory: the same state (nothing written).
  EXPECT_EQ(sub1("Identity/get", "{" + acc() + "}").at("state").as_string(), state);
  directory_->account(kAlice)->send_as = {"ceo@example.com"};
  directory_->account(kAlice)->other_addresses.clear();
  auto ch = sub1("Identity/changes", "{" + acc() + ",\"sinceState\":\"" + state + "\"}");
  EXPECT_EQ(ch.at("created").as_array().size(), 1u);
  EXPECT_EQ(ch.at("destroyed").as_array().size(), 1u);
  EXPECT_NE(ch.at("newState").as_string(), state);
  auto all = identities();
  EXPECT_TRUE(all.count("ceo@example.com"));
  EXPECT_FALSE(all.count("a.liddell@example.com"));
  // A state from the future or malformed: cannotCalculateChanges.
  auto res = call("[[\"Identity/changes\",{" + acc() + ",\"sinceState\":\"999\"},\"c\"]]",
                  kSubmissionCaps);
  EXPECT_EQ(res[0].at(1).at("type").as_string(), "cannotCalculateChanges");
  directory_->fail_all = true;
  res = call("[[\"Identity/get\",{" + acc() + "},\"c\"]]", kSubmissionCaps);
  EXPECT_EQ(res[0].at(1).at("type").as_string(), "serverUnavailable");
}

}  // namespace
}  // namespace mailroom::jmap::testing
