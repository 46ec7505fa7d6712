#include "src/db/mariadb_pool.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "src/core/address.h"
#include "src/core/log.h"

namespace mailroom::db {

using Clock = std::chrono::steady_clock;

int SqlRows::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (core::iequals(columns[i], name)) return static_cast<int>(i);
  }
  return -1;
}

namespace {

std::once_flag library_once;

// Errors after which the connection (not the statement) is to blame: drop it, try again.
bool is_connection_error(unsigned err) {
  if (err >= 2000 && err < 3000) return true;  // client-side CR_* errors
  switch (err) {
    case ER_SERVER_SHUTDOWN:    // 1053
    case ER_CON_COUNT_ERROR:    // 1040 too many connections
    case ER_UNKNOWN_COM_ERROR:  // 1047 Galera node not ready (WSREP has not yet prepared)
    case ER_QUERY_INTERRUPTED:  // 1317
    case ER_CONNECTION_KILLED:  // 1927
    case 4031:                  // ER_NET_IDLE_TIMEOUT (client idle too long, 10.x+)
      return true;
    default:
      return false;
  }
}

struct Connection {
  MYSQL* db = nullptr;
  size_t server = 0;
  uint64_t epoch = 0;
  Clock::time_point born;
  std::vector<MYSQL_STMT*> stmts;
  // Statements built at run time (query_sql), by text; bounded, cleared when full.
  std::unordered_map<std::string, MYSQL_STMT*> adhoc;

  ~Connection() {
    for (MYSQL_STMT* s : stmts) {
      if (s) mysql_stmt_close(s);
    }
    for (auto& [text, st] : adhoc) mysql_stmt_close(st);
    if (db) mysql_close(db);
  }
};

struct Failure {
  unsigned err = 0;
  std::string message;
};

}  // namespace

struct MariaDbPool::Impl {
  const MariaDbOptions* options = nullptr;
  std::vector<std::string> statements;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Connection>> idle;
  size_t open = 0;                            // idle + in use + being opened
  std::vector<Clock::time_point> down_until;  // per server
  std::vector<uint64_t> epoch;                // per server; bumped when a connection dies

