// Mail store benchmarks (issue 3): durable appends/s, FETCH of cached facts/s, on-disk
// overhead per message, and the disk's raw fsync rate measured in the same run, so the
// closing line can state appends/s as a ratio of what the disk allows.
//
//   bench_store [--benchmark_filter=...]      (MAILROOM_BENCH_DIR: where to write; default /tmp)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "src/store/mail_store.h"
#include "src/store/store_options.h"

namespace {

using namespace mailroom::store;
namespace fs = std::filesystem;

// A benchmark whose appends fail would report the speed of failing: stop instead.
template <class R>
void must(const R& r, const char* what) {
  if (!r.is_ok()) {
    std::fprintf(stderr, "bench_store: %s failed: %s\n", what, r.status().to_string().c_str());
    std::abort();
  }
}

std::string bench_dir() {
  const char* env = std::getenv("MAILROOM_BENCH_DIR");
  std::string tmpl = std::string(env ? env : "/tmp") + "/mailroom-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) std::abort();
  return tmpl;
}

std::string sample_message(size_t body_bytes, int n) {
  std::string m =
      "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: benchmark message " +
      std::to_string(n) + "\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" +
      std::to_string(n) + "@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  while (m.size() < body_bytes) m += "The quick brown fox jumps over the lazy dog.\r\n";
  return m;
}

// Stand-in for mime::extract_facts: the header block, as a FETCH ENVELOPE would need.
std::string header_facts(std::string_view m) {
  auto end = m.find("\r\n\r\n");
  return std::string(m.substr(0, end == std::string_view::npos ? m.size() : end));
}

std::atomic<double> g_fsync_rate{0}, g_append_rate{0};

double rate(benchmark::State& state, std::chrono::steady_clock::time_point start) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return secs > 0 ? static_cast<double>(state.iterations()) / secs : 0;
}

void BM_RawFsync(benchmark::State& state) {
  std::string dir = bench_dir();
  std::string data(4096, 'x');
  int i = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    std::string p = dir + "/f" + std::to_string(i++ % 64);
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
        ::fsync(fd) != 0)
      state.SkipWithError("write/fsync failed");
    ::close(fd);
  }
  g_fsync_rate = rate(state, start);
  state.SetItemsProcessed(state.iterations());
  fs::remove_all(dir);
}
BENCHMARK(BM_RawFsync)->MinTime(2.0)->UseRealTime();

void BM_DurableAppend(benchmark::State& state) {
  std::string dir = bench_dir();
  StoreOptions o;
  o.root = dir + "/mail";
  o.facts = header_facts;
  auto store = open_file_store(o);
  std::string msg = sample_message(static_cast<size_t>(state.range(0)), 1);
  AppendRequest r;
  r.message = msg;
  must(store->list_mailboxes("bench-user"), "open");  // first access outside the timing
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (!store->append("bench-user", r).is_ok()) state.SkipWithError("append failed");
  }
  g_append_rate = rate(state, start);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(msg.size()));
  store.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_DurableAppend)->Arg(4096)->MinTime(2.0)->UseRealTime();

// Deliveries to different users in parallel (one index each), as an MX sees them.
void BM_DurableAppendParallelUsers(benchmark::State& state) {
  static std::unique_ptr<MailStore> store;
  static std::string dir;
  if (state.thread_index() == 0) {
    dir = bench_dir();
    StoreOptions o;
    o.root = dir + "/mail";
    o.facts = header_facts;
    store = open_file_store(o);
  }
  std::string msg = sample_message(4096, state.thread_index());
  AppendRequest r;
  r.message = msg;
  std::string user = "user-" + std::to_string(state.thread_index());
  for (auto _ : state) {
    if (!store->append(user, r).is_ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    store.reset();
    fs::remove_all(dir);
  }
}
BENCHMARK(BM_DurableAppendParallelUsers)->Threads(4)->MinTime(2.0)->UseRealTime();

void BM_FetchCachedFacts(benchmark::State& state) {
  std::string dir = bench_dir();
  StoreOptions o;
  o.root = dir + "/mail";
  o.fsync = false;  // filling is not what is measured
  o.facts = header_facts;
  auto store = open_file_store(o);
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::string msg = sample_message(4096, i);
    AppendRequest r;
    r.message = msg;
    must(store->append("bench-user", r), "append");
  }
  uint32_t uid = 1;
  size_t bytes = 0;
  for (auto _ : state) {
    auto f = store->facts("bench-user", "INBOX", uid);
    bytes += f->size();
    uid = uid % n + 1;
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations());
  store.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_FetchCachedFacts)->MinTime(1.0);

