// Batch save and folder backup (src/webmail/exports.h) on a FileStore in a temp directory:
// the ZIP (names unique and safe, bytes unchanged, read back with the central directory), the
// mbox (mboxrd quoting, RFC 4155), another account's ids answering 404, the limits (413); the
// id-list parser (form.h) on raw strings; Content-Disposition (RFC 6266 / RFC 8187).
#include "src/webmail/exports.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>

#include "src/mime/facts.h"
#include "src/store/store_options.h"
#include "src/webmail/form.h"

namespace mailroom::webmail {
namespace {

TEST(ParseIdList, AcceptsIdsAndDropsDuplicates) {
  auto ids = parse_id_list("Mab,Mcd,Mab", 'M', 5, 32);
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"Mab", "Mcd"}));
  EXPECT_TRUE(parse_id_list("F_a-Z9", 'F', 1, 64));
}

TEST(ParseIdList, RefusesMalformedInput) {
  for (std::string_view bad : std::vector<std::string_view>{
           "", ",", "M", "Mab,", ",Mab", "Fab", "Ma b", "M../x", "Mab,,Mcd", "M\xc3\xa9", "Mab;Mcd",
           std::string_view("Ma\0b", 4),
           "Maaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 33 characters */}) {
    EXPECT_FALSE(parse_id_list(bad, 'M', 5, 32)) << bad;
  }
  EXPECT_FALSE(parse_id_list("Ma,Mb,Mc", 'M', 2, 32));  // too many
  EXPECT_TRUE(parse_id_list("Ma,Mb,Ma", 'M', 2, 32));   // two distinct
}

TEST(AttachmentDisposition, AsciiAndUtf8Names) {
  EXPECT_EQ(attachment_disposition("Inbox.mbox"), "attachment; filename=\"Inbox.mbox\"");
  EXPECT_EQ(attachment_disposition("收件匣 \"a\".mbox"),
            "attachment; filename=\"_________ _a_.mbox\"; "
            "filename*=UTF-8''%E6%94%B6%E4%BB%B6%E5%8C%A3%20%22a%22.mbox");
}

// A ZIP's entries (name -> bytes) from its central directory (APPNOTE 4.3.12, 4.3.16).
std::map<std::string, std::string> unzip(const std::string& z) {
  auto u16 = [&](size_t p) { return uint32_t(uint8_t(z[p])) | uint32_t(uint8_t(z[p + 1])) << 8; };
  auto u32 = [&](size_t p) { return u16(p) | u16(p + 2) << 16; };
  std::map<std::string, std::string> out;
  size_t end = z.size() - 22;
  EXPECT_EQ(u32(end), 0x06054b50u);
  size_t cd = u32(end + 16);
  for (uint32_t i = 0; i < u16(end + 10); ++i) {
    EXPECT_EQ(u32(cd), 0x02014b50u);
    uint32_t method = u16(cd + 10), csize = u32(cd + 20), usize = u32(cd + 24);
    uint32_t nlen = u16(cd + 28), xlen = u16(cd + 30), clen = u16(cd + 32), off = u32(cd + 42);
    std::string name = z.substr(cd + 46, nlen);
    size_t data = off + 30 + u16(off + 26) + u16(off + 28);
    std::string body = z.substr(data, csize);
    if (method == 8) {
      std::string plain(usize, '\0');
      z_stream zs{};
      inflateInit2(&zs, -15);
      zs.next_in = reinterpret_cast<Bytef*>(body.data());
      zs.avail_in = csize;
      zs.next_out = reinterpret_cast<Bytef*>(plain.data());
      zs.avail_out = usize;
      EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
      inflateEnd(&zs);
      body = plain;
    }
    out[name] = body;
    cd += 46 + nlen + xlen + clen;
  }
  return out;
}

class ExportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-webx-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    store::StoreOptions o;
    o.root = dir_;
    o.fsync = false;
    o.facts = [](std::string_view m) { return mime::extract_facts(m); };
    store_ = store::open_file_store(o);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string append(const std::string& account, const std::string& mailbox,
                     const std::string& msg) {
    store::AppendRequest r;
    r.mailbox = mailbox;
    r.message = msg;
    r.internal_date = 1764000000;
    r.create_mailbox = true;
    auto res = store_->append(account, r);
    EXPECT_TRUE(res.is_ok()) << res.status().to_string();
    return "M" + res->guid;
  }
  std::string mailbox_id(const std::string& account, const std::string& name) {
    auto list = store_->list_mailboxes(account);
    for (auto& b : *list)
      if (b.name == name) return "F" + b.object_id;
    return "";
  }
  std::string dir_;
  std::unique_ptr<store::MailStore> store_;
};

