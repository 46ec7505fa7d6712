// The metrics registry (src/core/metrics.h) and the catalogue of Mailroom's metrics: the text
// exposition format 0.0.4 read back by a small strict parser, label escaping, cumulative
// histogram buckets, exact totals under concurrent increments.
#include "src/core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/core/metric_catalog.h"

namespace mailroom::metrics {
namespace {

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct Parsed {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;
  std::vector<ParsedSample> samples;
  std::string error;  // first problem, "" when the text is valid
};

bool metrics_test_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// A strict reader of the subset of the format we write: HELP then TYPE before a family's
// samples, each family once, samples of a family together, escapes \\ \" \n only.
Parsed parse_exposition(const std::string& text) {
  Parsed p;
  std::string current;  // family of the last TYPE line
  std::set<std::string> closed;
  size_t pos = 0;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    if (p.error.empty()) p.error = "line " + std::to_string(line_no) + ": " + why;
  };
  if (!text.empty() && text.back() != '\n') fail("no final line feed");
  while (pos < text.size() && p.error.empty()) {
    ++line_no;
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.rfind("# HELP ", 0) == 0) {
      std::string rest = line.substr(7);
      auto sp = rest.find(' ');
      std::string name = rest.substr(0, sp);
      if (p.help.count(name)) fail("HELP twice for " + name);
      std::string h;
      for (size_t i = sp == std::string::npos ? rest.size() : sp + 1; i < rest.size(); ++i) {
        if (rest[i] == '\\') {
          if (i + 1 >= rest.size()) fail("dangling backslash in HELP");
          char n = rest[++i];
          if (n == 'n') {
            h += '\n';
          } else if (n == '\\') {
            h += '\\';
          } else {
            fail("bad escape in HELP");
          }
        } else {
          h += rest[i];
        }
      }
      p.help[name] = h;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      auto sp = rest.find(' ');
      if (sp == std::string::npos) {
        fail("TYPE without type");
        break;
      }
      std::string name = rest.substr(0, sp), type = rest.substr(sp + 1);
      if (type != "counter" && type != "gauge" && type != "histogram") fail("type " + type);
      if (p.types.count(name)) fail("TYPE twice for " + name);
      if (!p.help.count(name)) fail("TYPE before HELP for " + name);
      if (!current.empty()) closed.insert(current);
      p.types[name] = type;
      current = name;
      continue;
    }
    if (!line.empty() && line[0] == '#') {
      fail("unexpected comment");
      break;
    }
    ParsedSample s;
    size_t i = 0;
    while (i < line.size() && metrics_test_name_char(line[i], i == 0)) ++i;
    s.name = line.substr(0, i);
    if (s.name.empty()) {
      fail("sample without a name: " + line);
      break;
    }
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t ks = i;
        while (i < line.size() && metrics_test_name_char(line[i], i == ks) && line[i] != ':') ++i;
        std::string key = line.substr(ks, i - ks);
        if (key.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          fail("bad label in " + line);
          break;
        }
        i += 2;
        std::string v;
        bool closed_quote = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed_quote = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            char n = line[i++];
            if (n == 'n') {
              v += '\n';
            } else if (n == '\\') {
              v += '\\';
            } else if (n == '"') {
              v += '"';
            } else {
              fail("bad escape in a label value");
            }
          } else {
            v += c;
          }
        }
        if (!closed_quote) {
          fail("unterminated label value");
          break;
        }
        if (s.labels.count(key)) fail("label twice");
        s.labels[key] = v;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') {
        fail("unterminated label set");
        break;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no space before the value: " + line);
      break;
    }
    std::string value = line.substr(i + 1);
    if (value == "+Inf") {
      s.value = INFINITY;
    } else if (value == "-Inf") {
      s.value = -INFINITY;
    } else if (value == "NaN") {
      s.value = NAN;
    } else {
      char* end = nullptr;
      s.value = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0') fail("bad value " + value);
    }
    // The sample belongs to the family of the last TYPE line.
    std::string family = s.name;
    if (p.types[current] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        std::string sfx = suffix;
        if (s.name.size() > sfx.size() &&
            s.name.compare(s.name.size() - sfx.size(), sfx.size(), sfx) == 0) {
          family = s.name.substr(0, s.name.size() - sfx.size());
        }
      }
      if (s.name == current) fail("histogram sample without suffix");
    }
    if (family != current || closed.count(family)) fail("sample outside its family: " + s.name);
    p.samples.push_back(std::move(s));
  }
  return p;
}

