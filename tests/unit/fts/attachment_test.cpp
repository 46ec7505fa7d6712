// Attachment text through Debian's tools (src/fts/attachment.h): real pdftotext, odt2txt and
// docx2txt on tiny documents built by the test, Chinese text, and the bounds: a tool that
// hangs is killed, a missing tool is skipped, output past the cap is cut.
#include "src/fts/attachment.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "src/core/base64.h"
#include "src/fts/extract.h"
#include "tests/unit/fts/fixtures.h"

namespace mailroom::fts {
namespace {

bool have(const char* tool) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    if (access((std::string(dir) + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

#define REQUIRE_TOOL(t) \
  if (!have(t)) GTEST_SKIP() << t << " is not installed (scripts/setup installs it)"

class AttachmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-att-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    o_.tmp_dir = dir_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // An executable shell script standing in for a tool.
  std::string fake(const std::string& name, const std::string& body) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    ::chmod(p.c_str(), 0700);
    return p;
  }
  // Files left in the temp directory besides the fakes (the tools' inputs must be gone).
  size_t leftovers() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      n += e.path().filename().string().starts_with("mailroom-fts-") ? 1 : 0;
    return n;
  }
  std::string dir_;
  ToolOptions o_;
};

TEST_F(AttachmentTest, PdfText) {
  REQUIRE_TOOL("pdftotext");
  auto t = extract_attachment(o_, "application/pdf", "q.pdf", fixtures::pdf("Quarterly zebra"));
  EXPECT_EQ(t.outcome, ToolOutcome::ok);
  EXPECT_NE(t.text.find("Quarterly zebra"), std::string::npos) << t.text;
  EXPECT_EQ(leftovers(), 0u);
}

TEST_F(AttachmentTest, DocxChineseText) {
  REQUIRE_TOOL("docx2txt");
  auto t = extract_attachment(
      o_, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.docx",
      fixtures::docx("季度報告：全文檢索附件"));
  EXPECT_EQ(t.outcome, ToolOutcome::ok);
  EXPECT_NE(t.text.find("全文檢索附件"), std::string::npos) << t.text;
}

TEST_F(AttachmentTest, OdtChineseText) {
  REQUIRE_TOOL("odt2txt");
  auto t = extract_attachment(o_, "application/vnd.oasis.opendocument.text", "a.odt",
                              fixtures::odt("开放文档 giraffe"));
  EXPECT_EQ(t.outcome, ToolOutcome::ok);
  EXPECT_NE(t.text.find("开放文档 giraffe"), std::string::npos) << t.text;
}

TEST_F(AttachmentTest, OctetStreamByFileNameOtherTypesNot) {
  EXPECT_FALSE(tool_for(o_, "application/octet-stream", "Report.PDF").empty());
  EXPECT_FALSE(tool_for(o_, "application/octet-stream", "x.docx").empty());
  EXPECT_TRUE(tool_for(o_, "application/octet-stream", "x.exe").empty());
  EXPECT_TRUE(tool_for(o_, "image/png", "x.pdf").empty());
  EXPECT_EQ(extract_attachment(o_, "image/png", "x.png", "PNG").outcome, ToolOutcome::unsupported);
  o_.enabled = false;
  EXPECT_EQ(extract_attachment(o_, "application/pdf", "x.pdf", "x").outcome,
            ToolOutcome::unsupported);
}

// A tool that hangs, and one that closes its stdout but runs on: both killed at the timeout,
// no text, no temp file left.
TEST_F(AttachmentTest, HangingToolsAreKilledAtTheTimeout) {
  o_.timeout_ms = 200;
  for (const char* script : {"echo partial; exec sleep 600", "echo x; exec >&-; exec sleep 600"}) {
    o_.pdftotext = fake("hang", script);
    auto t = extract_attachment(o_, "application/pdf", "x.pdf", "%PDF-1.4");
    EXPECT_EQ(t.outcome, ToolOutcome::timed_out) << script;
    EXPECT_TRUE(t.text.empty());
    EXPECT_EQ(leftovers(), 0u);
  }
}

TEST_F(AttachmentTest, MissingToolIsSkipped) {
  o_.pdftotext = dir_ + "/no-such-pdftotext";
  EXPECT_EQ(extract_attachment(o_, "application/pdf", "x.pdf", "%PDF").outcome,
            ToolOutcome::missing);
  o_.pdftotext = "mailroom-no-such-tool";  // a PATH lookup that finds nothing
  EXPECT_EQ(extract_attachment(o_, "application/pdf", "x.pdf", "%PDF").outcome,
            ToolOutcome::missing);
}

TEST_F(AttachmentTest, OutputPastTheCapIsCutOnACharacter) {
  o_.docx2txt = fake("flood", "while :; do printf '全文檢索'; done");
  o_.max_bytes = 4096;
  auto t = extract_attachment(o_, "application/octet-stream", "x.docx", "PK");
  EXPECT_EQ(t.outcome, ToolOutcome::truncated);
  EXPECT_LE(t.text.size(), 4096u);
  EXPECT_GT(t.text.size(), 4000u);
  EXPECT_EQ(t.text.size() % 3, 0u) << "cut inside a character";
}

TEST_F(AttachmentTest, FailingToolGivesNoText) {
  o_.odt2txt = fake("fail", "echo garbage; exit 3");
  EXPECT_EQ(extract_attachment(o_, "application/vnd.oasis.opendocument.text", "x.odt", "x").outcome,
            ToolOutcome::failed);
}

TEST_F(AttachmentTest, MessageTextKeepsAttachmentsApart) {
  REQUIRE_TOOL("docx2txt");
  std::string msg =
      "Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml."
      "document\r\nContent-Disposition: attachment; filename=r.docx\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      core::base64_encode(fixtures::docx("附件裡的中文詞語")) + "\r\n--b--\r\n";
  auto without = extract_text(msg);
  EXPECT_TRUE(without.attachments.empty());
  auto with = extract_text(msg, {}, &o_);
  EXPECT_NE(with.attachments.find("中文詞語"), std::string::npos) << with.attachments;
  EXPECT_EQ(with.body.find("中文"), std::string::npos);
}

// The input file is private (0600) and passed as an argument, never through a shell.
TEST_F(AttachmentTest, InputIsAPrivateTempFile) {
  o_.odt2txt = fake("mode", "for a; do f=$a; done; stat -c %a \"$f\"");
  auto t = extract_attachment(o_, "application/vnd.oasis.opendocument.text", "x.odt", "x");
  EXPECT_EQ(t.outcome, ToolOutcome::ok);
  EXPECT_EQ(t.text, "600\n");
  EXPECT_EQ(leftovers(), 0u);
}

// A hostile message of many PDF parts: at most 16 tool runs, and none after a timeout.
TEST_F(AttachmentTest, ToolRunsPerMessageAreBounded) {
  std::string log = dir_ + "/runs";
  auto message = [](int parts) {
    std::string m =
        "Subject: many\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
    for (int i = 0; i < parts; ++i) m += "--b\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n";
    return m + "--b--\r\n";
  };
  auto runs = [&] {
    std::ifstream in(log);
    return static_cast<int>(
        std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
  };
  o_.pdftotext = fake("count", "echo run >> " + log + "; echo word");
  auto t = extract_text(message(40), {}, &o_);
  EXPECT_EQ(runs(), 16);
  EXPECT_NE(t.attachments.find("word"), std::string::npos);
  std::filesystem::remove(log);
  o_.pdftotext = fake("count", "echo run >> " + log + "; exec sleep 600");
  o_.timeout_ms = 200;
  extract_text(message(5), {}, &o_);
  EXPECT_EQ(runs(), 1);
}

}  // namespace
}  // namespace mailroom::fts
