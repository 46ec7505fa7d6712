// SORT from a kept order (src/imap/sort_order.h): sort_order_from() gives exactly what a fresh
// sort_order() gives after expunges, new mail, both, and over other criteria; the order of a
// subset is the whole order with the rest left out; SortOrderCache's bound and LRU.
#include "src/imap/sort_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace mailroom::imap {
namespace {

// A mailbox of `n` messages whose keys collide often (shared prefixes longer than the 24
// octets kept inline, equal subjects, equal dates and sizes), some with no record at all.
struct Mailbox {
  std::vector<uint32_t> uids;
  std::vector<std::string> records;  // "" for a message without a record
  std::vector<int64_t> dates;
  std::vector<uint64_t> sizes;

  void add(uint32_t uid, std::mt19937& rng, bool with_record = true) {
    KeyFields f;
    static const char* kSubjects[] = {"", "A", "[LIST] WEEKLY STATUS REPORT OF THE TEAM ",
                                      "[LIST] WEEKLY STATUS REPORT OF THE TEAM 2", "B\xC3\x89"};
    f.texts[static_cast<size_t>(KeyText::base_subject)] =
        std::string(kSubjects[rng() % 5]) + (rng() % 2 ? std::to_string(rng() % 4) : "");
    f.texts[static_cast<size_t>(KeyText::sort_from)] = "USER" + std::to_string(rng() % 3);
    f.texts[static_cast<size_t>(KeyText::sort_cc)] = rng() % 3 ? "" : "CC";
    f.has_sent_date = rng() % 4 != 0;
    f.sent_date = static_cast<int64_t>(rng() % 5) - 2;
    uids.push_back(uid);
    records.push_back(with_record ? encode_key_record(f) : std::string());
    dates.push_back(static_cast<int64_t>(rng() % 6) - 3);
    sizes.push_back(rng() % 3);
  }
  void expunge(size_t i) {
    uids.erase(uids.begin() + static_cast<ptrdiff_t>(i));
    records.erase(records.begin() + static_cast<ptrdiff_t>(i));
    dates.erase(dates.begin() + static_cast<ptrdiff_t>(i));
    sizes.erase(sizes.begin() + static_cast<ptrdiff_t>(i));
  }
  std::vector<SortInput> inputs() const {
    std::vector<SortInput> in;
    for (size_t i = 0; i < uids.size(); ++i)
      in.push_back(
          {records[i].empty() ? KeyRecord() : KeyRecord(records[i].data()), dates[i], sizes[i]});
    return in;
  }
  std::vector<uint32_t> uids_of(const std::vector<uint32_t>& positions) const {
    std::vector<uint32_t> out;
    for (uint32_t p : positions) out.push_back(uids[p]);
    return out;
  }
};

SortInputOf of(const std::vector<SortInput>& in) {
  return [&in](uint32_t i) { return in.at(i); };
}

const std::vector<SortCriteria> kCriteria = {
    {{"SUBJECT", false}},
    {{"SUBJECT", true}},
    {{"REVERSE", false}, {"DATE", true}},
    {{"FROM", false}, {"DATE", false}},
    {{"CC", true}, {"SIZE", false}, {"ARRIVAL", true}},
    {{"TO", false}},
    {{"NONSENSE", false}},
    {},
};

TEST(SortOrderFrom, SameAsAFreshSortAfterExpungesAndNewMail) {
  for (const auto& criteria : kCriteria) {
    for (uint32_t seed = 1; seed <= 12; ++seed) {
      std::mt19937 rng(seed);
      Mailbox box;
      uint32_t next = 1;
      for (int i = 0; i < 400; ++i) box.add(next++, rng);
      std::vector<uint32_t> kept = box.uids_of(sort_order(box.inputs(), criteria));
      for (int round = 0; round < 8; ++round) {
        // Expunges (none, a few, many), then new mail (none, one, a few, more than n / 32),
        // sometimes with a UID gap; the kept order comes from the round before.
        size_t expunges = round % 4 == 0 ? 0 : round % 4 == 3 ? 60 : 1 + rng() % 5;
        for (size_t e = 0; e < expunges && !box.uids.empty(); ++e)
          box.expunge(rng() % box.uids.size());
        size_t added = round % 3 == 0 ? 0 : round == 4 ? 40 : 1 + rng() % 6;
        if (round == 5) next += 5000;  // sparse UIDs: bisection instead of the dense table
        for (size_t a = 0; a < added; ++a) box.add(next++, rng);
        auto in = box.inputs();
        std::vector<uint32_t> fresh = sort_order(in, criteria);
        bool unchanged = true;
        std::vector<uint32_t> merged =
            sort_order_from(box.uids, of(in), criteria, kept, &unchanged);
        EXPECT_EQ(unchanged, added == 0 && expunges == 0);
        ASSERT_EQ(merged, fresh) << sort_criteria_key(criteria) << " seed " << seed << " round "
                                 << round;
        kept = box.uids_of(merged);
      }
    }
  }
}

TEST(SortOrderFrom, KeptOrderOfAnotherSetOfUidsAndEdges) {
  std::mt19937 rng(7);
  Mailbox box;
  for (uint32_t uid = 10; uid < 200; uid += 3) box.add(uid, rng);
  auto in = box.inputs();
  SortCriteria subject = {{"SUBJECT", false}};
  std::vector<uint32_t> fresh = sort_order(in, subject);
  // Empty, stale (every UID gone), reversed (a kept order of other criteria would be wrong,
  // but one of a subset is right), and one with duplicates and UIDs beyond both ends.
  EXPECT_EQ(sort_order_from(box.uids, of(in), subject, {}), fresh);
  EXPECT_EQ(sort_order_from(box.uids, of(in), subject, {1, 2, 500}), fresh);
  std::vector<uint32_t> subset;
  for (uint32_t p : fresh)
    if (box.uids[p] % 2 == 0) subset.push_back(box.uids[p]);
  EXPECT_EQ(sort_order_from(box.uids, of(in), subject, subset), fresh);
  std::vector<uint32_t> noisy = {1};
  for (uint32_t p : fresh) noisy.push_back(box.uids[p]), noisy.push_back(box.uids[p]);
  noisy.push_back(100000);
  EXPECT_EQ(sort_order_from(box.uids, of(in), subject, noisy), fresh);
  std::vector<SortInput> none;
  EXPECT_TRUE(sort_order_from({}, of(none), subject, {1, 2}).empty());
}

// What SORT with a search program relies on: sorting the matching messages alone gives the
// whole mailbox's order with the others left out (ties by sequence number, i.e. by UID).
TEST(SortOrderFrom, SubsetOrderIsTheWholeOrderFiltered) {
  std::mt19937 rng(3);
  Mailbox box;
  for (uint32_t uid = 1; uid <= 300; ++uid) box.add(uid, rng, uid % 50 != 0);
  auto in = box.inputs();
  for (const auto& criteria : kCriteria) {
    std::vector<uint32_t> whole = box.uids_of(sort_order(in, criteria));
    std::vector<SortInput> sub;
    std::vector<uint32_t> sub_uids;
    for (size_t i = 0; i < in.size(); ++i) {
      if (box.uids[i] % 3 == 0) continue;
      sub.push_back(in[i]);
      sub_uids.push_back(box.uids[i]);
    }
    std::vector<uint32_t> got;
    for (uint32_t p : sort_order(sub, criteria)) got.push_back(sub_uids[p]);
    std::vector<uint32_t> want;
    for (uint32_t uid : whole)
      if (uid % 3 != 0) want.push_back(uid);
    EXPECT_EQ(got, want) << sort_criteria_key(criteria);
  }
}

TEST(SortOrderCache, KeepsTheMostRecentlyUsedOrdersWithinItsBound) {
  SortOrderCache cache;
  EXPECT_EQ(cache.find("SUBJECT"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
  for (size_t i = 0; i < SortOrderCache::kMaxOrders; ++i)
    cache.put("C" + std::to_string(i), std::make_shared<std::vector<uint32_t>>(100, 1));
  EXPECT_EQ(cache.bytes(), SortOrderCache::kMaxOrders * (2 + 400));
  ASSERT_NE(cache.find("C0"), nullptr);  // now the most recent: C1 goes next
  cache.put("C9", std::make_shared<std::vector<uint32_t>>(std::vector<uint32_t>{3, 2, 1}));
  EXPECT_EQ(cache.find("C1"), nullptr);
  ASSERT_NE(cache.find("C0"), nullptr);
  EXPECT_EQ(*cache.find("C9"), (std::vector<uint32_t>{3, 2, 1}));
  cache.put("C9", std::make_shared<std::vector<uint32_t>>(std::vector<uint32_t>{1}));
  EXPECT_EQ(*cache.find("C9"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(cache.bytes(), 3 * (2 + 400) + (2 + 4));
  EXPECT_EQ(sort_criteria_key({{"REVERSE", false}, {"DATE", true}, {"SUBJECT", false}}),
            "REVERSE REVERSE DATE SUBJECT");
}

}  // namespace
}  // namespace mailroom::imap