const ParsedSample* find_sample(const Parsed& p, const std::string& name,
                                const std::map<std::string, std::string>& labels) {
  for (const auto& s : p.samples) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

TEST(MetricsTest, CountersAndGaugesRenderWithHelpAndType) {
  Registry r;
  auto& c = r.counter("test_events_total", "Events.\nSecond line with a \\ backslash.", {"kind"});
  c.with({"a"}).inc();
  c.with({"a"}).inc(2);
  c.with({"b"}).inc();
  auto& g = r.gauge("test_depth", "Depth.");
  g.get().set(5);
  g.get().dec();
  auto text = r.render();
  auto p = parse_exposition(text);
  ASSERT_EQ(p.error, "") << text;
  EXPECT_EQ(p.types["test_events_total"], "counter");
  EXPECT_EQ(p.types["test_depth"], "gauge");
  EXPECT_EQ(p.help["test_events_total"], "Events.\nSecond line with a \\ backslash.");
  ASSERT_TRUE(find_sample(p, "test_events_total", {{"kind", "a"}}));
  EXPECT_EQ(find_sample(p, "test_events_total", {{"kind", "a"}})->value, 3);
  EXPECT_EQ(find_sample(p, "test_events_total", {{"kind", "b"}})->value, 1);
  ASSERT_TRUE(find_sample(p, "test_depth", {}));
  EXPECT_EQ(find_sample(p, "test_depth", {})->value, 4);
}

TEST(MetricsTest, UnlabelledFamilyShowsZeroBeforeAnyEvent) {
  Registry r;
  r.counter("test_nothing_total", "Nothing yet.");
  r.counter("test_labelled_total", "No child yet.", {"x"});
  auto p = parse_exposition(r.render());
  ASSERT_EQ(p.error, "");
  ASSERT_TRUE(find_sample(p, "test_nothing_total", {}));
  EXPECT_EQ(find_sample(p, "test_nothing_total", {})->value, 0);
  EXPECT_EQ(p.types["test_labelled_total"], "counter");  // named, but no series
  for (const auto& s : p.samples) EXPECT_NE(s.name, "test_labelled_total");
}

TEST(MetricsTest, LabelValuesAreEscapedAndReadBackExactly) {
  Registry r;
  auto& c = r.counter("test_escapes_total", "Escapes.", {"v", "w"});
  const std::string hostile = "back\\slash \"quoted\"\nnew line } , =\\n";
  c.with({hostile, ""}).inc();
  c.with({"\\", "\""}).inc(7);
  auto text = r.render();
  // No raw line feed inside a sample: every line is HELP, TYPE or a whole sample.
  auto p = parse_exposition(text);
  ASSERT_EQ(p.error, "") << text;
  ASSERT_TRUE(find_sample(p, "test_escapes_total", {{"v", hostile}, {"w", ""}})) << text;
  ASSERT_TRUE(find_sample(p, "test_escapes_total", {{"v", "\\"}, {"w", "\""}})) << text;
  EXPECT_EQ(find_sample(p, "test_escapes_total", {{"v", "\\"}, {"w", "\""}})->value, 7);
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("test_latency_seconds", "Latency.", {"op"}, {0.1, 1, 2.5});
  auto& child = h.with({"read"});
  // On a bound counts in that bucket (le is "less or equal").
  for (double v : {0.05, 0.1, 0.5, 1.0, 2.0, 3.0, 100.0, -1.0}) child.observe(v);
  child.observe(NAN);  // dropped: it would poison _sum for ever
  auto text = r.render();
  auto p = parse_exposition(text);
  ASSERT_EQ(p.error, "") << text;
  EXPECT_EQ(p.types["test_latency_seconds"], "histogram");
  auto bucket = [&](const std::string& le) {
    auto* s = find_sample(p, "test_latency_seconds_bucket", {{"op", "read"}, {"le", le}});
    return s ? s->value : -1;
  };
  EXPECT_EQ(bucket("0.1"), 3);  // -1, 0.05, 0.1
  EXPECT_EQ(bucket("1"), 5);
  EXPECT_EQ(bucket("2.5"), 6);
  EXPECT_EQ(bucket("+Inf"), 8);
  ASSERT_TRUE(find_sample(p, "test_latency_seconds_count", {{"op", "read"}}));
  EXPECT_EQ(find_sample(p, "test_latency_seconds_count", {{"op", "read"}})->value, 8);
  EXPECT_DOUBLE_EQ(find_sample(p, "test_latency_seconds_sum", {{"op", "read"}})->value, 105.65);
  // Buckets never decrease, and the last one is +Inf and equals _count.
  double prev = -1;
  int buckets = 0;
  for (const auto& s : p.samples) {
    if (s.name != "test_latency_seconds_bucket") continue;
    EXPECT_GE(s.value, prev);
    prev = s.value;
    ++buckets;
  }
  EXPECT_EQ(buckets, 4);
}

TEST(MetricsTest, ValuesAreSpelledAsTheFormatWantsThem) {
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_value(NAN), "NaN");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(std::strtod(format_value(1.0 / 3).c_str(), nullptr), 1.0 / 3);  // round trip
}

