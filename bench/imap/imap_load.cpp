// IMAP load generator (Boost.Asio, C++20 coroutines): many concurrent sessions on one or two
// threads, so that the generator is not what limits the measured server on a 2-core machine.
// Standard IMAP4rev1 + LITERAL+ + UIDPLUS + IDLE only: it drives mailroomd and Dovecot alike.
//
//   imap_load mixed --port P [--host 127.0.0.1] [--users 20] [--user-fmt testuser%d]
//                   [--password pass] [--clients 32] [--seconds 20] [--threads 1] [--pid SERVER]
//     Each client loops over whole sessions: LOGIN, SELECT INBOX, APPEND, NOOP, FETCH of 20
//     headers, FETCH of 3 bodies, SEARCH, two STOREs, UID STORE \Deleted + UID EXPUNGE of its
//     own message, IDLE + DONE, LOGOUT (13 commands). Prints one JSON line: sessions/s,
//     operations/s, errors, and the CPU used by the generator and (with --pid) by the server's
//     process tree during the run, to show which side was saturated.
//
//   imap_load mailbox --port P --append-dir DIR [--users 100] [--clients 50] [--seconds 20] ...
//     The shape of the independent load of issue 20: each client loops over whole sessions of a
//     user with a big INBOX of real-looking mail: LOGIN, LIST "" "*", SELECT INBOX, FETCH of the
//     last 50 messages' UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE, FETCH of 3
//     random whole messages, STORE +FLAGS (\Seen) on them, APPEND of a message from DIR (the
//     files there, round robin; attachments included), UID STORE \Deleted + UID EXPUNGE of it,
//     LOGOUT (10 commands). Same JSON line as mixed.
//
//   imap_load prime --port P [--users 100] [--clients 8]
//     Once per user: LOGIN, SELECT INBOX, FETCH 1:* of what `mailbox` fetches, LOGOUT, so that
//     a server that builds its indexes and caches on first use (Dovecot) is measured warm, as a
//     server that has been running. Prints the seconds it took.
//
//   imap_load logins --port P --auth-file FILE [--clients 32] [--seconds 20] [--pid SERVER]
//     Each client loops over connect, one login command, LOGOUT. FILE holds one command per
//     line (after the tag: "LOGIN user pass" or "AUTHENTICATE OAUTHBEARER <base64>"); client i
//     uses line i modulo the count. Prints logins/s and the login command's p50/p90/p99 in ms.
//
//   imap_load idle --port P --pid SERVER [--count 1000] [--procs 1] [--sources 1] [--tls]
//                  [--hold 5] [--users 20] ...
//     Opens --count connections (split over --procs processes, each under its own fd limit,
//     from 127.0.0.1..127.0.0.<sources>), each LOGIN, SELECT INBOX, IDLE; then prints the RSS
//     delta of the server's whole process tree per connection (one JSON line), and the Pss
//     delta (/proc/PID/smaps_rollup), which counts pages shared between processes once.
//
//   imap_load readpath --port P --user U [--password pass] [--select INBOX] --commands FILE
//                      [--repeat 3] [--warmup 1] [--save-dir DIR] [--pid SERVER]
//     One connection: LOGIN, SELECT, then each command of FILE (one a line) --warmup times
//     untimed and --repeat times timed: the wall time from sending the command to its tagged
//     reply, the bytes received, and this process's CPU time in the same interval (to show the
//     client was not the bottleneck). One JSON line per command; with --pid also the largest
//     Rss/Pss of the server's tree seen between runs. --save-dir keeps the first warm-up
//     answer of command i in DIR/i.txt (for comparing SEARCH/SORT/THREAD results).
#include <dirent.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

struct Args {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  int users = 20;
  std::string user_fmt = "testuser%d";
  std::string password = "pass";
  int clients = 32;
  double seconds = 20;
  int threads = 1;
  int pid = 0;
  int count = 1000;
  int procs = 1;
  int sources = 1;
  bool tls = false;
  double hold = 5;
  std::vector<std::string> auth_lines;       // logins: --auth-file
  std::vector<std::string> append_messages;  // mailbox: --append-dir (CRLF files)
  // readpath
  std::string user;                   // the one login (default: user_fmt with 1)
  std::string select = "INBOX";       // selected before the commands ("" for none)
  std::vector<std::string> commands;  // --commands FILE: one command per line
  int repeat = 3;                     // timed runs of each command
  int warmup = 1;                     // untimed runs before them (the first one is saved)
  std::string save_dir;               // the first warm-up answer of command i: DIR/i.txt
  size_t save_max = 32u << 20;        // larger answers are not saved
};

std::string user_name(const Args& a, int i) {
  std::string u = a.user_fmt;
  auto p = u.find("%d");
  if (p != std::string::npos) u.replace(p, 2, std::to_string(i % a.users + 1));
  return u;
}

// --- /proc: the server's process tree (Dovecot forks a process per session) ---
std::map<int, std::vector<int>> children_map() {
  std::map<int, std::vector<int>> ch;
  DIR* d = opendir("/proc");
  if (!d) return ch;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string st;
    std::getline(f, st);
    auto r = st.rfind(')');
    if (r == std::string::npos) continue;
    std::istringstream in(st.substr(r + 2));
    std::string state;
    int ppid = 0;
    in >> state >> ppid;
    ch[ppid].push_back(std::atoi(e->d_name));
  }
  closedir(d);
  return ch;
}

