#include "auth/sync/ad_resume.h"

#include <gtest/gtest.h>

namespace mailroom::auth::sync {
namespace {

const DcIdentity kDc1{"6f1e2a9c-0b7d-4f57-9d8e-1a2b3c4d5e6f", 5000, "DC=corp,DC=example"};

TEST(AdResume, SameDcResumesFromTheMark) {
  EXPECT_EQ(decide_resume("4000", kDc1.invocation_id, kDc1), Resume::changes);
  EXPECT_EQ(decide_resume("5000", kDc1.invocation_id, kDc1), Resume::changes);
}

TEST(AdResume, InvocationIdComparedWithoutCase) {
  EXPECT_EQ(decide_resume("4000", "6F1E2A9C-0B7D-4F57-9D8E-1A2B3C4D5E6F", kDc1), Resume::changes);
}

TEST(AdResume, NoMarkMeansFull) {
  EXPECT_EQ(decide_resume("", kDc1.invocation_id, kDc1), Resume::no_mark);
  EXPECT_EQ(decide_resume("12x", kDc1.invocation_id, kDc1), Resume::no_mark);
}

TEST(AdResume, AnotherDcMeansFull) {
  DcIdentity dc2 = kDc1;
  dc2.invocation_id = "00000000-1111-2222-3333-444444444444";
  dc2.highest_usn = 900000;  // a higher USN on another DC says nothing
  EXPECT_EQ(decide_resume("4000", kDc1.invocation_id, dc2), Resume::other_dc);
}

TEST(AdResume, MarkOfUnknownOriginOnAnAdDcMeansFull) {
  EXPECT_EQ(decide_resume("4000", "", kDc1), Resume::other_dc);
}

TEST(AdResume, UsnBelowTheMarkOnTheSameDcMeansFull) {
  EXPECT_EQ(decide_resume("6000", kDc1.invocation_id, kDc1), Resume::usn_rollback);
}

TEST(AdResume, ServersThatAreNotAdKeepTheSeenMark) {
  DcIdentity slapd;
  EXPECT_EQ(decide_resume("1004", "", slapd), Resume::changes);
  EXPECT_EQ(decide_resume("1004", kDc1.invocation_id, slapd), Resume::other_dc);
}

}  // namespace
}  // namespace mailroom::auth::sync
