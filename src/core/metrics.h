// A small metrics registry: counters, gauges and fixed-bucket histograms with label sets,
// rendered in the Prometheus text exposition format 0.0.4 for GET /metrics.
//
// Hot paths pay one relaxed atomic operation per event: an instrument (Counter, Gauge,
// Histogram) is a few atomics, never behind a mutex, and never allocates when it counts.
// A labelled family finds or creates the child for a set of label values under a shared
// lock, so a caller on a hot path looks its children up once and keeps the reference
// (children live as long as their registry and never move).
//
// Families are registered at first use (function-local statics in src/core/metric_catalog.cpp,
// the names Mailroom exports); registering a name again returns the same family when type,
// labels and buckets agree. A name, label name or label count that breaks the format is a
// programming error: the process logs it on stderr and aborts (STYLE.md, Errors).
//
// Threading: everything here is thread-safe. Ownership: the registry owns every family and
// child; Registry::global() lives for the process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::metrics {

// Monotonic count of events (`_total` names).
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (queue depth, open connections).
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, strictly increasing, finite; +Inf is
// implicit). Buckets are stored per bucket and made cumulative when rendered, so _count always
// equals the +Inf bucket even while other threads observe. NaN observations are dropped.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Runs f() (a system call, say) and observes how long it took, in seconds; returns its result.
template <class F>
auto timed(Histogram& h, F&& f) {
  auto start = std::chrono::steady_clock::now();
  auto result = std::forward<F>(f)();
  h.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return result;
}

// Default buckets for latencies in seconds: 1 ms .. 60 s.
const std::vector<double>& latency_buckets();

enum class Type { counter, gauge, histogram };

// The label values of one child, as sorted in the output.
using LabelValues = std::vector<std::string>;

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return labels_; }
  // Appends the family's HELP, TYPE and sample lines.
  void render(std::string& out) const;

 protected:
  // Appends the sample lines.
  virtual void render_samples(std::string& out) const = 0;
  void check_arity(std::size_t n) const;  // aborts when n != label count

  // Child lookup without allocating: label values compared as string_views.
  struct LabelLess {
    using is_transparent = void;
    bool operator()(const LabelValues& a, const LabelValues& b) const { return a < b; }
    bool operator()(const LabelValues& a, std::initializer_list<std::string_view> b) const;
    bool operator()(std::initializer_list<std::string_view> a, const LabelValues& b) const;
  };

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> labels_;
};

template <class T>
class Family : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         std::function<std::unique_ptr<T>()> make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        make_(std::move(make)) {
    if (label_names().empty()) children_.emplace(LabelValues{}, make_());
  }

  // The child for these label values (in the order of the family's label names), created on
  // first use. The reference stays valid for the registry's lifetime.
  T& with(std::initializer_list<std::string_view> values) {
    check_arity(values.size());
    {
      std::shared_lock lock(mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
    LabelValues key(values.begin(), values.end());
    return *children_.emplace(std::move(key), make_()).first->second;
  }
  // The child of a family without labels.
  T& get() { return with({}); }

  // Every child, for tests and for readiness/diagnostics.
  std::vector<std::pair<LabelValues, const T*>> children() const {
    std::shared_lock lock(mu_);
    std::vector<std::pair<LabelValues, const T*>> out;
    for (const auto& [k, v] : children_) out.emplace_back(k, v.get());
    return out;
  }

 protected:
  void render_samples(std::string& out) const override;

 private:
  std::function<std::unique_ptr<T>()> make_;
  mutable std::shared_mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>, LabelLess> children_;
};

// Defined in metrics.cpp for the three instruments.
template <>
void Family<Counter>::render_samples(std::string& out) const;
template <>
void Family<Gauge>::render_samples(std::string& out) const;
template <>
void Family<Histogram>::render_samples(std::string& out) const;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One sample of a gauge computed when /metrics is scraped (e.g. seconds since the last sync).
struct Sample {
  LabelValues labels;
  double value = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> labels = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> labels = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> labels, std::vector<double> bounds);
  // A gauge whose samples `collect` computes at every render (it runs under the registry's
  // lock: it must not register metrics). A second registration of the name replaces it.
  void callback_gauge(const std::string& name, const std::string& help,
                      std::vector<std::string> labels,
                      std::function<std::vector<Sample>()> collect);

  // The whole registry in the text exposition format 0.0.4, families sorted by name.
  std::string render() const;

  // The process's registry (what GET /metrics shows).
  static Registry& global();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Registry::global().render(); Content-Type: text/plain; version=0.0.4.
std::string render_prometheus();
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Format helpers (exposed for tests): a label value escaped (\\, \", \n), a number as the
// format writes it (+Inf, -Inf, NaN, shortest round-trip otherwise).
std::string escape_label_value(std::string_view v);
std::string format_value(double v);

}  // namespace mailroom::metrics
