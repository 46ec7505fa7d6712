// rspamd's /checkv2 answer (src/filter/rspamd_reply.h): strict reading of real and hostile
// bodies, the X-Spam-* header fields, the verdict per policy and bulk headers.
#include "src/filter/rspamd_reply.h"

#include <gtest/gtest.h>

#include <string>

namespace mailroom::filter {
namespace {

// What rspamd 3.4 answered for GTUBE (trimmed).
constexpr const char* kGtube = R"({"is_skipped":true,"score":15.0,"required_score":15.0,
  "action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0,"metric_score":0.0}},
  "messages":{"smtp_message":"Gtube pattern"},"message-id":"1@example.org","time_real":0.5})";

constexpr const char* kBulk = R"({"is_skipped":false,"score":3.49,"required_score":15.0,
  "action":"no action","symbols":{
    "RDNS_NONE":{"name":"RDNS_NONE","score":1.0,"description":"Cannot resolve reverse DNS"},
    "PRECEDENCE_BULK":{"name":"PRECEDENCE_BULK","score":0.0},
    "HAS_LIST_UNSUB":{"name":"HAS_LIST_UNSUB","score":-0.01},
    "ONCE_RECEIVED":{"name":"ONCE_RECEIVED","score":0.1,"options":["x"]}},
  "milter":{"add_headers":{"X-Foo":"bar"}},"urls":[],"emails":[]})";

TEST(RspamdReply, ReadsGtube) {
  auto r = parse_rspamd_reply(kGtube);
  ASSERT_TRUE(r) << r.status().log_detail();
  EXPECT_DOUBLE_EQ(r->score, 15.0);
  EXPECT_DOUBLE_EQ(r->required_score, 15.0);
  EXPECT_EQ(r->action, "reject");
  EXPECT_TRUE(r->is_skipped);
  ASSERT_EQ(r->symbols.size(), 1u);
  EXPECT_EQ(r->symbols[0].name, "GTUBE");
  EXPECT_EQ(r->smtp_message, "Gtube pattern");
}

TEST(RspamdReply, SortsSymbolsByScoreThenName) {
  auto r = parse_rspamd_reply(kBulk);
  ASSERT_TRUE(r) << r.status().log_detail();
  ASSERT_EQ(r->symbols.size(), 4u);
  EXPECT_EQ(r->symbols[0].name, "RDNS_NONE");
  EXPECT_EQ(r->symbols[1].name, "ONCE_RECEIVED");
  EXPECT_EQ(r->symbols[2].name, "PRECEDENCE_BULK");
  EXPECT_EQ(r->symbols[3].name, "HAS_LIST_UNSUB");
  EXPECT_TRUE(r->has_symbol("PRECEDENCE_BULK"));
  EXPECT_FALSE(r->has_symbol("GTUBE"));
}

TEST(RspamdReply, IntegerScoresAndNoSymbols) {
  auto r = parse_rspamd_reply(R"({"score":7,"required_score":15,"action":"add header"})");
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->score, 7);
  EXPECT_TRUE(r->symbols.empty());
}

TEST(RspamdReply, RefusesHostileOrBrokenBodies) {
  const char* bad[] = {
      "",
      "null",
      "[1,2]",
      "{\"score\":1",                                              // truncated
      R"({"error":"Request has no body"})",                        // rspamd's error
      R"({"required_score":15,"action":"reject"})",                // no score
      R"({"score":"15","required_score":15,"action":"reject"})",   // string score
      R"({"score":1e400,"required_score":15,"action":"reject"})",  // not finite
      R"({"score":2e6,"required_score":15,"action":"reject"})",    // out of bounds
      R"({"score":1,"required_score":15,"action":"explode"})",     // unknown action
      R"({"score":1,"required_score":15,"action":7})",             // action type
      R"({"score":1,"required_score":15,"action":"reject","is_skipped":"yes"})",
      R"({"score":1,"required_score":15,"action":"reject","symbols":[]})",
      R"({"score":1,"required_score":15,"action":"reject","symbols":{"A B":{"score":1}}})",
      R"({"score":1,"required_score":15,"action":"reject","symbols":{"X\r\nY":{"score":1}}})",
      R"({"score":1,"required_score":15,"action":"reject","symbols":{"":{"score":1}}})",
      R"({"score":1,"required_score":15,"action":"reject","symbols":{"A":1}})",
      R"({"score":1,"required_score":15,"action":"reject","symbols":{"A":{"score":"1"}}})",
  };
  for (const char* body : bad) {
    auto r = parse_rspamd_reply(body);
    EXPECT_FALSE(r) << body;
    if (!r) EXPECT_EQ(r.code(), core::Code::invalid_argument) << body;
  }
  std::string deep(100, '[');
  EXPECT_FALSE(parse_rspamd_reply(deep + std::string(100, ']')));
  std::string long_name = R"({"score":1,"required_score":15,"action":"reject","symbols":{")" +
                          std::string(kMaxSymbolName + 1, 'A') + R"(":{"score":1}}})";
  EXPECT_FALSE(parse_rspamd_reply(long_name));
  EXPECT_FALSE(parse_rspamd_reply(std::string(kMaxReplyBytes + 1, ' ')));
}

