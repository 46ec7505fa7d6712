#include "src/core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace mailroom::metrics {

namespace {

// Misuse of the registry is a programming error found by the first test that runs the code:
// fail loudly rather than export a page Prometheus rejects.
[[noreturn]] void metrics_die(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

bool metrics_valid_name(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void metrics_check_labels(const std::string& metric, const std::vector<std::string>& labels,
                          bool histogram) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& l = labels[i];
    // Label names beginning with "__" are reserved for Prometheus itself.
    if (!metrics_valid_name(l, false) || l.rfind("__", 0) == 0 || (histogram && l == "le")) {
      metrics_die("metric " + metric + ": invalid label name \"" + l + "\"");
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[j] == l) metrics_die("metric " + metric + ": label " + l + " twice");
    }
  }
}

// HELP text escaping: backslash and line feed (the format's rule for docstrings).
std::string metrics_escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `name{a="x",b="y"}` (or `name` alone), with `extra` (le="...") appended to the labels.
void metrics_sample_line(std::string& out, std::string_view name,
                         const std::vector<std::string>& label_names, const LabelValues& values,
                         std::string_view extra_label, std::string_view extra_value,
                         std::string_view value) {
  out += name;
  if (!label_names.empty() || !extra_label.empty()) {
    out += '{';
    bool first = true;
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (!first) out += ',';
      first = false;
      out += label_names[i];
      out += "=\"";
      out += escape_label_value(values[i]);
      out += '"';
    }
    if (!extra_label.empty()) {
      if (!first) out += ',';
      out += extra_label;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

int metrics_compare(const LabelValues& a, std::initializer_list<std::string_view> b) {
  auto ai = a.begin();
  auto bi = b.begin();
  for (; ai != a.end() && bi != b.end(); ++ai, ++bi) {
    int c = std::string_view(*ai).compare(*bi);
    if (c != 0) return c;
  }
  if (ai == a.end() && bi == b.end()) return 0;
  return ai == a.end() ? -1 : 1;
}

const char* metrics_type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

class CallbackGaugeFamily : public FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> labels,
                      std::function<std::vector<Sample>()> collect)
      : FamilyBase(std::move(name), std::move(help), Type::gauge, std::move(labels)),
        collect_(std::move(collect)) {}

 protected:
  void render_samples(std::string& out) const override {
    auto samples = collect_();
    std::sort(samples.begin(), samples.end(),
              [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
    for (const auto& s : samples) {
      if (s.labels.size() != label_names().size()) continue;  // a collector's mistake: skip it
      metrics_sample_line(out, name(), label_names(), s.labels, {}, {}, format_value(s.value));
    }
  }

 private:
  std::function<std::vector<Sample>()> collect_;
};

}  // namespace

// ---- instruments ----

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      metrics_die("histogram buckets must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  // A handful of buckets: a linear scan is as fast as a binary search and simpler.
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,      2.5,   5,    10,    30,   60};
  return b;
}

// ---- families ----

bool FamilyBase::LabelLess::operator()(const LabelValues& a,
                                       std::initializer_list<std::string_view> b) const {
  return metrics_compare(a, b) < 0;
}
bool FamilyBase::LabelLess::operator()(std::initializer_list<std::string_view> a,
                                       const LabelValues& b) const {
  return metrics_compare(b, a) > 0;
}

void FamilyBase::check_arity(std::size_t n) const {
  if (n != labels_.size()) {
    metrics_die("metric " + name_ + ": " + std::to_string(n) + " label values for " +
                std::to_string(labels_.size()) + " labels");
  }
}

void FamilyBase::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += metrics_escape_help(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += metrics_type_name(type_);
  out += '\n';
  render_samples(out);
}

template <>
void Family<Counter>::render_samples(std::string& out) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, c] : children_) {
    metrics_sample_line(out, name(), label_names(), values, {}, {}, std::to_string(c->value()));
  }
}

