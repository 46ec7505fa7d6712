// A small driver that opens the SQL directory from a config file and answers lookups read from
// stdin, one JSON line per command, so Python tests can keep one directory (and its pool) open
// while they stop, restart and fail over mariadbd underneath it.
//
//   sql_directory_driver CONFIG.toml [DATA_DIR]   (DATA_DIR holds the replica for lookup=replica)
//   first line out: {"open":"ok"} or {"open":"error","message":"..."}
//   commands (fields separated by TAB): account_by_address A | account_by_login L |
//     account_by_id I | domain D | domains | alias A | group A | password LOGIN PASSWORD |
//     scram LOGIN | quit
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/sql/sql_directory.h"
#include "src/core/config_section.h"
#include "src/core/log.h"

using namespace mailroom;

namespace {
std::string js(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}
std::string js(const std::vector<std::string>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + js(v[i]);
  return o + "]";
}
std::string error_json(const core::Status& s) {
  return "{\"code\":" + js(core::code_name(s.code())) + ",\"message\":" + js(s.to_string()) + "}";
}
std::string account_json(const auth::Account& a) {
  return "{\"code\":\"ok\",\"id\":" + js(a.id) + ",\"login\":" + js(a.login) +
         ",\"address\":" + js(a.address) + ",\"display_name\":" + js(a.display_name) +
         ",\"status\":" + js(auth::account_status_name(a.status)) +
         ",\"quota_bytes\":" + std::to_string(a.quota_bytes) +
         ",\"other_addresses\":" + js(a.other_addresses) + ",\"forward_to\":" + js(a.forward_to) +
         ",\"forward_keep_copy\":" + (a.forward_keep_copy ? "true" : "false") +
         ",\"send_as\":" + js(a.send_as) + "}";
}
std::string domain_json(const auth::Domain& d) {
  return "{\"name\":" + js(d.name) +
         ",\"kind\":" + js(d.kind == auth::DomainKind::alias ? "alias" : "local") +
         ",\"alias_of\":" + js(d.alias_of) + ",\"catch_all\":" + js(d.catch_all) + "}";
}
std::vector<std::string> split_tab(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == '\t') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::cerr << "usage: sql_directory_driver CONFIG.toml [DATA_DIR]\n";
    return 2;
  }
  core::init_logging("warn", "");
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_file(argv[1], &errors);
  core::ConfigSection root = doc->root();
  core::ConfigSection dir = root.child("directory");
  core::ConfigSection section = dir.child("sql");
  auto opened = auth::open_sql_directory(section, argc == 3 ? argv[2] : "/nonexistent");
  if (!opened) {
    std::cout << "{\"open\":\"error\",\"message\":" << js(opened.status().client_message()) << "}"
              << std::endl;
    return 1;
  }
  if (!errors.empty()) {
    std::cout << "{\"open\":\"error\",\"message\":" << js(errors.messages()[0]) << "}" << std::endl;
    return 1;
  }
  std::cout << "{\"open\":\"ok\"}" << std::endl;
  auth::Directory& d = **opened;
  std::string line;
  while (std::getline(std::cin, line)) {
    auto f = split_tab(line);
    const std::string& cmd = f[0];
    std::string arg = f.size() > 1 ? f[1] : "";
    std::string out;
    if (cmd == "quit") break;
    if (cmd == "account_by_address" || cmd == "account_by_login" || cmd == "account_by_id") {
      auto r = cmd == "account_by_address" ? d.find_account_by_address(arg)
               : cmd == "account_by_login" ? d.find_account_by_login(arg)
                                           : d.find_account_by_id(arg);
      out = r ? account_json(*r) : error_json(r.status());
    } else if (cmd == "domain") {
      auto r = d.find_domain(arg);
      out = r ? "{\"code\":\"ok\",\"domain\":" + domain_json(*r) + "}" : error_json(r.status());
    } else if (cmd == "domains") {
      auto r = d.list_domains();
      if (r) {
        out = "{\"code\":\"ok\",\"domains\":[";
        for (size_t i = 0; i < r->size(); ++i) out += (i ? "," : "") + domain_json((*r)[i]);
        out += "]}";
      } else {
        out = error_json(r.status());
      }
    } else if (cmd == "alias") {
      auto r = d.find_alias(arg);
      out = r ? "{\"code\":\"ok\",\"targets\":" + js(r->targets) + "}" : error_json(r.status());
    } else if (cmd == "group") {
      auto r = d.find_group(arg);
      out = r ? "{\"code\":\"ok\",\"display_name\":" + js(r->display_name) +
                    ",\"members\":" + js(r->members) +
                    ",\"allowed_senders\":" + js(r->allowed_senders) + "}"
              : error_json(r.status());
    } else if (cmd == "password") {
      auto r = d.find_account_by_login(arg);
      if (!r) {
        out = error_json(r.status());
      } else {
        auto c = d.check_password(*r, f.size() > 2 ? f[2] : "");
        out = std::string("{\"code\":\"ok\",\"check\":") +
              js(c == auth::PasswordCheck::ok         ? "ok"
                 : c == auth::PasswordCheck::mismatch ? "mismatch"
                                                      : "unavailable") +
              ",\"id\":" + js(r->id) + "}";
      }
    } else if (cmd == "scram") {
      auto r = d.find_account_by_login(arg);
      if (!r) {
        out = error_json(r.status());
      } else {
        auto s = d.scram_secret(*r);
        out = s ? "{\"code\":\"ok\",\"secret\":" + js(*s) + "}" : error_json(s.status());
      }
    } else {
      out = "{\"code\":\"invalid_argument\",\"message\":\"unknown command\"}";
    }
    std::cout << out << std::endl;
  }
  return 0;
}