  // Opens a connection to one server and prepares every statement. On failure sets `problem`.
  std::unique_ptr<Connection> connect_one(size_t server, PoolProblem* problem,
                                          std::vector<std::vector<std::string>>* columns) {
    const ServerAddress& sa = options->servers[server];
    auto c = std::make_unique<Connection>();
    c->server = server;
    c->born = Clock::now();
    c->db = mysql_init(nullptr);
    if (!c->db) {
      problem->kind = PoolProblem::Kind::unreachable;
      problem->message = "out of memory";
      return nullptr;
    }
    unsigned ct = static_cast<unsigned>(options->connect_timeout.count());
    unsigned rt = static_cast<unsigned>(options->read_timeout.count());
    unsigned wt = static_cast<unsigned>(options->write_timeout.count());
    my_bool no = 0;
    mysql_optionsv(c->db, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(c->db, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(c->db, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    // Reconnection is ours: an automatic one would silently lose the prepared statements.
    mysql_optionsv(c->db, MYSQL_OPT_RECONNECT, &no);
    mysql_optionsv(c->db, MYSQL_SET_CHARSET_NAME, options->charset.c_str());
    if (options->tls) {
      my_bool yes = 1;
      mysql_optionsv(c->db, MYSQL_OPT_SSL_ENFORCE, &yes);
      if (!options->tls_ca.empty()) {
        mysql_optionsv(c->db, MYSQL_OPT_SSL_CA, options->tls_ca.c_str());
        mysql_optionsv(c->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
      }
    }
    const char* host = sa.socket.empty() ? sa.host.c_str() : "localhost";
    const char* sock = sa.socket.empty() ? nullptr : sa.socket.c_str();
    if (!mysql_real_connect(c->db, host, options->user.c_str(), options->password.c_str(),
                            options->database.empty() ? nullptr : options->database.c_str(),
                            sa.socket.empty() ? sa.port : 0, sock, 0)) {
      unsigned err = mysql_errno(c->db);
      problem->message = sa.str() + ": " + mysql_error(c->db);
      if (err == ER_ACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR) {
        problem->kind = PoolProblem::Kind::credentials;
      } else if (err == ER_BAD_DB_ERROR) {
        problem->kind = PoolProblem::Kind::database;
      } else {
        problem->kind = PoolProblem::Kind::unreachable;
      }
      return nullptr;
    }
    if (columns) columns->assign(statements.size(), {});
    c->stmts.assign(statements.size(), nullptr);
    for (size_t i = 0; i < statements.size(); ++i) {
      MYSQL_STMT* st = mysql_stmt_init(c->db);
      c->stmts[i] = st;
      if (!st || mysql_stmt_prepare(st, statements[i].data(), statements[i].size()) != 0) {
        unsigned err = st ? mysql_stmt_errno(st) : mysql_errno(c->db);
        problem->message = sa.str() + ": " + (st ? mysql_stmt_error(st) : mysql_error(c->db));
        problem->kind = is_connection_error(err) ? PoolProblem::Kind::unreachable
                                                 : PoolProblem::Kind::statement;
        problem->statement = i;
        return nullptr;
      }
      if (columns) {
        if (MYSQL_RES* meta = mysql_stmt_result_metadata(st)) {
          unsigned n = mysql_num_fields(meta);
          MYSQL_FIELD* fields = mysql_fetch_fields(meta);
          for (unsigned f = 0; f < n; ++f) (*columns)[i].emplace_back(fields[f].name);
          mysql_free_result(meta);
        }
      }
    }
    return c;
  }

  // Tries every server, recently failed ones last. Returns the connection or the last problem.
  std::unique_ptr<Connection> connect(PoolProblem* problem,
                                      std::vector<std::vector<std::string>>* columns) {
    std::vector<size_t> order;
    std::vector<size_t> later;
    std::vector<uint64_t> epochs;
    {
      std::lock_guard lock(mu);
      auto now = Clock::now();
      for (size_t i = 0; i < options->servers.size(); ++i) {
        (down_until[i] > now ? later : order).push_back(i);
      }
      epochs = epoch;
    }
    order.insert(order.end(), later.begin(), later.end());
    PoolProblem first_config_problem;
    for (size_t s : order) {
      PoolProblem p;
      auto c = connect_one(s, &p, columns);
      if (c) {
        c->epoch = epochs[s];
        std::lock_guard lock(mu);
        down_until[s] = Clock::time_point{};
        return c;
      }
      if (p.kind == PoolProblem::Kind::statement) {
        *problem = p;  // the same SQL fails on every server of a cluster
        return nullptr;
      }
      MR_LOG_WARN("event=sql_connect_failed server={} error={}",
                  core::quote(options->servers[s].str()), core::quote(p.message));
      {
        std::lock_guard lock(mu);
        down_until[s] = Clock::now() + options->retry_after;
      }
      if (first_config_problem.kind == PoolProblem::Kind::none ||
          (first_config_problem.kind == PoolProblem::Kind::unreachable &&
           p.kind != PoolProblem::Kind::unreachable)) {
        first_config_problem = p;
      }
    }
    *problem = first_config_problem;
    if (problem->kind == PoolProblem::Kind::none) {
      problem->kind = PoolProblem::Kind::unreachable;
      problem->message = "no servers configured";
    }
    return nullptr;
  }

  // Takes an idle live connection, or reserves a slot for a new one (returns nullptr with
  // *reserved = true). False when the pool stayed full for pool_wait.
  bool acquire(std::unique_ptr<Connection>* out) {
    std::unique_lock lock(mu);
    auto deadline = Clock::now() + options->pool_wait;
    for (;;) {
      while (!idle.empty()) {
        std::unique_ptr<Connection> c = std::move(idle.front());
        idle.pop_front();
        bool stale =
            c->epoch != epoch[c->server] || Clock::now() - c->born > options->max_connection_age;
        if (!stale) {
          *out = std::move(c);
          return true;
        }
        // Closed without the lock held below would be nicer; closing is quick (no I/O wait
        // beyond a COM_QUIT write with the write timeout).
        --open;
        lock.unlock();
        c.reset();
        lock.lock();
      }
      if (open < options->pool_size) {
        ++open;
        out->reset();
        return true;
      }
      if (cv.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
          open >= options->pool_size) {
        return false;
      }
    }
  }

  // After acquire(): a connection, opened now when acquire() only reserved a slot (which is
  // freed again when no server answers).
  core::Status ensure_connected(std::unique_ptr<Connection>* c) {
    if (*c) return core::Status::ok();
    PoolProblem problem;
    *c = connect(&problem, nullptr);
    if (*c) return core::Status::ok();
    release(nullptr);
    return core::unavailable("database unavailable", problem.message);
  }

  void release(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(mu);
      if (c) {
        idle.push_front(std::move(c));  // LIFO: warm connections stay warm
      } else {
        --open;
      }
    }
    cv.notify_one();
  }

  void connection_died(Connection& c) {
    std::lock_guard lock(mu);
    if (c.epoch == epoch[c.server]) ++epoch[c.server];
  }

  // Runs one prepared statement. On failure fills `f` and returns false.
  // Finds or prepares a run-time statement on `c`.
  static MYSQL_STMT* adhoc_statement(Connection& c, const std::string& sql, Failure* f) {
    if (auto it = c.adhoc.find(sql); it != c.adhoc.end()) return it->second;
    if (c.adhoc.size() >= 128) {
      for (auto& [text, st] : c.adhoc) mysql_stmt_close(st);
      c.adhoc.clear();
    }
    MYSQL_STMT* st = mysql_stmt_init(c.db);
    if (!st) {
      f->err = mysql_errno(c.db);
      f->message = "mysql_stmt_init failed";
      return nullptr;
    }
    if (mysql_stmt_prepare(st, sql.data(), sql.size()) != 0) {
      f->err = mysql_stmt_errno(st);
      f->message = mysql_stmt_error(st);
      mysql_stmt_close(st);
      return nullptr;
    }
    c.adhoc.emplace(sql, st);
    return st;
  }

  static bool text_query(Connection& c, const char* sql, Failure* f) {
    if (mysql_query(c.db, sql) == 0) return true;
    f->err = mysql_errno(c.db);
    f->message = mysql_error(c.db);
    return false;
  }

  static bool run(MYSQL_STMT* st, const std::vector<std::string>& params, SqlRows* out,
                  Failure* f) {
    auto fail = [&] {
      f->err = mysql_stmt_errno(st);
      f->message = mysql_stmt_error(st);
      return false;
    };
    unsigned long nparams = mysql_stmt_param_count(st);
    if (nparams != params.size()) {
      f->err = 0;
      f->message = "statement takes " + std::to_string(nparams) + " parameters, got " +
                   std::to_string(params.size());
      return false;
    }
    std::vector<MYSQL_BIND> pb(params.size());
    std::vector<unsigned long> plen(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      std::memset(&pb[i], 0, sizeof(MYSQL_BIND));
      plen[i] = params[i].size();
      pb[i].buffer_type = MYSQL_TYPE_STRING;
      pb[i].buffer = const_cast<char*>(params[i].data());
      pb[i].buffer_length = plen[i];
      pb[i].length = &plen[i];
    }
    if (!params.empty() && mysql_stmt_bind_param(st, pb.data()) != 0) return fail();
    if (mysql_stmt_execute(st) != 0) return fail();
    out->affected_rows = mysql_stmt_affected_rows(st);
    out->insert_id = mysql_stmt_insert_id(st);
    MYSQL_RES* meta = mysql_stmt_result_metadata(st);
    if (!meta) return true;
    unsigned n = mysql_num_fields(meta);
    MYSQL_FIELD* fields = mysql_fetch_fields(meta);
    out->columns.clear();
    for (unsigned i = 0; i < n; ++i) out->columns.emplace_back(fields[i].name);
    mysql_free_result(meta);

    std::vector<MYSQL_BIND> rb(n);
    std::vector<std::string> buf(n, std::string(256, '\0'));
    std::vector<unsigned long> len(n);
    std::vector<my_bool> is_null(n), error(n);
    for (unsigned i = 0; i < n; ++i) {
      std::memset(&rb[i], 0, sizeof(MYSQL_BIND));
      rb[i].buffer_type = MYSQL_TYPE_STRING;
      rb[i].buffer = buf[i].data();
      rb[i].buffer_length = buf[i].size();
      rb[i].length = &len[i];
      rb[i].is_null = &is_null[i];
      rb[i].error = &error[i];
    }
    if (n > 0 && mysql_stmt_bind_result(st, rb.data()) != 0) {
      mysql_stmt_free_result(st);
      return fail();
    }
    for (;;) {
      int rc = mysql_stmt_fetch(st);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) {
        bool r = fail();
        mysql_stmt_free_result(st);
        return r;
      }
      auto& row = out->rows.emplace_back(n);
      for (unsigned i = 0; i < n; ++i) {
        if (is_null[i]) continue;
        if (len[i] <= buf[i].size()) {
          row[i] = std::string(buf[i].data(), len[i]);
          continue;
        }
        // Longer than the buffer (MYSQL_DATA_TRUNCATED): fetch this column again, whole.
        std::string whole(len[i], '\0');
        MYSQL_BIND b;
        std::memset(&b, 0, sizeof b);
        unsigned long wl = 0;
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = whole.data();
        b.buffer_length = whole.size();
        b.length = &wl;
        if (mysql_stmt_fetch_column(st, &b, i, 0) != 0) {
          bool r = fail();
          mysql_stmt_free_result(st);
          return r;
        }
        whole.resize(std::min<unsigned long>(wl, whole.size()));
        row[i] = std::move(whole);
      }
    }
    mysql_stmt_free_result(st);
    return true;
  }
};

MariaDbPool::MariaDbPool(MariaDbOptions options, std::vector<std::string> statements)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  std::call_once(library_once, [] { mysql_library_init(0, nullptr, nullptr); });
  if (options_.pool_size == 0) options_.pool_size = 1;
  impl_->options = &options_;
  impl_->statements = std::move(statements);
  impl_->down_until.assign(options_.servers.size(), Clock::time_point{});
  impl_->epoch.assign(options_.servers.size(), 0);
}

MariaDbPool::~MariaDbPool() = default;

size_t MariaDbPool::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->open;
}