std::vector<int> tree(int root) {
  auto ch = children_map();
  std::vector<int> out, todo{root};
  while (!todo.empty()) {
    int p = todo.back();
    todo.pop_back();
    out.push_back(p);
    for (int c : ch[p]) todo.push_back(c);
  }
  return out;
}

struct TreeStats {
  long rss_kib = 0;
  int procs = 0;
  double cpu_s = 0;  // utime+stime of live processes + cutime+cstime of reaped children
};

TreeStats tree_stats(int root) {
  TreeStats t;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int p : tree(root)) {
    std::ifstream s("/proc/" + std::to_string(p) + "/status");
    std::string line;
    bool alive = false;
    while (std::getline(s, line)) {
      if (line.rfind("VmRSS:", 0) == 0) t.rss_kib += std::atol(line.c_str() + 6);
      alive = true;
    }
    if (!alive) continue;
    ++t.procs;
    std::ifstream f("/proc/" + std::to_string(p) + "/stat");
    std::string st;
    std::getline(f, st);
    auto r = st.rfind(')');
    if (r == std::string::npos) continue;
    std::istringstream in(st.substr(r + 2));
    std::vector<std::string> fields;
    std::string x;
    while (in >> x) fields.push_back(x);
    // fields[0] is field 3 (state); utime..cstime are fields 14..17.
    if (fields.size() > 14)
      t.cpu_s += (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str()) +
                  std::atof(fields[13].c_str()) + std::atof(fields[14].c_str())) /
                 hz;
  }
  return t;
}

// Rss and Pss of the whole tree from /proc/PID/smaps_rollup. Pss divides each page among the
// processes that map it, so Dovecot's per-session processes mapping the same index files (and
// the same binaries) are not counted once per process as in Rss.
struct TreeMemory {
  long rss_kib = 0;
  long pss_kib = 0;
  int procs = 0;
};

TreeMemory tree_memory(int root) {
  TreeMemory m;
  for (int p : tree(root)) {
    std::ifstream s("/proc/" + std::to_string(p) + "/smaps_rollup");
    std::string line;
    bool seen = false;
    while (std::getline(s, line)) {
      if (line.rfind("Rss:", 0) == 0) m.rss_kib += std::atol(line.c_str() + 4), seen = true;
      if (line.rfind("Pss:", 0) == 0) m.pss_kib += std::atol(line.c_str() + 4);
    }
    if (seen) ++m.procs;
  }
  return m;
}

double self_cpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// --- one client connection ---
class Conn {
 public:
  Conn(asio::any_io_executor ex, ssl::context* tls) {
    if (tls)
      tls_.emplace(ex, *tls);
    else
      plain_.emplace(ex);
  }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  awaitable<void> connect(const tcp::endpoint& server, const std::string& source) {
    tcp::socket& s = socket();
    s.open(tcp::v4());
    if (!source.empty()) {
      tcp::endpoint local(asio::ip::make_address(source), 0);
      s.bind(local);
    }
    co_await s.async_connect(server, use_awaitable);
    s.set_option(tcp::no_delay(true));
    if (tls_) co_await tls_->async_handshake(ssl::stream_base::client, use_awaitable);
    std::string greeting;
    co_await read_line(greeting);
    if (greeting.rfind("* OK", 0) != 0) throw std::runtime_error("greeting: " + greeting);
  }

  awaitable<void> write(const std::string& data) {
    if (tls_)
      co_await asio::async_write(*tls_, asio::buffer(data), use_awaitable);
    else
      co_await asio::async_write(*plain_, asio::buffer(data), use_awaitable);
  }

  awaitable<void> read_line(std::string& line) {
    // Searched bytes are not searched again when a long line (a SORT or THREAD answer of
    // 100,000 UIDs) arrives in many reads; `scanned` is relative to pos_, which fill() moves.
    size_t scanned = 0;
    for (;;) {
      auto nl = buf_.find("\r\n", pos_ + scanned);
      if (nl != std::string::npos) {
        line.assign(buf_, pos_, nl - pos_);
        pos_ = nl + 2;
        co_return;
      }
      size_t have = buf_.size() - pos_;
      scanned = have > 0 ? have - 1 : 0;
      co_await fill();
    }
  }

  // Skips n bytes of a literal (appended to `capture` when given).
  awaitable<void> skip(size_t n, std::string* capture = nullptr) {
    while (buf_.size() - pos_ < n) {
      n -= buf_.size() - pos_;
      if (capture) capture->append(buf_, pos_, std::string::npos);
      pos_ = buf_.size();
      co_await fill();
    }
    if (capture) capture->append(buf_, pos_, n);
    pos_ += n;
  }