uint64_t disk_usage(const fs::path& p, bool allocated) {
  uint64_t total = 0;
  for (auto& e : fs::recursive_directory_iterator(p)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode))
      total +=
          allocated ? static_cast<uint64_t>(st.st_blocks) * 512 : static_cast<uint64_t>(st.st_size);
  }
  return total;
}

// Index + file-system overhead per message beyond the message octets themselves.
void BM_StoreOverheadPerMessage(benchmark::State& state) {
  const int n = 2000;
  for (auto _ : state) {
    std::string dir = bench_dir();
    StoreOptions o;
    o.root = dir + "/mail";
    o.fsync = false;
    o.facts = header_facts;
    uint64_t payload = 0;
    {
      auto store = open_file_store(o);
      for (int i = 0; i < n; ++i) {
        std::string msg = sample_message(static_cast<size_t>(state.range(0)), i);
        AppendRequest r;
        r.message = msg;
        must(store->append("bench-user", r), "append");
        payload += msg.size();
      }
    }  // closing the index checkpoints the WAL
    uint64_t apparent = disk_usage(dir, false), allocated = disk_usage(dir, true);
    state.counters["msg_bytes"] = static_cast<double>(state.range(0));
    state.counters["overhead_apparent_B"] = static_cast<double>(apparent - payload) / n;
    state.counters["overhead_allocated_B"] = static_cast<double>(allocated - payload) / n;
    fs::remove_all(dir);
  }
}
BENCHMARK(BM_StoreOverheadPerMessage)
    ->Arg(4096)
    ->Arg(40000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Mail recall's store side (issue 18), the way RecallService drives it on 8 threads: a search's
// evidence (find_copies in every mailbox), then a recall (recall_copies with batched commits
// and one sync_batched), over more mailboxes than the open index cache holds, as at 10,000
// recipients. Counters: wall and CPU (user + system) milliseconds per mailbox of each step.
void BM_RecallAcrossMailboxes(benchmark::State& state) {
  const int users = static_cast<int>(state.range(0));
  const size_t threads = 8;
  std::string dir = bench_dir();
  StoreOptions o;
  o.root = dir + "/mail";
  o.facts = header_facts;
  o.open_users_cache = 256;
  std::vector<std::string> guids(static_cast<size_t>(users));
  {
    StoreOptions fill = o;
    fill.fsync = false;  // filling is not what is measured
    auto store = open_file_store(fill);
    for (int u = 0; u < users; ++u) {
      for (int i = 0; i < 3; ++i) {
        std::string msg = sample_message(4096, i);
        AppendRequest r;
        r.message = msg;
        auto res = store->append("user-" + std::to_string(u), r);
        must(res, "append");
        if (i == 1) guids[static_cast<size_t>(u)] = res->guid;
      }
    }
  }
  ::sync();
  auto store = open_file_store(o);
  auto parallel = [&](auto&& fn) {
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (int u = next++; u < users; u = next++) fn(u);
      });
    for (auto& th : pool) th.join();
  };
  int round = 0;
  double find_s = 0, recall_s = 0, recall_cpu_s = 0;
  for (auto _ : state) {
    std::string id = "R" + std::to_string(round++);
    auto t0 = std::chrono::steady_clock::now();
    parallel([&](int u) {
      must(store->find_copies("user-" + std::to_string(u), guids[static_cast<size_t>(u)]),
           "find_copies");
    });
    auto t1 = std::chrono::steady_clock::now();
    double cpu0 = cpu_seconds();
    parallel([&](int u) {
      must(store->recall_copies("user-" + std::to_string(u), guids[static_cast<size_t>(u)], id, 0,
                                MailStore::Commit::batched),
           "recall_copies");
    });
    if (!store->sync_batched().is_ok()) state.SkipWithError("sync_batched failed");
    auto t2 = std::chrono::steady_clock::now();
    recall_cpu_s += cpu_seconds() - cpu0;
    find_s += std::chrono::duration<double>(t1 - t0).count();
    recall_s += std::chrono::duration<double>(t2 - t1).count();
    state.PauseTiming();
    parallel([&](int u) {
      must(store->restore_recalled("user-" + std::to_string(u), id), "restore_recalled");
    });
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * users);
  double n = static_cast<double>(state.iterations()) * users;
  state.counters["find_ms_per_mailbox"] = find_s * 1000 / n;
  state.counters["recall_ms_per_mailbox"] = recall_s * 1000 / n;
  state.counters["recall_cpu_ms_per_mailbox"] = recall_cpu_s * 1000 / n;
  store.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_RecallAcrossMailboxes)
    ->Arg(2000)
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_fsync_rate > 0 && g_append_rate > 0)
    std::printf("durable appends/s %.1f ; raw write+fsync/s %.1f ; ratio %.3f\n",
                g_append_rate.load(), g_fsync_rate.load(), g_append_rate / g_fsync_rate);
  return 0;
}