PoolProblem MariaDbPool::check(std::vector<std::vector<std::string>>* columns) {
  std::unique_ptr<Connection> c;
  if (!impl_->acquire(&c)) {
    return PoolProblem{PoolProblem::Kind::unreachable, 0, "connection pool busy"};
  }
  if (c) {  // already connected once (columns were reported then)
    impl_->release(std::move(c));
    return PoolProblem{};
  }
  PoolProblem problem;
  c = impl_->connect(&problem, columns);
  bool ok = c != nullptr;
  impl_->release(std::move(c));  // nullptr frees the reserved slot
  return ok ? PoolProblem{} : problem;
}

// Runs `attempt` on a pooled connection, retrying on a fresh connection (possibly another
// server) when the connection turns out to be dead and `attempt` says a retry is safe.
template <class Attempt>
core::Result<SqlRows> MariaDbPool::with_connection(Attempt&& attempt) {
  std::string last_error;
  // One attempt per server plus one: a restarted server invalidates one connection, then the
  // epoch drops its siblings, so the next attempt opens a fresh connection.
  size_t attempts = options_.servers.size() + 1;
  for (size_t n = 0; n < attempts; ++n) {
    std::unique_ptr<Connection> c;
    if (!impl_->acquire(&c)) {
      return core::unavailable("database busy", "all " + std::to_string(options_.pool_size) +
                                                    " SQL connections busy for " +
                                                    std::to_string(options_.pool_wait.count()) +
                                                    "s");
    }
    if (auto st = impl_->ensure_connected(&c); !st) return st;
    SqlRows rows;
    Failure f;
    bool may_retry = true;
    if (attempt(*c, &rows, &f, &may_retry)) {
      impl_->release(std::move(c));
      return rows;
    }
    last_error = options_.servers[c->server].str() + ": " + std::to_string(f.err) + " " + f.message;
    if (is_connection_error(f.err)) {
      MR_LOG_WARN("event=sql_connection_lost server={} error={}",
                  core::quote(options_.servers[c->server].str()), core::quote(f.message));
      impl_->connection_died(*c);
      c.reset();
      impl_->release(nullptr);
      if (may_retry) continue;
      return core::unavailable("database connection lost", last_error);
    }
    // A statement error (schema changed under us, constraint): this connection's statements
    // may be unusable; drop it so the next query re-prepares.
    c.reset();
    impl_->release(nullptr);
    return core::unavailable("database error", last_error);
  }
  return core::unavailable("database unavailable", last_error);
}

