// Batch save (ZIP of .eml), offline backup (mboxrd) and import, and fsck repair paths.
#include <fstream>
#include <sstream>

#include "src/store/maintenance.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

using core::Code;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EmlFileName, DateSubjectAndWindowsSafety) {
  const int64_t t = 1764287100;  // 2025-11-27 23:45 UTC
  EXPECT_EQ(eml_file_name("Subject: Hello world\r\n\r\nx", t), "2025-11-27 2345 Hello world.eml");
  EXPECT_EQ(eml_file_name("Subject: a<b>:c\"d/e\\f|g?h*i.\r\n\r\n", t),
            "2025-11-27 2345 a_b__c_d_e_f_g_h_i.eml");
  EXPECT_EQ(eml_file_name("From: x\r\n\r\n", t), "2025-11-27 2345 (no subject).eml");
  // RFC 2047 encoded words (UTF-8 and Big5) are decoded and kept readable.
  EXPECT_EQ(eml_file_name("Subject: =?UTF-8?B?5pyD6K2w6KiY6YyE?=\r\n\r\n", t),
            "2025-11-27 2345 會議記錄.eml");
  EXPECT_EQ(eml_file_name("Subject: =?Big5?B?pKSk5Q==?=\r\n\r\n", t), "2025-11-27 2345 中文.eml");
  // Folded header, control characters and over-long subjects.
  EXPECT_EQ(eml_file_name("Subject: one\r\n two\x01three\r\n\r\n", t),
            "2025-11-27 2345 one two three.eml");
  std::string long_subject(400, 'z');
  auto n = eml_file_name("Subject: " + long_subject + "\r\n\r\n", t);
  EXPECT_LE(n.size(), 130u);
  std::string cjk;
  for (int i = 0; i < 60; ++i) cjk += "中";
  n = eml_file_name("Subject: " + cjk + "\r\n\r\n", t);
  EXPECT_EQ((n.size() - std::string("2025-11-27 2345 .eml").size()) % 3, 0u);  // no cut code point
}

TEST(Mboxrd, QuotingRoundTrips) {
  std::string msg = "Subject: q\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\nplain\r\n";
  std::string entry = mboxrd_entry(msg, 0);
  EXPECT_NE(entry.find("\n>From here\n>>From there\n>>>From x\n"), std::string::npos);
  auto parts = split_mbox(entry + mboxrd_entry("Subject: 2\r\n\r\nb\r\n", 86400));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].first, msg);
  EXPECT_EQ(parts[0].second, 0);
  EXPECT_EQ(parts[1].first, "Subject: 2\r\n\r\nb\r\n");
  EXPECT_EQ(parts[1].second, 86400);
  EXPECT_TRUE(split_mbox("no from line at all\n").empty());
}

TEST_F(StoreTest, ExportMboxThenImport) {
  put("INBOX", message("one", "From the start\n"));
  put("Sent", message("two"));
  std::string out = dir_ + "/backup.mbox";
  auto n = export_mbox(*store_, kUser, {}, out);
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(export_mbox(*store_, kUser, {"Missing"}, dir_ + "/x.mbox").code(), Code::not_found);
  auto imported = import_mbox(*store_, kUser, "Restored/2026", out, Quota{});
  ASSERT_TRUE(imported.is_ok()) << imported.status().to_string();
  EXPECT_EQ(*imported, 2u);
  auto snap = store_->snapshot(kUser, "Restored/2026");
  ASSERT_EQ(snap->messages.size(), 2u);
  EXPECT_EQ(*store_->read_message(kUser, "Restored/2026", 1),
            *store_->read_message(kUser, "INBOX", 1));
  EXPECT_EQ(*store_->read_message(kUser, "Restored/2026", 2),
            *store_->read_message(kUser, "Sent", 1));
  // Quota applies to imports.
  EXPECT_EQ(import_mbox(*store_, kUser, "Q", out, Quota{1, 0}).code(), Code::too_large);
  EXPECT_EQ(import_mbox(*store_, kUser, "Q", dir_ + "/nope", Quota{}).code(), Code::not_found);
}