  // One command's whole answer: its size on the wire, its untagged responses, the tagged line.
  struct Reply {
    std::string tagged;  // "OK ...", "NO ...", "BAD ..." (without the tag)
    uint64_t bytes = 0;
    uint64_t untagged = 0;
  };
  // Sends "<tag> <text>\r\n" and reads to the tagged reply whatever its status; with
  // `capture`, keeps every byte of the answer but the tagged line.
  awaitable<Reply> run(std::string_view text, std::string* capture) {
    std::string tag = "a" + std::to_string(++n_);
    std::string out = tag + " ";
    out += text;
    out += "\r\n";
    co_await write(out);
    Reply r;
    std::string line;
    std::string prefix = tag + " ";
    for (;;) {
      co_await read_line(line);
      r.bytes += line.size() + 2;
      if (line.rfind(prefix, 0) == 0) {
        r.tagged = line.substr(prefix.size());
        co_return r;
      }
      if (line.rfind("* ", 0) == 0) ++r.untagged;
      if (capture) capture->append(line).append("\r\n");
      if (line.size() > 3 && line.back() == '}') {
        auto open = line.rfind('{');
        if (open != std::string::npos) {
          size_t n = std::strtoul(line.c_str() + open + 1, nullptr, 10);
          r.bytes += n;
          co_await skip(n, capture);
        }
      }
    }
  }

  // Reads of up to this many bytes at a time (readpath: larger, for bulk FETCH).
  void set_read_size(size_t n) { read_size_ = n; }

  // Sends "<tag> <text>\r\n" (with an optional LITERAL+ literal) and reads to the tagged
  // reply; returns it (throws unless OK).
  // `text` is a string_view: no std::string temporaries in co_await expressions (GCC 12).
  awaitable<std::string> cmd(std::string_view text, const std::string* literal = nullptr) {
    std::string tag = "a" + std::to_string(++n_);
    std::string out = tag + " ";
    out += text;
    if (literal) out += " {" + std::to_string(literal->size()) + "+}\r\n" + *literal;
    out += "\r\n";
    co_await write(out);
    std::string line;
    std::string prefix = tag + " ";
    for (;;) {
      co_await read_line(line);
      if (line.size() > 3 && line.back() == '}') {
        auto open = line.rfind('{');
        if (open != std::string::npos) {
          size_t n = std::strtoul(line.c_str() + open + 1, nullptr, 10);
          co_await skip(n);
          continue;
        }
      }
      if (line.rfind(prefix, 0) == 0) {
        if (line.compare(prefix.size(), 2, "OK") != 0) throw std::runtime_error(line);
        co_return line;
      }
    }
  }

  // IDLE: waits for the continuation.
  awaitable<void> idle_start() {
    std::string out = "i IDLE\r\n";
    co_await write(out);
    std::string line;
    for (;;) {
      co_await read_line(line);
      if (!line.empty() && line[0] == '+') co_return;
      if (line.rfind("i ", 0) == 0) throw std::runtime_error(line);
    }
  }
  awaitable<void> idle_done() {
    std::string out = "DONE\r\n";
    co_await write(out);
    std::string line;
    for (;;) {
      co_await read_line(line);
      if (line.rfind("i ", 0) == 0) {
        if (line.compare(2, 2, "OK") != 0) throw std::runtime_error(line);
        co_return;
      }
    }
  }

  void close() {
    boost::system::error_code ec;
    socket().close(ec);
  }

 private:
  awaitable<void> fill() {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > 65536) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    size_t old = buf_.size();
    buf_.resize(old + read_size_);
    size_t n = 0;
    if (tls_)
      n = co_await tls_->async_read_some(asio::buffer(buf_.data() + old, read_size_),
                                         use_awaitable);
    else
      n = co_await plain_->async_read_some(asio::buffer(buf_.data() + old, read_size_),
                                           use_awaitable);
    buf_.resize(old + n);
  }

  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  std::string buf_;
  size_t pos_ = 0;
  size_t read_size_ = 16384;
  unsigned n_ = 0;
};

std::string make_message(uint64_t seq) {
  std::string m = "From: load@example.com\r\nTo: user@example.com\r\nSubject: load test " +
                  std::to_string(seq) + "\r\nMessage-ID: <load" + std::to_string(seq) +
                  "@example.com>\r\nDate: Sat, 28 Nov 2026 03:00:00 +0000\r\n\r\n";
  for (int i = 0; i < 40; ++i) m += "body line of the load test\r\n";
  return m;
}

// --- mixed load ---
struct Counters {
  std::atomic<uint64_t> sessions{0};
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> seq{0};
  std::atomic<bool> stop{false};
};

// The 13 steps of a mixed session; their mean latency is reported to show where time goes.
constexpr const char* kSteps[] = {
    "connect", "login", "select",       "append",    "noop",        "fetch_headers", "fetch_bodies",
    "search",  "store", "store_silent", "uid_store", "uid_expunge", "idle",          "logout"};
constexpr int kStepCount = sizeof(kSteps) / sizeof(kSteps[0]);

// The 11 steps of a mailbox session (`imap_load mailbox`).
constexpr const char* kMailboxSteps[] = {"connect",         "login",        "list",  "select",
                                         "fetch_envelopes", "fetch_bodies", "store", "append",
                                         "uid_store",       "uid_expunge",  "logout"};
constexpr int kMailboxStepCount = sizeof(kMailboxSteps) / sizeof(kMailboxSteps[0]);