core::Result<SqlRows> MariaDbPool::query(size_t index, const std::vector<std::string>& params) {
  if (index >= impl_->statements.size()) return core::internal_error("no such SQL statement");
  return with_connection([&](Connection& c, SqlRows* rows, Failure* f, bool*) {
    return Impl::run(c.stmts[index], params, rows, f);
  });
}

core::Result<SqlRows> MariaDbPool::query_sql(const std::string& sql,
                                             const std::vector<std::string>& params) {
  return with_connection([&](Connection& c, SqlRows* rows, Failure* f, bool*) {
    MYSQL_STMT* st = Impl::adhoc_statement(c, sql, f);
    return st && Impl::run(st, params, rows, f);
  });
}

core::Status MariaDbPool::transaction(const std::vector<MariaDbPool::Statement>& statements) {
  auto r = with_connection([&](Connection& c, SqlRows* rows, Failure* f, bool* may_retry) {
    if (!Impl::text_query(c, "START TRANSACTION", f)) return false;
    for (const auto& [sql, params] : statements) {
      MYSQL_STMT* st = Impl::adhoc_statement(c, sql, f);
      SqlRows part;
      if (!st || !Impl::run(st, params, &part, f)) {
        Failure ignored;
        Impl::text_query(c, "ROLLBACK", &ignored);
        return false;
      }
      rows->affected_rows += part.affected_rows;
    }
    // Once COMMIT is sent its outcome may be unknown: never replay it.
    *may_retry = false;
    return Impl::text_query(c, "COMMIT", f);
  });
  return r ? core::Status::ok() : r.status();
}

core::Status MariaDbPool::execute_text(const std::string& sql) {
  std::unique_ptr<Connection> c;
  if (!impl_->acquire(&c)) return core::unavailable("database busy", "pool busy");
  if (auto st = impl_->ensure_connected(&c); !st) return st;
  if (mysql_real_query(c->db, sql.data(), sql.size()) != 0) {
    std::string err = mysql_error(c->db);
    bool conn = is_connection_error(mysql_errno(c->db));
    if (conn) impl_->connection_died(*c);
    c.reset();
    impl_->release(nullptr);
    return core::unavailable("database error", err);
  }
  // Drain any result so the connection stays usable.
  do {
    if (MYSQL_RES* r = mysql_store_result(c->db)) mysql_free_result(r);
  } while (mysql_next_result(c->db) == 0);
  impl_->release(std::move(c));
  return core::Status::ok();
}

}  // namespace mailroom::db
