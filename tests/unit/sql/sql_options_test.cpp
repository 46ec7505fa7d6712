#include "auth/sql/sql_options.h"

#include <gtest/gtest.h>

#include "auth/sql/named_params.h"
#include "src/core/config_section.h"

namespace mailroom::auth::sql {
namespace {

TEST(SplitList, CommasNewlinesAndBlanks) {
  EXPECT_EQ(split_list(" a@x , b@y,,\nc@z ;d@w "),
            (std::vector<std::string>{"a@x", "b@y", "c@z", "d@w"}));
  EXPECT_TRUE(split_list("").empty());
  EXPECT_TRUE(split_list(" , ").empty());
}

TEST(SqlOptions, DefaultQueriesCompileWithTheirParameters) {
  for (size_t i = 0; i < kQueryCount; ++i) {
    auto kind = static_cast<QueryKind>(i);
    auto r = compile_named_sql(default_query(kind), query_spec(kind).params);
    EXPECT_TRUE(r) << query_spec(kind).key << ": " << r.status().to_string();
  }
}

TEST(SqlOptions, ParsesKeysAndReportsErrorsByName) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(R"(
[directory.sql]
servers = ["db1:3307", "/tmp/x.sock", "bad:port"]
database = "hr"
user = "mail"
password = "pw"
pool_size = 0
connect_timeout = "3s"
colour = "blue"
[directory.sql.queries]
find_group = ""
find_alias = "SELECT target AS targets FROM a WHERE address = :address"
find_everything = "x"
)",
                                               "test.toml", &errors);
  auto root = doc->root();
  auto dir = root.child("directory");
  auto sec = dir.child("sql");
  SqlDirectoryOptions o = parse_sql_directory_options(sec);
  ASSERT_EQ(o.pool.servers.size(), 2u);
  EXPECT_EQ(o.pool.servers[0].port, 3307u);
  EXPECT_EQ(o.pool.database, "hr");
  EXPECT_EQ(o.pool.connect_timeout.count(), 3);
  EXPECT_EQ(o.queries[static_cast<size_t>(QueryKind::find_group)], "");
  EXPECT_EQ(o.queries[static_cast<size_t>(QueryKind::find_domain)],
            default_query(QueryKind::find_domain));
  std::string all;
  for (const auto& m : errors.messages()) all += m + "\n";
  EXPECT_NE(all.find("directory.sql.servers"), std::string::npos) << all;
  EXPECT_NE(all.find("directory.sql.pool_size"), std::string::npos) << all;
  EXPECT_NE(all.find("colour"), std::string::npos) << all;
  EXPECT_NE(all.find("find_everything"), std::string::npos) << all;
  EXPECT_NE(all.find("test.toml:"), std::string::npos) << all;
}

}  // namespace
}  // namespace mailroom::auth::sql