struct StepTimes {
  std::atomic<uint64_t> ns[kStepCount] = {};
};
static_assert(kMailboxStepCount <= kStepCount);

class StepClock {
 public:
  explicit StepClock(StepTimes& t) : t_(t), last_(std::chrono::steady_clock::now()) {}
  void lap(int step) {
    auto now = std::chrono::steady_clock::now();
    t_.ns[step] += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count());
    last_ = now;
  }

 private:
  StepTimes& t_;
  std::chrono::steady_clock::time_point last_;
};

// The UID from "[APPENDUID <validity> <uid>]" in a tagged APPEND reply ("" without one).
std::string appended_uid(const std::string& tagged) {
  auto p = tagged.find("[APPENDUID ");
  if (p == std::string::npos) return std::string();
  auto sp = tagged.find(' ', p + 11);
  auto end = tagged.find(']', sp);
  if (sp == std::string::npos || end == std::string::npos) return std::string();
  return tagged.substr(sp + 1, end - sp - 1);
}

// UID STORE \Deleted + UID EXPUNGE of the message a session appended (the tagged APPEND
// reply names it): the INBOX keeps its size over a run. Laps steps `step` and `step + 1`.
awaitable<void> remove_appended(Conn& conn, const std::string& appended, StepClock& clock,
                                int step) {
  std::string uid = appended_uid(appended);
  if (uid.empty()) throw std::runtime_error("no APPENDUID: " + appended);
  std::string st = "UID STORE " + uid + " +FLAGS.SILENT (\\Deleted)";
  co_await conn.cmd(st);
  clock.lap(step);
  std::string ex_cmd = "UID EXPUNGE " + uid;
  co_await conn.cmd(ex_cmd);
  clock.lap(step + 1);
}

awaitable<void> one_session(const Args& a, const tcp::endpoint& server, int client, Counters& c,
                            StepTimes& times) {
  auto ex = co_await asio::this_coro::executor;
  Conn conn(ex, nullptr);
  uint64_t seq = ++c.seq;
  StepClock clock(times);
  co_await conn.connect(server, std::string());
  clock.lap(0);
  std::string login = "LOGIN " + user_name(a, client) + " " + a.password;
  co_await conn.cmd(login);
  clock.lap(1);
  co_await conn.cmd("SELECT INBOX");
  clock.lap(2);
  std::string msg = make_message(seq);
  std::string appended = co_await conn.cmd("APPEND INBOX", &msg);
  clock.lap(3);
  co_await conn.cmd("NOOP");
  clock.lap(4);
  co_await conn.cmd("FETCH 1:20 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])");
  clock.lap(5);
  co_await conn.cmd("FETCH 1:3 BODY.PEEK[]");
  clock.lap(6);
  co_await conn.cmd("SEARCH UNSEEN SUBJECT load");
  clock.lap(7);
  co_await conn.cmd("STORE 1:5 +FLAGS (\\Seen)");
  clock.lap(8);
  co_await conn.cmd("STORE 6:10 -FLAGS.SILENT (\\Seen)");
  clock.lap(9);
  co_await remove_appended(conn, appended, clock, 10);
  co_await conn.idle_start();
  co_await conn.idle_done();
  clock.lap(12);
  co_await conn.cmd("LOGOUT");
  clock.lap(13);
  conn.close();
  c.ops += 13;
  ++c.sessions;
}

awaitable<void> mailbox_session(const Args& a, const tcp::endpoint& server, int client, Counters& c,
                                StepTimes& times) {
  auto ex = co_await asio::this_coro::executor;
  Conn conn(ex, nullptr);
  uint64_t seq = ++c.seq;
  std::mt19937_64 rng(seq * 7919 + static_cast<uint64_t>(client));
  StepClock clock(times);
  co_await conn.connect(server, std::string());
  clock.lap(0);
  std::string login = "LOGIN " + user_name(a, static_cast<int>(rng() % 1000003)) + " " + a.password;
  co_await conn.cmd(login);
  clock.lap(1);
  co_await conn.cmd("LIST \"\" \"*\"");
  clock.lap(2);
  std::string untagged;
  auto selected = co_await conn.run("SELECT INBOX", &untagged);
  if (selected.tagged.rfind("OK", 0) != 0) throw std::runtime_error("SELECT: " + selected.tagged);
  clock.lap(3);
  // The count as the server left it: SELECT may end with EXPUNGE responses of messages other
  // sessions removed meanwhile (RFC 3501 7.4.1 forbids them only during FETCH, STORE, SEARCH).
  uint64_t exists = 0;
  std::istringstream lines(untagged);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("* ", 0) != 0) continue;
    uint64_t n = std::strtoull(line.c_str() + 2, nullptr, 10);
    if (line.find(" EXISTS") != std::string::npos) exists = n;
    if (line.find(" EXPUNGE") != std::string::npos && exists > 0) --exists;
  }
  if (exists == 0) throw std::runtime_error("empty INBOX");
  uint64_t first = exists > 50 ? exists - 49 : 1;
  std::string envelopes = "FETCH " + std::to_string(first) + ":" + std::to_string(exists) +
                          " (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)";
  co_await conn.cmd(envelopes);
  clock.lap(4);
  std::string set;
  for (int i = 0; i < 3; ++i) set += (i ? "," : "") + std::to_string(1 + rng() % exists);
  std::string bodies = "FETCH " + set + " BODY.PEEK[]";
  co_await conn.cmd(bodies);
  clock.lap(5);
  std::string store = "STORE " + set + " +FLAGS (\\Seen)";
  co_await conn.cmd(store);
  clock.lap(6);
  const std::string& msg = a.append_messages[seq % a.append_messages.size()];
  std::string appended = co_await conn.cmd("APPEND INBOX", &msg);
  clock.lap(7);
  co_await remove_appended(conn, appended, clock, 8);
  co_await conn.cmd("LOGOUT");
  clock.lap(10);
  conn.close();
  c.ops += 10;
  ++c.sessions;
}