TEST_F(ExportsTest, BatchSaveZipsTheStoredBytesUnderUniqueSafeNames) {
  std::string a = "Subject: Same\r\n\r\none\r\n", b = "Subject: Same\r\n\r\ntwo\r\n",
              c = "Subject: a/b\\c:d?\r\n\r\nthree\r\n";
  auto ids = std::vector<std::string>{append("u1", "INBOX", a), append("u1", "INBOX", b),
                                      append("u1", "Work", c)};
  auto r = batch_save(*store_, "u1", ids, ExportLimits{}, "t");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/zip");
  auto files = unzip(r.body);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files["2025-11-24 1600 Same.eml"], a);
  EXPECT_EQ(files["2025-11-24 1600 Same (2).eml"], b);
  EXPECT_EQ(files["2025-11-24 1600 a_b_c_d_.eml"], c);
}

TEST_F(ExportsTest, AnotherAccountsIdIsNotFound) {
  auto mine = append("u1", "INBOX", "Subject: mine\r\n\r\nx\r\n");
  auto theirs = append("u2", "INBOX", "Subject: theirs\r\n\r\nsecret\r\n");
  auto r = batch_save(*store_, "u1", {mine, theirs}, ExportLimits{}, "t");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  EXPECT_EQ(batch_save(*store_, "u1", {"M" + std::string(32, '0')}, {}, "t").status, 404);
  EXPECT_EQ(batch_save(*store_, "u1", {"Mxyz"}, {}, "t").status, 404);
  EXPECT_EQ(folder_backup(*store_, "u1", mailbox_id("u2", "INBOX"), {}, "t").status, 404);
  EXPECT_EQ(folder_backup(*store_, "u1", "Fnope", {}, "t").status, 404);
}

TEST_F(ExportsTest, Limits) {
  auto a = append("u1", "INBOX", "Subject: a\r\n\r\n" + std::string(600, 'a') + "\r\n");
  auto b = append("u1", "INBOX", "Subject: b\r\n\r\n" + std::string(600, 'b') + "\r\n");
  EXPECT_EQ(batch_save(*store_, "u1", {a, b}, ExportLimits{1, 1 << 20}, "t").status, 413);
  EXPECT_EQ(batch_save(*store_, "u1", {a, b}, ExportLimits{10, 1000}, "t").status, 413);
  EXPECT_EQ(batch_save(*store_, "u1", {a}, ExportLimits{10, 1000}, "t").status, 200);
  EXPECT_EQ(
      folder_backup(*store_, "u1", mailbox_id("u1", "INBOX"), ExportLimits{10, 1000}, "t").status,
      413);
}

TEST_F(ExportsTest, FolderBackupIsMboxrd) {
  append("u1", "Projects/2026", "Subject: one\r\n\r\nFrom the start\r\n>From quoted\r\nend\r\n");
  append("u1", "Projects/2026", "Subject: two\r\n\r\nplain\r\n");
  append("u1", "INBOX", "Subject: elsewhere\r\n\r\nx\r\n");
  auto r = folder_backup(*store_, "u1", mailbox_id("u1", "Projects/2026"), {}, "t");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/mbox");
  EXPECT_EQ(r.header("Content-Disposition"), "attachment; filename=\"2026.mbox\"");
  EXPECT_EQ(r.body,
            "From MAILER-DAEMON Mon Nov 24 16:00:00 2025\nSubject: one\n\n>From the start\n"
            ">>From quoted\nend\n\n"
            "From MAILER-DAEMON Mon Nov 24 16:00:00 2025\nSubject: two\n\nplain\n\n");
}

}  // namespace
}  // namespace mailroom::webmail