template <>
void Family<Gauge>::render_samples(std::string& out) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, g] : children_) {
    metrics_sample_line(out, name(), label_names(), values, {}, {}, format_value(g->value()));
  }
}

template <>
void Family<Histogram>::render_samples(std::string& out) const {
  std::shared_lock lock(mu_);
  const std::string bucket = name() + "_bucket";
  for (const auto& [values, h] : children_) {
    auto s = h->snapshot();
    const auto& bounds = h->bounds();
    for (size_t i = 0; i < bounds.size(); ++i) {
      metrics_sample_line(out, bucket, label_names(), values, "le", format_value(bounds[i]),
                          std::to_string(s.cumulative[i]));
    }
    metrics_sample_line(out, bucket, label_names(), values, "le", "+Inf", std::to_string(s.count));
    metrics_sample_line(out, name() + "_sum", label_names(), values, {}, {}, format_value(s.sum));
    metrics_sample_line(out, name() + "_count", label_names(), values, {}, {},
                        std::to_string(s.count));
  }
}

// ---- registry ----

struct Registry::Impl {
  mutable std::mutex mu;
  std::map<std::string, std::unique_ptr<FamilyBase>> families;
  std::map<std::string, std::vector<double>> histogram_bounds;

  template <class T>
  Family<T>& get_or_add(const std::string& name, const std::string& help, Type type,
                        std::vector<std::string> labels, std::function<std::unique_ptr<T>()> make) {
    if (!metrics_valid_name(name, true)) metrics_die("invalid metric name \"" + name + "\"");
    metrics_check_labels(name, labels, type == Type::histogram);
    std::lock_guard lock(mu);
    auto it = families.find(name);
    if (it != families.end()) {
      auto* f = dynamic_cast<Family<T>*>(it->second.get());
      if (!f || f->type() != type || f->label_names() != labels) {
        metrics_die("metric " + name + " registered twice with different types or labels");
      }
      return *f;
    }
    auto f = std::make_unique<Family<T>>(name, help, type, std::move(labels), std::move(make));
    auto& ref = *f;
    families.emplace(name, std::move(f));
    return ref;
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> labels) {
  return impl_->get_or_add<Counter>(name, help, Type::counter, std::move(labels),
                                    [] { return std::make_unique<Counter>(); });
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> labels) {
  return impl_->get_or_add<Gauge>(name, help, Type::gauge, std::move(labels),
                                  [] { return std::make_unique<Gauge>(); });
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->histogram_bounds.find(name);
    if (it != impl_->histogram_bounds.end() && it->second != bounds) {
      metrics_die("histogram " + name + " registered twice with different buckets");
    }
    impl_->histogram_bounds[name] = bounds;
  }
  Histogram probe(bounds);  // validates the buckets now, not at the first observation
  return impl_->get_or_add<Histogram>(
      name, help, Type::histogram, std::move(labels),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
}

void Registry::callback_gauge(const std::string& name, const std::string& help,
                              std::vector<std::string> labels,
                              std::function<std::vector<Sample>()> collect) {
  if (!metrics_valid_name(name, true)) metrics_die("invalid metric name \"" + name + "\"");
  metrics_check_labels(name, labels, false);
  std::lock_guard lock(impl_->mu);
  auto it = impl_->families.find(name);
  if (it != impl_->families.end() && !dynamic_cast<CallbackGaugeFamily*>(it->second.get())) {
    metrics_die("metric " + name + " registered twice with different types");
  }
  impl_->families[name] =
      std::make_unique<CallbackGaugeFamily>(name, help, std::move(labels), std::move(collect));
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, family] : impl_->families) family->render(out);
  return out;
}

Registry& Registry::global() {
  // Never destroyed: threads that outlive main's locals (workers, the sync thread) may still
  // count while statics are torn down.
  static Registry* r = new Registry();
  return *r;
}

std::string render_prometheus() { return Registry::global().render(); }

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace mailroom::metrics