// Runs sessions back to back until the run stops; a failed session is counted, reported (the
// first five) and retried after 50 ms. `session()` starts one session: a plain callable that
// returns the coroutine's awaitable (GCC 12: no capturing coroutine lambdas).
template <class Session>
awaitable<void> client_loop(Counters& c, int client, Session session) {
  while (!c.stop) {
    bool failed = false;
    std::string what;
    try {
      co_await session();
    } catch (const std::exception& e) {
      failed = true;
      what = e.what();
    }
    if (failed) {
      if (++c.errors <= 5) std::fprintf(stderr, "client %d: %s\n", client, what.c_str());
      auto ex = co_await asio::this_coro::executor;
      asio::steady_timer t(ex, std::chrono::milliseconds(50));
      co_await t.async_wait(use_awaitable);
    }
  }
}

awaitable<void> mixed_client(const Args& a, tcp::endpoint server, int client, Counters& c,
                             StepTimes& times) {
  co_await client_loop(c, client, [&a, server, client, &c, &times] {
    return one_session(a, server, client, c, times);
  });
}

awaitable<void> mailbox_client(const Args& a, tcp::endpoint server, int client, Counters& c,
                               StepTimes& times) {
  co_await client_loop(c, client, [&a, server, client, &c, &times] {
    return mailbox_session(a, server, client, c, times);
  });
}

awaitable<void> prime_client(const Args& a, tcp::endpoint server, std::atomic<int>& next,
                             Counters& c) {
  auto ex = co_await asio::this_coro::executor;
  for (int user = next++; user < a.users; user = next++) {
    Conn conn(ex, nullptr);
    co_await conn.connect(server, std::string());
    std::string login = "LOGIN " + user_name(a, user) + " " + a.password;
    co_await conn.cmd(login);
    co_await conn.cmd("SELECT INBOX");
    co_await conn.cmd("FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)");
    co_await conn.cmd("LOGOUT");
    conn.close();
    ++c.sessions;
  }
}

int run_prime(const Args& a) {
  asio::io_context io(1);
  tcp::endpoint server(asio::ip::make_address(a.host), static_cast<uint16_t>(a.port));
  Counters c;
  std::atomic<int> next{0};
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < std::min(a.clients, a.users); ++i)
    asio::co_spawn(io, prime_client(a, server, next, c), [&c](std::exception_ptr e) {
      if (!e) return;
      ++c.errors;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "prime: %s\n", x.what());
      }
    });
  io.run();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"mode\": \"prime\", \"users\": %llu, \"errors\": %llu, \"seconds\": %.1f}\n",
              static_cast<unsigned long long>(c.sessions.load()),
              static_cast<unsigned long long>(c.errors.load()), elapsed);
  return c.errors ? 1 : 0;
}

// mixed and mailbox: whole sessions from --clients clients for --seconds.
int run_mixed(const Args& a) {
  bool mailbox = a.mode == "mailbox";
  if (mailbox && a.append_messages.empty()) throw std::runtime_error("mailbox needs --append-dir");
  const char* const* step_names = mailbox ? kMailboxSteps : kSteps;
  int step_count = mailbox ? kMailboxStepCount : kStepCount;
  asio::io_context io(a.threads);
  tcp::endpoint server(asio::ip::make_address(a.host), static_cast<uint16_t>(a.port));
  Counters c;
  StepTimes times;
  for (int i = 0; i < a.clients; ++i) {
    if (mailbox)
      asio::co_spawn(io, mailbox_client(a, server, i, c, times), asio::detached);
    else
      asio::co_spawn(io, mixed_client(a, server, i, c, times), asio::detached);
  }
  TreeStats s0 = a.pid ? tree_stats(a.pid) : TreeStats{};
  double cpu0 = self_cpu();
  auto t0 = std::chrono::steady_clock::now();
  asio::steady_timer stop(io, std::chrono::milliseconds(static_cast<int64_t>(a.seconds * 1000)));
  uint64_t sessions = 0, ops = 0;
  std::string latency;
  double elapsed = 0, cpu = 0;
  TreeStats s1;
  stop.async_wait([&](boost::system::error_code) {
    // Counted at the deadline; sessions still running finish afterwards and are not counted.
    sessions = c.sessions;
    ops = c.ops;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu = self_cpu() - cpu0;
    if (a.pid) s1 = tree_stats(a.pid);
    c.stop = true;
    // Mean milliseconds per step over the sessions completed so far (approximate: steps of
    // sessions still running are included).
    for (int i = 0; i < step_count; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s\"%s\": %.2f", i ? ", " : "", step_names[i],
                    sessions ? times.ns[i] / 1e6 / static_cast<double>(sessions) : 0.0);
      latency += buf;
    }
  });
  std::vector<std::thread> extra;
  for (int i = 1; i < a.threads; ++i) extra.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
  double server_cpu = a.pid ? s1.cpu_s - s0.cpu_s : 0;
  std::printf(
      "{\"mode\": \"%s\", \"clients\": %d, \"threads\": %d, \"seconds\": %.2f, "
      "\"sessions\": %llu, \"ops\": %llu, \"errors\": %llu, \"sessions_per_s\": %.1f, "
      "\"ops_per_s\": %.1f, \"generator_cpu_pct\": %.1f, \"server_cpu_pct\": %.1f, "
      "\"step_ms\": {%s}}\n",
      a.mode.c_str(), a.clients, a.threads, elapsed, static_cast<unsigned long long>(sessions),
      static_cast<unsigned long long>(ops), static_cast<unsigned long long>(c.errors.load()),
      sessions / elapsed, ops / elapsed, 100 * cpu / elapsed, 100 * server_cpu / elapsed,
      latency.c_str());
  return c.errors > sessions / 100 ? 1 : 0;
}

