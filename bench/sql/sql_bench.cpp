// Throughput and latency of the MariaDB pieces against a running server (bench/sql/run.sh
// starts one and fills it):
//   resolutions/s  find_account_by_address on random existing accounts, T threads, warm pool
//   logins/s       find_account_by_login + check_password ({SSHA512} hashes: the cost measured
//                  is the directory's, not the hash's; ARGON2ID would dominate at ~20 ms each)
//   recall         delivery-log searches by recipient, sender, recipient domain, Message-ID,
//                  time range; median and p99 latency
// Usage: sql_bench PORT ACCOUNTS LOG_ROWS [THREADS] [SECONDS]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "auth/sql/sql_directory.h"
#include "auth/sql/sql_options.h"
#include "src/core/log.h"
#include "src/queue/mariadb_delivery_log.h"

using namespace mailroom;
using Clock = std::chrono::steady_clock;

namespace {

db::MariaDbOptions pool(unsigned port, size_t size) {
  db::MariaDbOptions p;
  db::ServerAddress a;
  a.host = "127.0.0.1";
  a.port = port;
  p.servers = {a};
  p.database = "mailroom";
  p.user = "mailroom";
  p.password = "secret";
  p.pool_size = size;
  return p;
}

template <class Fn>
double per_second(int threads, int seconds, Fn fn, std::atomic<uint64_t>* failures) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!fn(rng)) failures->fetch_add(1);
        ++n;
      }
      done.fetch_add(n);
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return static_cast<double>(done.load()) / secs;
}

void latency(const char* name, int runs, const std::function<bool(int)>& fn) {
  std::vector<double> ms;
  int failed = 0;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    if (!fn(i)) ++failed;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("recall %-22s runs=%d median=%.2fms p99=%.2fms max=%.2fms failed=%d\n", name, runs,
              ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back(),
              failed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: sql_bench PORT ACCOUNTS LOG_ROWS [THREADS] [SECONDS]\n");
    return 2;
  }
  core::init_logging("warn", "");
  unsigned port = static_cast<unsigned>(std::atoi(argv[1]));
  long accounts = std::atol(argv[2]);
  long log_rows = std::atol(argv[3]);
  int threads = argc > 4 ? std::atoi(argv[4]) : 4;
  int seconds = argc > 5 ? std::atoi(argv[5]) : 10;

  auth::sql::SqlDirectoryOptions o;
  o.pool = pool(port, static_cast<size_t>(threads));
  for (size_t i = 0; i < auth::sql::kQueryCount; ++i) {
    o.queries[i] = auth::sql::default_query(static_cast<auth::sql::QueryKind>(i));
  }
  auto dir = auth::open_sql_directory(o);
  if (!dir) {
    std::fprintf(stderr, "open: %s\n", dir.status().to_string().c_str());
    return 1;
  }
  auto& d = **dir;
  if (accounts > 0) {
    std::atomic<uint64_t> fail{0};
    double rps = per_second(
        threads, seconds,
        [&](std::mt19937_64& rng) {
          long i = static_cast<long>(rng() % static_cast<uint64_t>(accounts));
          return d.find_account_by_address("user" + std::to_string(i) + "@example.com").is_ok();
        },
        &fail);
    std::printf("resolutions/s %.0f (threads=%d pool=%d accounts=%ld failures=%lu)\n", rps, threads,
                threads, accounts, static_cast<unsigned long>(fail.load()));
    fail = 0;
    double lps = per_second(
        threads, seconds,
        [&](std::mt19937_64& rng) {
          long i = static_cast<long>(rng() % static_cast<uint64_t>(accounts));
          auto a = d.find_account_by_login("user" + std::to_string(i));
          return a && d.check_password(*a, "pw" + std::to_string(i)) == auth::PasswordCheck::ok;
        },
        &fail);
    std::printf("logins/s %.0f (threads=%d, {SSHA512} hashes, failures=%lu)\n", lps, threads,
                static_cast<unsigned long>(fail.load()));
  }
  if (log_rows > 0) {
    queue::MariaDbDeliveryLogOptions lo;
    lo.pool = pool(port, 2);
    lo.create_table = false;
    auto log = queue::open_mariadb_delivery_log(lo);
    if (!log) {
      std::fprintf(stderr, "open log: %s\n", log.status().to_string().c_str());
      return 1;
    }
    auto& l = **log;
    std::mt19937_64 rng(42);
    auto pick = [&] { return static_cast<long>(rng() % static_cast<uint64_t>(log_rows)); };
    // Rows were generated by run.sh: row n has recipient user<n % 100000>@d<n % 1000>.example,
    // sender s<n % 50000>@partner<n % 200>.example, message-id m<n>@gen, time 1.7e9 + n.
    int runs = 200;
    latency("by recipient", runs, [&](int) {
      queue::DeliveryQuery q;
      long n = pick();
      q.recipient =
          "user" + std::to_string(n % 100000) + "@d" + std::to_string(n % 1000) + ".example";
      return l.query(q).is_ok();
    });
    latency("by sender", runs, [&](int) {
      queue::DeliveryQuery q;
      long n = pick();
      q.envelope_sender =
          "s" + std::to_string(n % 50000) + "@partner" + std::to_string(n % 200) + ".example";
      return l.query(q).is_ok();
    });
    latency("by message-id", runs, [&](int) {
      queue::DeliveryQuery q;
      q.message_id = "m" + std::to_string(pick()) + "@gen";
      auto r = l.query(q);
      return r && r->size() == 1;
    });
    latency("by time range (1h)", runs, [&](int) {
      queue::DeliveryQuery q;
      q.since = 1700000000 + pick();
      q.until = q.since + 3600;
      return l.query(q).is_ok();
    });
    latency("by recipient domain", runs, [&](int) {
      queue::DeliveryQuery q;
      q.recipient_domain = "d" + std::to_string(pick() % 1000) + ".example";
      auto r = l.query(q);
      return r && r->size() == 100;
    });
    latency("by sender domain", runs, [&](int) {
      queue::DeliveryQuery q;
      q.sender_domain = "partner" + std::to_string(pick() % 200) + ".example";
      auto r = l.query(q);
      return r && r->size() == 100;
    });
    latency("by subject prefix", runs, [&](int) {
      queue::DeliveryQuery q;
      q.subject_prefix = "Subject " + std::to_string(1000 + pick() % 9007);  // 4+ digits
      auto r = l.query(q);
      return r && !r->empty();
    });
    latency("recipient + time range", runs, [&](int) {
      queue::DeliveryQuery q;
      long n = pick();
      q.recipient =
          "user" + std::to_string(n % 100000) + "@d" + std::to_string(n % 1000) + ".example";
      q.since = 1700000000;
      q.until = 1700000000 + log_rows / 2;
      return l.query(q).is_ok();
    });
  }
  return 0;
}