TEST(RspamdReply, SmtpMessageIsMadePrintable) {
  auto r = parse_rspamd_reply(
      R"({"score":1,"required_score":15,"action":"reject","messages":{"smtp_message":"a\r\nb"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->smtp_message, "a??b");
}

TEST(SpamHeaders, FlagScoreStatusAndSymbols) {
  auto r = parse_rspamd_reply(kBulk);
  ASSERT_TRUE(r);
  SpamPolicy p;
  auto h = spam_headers(*r, p);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"X-Spam-Flag", "NO"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"X-Spam-Score", "3.49"}));
  EXPECT_EQ(h[2],
            (std::pair<std::string, std::string>{"X-Spam-Status", "No, score=3.49 required=6.00"}));
  EXPECT_EQ(h[3].first, "X-Spam-Symbols");
  EXPECT_EQ(h[3].second,
            "RDNS_NONE(1.00), ONCE_RECEIVED(0.10), PRECEDENCE_BULK(0.00), HAS_LIST_UNSUB(-0.01)");
  p.junk_score = 3;
  h = spam_headers(*r, p);
  EXPECT_EQ(h[0].second, "YES");
  EXPECT_EQ(h[2].second, "Yes, score=3.49 required=3.00");
}

TEST(SpamHeaders, SymbolsAreCappedOnOneLine) {
  std::string body = R"({"score":1,"required_score":15,"action":"no action","symbols":{)";
  for (int i = 0; i < 500; ++i) {
    if (i) body += ",";
    body += "\"SYMBOL_NUMBER_" + std::to_string(i) + "\":{\"score\":0.5}";
  }
  body += "}}";
  auto r = parse_rspamd_reply(body);
  ASSERT_TRUE(r);
  SpamPolicy p;
  auto h = spam_headers(*r, p);
  ASSERT_EQ(h.back().first, "X-Spam-Symbols");
  const std::string& v = h.back().second;
  EXPECT_LE(v.size(), p.symbols_header_bytes);
  EXPECT_TRUE(v.ends_with(", ...")) << v;
  EXPECT_EQ(v.find('\r'), std::string::npos);
  p.symbols_header_bytes = 40;
  auto small = spam_headers(*r, p);
  EXPECT_LE(small.back().second.size(), 40u);
}

TEST(DecideSpam, RejectJunkAdsAccept) {
  SpamPolicy p;  // junk 6, reject 15
  auto gtube = parse_rspamd_reply(kGtube);
  ASSERT_TRUE(gtube);
  EXPECT_EQ(decide_spam(*gtube, p, false).action, ContentAction::reject);
  auto mid = parse_rspamd_reply(R"({"score":8.5,"required_score":15,"action":"add header"})");
  ASSERT_TRUE(mid);
  auto v = decide_spam(*mid, p, true);  // spam wins over ads
  EXPECT_EQ(v.action, ContentAction::junk);
  EXPECT_FALSE(v.add_headers.empty());
  auto bulk = parse_rspamd_reply(kBulk);
  ASSERT_TRUE(bulk);
  EXPECT_EQ(decide_spam(*bulk, p, false).action, ContentAction::ads);  // by the symbol
  auto clean = parse_rspamd_reply(R"({"score":0.5,"required_score":15,"action":"no action"})");
  ASSERT_TRUE(clean);
  EXPECT_EQ(decide_spam(*clean, p, false).action, ContentAction::accept);
  EXPECT_EQ(decide_spam(*clean, p, true).action, ContentAction::ads);  // by the headers
  p.ads = false;
  EXPECT_EQ(decide_spam(*clean, p, true).action, ContentAction::accept);
  p.add_headers = false;
  EXPECT_TRUE(decide_spam(*mid, p, false).add_headers.empty());
}