// --- logins ---
// One login session: connect, the login command (timed), LOGOUT.
awaitable<void> one_login(tcp::endpoint server, const std::string& line, Counters& c,
                          std::vector<double>& latencies_ms) {
  auto ex = co_await asio::this_coro::executor;
  Conn conn(ex, nullptr);
  co_await conn.connect(server, std::string());
  auto t0 = std::chrono::steady_clock::now();
  co_await conn.cmd(line);
  auto t1 = std::chrono::steady_clock::now();
  co_await conn.cmd("LOGOUT");
  conn.close();
  if (!c.stop) {
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    ++c.sessions;
  }
}

awaitable<void> login_client(const Args& a, tcp::endpoint server, int client, Counters& c,
                             std::vector<double>& latencies_ms) {
  const std::string& line = a.auth_lines[static_cast<size_t>(client) % a.auth_lines.size()];
  co_await client_loop(c, client, [server, &line, &c, &latencies_ms] {
    return one_login(server, line, c, latencies_ms);
  });
}

int run_logins(const Args& a) {
  if (a.auth_lines.empty()) throw std::runtime_error("--auth-file with at least one line");
  asio::io_context io(1);
  tcp::endpoint server(asio::ip::make_address(a.host), static_cast<uint16_t>(a.port));
  Counters c;
  std::vector<double> latencies;
  for (int i = 0; i < a.clients; ++i)
    asio::co_spawn(io, login_client(a, server, i, c, latencies), asio::detached);
  TreeStats s0 = a.pid ? tree_stats(a.pid) : TreeStats{};
  double cpu0 = self_cpu();
  auto t0 = std::chrono::steady_clock::now();
  asio::steady_timer stop(io, std::chrono::milliseconds(static_cast<int64_t>(a.seconds * 1000)));
  double elapsed = 0, cpu = 0;
  uint64_t logins = 0;
  TreeStats s1;
  std::vector<double> sorted;
  stop.async_wait([&](boost::system::error_code) {
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu = self_cpu() - cpu0;
    if (a.pid) s1 = tree_stats(a.pid);
    logins = c.sessions;
    sorted = latencies;
    c.stop = true;
  });
  io.run();
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) {
    if (sorted.empty()) return 0.0;
    size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
    return sorted[i];
  };
  double server_cpu = a.pid ? s1.cpu_s - s0.cpu_s : 0;
  std::printf(
      "{\"mode\": \"logins\", \"clients\": %d, \"seconds\": %.2f, \"logins\": %llu, "
      "\"errors\": %llu, \"logins_per_s\": %.1f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, "
      "\"p99_ms\": %.2f, \"generator_cpu_pct\": %.1f, \"server_cpu_pct\": %.1f}\n",
      a.clients, elapsed, static_cast<unsigned long long>(logins),
      static_cast<unsigned long long>(c.errors.load()), logins / elapsed, pct(0.5), pct(0.9),
      pct(0.99), 100 * cpu / elapsed, 100 * server_cpu / elapsed);
  return c.errors > logins / 100 ? 1 : 0;
}

// --- idle memory ---
awaitable<void> idle_client(const Args& a, tcp::endpoint server, int index, ssl::context* tls,
                            std::vector<std::unique_ptr<Conn>>& conns, int& ready, int& failed,
                            int& in_flight) {
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_unique<Conn>(ex, tls);
  std::string source =
      a.sources > 1 ? "127.0.0." + std::to_string(1 + index % a.sources) : std::string();
  bool ok = true;
  try {
    co_await conn->connect(server, source);
    std::string login = "LOGIN " + user_name(a, index) + " " + a.password;
    co_await conn->cmd(login);
    co_await conn->cmd("SELECT INBOX");
    co_await conn->idle_start();
  } catch (const std::exception& e) {
    ok = false;
    if (++failed <= 5) std::fprintf(stderr, "connection %d: %s\n", index, e.what());
  }
  --in_flight;
  if (ok) {
    ++ready;
    conns.push_back(std::move(conn));
  }
}

