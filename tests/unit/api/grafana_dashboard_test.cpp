// examples/grafana-mailroom.json: well-formed JSON in Grafana's dashboard model, and every
// query names metrics that mailroomd exports (src/core/metric_catalog.h) with the right type,
// and every exported family has a panel. Catches a renamed metric on either side.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "src/core/metric_catalog.h"
#include "src/core/metrics.h"

namespace mailroom::api {
namespace {

namespace json = boost::json;

std::string dashboard_text() {
  const char* root = std::getenv("MAILROOM_SOURCE_DIR");
  if (!root) return {};
  std::ifstream in(std::string(root) + "/examples/grafana-mailroom.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// family -> type, from the TYPE lines of what /metrics serves.
std::map<std::string, std::string> exported_families() {
  metrics::register_all();
  std::map<std::string, std::string> out;
  std::istringstream in(metrics::render_prometheus());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    auto rest = line.substr(7);
    auto sp = rest.find(' ');
    out[rest.substr(0, sp)] = rest.substr(sp + 1);
  }
  return out;
}

void collect_panels(const json::array& panels, std::vector<const json::object*>& out) {
  for (const auto& p : panels) {
    const auto& o = p.as_object();
    out.push_back(&o);
    if (auto* nested = o.if_contains("panels")) collect_panels(nested->as_array(), out);
  }
}

TEST(GrafanaDashboardTest, QueriesNameExportedMetricsAndCoverThemAll) {
  std::string text = dashboard_text();
  ASSERT_FALSE(text.empty()) << "MAILROOM_SOURCE_DIR unset or examples/grafana-mailroom.json "
                                "missing";
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  ASSERT_FALSE(ec) << "not JSON: " << ec.message();
  const auto& d = doc.as_object();
  ASSERT_TRUE(d.contains("schemaVersion"));
  EXPECT_GE(d.at("schemaVersion").to_number<int>(), 36);
  ASSERT_TRUE(d.contains("title"));
  ASSERT_TRUE(d.contains("uid"));

  // A Prometheus data source variable, and the panels use it.
  bool has_datasource_var = false;
  for (const auto& v : d.at("templating").at("list").as_array()) {
    const auto& o = v.as_object();
    if (o.at("type") == "datasource" && o.at("query") == "prometheus") has_datasource_var = true;
  }
  EXPECT_TRUE(has_datasource_var);

  auto families = exported_families();
  ASSERT_GT(families.size(), 10u);
  std::vector<const json::object*> panels;
  collect_panels(d.at("panels").as_array(), panels);
  std::set<int64_t> ids;
  std::set<std::string> used;
  const std::regex metric_name("mailroom_[a-z0-9_]+");
  int queries = 0;
  for (const auto* p : panels) {
    ASSERT_TRUE(p->contains("id"));
    EXPECT_TRUE(ids.insert(p->at("id").to_number<int64_t>()).second) << "panel id twice";
    if (p->at("type") == "row") continue;
    EXPECT_EQ(p->at("datasource").at("uid"), "${datasource}") << p->at("title");
    for (const auto& t : p->at("targets").as_array()) {
      std::string expr(t.at("expr").as_string());
      ++queries;
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric_name), end; it != end; ++it) {
        std::string name = it->str();
        std::string family = name;
        for (std::string suffix : {"_bucket", "_sum", "_count"}) {
          if (name.size() > suffix.size() &&
              name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
              families.count(name.substr(0, name.size() - suffix.size())) &&
              families[name.substr(0, name.size() - suffix.size())] == "histogram") {
            family = name.substr(0, name.size() - suffix.size());
          }
        }
        ASSERT_TRUE(families.count(family)) << "not exported: " << name << " in " << expr;
        used.insert(family);
        // A histogram is queried through its series, never by its bare name.
        if (families[family] == "histogram") EXPECT_NE(name, family) << expr;
        if (name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0) {
          EXPECT_NE(expr.find("histogram_quantile"), std::string::npos) << expr;
          EXPECT_NE(expr.find("le"), std::string::npos) << expr;
        }
        // rate() and increase() only on counters (and histogram series).
        if (families[family] == "gauge") {
          EXPECT_EQ(expr.find("rate(" + name), std::string::npos) << expr;
          EXPECT_EQ(expr.find("increase(" + name), std::string::npos) << expr;
        }
      }
    }
  }
  EXPECT_GT(queries, 20);
  for (const auto& [family, type] : families) {
    EXPECT_TRUE(used.count(family)) << "no panel shows " << family;
  }
}

}  // namespace
}  // namespace mailroom::api