TEST(MetricsTest, RegisteringANameAgainReturnsTheSameFamily) {
  Registry r;
  auto& a = r.counter("test_same_total", "Same.", {"x"});
  auto& b = r.counter("test_same_total", "Same.", {"x"});
  EXPECT_EQ(&a, &b);
  a.with({"1"}).inc();
  EXPECT_EQ(b.with({"1"}).value(), 1u);
  EXPECT_EQ(&a.with({"1"}), &b.with({"1"}));  // children keep their address
}

TEST(MetricsDeathTest, MisuseAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Registry r;
        r.counter("test_clash", "A.", {"x"});
        r.gauge("test_clash", "B.", {"x"});
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.counter("test_labels_total", "A.", {"x"});
        r.counter("test_labels_total", "A.", {"y"});
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.counter("test_arity_total", "A.", {"x", "y"}).with({"only one"});
      },
      "label values");
  EXPECT_DEATH({ Registry().counter("bad-name", "A."); }, "invalid metric name");
  EXPECT_DEATH({ Registry().counter("test_reserved_total", "A.", {"__x"}); }, "invalid label");
  EXPECT_DEATH({ Registry().histogram("test_h", "A.", {"le"}, {1}); }, "invalid label");
  EXPECT_DEATH({ Registry().histogram("test_h2", "A.", {}, {2, 1}); }, "strictly increasing");
}

TEST(MetricsTest, ConcurrentIncrementsAddUpExactly) {
  Registry r;
  auto& c = r.counter("test_concurrent_total", "C.", {"t"});
  auto& g = r.gauge("test_concurrent_gauge", "G.");
  auto& h = r.histogram("test_concurrent_seconds", "H.", {}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share one child, created concurrently by whoever comes first;
      // render() runs at the same time as the increments.
      auto& mine = c.with({t % 2 == 0 ? "shared" : std::to_string(t)});
      for (int i = 0; i < kEach; ++i) {
        mine.inc();
        c.with({"looked_up_each_time"}).inc();
        g.get().inc();
        g.get().dec();
        h.get().observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 5000 == 0) (void)r.render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.with({"shared"}).value(), uint64_t(kThreads / 2) * kEach);
  EXPECT_EQ(c.with({"looked_up_each_time"}).value(), uint64_t(kThreads) * kEach);
  EXPECT_EQ(c.with({"1"}).value(), uint64_t(kEach));
  EXPECT_EQ(g.get().value(), 0);
  auto snap = h.get().snapshot();
  EXPECT_EQ(snap.count, uint64_t(kThreads) * kEach);
  EXPECT_EQ(snap.cumulative[0], uint64_t(kThreads) * kEach / 2);
  EXPECT_DOUBLE_EQ(snap.sum, kThreads * (kEach / 2) * 1.25);
}