// Opens `count` IDLE connections on this process; returns how many are ready. Keeps them in
// `conns` (the io_context is not run again until they are closed).
int open_idle(const Args& a, int first, int count, asio::io_context& io, ssl::context* tls,
              std::vector<std::unique_ptr<Conn>>& conns) {
  tcp::endpoint server(asio::ip::make_address(a.host), static_cast<uint16_t>(a.port));
  int ready = 0, failed = 0, in_flight = 0, next = 0;
  const int window = 100;  // connections being set up at once
  while (next < count || in_flight > 0) {
    while (next < count && in_flight < window) {
      ++in_flight;
      asio::co_spawn(io, idle_client(a, server, first + next, tls, conns, ready, failed, in_flight),
                     asio::detached);
      ++next;
    }
    io.run_one();
  }
  io.restart();
  return ready;
}

int run_idle(const Args& a) {
  if (a.pid == 0) {
    std::fprintf(stderr, "idle needs --pid\n");
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  sleep(1);
  TreeStats before = tree_stats(a.pid);
  TreeMemory mem_before = tree_memory(a.pid);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int> pipes_to_child, pids;
  int per = (a.count + a.procs - 1) / a.procs;
  int total_ready = 0;
  std::vector<std::unique_ptr<Conn>> conns;
  std::unique_ptr<asio::io_context> io;
  std::unique_ptr<ssl::context> tls;
  for (int p = 0; p < a.procs; ++p) {
    int first = p * per, n = std::min(per, a.count - first);
    if (n <= 0) break;
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) return 2;
    pid_t child = fork();
    if (child == 0) {
      close(up[0]);
      close(down[1]);
      asio::io_context cio;
      std::unique_ptr<ssl::context> ctls;
      if (a.tls) {
        ctls = std::make_unique<ssl::context>(ssl::context::tls_client);
        ctls->set_verify_mode(ssl::verify_none);
      }
      std::vector<std::unique_ptr<Conn>> cconns;
      int ready = open_idle(a, first, n, cio, ctls.get(), cconns);
      std::string msg = std::to_string(ready) + "\n";
      ssize_t w = ::write(up[1], msg.data(), msg.size());
      (void)w;
      char ch;
      while (::read(down[0], &ch, 1) > 0) {
      }
      _exit(0);  // closes every connection at once
    }
    close(up[1]);
    close(down[0]);
    char buf[32] = {0};
    ssize_t r = ::read(up[0], buf, sizeof buf - 1);
    total_ready += r > 0 ? std::atoi(buf) : 0;
    close(up[0]);
    pipes_to_child.push_back(down[1]);
    pids.push_back(child);
  }
  double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  usleep(static_cast<useconds_t>(a.hold * 1e6));
  TreeStats after = tree_stats(a.pid);
  TreeMemory mem_after = tree_memory(a.pid);
  for (int fd : pipes_to_child) close(fd);
  for (int pid : pids) waitpid(pid, nullptr, 0);
  double per_conn = total_ready ? double(after.rss_kib - before.rss_kib) / total_ready : 0;
  std::printf(
      "{\"mode\": \"idle\", \"tls\": %s, \"requested\": %d, \"connections\": %d, "
      "\"open_s\": %.2f, \"procs_before\": %d, \"procs_after\": %d, \"rss_before_kib\": %ld, "
      "\"rss_after_kib\": %ld, \"kib_per_connection\": %.1f, \"pss_before_kib\": %ld, "
      "\"pss_after_kib\": %ld, \"pss_kib_per_connection\": %.1f}\n",
      a.tls ? "true" : "false", a.count, total_ready, open_s, before.procs, after.procs,
      before.rss_kib, after.rss_kib, per_conn, mem_before.pss_kib, mem_after.pss_kib,
      total_ready ? double(mem_after.pss_kib - mem_before.pss_kib) / total_ready : 0.0);
  return total_ready == a.count ? 0 : 1;
}

// --- read path: each command N times on one connection, the wall time of each run ---
std::string json_string(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

template <class T>
std::string json_list(const std::vector<T>& v, const char* fmt) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v[i]);
    out += (i ? ", " : "") + std::string(buf);
  }
  return out + "]";
}