TEST_F(StoreTest, ExportZipIsReadableByAnotherImplementation) {
  put("INBOX", "Subject: =?UTF-8?B?5pyD6K2w?=\n\nbody one\n");
  put("INBOX", "Subject: same\n\n" + std::string(5000, 'a') + "\n");
  put("INBOX", "Subject: same\n\nbody three\n");
  std::string out = dir_ + "/save.zip";
  ASSERT_TRUE(export_zip(*store_, kUser, "INBOX", {}, out).is_ok());
  EXPECT_EQ(export_zip(*store_, kUser, "INBOX", {9}, dir_ + "/bad.zip").code(), Code::not_found);
  std::string zip = slurp(out);
  ASSERT_GT(zip.size(), 22u);
  EXPECT_EQ(zip.substr(0, 4), std::string("PK\x03\x04", 4));
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no python3 to cross-check";
  std::string check = dir_ + "/check.txt";
  std::string cmd =
      "/usr/bin/python3 -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); "
      "assert z.testzip() is None; "
      "[print(i.filename, len(z.read(i))) for i in z.infolist()]\" " +
      out + " > " + check;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string listing = slurp(check);
  EXPECT_NE(listing.find(" 會議.eml 43\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find(" same.eml 5019\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find(" same (2).eml 29\n"), std::string::npos) << listing;
  // A selection.
  ASSERT_TRUE(export_zip(*store_, kUser, "INBOX", {3}, out).is_ok());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  listing = slurp(check);
  EXPECT_EQ(std::count(listing.begin(), listing.end(), '\n'), 1);
}

TEST_F(StoreTest, FsckFindsAndRepairsDamage) {
  auto a = put("INBOX", message("1"));
  put("INBOX", message("2"));
  put("Sent", message("3"));
  auto snap = store_->snapshot(kUser, "INBOX");
  std::string user_dir = options_.root + "/" + kUser;
  // Damage: a referenced file disappears, garbage appears in msg/ and tmp/.
  std::string victim = snap->messages[0].guid;
  ASSERT_TRUE(
      std::filesystem::remove(user_dir + "/msg/" + victim.substr(0, 2) + "/" + victim + ".eml"));
  std::filesystem::create_directories(user_dir + "/msg/ab");
  std::ofstream(user_dir + "/msg/ab/abababababababababababababababab.eml") << "garbage";
  std::ofstream(user_dir + "/tmp/leftover.tmp") << "half";
  auto r = fsck_user(options_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->consistent());
  EXPECT_EQ(r->orphan_files, 1u);
  EXPECT_EQ(r->tmp_files, 1u);
  // Young garbage may be an append in flight elsewhere: left alone.
  auto young = fsck_user(options_, kUser, FsckOptions{true, 3600});
  EXPECT_EQ(young->orphan_files, 0u);
  r = fsck_user(options_, kUser, FsckOptions{true, 0});
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->repaired.empty());
  r = fsck_user(options_, kUser, FsckOptions{false, 0});
  EXPECT_TRUE(r->consistent()) << r->errors.at(0);
  EXPECT_EQ(r->orphan_files + r->tmp_files, 0u);
  store_ = open_file_store(options_);
  auto after = store_->snapshot(kUser, "INBOX");
  ASSERT_EQ(after->messages.size(), 1u);
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 2u);
  EXPECT_EQ(store_->read_message(kUser, "INBOX", a.uid).code(), Code::not_found);
  EXPECT_EQ(fsck_user(options_, "nobody", FsckOptions{}).code(), Code::not_found);
  EXPECT_EQ(fsck_user(options_, "../x", FsckOptions{}).code(), Code::invalid_argument);
}

TEST_F(StoreTest, FsckRebuildsALostIndexFromFiles) {
  put("INBOX", message("1"));
  put("Sent", message("2"));
  auto before = store_->quota_usage(kUser);
  store_.reset();
  std::string user_dir = options_.root + "/" + kUser;
  for (const char* f : {"/index.db", "/index.db-wal", "/index.db-shm"})
    std::filesystem::remove(user_dir + f);
  auto r = fsck_user(options_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->consistent());
  r = fsck_user(options_, kUser, FsckOptions{true, 0});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->index_rebuilt);
  store_ = open_file_store(options_);
  EXPECT_EQ(store_->snapshot(kUser, "INBOX")->messages.size(), 2u);
  EXPECT_EQ(store_->quota_usage(kUser)->bytes, before->bytes);
  EXPECT_TRUE(fsck_user(options_, kUser, FsckOptions{false, 0})->consistent());
  // A corrupt index is set aside and rebuilt too.
  store_.reset();
  std::ofstream(user_dir + "/index.db", std::ios::trunc) << "this is not a database at all....";
  std::filesystem::remove(user_dir + "/index.db-wal");
  std::filesystem::remove(user_dir + "/index.db-shm");
  r = fsck_user(options_, kUser, FsckOptions{true, 0});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->index_rebuilt);
  EXPECT_EQ(list_store_accounts(options_), std::vector<std::string>{kUser});
}

}  // namespace
}  // namespace mailroom::store::testing