TEST(DecideSpam, MergedPolicyIsTheMostLenient) {
  SpamPolicy strict;
  strict.junk_score = 3;
  strict.reject_score = 8;
  SpamPolicy lax;
  lax.junk_score = 10;
  lax.reject_score = 20;
  lax.ads = false;
  auto m = merge_policies({&strict, &lax});
  EXPECT_DOUBLE_EQ(m.junk_score, 10);
  EXPECT_DOUBLE_EQ(m.reject_score, 20);
  EXPECT_FALSE(m.ads);
  EXPECT_DOUBLE_EQ(merge_policies({&strict}).reject_score, 8);
}

TEST(AuthSettings, MailAuthResultsBecomeRspamdSymbols) {
  EXPECT_EQ(rspamd_auth_settings("mail.example.com; spf=pass smtp.mailfrom=a.example; "
                                 "dkim=fail header.d=a.example; dkim=pass header.d=a.example; "
                                 "dmarc=pass header.from=a.example"),
            "{groups_disabled = [\"spf\", \"dkim\", \"dmarc\"]; symbols = [\"R_SPF_ALLOW\", "
            "\"R_DKIM_ALLOW\", \"DMARC_POLICY_ALLOW\"]}");
  EXPECT_EQ(rspamd_auth_settings("mx; SPF=SoftFail smtp.mailfrom=b.example;\r\n\tdkim=none; "
                                 "dmarc=fail (p=reject) header.from=b.example"),
            "{groups_disabled = [\"spf\", \"dkim\", \"dmarc\"]; symbols = [\"R_SPF_SOFTFAIL\", "
            "\"R_DKIM_NA\", \"DMARC_POLICY_REJECT\"]}");
  EXPECT_EQ(rspamd_auth_settings("mx; dmarc=fail (p=quarantine) header.from=c.example"),
            "{groups_disabled = [\"dmarc\"]; symbols = [\"DMARC_POLICY_QUARANTINE\"]}");
  EXPECT_EQ(rspamd_auth_settings("mx; spf=temperror"),
            "{groups_disabled = [\"spf\"]; symbols = [\"R_SPF_DNSFAIL\"]}");
  // Nothing usable: no header, no results, unknown methods or results, injection attempts.
  EXPECT_EQ(rspamd_auth_settings(""), "");
  EXPECT_EQ(rspamd_auth_settings("mx; none"), "");
  EXPECT_EQ(rspamd_auth_settings("mx; arc=pass; spf=\"]}; x = 1"), "");
  EXPECT_EQ(rspamd_auth_settings("mx; spf=passed"), "");
}

TEST(BulkHeaders, ListUnsubscribeAndPrecedence) {
  EXPECT_TRUE(has_bulk_headers("From: a@x\r\nList-Unsubscribe: <mailto:u@x>\r\n\r\nbody"));
  EXPECT_TRUE(has_bulk_headers("Subject: s\r\nPrecedence:  Bulk \r\n\r\n"));
  EXPECT_TRUE(has_bulk_headers("Precedence: list\n\n"));
  EXPECT_FALSE(has_bulk_headers("Precedence: first-class\r\n\r\n"));
  // In the body, not the header block: not bulk.
  EXPECT_FALSE(has_bulk_headers("From: a@x\r\n\r\nList-Unsubscribe: <mailto:u@x>\r\n"));
  EXPECT_FALSE(has_bulk_headers(""));
}

}  // namespace
}  // namespace mailroom::filter