awaitable<void> readpath_session(const Args& a, int& rc) {
  auto ex = co_await asio::this_coro::executor;
  Conn conn(ex, nullptr);
  conn.set_read_size(256 * 1024);
  tcp::endpoint server(asio::ip::make_address(a.host), static_cast<uint16_t>(a.port));
  co_await conn.connect(server, std::string());
  std::string login = "LOGIN " + (a.user.empty() ? user_name(a, 0) : a.user) + " " + a.password;
  co_await conn.cmd(login);
  if (!a.select.empty()) {
    std::string select = "SELECT " + a.select;
    co_await conn.cmd(select);
  }
  for (size_t i = 0; i < a.commands.size(); ++i) {
    const std::string& command = a.commands[i];
    std::vector<double> ms, cpu_ms;
    std::vector<unsigned long long> bytes;
    Conn::Reply last;
    TreeMemory peak;  // the server tree after the runs (--pid)
    for (int run = 0; run < a.warmup + a.repeat; ++run) {
      std::string capture;
      bool save = run == 0 && a.warmup > 0 && !a.save_dir.empty();
      double cpu0 = self_cpu();
      auto t0 = std::chrono::steady_clock::now();
      last = co_await conn.run(command, save ? &capture : nullptr);
      auto t1 = std::chrono::steady_clock::now();
      double cpu1 = self_cpu();
      if (run >= a.warmup) {
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        cpu_ms.push_back((cpu1 - cpu0) * 1000);
        bytes.push_back(last.bytes);
      }
      if (save && capture.size() <= a.save_max) {
        std::ofstream f(a.save_dir + "/" + std::to_string(i) + ".txt", std::ios::binary);
        f << capture;
      }
      if (last.tagged.rfind("OK", 0) != 0) {
        rc = 1;
        break;
      }
    }
    // Once after the runs, not between them: reading smaps_rollup walks the server's page
    // tables and leaves the CPU caches cold, which tripled the next sub-millisecond command's
    // time on a server with large mappings (one process with memory-mapped caches).
    if (a.pid) peak = tree_memory(a.pid);
    std::printf(
        "{\"command\": %s, \"status\": %s, \"ms\": %s, \"bytes\": %s, \"untagged\": %llu, "
        "\"client_cpu_ms\": %s, \"tree_rss_kib\": %ld, \"tree_pss_kib\": %ld}\n",
        json_string(command).c_str(), json_string(last.tagged).c_str(),
        json_list(ms, "%.3f").c_str(), json_list(bytes, "%llu").c_str(),
        static_cast<unsigned long long>(last.untagged), json_list(cpu_ms, "%.3f").c_str(),
        peak.rss_kib, peak.pss_kib);
    std::fflush(stdout);
  }
  std::string logout = "LOGOUT";
  co_await conn.cmd(logout);
  conn.close();
}

int run_readpath(const Args& a) {
  if (a.commands.empty()) throw std::runtime_error("readpath needs --commands FILE");
  asio::io_context io(1);
  int rc = 0;
  std::exception_ptr failure;
  asio::co_spawn(io, readpath_session(a, rc), [&failure](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return rc;
}

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2)
    throw std::runtime_error("usage: imap_load mixed|mailbox|prime|logins|idle|readpath [options]");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--tls") {
      a.tls = true;
      continue;
    }
    if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
    std::string v = argv[++i];
    if (k == "--host")
      a.host = v;
    else if (k == "--port")
      a.port = std::stoi(v);
    else if (k == "--users")
      a.users = std::stoi(v);
    else if (k == "--user-fmt")
      a.user_fmt = v;
    else if (k == "--password")
      a.password = v;
    else if (k == "--clients")
      a.clients = std::stoi(v);
    else if (k == "--seconds")
      a.seconds = std::stod(v);
    else if (k == "--threads")
      a.threads = std::stoi(v);
    else if (k == "--pid")
      a.pid = std::stoi(v);
    else if (k == "--count")
      a.count = std::stoi(v);
    else if (k == "--procs")
      a.procs = std::stoi(v);
    else if (k == "--sources")
      a.sources = std::stoi(v);
    else if (k == "--hold")
      a.hold = std::stod(v);
    else if (k == "--user")
      a.user = v;
    else if (k == "--select")
      a.select = v;
    else if (k == "--repeat")
      a.repeat = std::stoi(v);
    else if (k == "--warmup")
      a.warmup = std::stoi(v);
    else if (k == "--save-dir")
      a.save_dir = v;
    else if (k == "--save-max")
      a.save_max = std::stoul(v);
    else if (k == "--commands") {
      std::ifstream f(v);
      if (!f) throw std::runtime_error("cannot read " + v);
      for (std::string line; std::getline(f, line);) {
        if (!line.empty()) a.commands.push_back(line);
      }
    } else if (k == "--append-dir") {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(v))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        a.append_messages.emplace_back(std::istreambuf_iterator<char>(in),
                                       std::istreambuf_iterator<char>());
      }
    } else if (k == "--auth-file") {
      std::ifstream f(v);
      if (!f) throw std::runtime_error("cannot read " + v);
      for (std::string line; std::getline(f, line);) {
        if (!line.empty()) a.auth_lines.push_back(line);
      }
    } else
      throw std::runtime_error("unknown option " + k);
  }
  if (a.port <= 0) throw std::runtime_error("--port is required");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    if (a.mode == "mixed" || a.mode == "mailbox") return run_mixed(a);
    if (a.mode == "prime") return run_prime(a);
    if (a.mode == "idle") return run_idle(a);
    if (a.mode == "logins") return run_logins(a);
    if (a.mode == "readpath") return run_readpath(a);
    std::fprintf(stderr, "unknown mode %s\n", a.mode.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imap_load: %s\n", e.what());
    return 2;
  }
}
