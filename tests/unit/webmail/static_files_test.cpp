// Path checks (traversal and odd paths refused) and serving from a temp directory.
#include "src/webmail/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mailroom::webmail {
namespace {

TEST(SafeRelativePath, PlainNamesOnly) {
  EXPECT_TRUE(safe_relative_path("index.html"));
  EXPECT_TRUE(safe_relative_path("assets/app-5KX2F3QZ.js"));
  for (const char* bad :
       {"", "..", "../etc/passwd", "assets/../../x", "./index.html", "assets//app.js",
        "/etc/passwd", "assets/", ".git/config", "assets/.hidden", "a\\..\\b", "a b.js", "a%2e.js",
        "a/b/c/d/e.js", "index.html?x", "assets/app.js;x", "\xe4\xb8\xad.js"}) {
    EXPECT_FALSE(safe_relative_path(bad)) << bad;
  }
  EXPECT_FALSE(safe_relative_path(std::string("index.html\0.js", 14)));
  EXPECT_FALSE(safe_relative_path(std::string(201, 'a')));
}

TEST(ContentTypes, KnownExtensionsOnly) {
  EXPECT_EQ(content_type_for("index.html").value_or(""), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("assets/a.js").value_or(""), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("assets/a.css").value_or(""), "text/css; charset=utf-8");
  EXPECT_FALSE(content_type_for("assets/a.gz"));
  EXPECT_FALSE(content_type_for("size"));
  EXPECT_FALSE(content_type_for("x.sh"));
  EXPECT_TRUE(is_hashed_asset("assets/app-5KX2F3QZ.js"));
  EXPECT_FALSE(is_hashed_asset("index.html"));
  EXPECT_FALSE(is_hashed_asset("assets/app.js"));
  EXPECT_FALSE(is_hashed_asset("assets/app-5kx2f3qz.js"));
  EXPECT_FALSE(is_hashed_asset("other/app-5KX2F3QZ.js"));
}

class ServeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-web-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    root_ = dir_ + "/root";
    std::filesystem::create_directories(root_ + "/assets");
    write(root_ + "/index.html", "<!DOCTYPE html>hello");
    write(root_ + "/index.html.gz", "GZ-INDEX");
    write(root_ + "/assets/app-5KX2F3QZ.js", "js");
    write(dir_ + "/secret.txt", "secret");
    std::filesystem::create_symlink(dir_ + "/secret.txt", root_ + "/leak.txt");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static void write(const std::string& p, const std::string& s) { std::ofstream(p) << s; }
  std::string dir_, root_;
};

TEST_F(ServeFileTest, ServesWithTypeCacheAndGzip) {
  auto r = serve_file(root_, "index.html", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!DOCTYPE html>hello");
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-cache");
  EXPECT_FALSE(r.header("Content-Encoding"));
  r = serve_file(root_, "index.html", "br, gzip;q=0.8");
  EXPECT_EQ(r.body, "GZ-INDEX");
  EXPECT_EQ(r.header("Content-Encoding").value_or(""), "gzip");
  EXPECT_EQ(r.header("Vary").value_or(""), "Accept-Encoding");
  r = serve_file(root_, "index.html", "gzip;q=0");
  EXPECT_EQ(r.body, "<!DOCTYPE html>hello");
  r = serve_file(root_, "assets/app-5KX2F3QZ.js", "gzip");  // no .gz twin: the plain file
  EXPECT_EQ(r.body, "js");
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "public, max-age=31536000, immutable");
  EXPECT_EQ(r.header("Content-Type").value_or(""), "text/javascript; charset=utf-8");
}

TEST_F(ServeFileTest, RefusesTraversalSymlinksAndUnknown) {
  EXPECT_EQ(serve_file(root_, "../secret.txt", "").status, 404);
  EXPECT_EQ(serve_file(root_, "leak.txt", "").status, 404);  // a symlink out of the root
  EXPECT_EQ(serve_file(root_, "assets", "").status, 404);
  EXPECT_EQ(serve_file(root_, "nope.html", "").status, 404);
  EXPECT_EQ(serve_file(root_, "index.html.gz", "").status, 404);  // not a served type
  EXPECT_EQ(serve_file("", "index.html", "").status, 404);
}

}  // namespace
}  // namespace mailroom::webmail