TEST(MetricCatalogTest, EveryMailroomMetricIsNamedAndTheOutputParses) {
  register_all();
  login("imap", "plain", LoginResult::ok);
  login("smtp", "X-CLIENT-INVENTED\"\n", LoginResult::fail);  // never a label of its own
  http_request("api", 404, 0.002);
  http_request("api", 999, 0.002);
  sync_started("ldap");
  auto text = render_prometheus();
  auto p = parse_exposition(text);
  ASSERT_EQ(p.error, "") << text;
  for (const char* name : {"mailroom_connections_accepted_total",
                           "mailroom_connections_refused_total",
                           "mailroom_connections_open",
                           "mailroom_logins_total",
                           "mailroom_smtp_messages_accepted_total",
                           "mailroom_queue_recipients_delivered_total",
                           "mailroom_queue_recipients_deferred_total",
                           "mailroom_queue_recipients_bounced_total",
                           "mailroom_queue_recipients_sent_remote_total",
                           "mailroom_queue_messages",
                           "mailroom_delivery_latency_seconds",
                           "mailroom_directory_lookups_total",
                           "mailroom_directory_sync_lag_seconds",
                           "mailroom_directory_sync_failures_total",
                           "mailroom_store_fsync_duration_seconds",
                           "mailroom_worker_pool_queued_tasks",
                           "mailroom_worker_pool_busy_workers",
                           "mailroom_worker_pool_threads",
                           "mailroom_http_requests_total",
                           "mailroom_http_request_duration_seconds",
                           "mailroom_process_start_time_seconds",
                           "mailroom_build_info"}) {
    EXPECT_TRUE(p.types.count(name)) << name;
  }
  EXPECT_TRUE(find_sample(p, "mailroom_logins_total",
                          {{"protocol", "imap"}, {"mechanism", "PLAIN"}, {"result", "ok"}}));
  EXPECT_TRUE(find_sample(p, "mailroom_logins_total",
                          {{"protocol", "smtp"}, {"mechanism", "other"}, {"result", "fail"}}));
  EXPECT_TRUE(
      find_sample(p, "mailroom_http_requests_total", {{"family", "api"}, {"status_class", "4xx"}}));
  EXPECT_TRUE(find_sample(p, "mailroom_http_requests_total",
                          {{"family", "api"}, {"status_class", "other"}}));
  auto* lag = find_sample(p, "mailroom_directory_sync_lag_seconds", {{"source", "ldap"}});
  ASSERT_TRUE(lag);
  EXPECT_GE(lag->value, 0);
}

TEST(MetricCatalogTest, SyncLagFallsBackToZeroAfterASuccess) {
  sync_started("sql-test");
  sync_failed("sql-test");
  sync_succeeded("sql-test");
  auto p = parse_exposition(render_prometheus());
  ASSERT_EQ(p.error, "");
  auto* failures =
      find_sample(p, "mailroom_directory_sync_failures_total", {{"source", "sql-test"}});
  ASSERT_TRUE(failures);
  EXPECT_EQ(failures->value, 1);
  auto* lag = find_sample(p, "mailroom_directory_sync_lag_seconds", {{"source", "sql-test"}});
  ASSERT_TRUE(lag);
  EXPECT_GE(lag->value, 0);
  EXPECT_LT(lag->value, 3600);  // a sanity bound, not a timing threshold: it was just set
}

}  // namespace
}  // namespace mailroom::metrics

namespace mailroom::metrics {
namespace {

TEST(MetricCatalogTest, HttpRouteFamiliesComeFromPatternsNotPaths) {
  EXPECT_EQ(http_route_family("/api/v1/users/{user}"), "api");
  EXPECT_EQ(http_route_family("/api"), "api");
  EXPECT_EQ(http_route_family("/apix"), "other");  // a prefix only at a segment boundary
  EXPECT_EQ(http_route_family("/scim/v2/Users"), "scim");
  EXPECT_EQ(http_route_family("/metrics"), "metrics");
  EXPECT_EQ(http_route_family("/healthz"), "health");
  EXPECT_EQ(http_route_family("/readyz"), "health");
  EXPECT_EQ(http_route_family("/.well-known/autoconfig/mail/config-v1.1.xml"), "autoconfig");
  EXPECT_EQ(http_route_family("/autodiscover/autodiscover.xml"), "autoconfig");
  EXPECT_EQ(http_route_family(""), "none");
  EXPECT_EQ(http_route_family("/something/else"), "other");
}

}  // namespace
}  // namespace mailroom::metrics
