// LDAP benchmarks (driven by bench/ldap/run.sh against a slapd loaded with N users):
//   bench_ldap CONFIG DATA_DIR sync                 full initial sync into an empty replica
//   bench_ldap CONFIG DATA_DIR binds THREADS SECS   user binds/s with a warm bind pool
//   bench_ldap CONFIG DATA_DIR propagate ROUNDS     modify in LDAP -> visible in the replica
//                                                   (refreshAndPersist), per-round latency
// Prints one "key=value ..." line per measurement.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/local/local_directory.h"
#include "auth/sync/ldap_sync.h"
#include "src/core/config_section.h"
#include "src/core/log.h"

using namespace mailroom;
using Clock = std::chrono::steady_clock;

namespace {
long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: bench_ldap CONFIG DATA_DIR sync|binds|propagate ...\n";
    return 1;
  }
  core::init_logging("warn", "");
  std::string data_dir = argv[2], mode = argv[3];
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_file(argv[1], &errors);
  auto root = doc->root();
  auto dir = root.child("directory");
  auto section = dir.child("ldap");

  if (mode == "propagate") {
    int rounds = argc > 4 ? std::atoi(argv[4]) : 10;
    auto t0 = Clock::now();
    auto d = auth::open_ldap_directory(section, data_dir);  // lookup = replica, persist
    if (!d) {
      std::cerr << d.status().to_string() << "\n";
      return 2;
    }
    std::cout << "replica_ready_seconds=" << since(t0) << "\n";
    auto acc = (*d)->find_account_by_login("u0000001");
    if (!acc) {
      std::cerr << "u0000001: " << acc.status().to_string() << "\n";
      return 2;
    }
    const char* uri = std::getenv("LDAP_URI");
    std::vector<double> lat;
    for (int i = 0; i < rounds; ++i) {
      std::string name = "Bench Name " + std::to_string(i) + "-" + std::to_string(::getpid());
      std::string cmd = std::string("ldapmodify -x -H ") + uri +
                        " -D cn=admin,dc=example,dc=com -w secret >/dev/null <<'E'\n"
                        "dn: uid=u0000001,ou=people,dc=example,dc=com\nchangetype: modify\n"
                        "replace: cn\ncn: " +
                        name + "\nE\n";
      auto m0 = Clock::now();
      if (std::system(cmd.c_str()) != 0) {
        std::cerr << "ldapmodify failed\n";
        return 2;
      }
      double modify_s = since(m0);
      for (int k = 0; k < 20000; ++k) {
        auto a = (*d)->find_account_by_id(acc->id);
        if (a && a->display_name == name) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      lat.push_back(since(m0));
      std::cout << "round=" << i << " modify_seconds=" << modify_s
                << " visible_seconds=" << lat.back() << "\n";
    }
    std::sort(lat.begin(), lat.end());
    std::cout << "propagation_median_seconds=" << lat[lat.size() / 2] << " max=" << lat.back()
              << "\n";
    return 0;
  }

  auto options = auth::ldap::parse_ldap_options(section);
  if (!errors.empty()) {
    std::cerr << errors.messages().front() << "\n";
    return 2;
  }
  auto client = std::make_shared<auth::ldap::LdapClient>(options);

  if (mode == "sync") {
    auth::LocalDirectoryOptions lo;
    lo.path = data_dir + "/directory.db";
    auto local = auth::LocalDirectory::open(lo);
    if (!local) {
      std::cerr << local.status().to_string() << "\n";
      return 2;
    }
    auto sync = auth::sync::make_ldap_sync(std::make_shared<auth::LdapDirectory>(client), *local);
    auto t0 = Clock::now();
    auto r = sync->full_sync();
    if (!r) {
      std::cerr << r.status().to_string() << "\n";
      return 2;
    }
    std::cout << "full_sync_seconds=" << since(t0) << " seen=" << r->seen
              << " created=" << r->created << " errors=" << r->errors
              << " peak_rss_mb=" << peak_rss_kb() / 1024 << "\n";
    auto t1 = Clock::now();
    auto again = sync->full_sync();
    if (again)
      std::cout << "second_full_sync_seconds=" << since(t1) << " unchanged=" << again->unchanged
                << " peak_rss_mb=" << peak_rss_kb() / 1024 << "\n";
    return 0;
  }

  if (mode == "binds") {
    int threads = argc > 4 ? std::atoi(argv[4]) : 4;
    double secs = argc > 5 ? std::atof(argv[5]) : 5;
    int users = argc > 6 ? std::atoi(argv[6]) : 1000;
    std::atomic<long> ok{0}, bad{0};
    std::atomic<bool> stop{false};
    // Warm the pool.
    for (int i = 0; i < options.bind_pool_size; ++i)
      client->bind("uid=u0000001,ou=people,dc=example,dc=com", "pw1");
    std::vector<std::thread> ts;
    auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        std::mt19937 rng(t);
        while (!stop) {
          int u = 1 + static_cast<int>(rng() % users);
          char dn[96];
          std::snprintf(dn, sizeof dn, "uid=u%07d,ou=people,dc=example,dc=com", u);
          auto r = client->bind(dn, "pw" + std::to_string(u));
          (r == auth::PasswordCheck::ok ? ok : bad)++;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(secs));
    stop = true;
    for (auto& t : ts) t.join();
    double el = since(t0);
    std::cout << "binds=" << ok << " failed=" << bad << " seconds=" << el
              << " binds_per_second=" << static_cast<long>(ok / el) << " threads=" << threads
              << " bind_pool_size=" << options.bind_pool_size << "\n";
    return bad == 0 ? 0 : 3;
  }
  std::cerr << "unknown mode " << mode << "\n";
  return 1;
}
