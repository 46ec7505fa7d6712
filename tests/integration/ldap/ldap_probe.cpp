// ldap_probe: drives the LDAP Directory backend from tests (one command per stdin line,
// one answer per stdout line), so an integration test can stop slapd between two lookups of
// one process with a warm pool.
//   ldap_probe CONFIG.toml            (config with a [directory.ldap] section)
// Commands: address A | login L | id I | alias A | group A | domain D | password LOGIN PW
//           | state KEY (sync_state of <DATA_DIR>/directory.db, replica mode) | quit
// Answers:  "found <fields>" | "not_found" | "unavailable <detail>" | "ok" | "mismatch" ...
// Exit: 2 when open_ldap_directory fails (the error is printed on stderr).
#include <iostream>
#include <sstream>

#include "auth/ldap/ldap_directory.h"
#include "auth/local/local_directory.h"
#include "src/core/config_section.h"
#include "src/core/log.h"

using namespace mailroom;

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

template <class T>
bool report_error(const core::Result<T>& r) {
  if (r) return false;
  if (r.code() == core::Code::not_found)
    std::cout << "not_found\n";
  else
    std::cout << core::code_name(r.code()) << " " << r.status().log_detail() << "\n";
  return true;
}

void print_account(const auth::Account& a) {
  std::cout << "found id=" << a.id << " login=" << a.login << " address=" << a.address
            << " other=" << join(a.other_addresses)
            << " status=" << auth::account_status_name(a.status) << " quota_bytes=" << a.quota_bytes
            << " quota_messages=" << a.quota_messages << " forward=" << join(a.forward_to)
            << " keep_copy=" << (a.forward_keep_copy ? 1 : 0)
            << " name=" << core::quote(a.display_name) << "\n";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ldap_probe CONFIG.toml [DATA_DIR]\n";
    return 1;
  }
  core::init_logging(std::getenv("PROBE_LOG") ? std::getenv("PROBE_LOG") : "error", "");
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_file(argv[1], &errors);
  auto root = doc->root();
  auto dir = root.child("directory");
  auto section = dir.child("ldap");
  std::string data_dir = argc > 2 ? argv[2] : "/tmp";
  auto opened = auth::open_ldap_directory(section, data_dir);
  if (!opened) {
    for (const auto& m : errors.messages()) std::cerr << m << "\n";
    std::cerr << opened.status().to_string() << "\n";
    return 2;
  }
  auto d = *opened;
  std::cout << "ready " << d->name() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, a, b;
    in >> cmd >> a;
    std::getline(in >> std::ws, b);
    if (cmd == "quit") break;
    if (cmd == "address" || cmd == "login" || cmd == "id") {
      auto r = cmd == "address" ? d->find_account_by_address(a)
               : cmd == "login" ? d->find_account_by_login(a)
                                : d->find_account_by_id(a);
      if (!report_error(r)) print_account(*r);
    } else if (cmd == "alias") {
      auto r = d->find_alias(a);
      if (!report_error(r)) std::cout << "found targets=" << join(r->targets) << "\n";
    } else if (cmd == "group") {
      auto r = d->find_group(a);
      if (!report_error(r)) {
        auto m = r->members;
        std::sort(m.begin(), m.end());
        std::cout << "found members=" << join(m) << " policy=" << static_cast<int>(r->send_policy)
                  << "\n";
      }
    } else if (cmd == "state") {
      auth::LocalDirectoryOptions lo;
      lo.path = data_dir + "/directory.db";
      lo.create = false;
      auto local = auth::LocalDirectory::open(lo);
      if (!report_error(local)) {
        auto v = (*local)->get_sync_state(a);
        if (!report_error(v)) std::cout << "found " << *v << "\n";
      }
    } else if (cmd == "domain") {
      auto r = d->find_domain(a);
      if (!report_error(r)) std::cout << "found " << r->name << "\n";
    } else if (cmd == "password") {
      auto acc = d->find_account_by_login(a);
      if (report_error(acc)) {
        std::cout.flush();
        continue;
      }
      auto pc = d->check_password(*acc, b);
      std::cout << (pc == auth::PasswordCheck::ok         ? "ok"
                    : pc == auth::PasswordCheck::mismatch ? "mismatch"
                                                          : "unavailable")
                << "\n";
    } else {
      std::cout << "error unknown command\n";
    }
    std::cout.flush();
  }
  return 0;
}
