// The Resolver: one c-ares channel driven by the io_context (STYLE.md example 10). c-ares
// tells us which sockets it wants watched (ARES_OPT_SOCK_STATE_CB); each becomes a
// non-owning posix::stream_descriptor whose async_wait calls ares_process_fd, and one
// steady_timer fires at ares_timeout() for retries and timeouts. No thread of our own and
// no blocking call: c-ares sockets are non-blocking and all of it runs on the io thread.
#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include "src/dns/answers.h"
#include "src/dns/cache.h"
#include "src/dns/resolver.h"
#include "src/dns/server_address.h"

namespace mailroom::dns {
namespace {

namespace asio = boost::asio;
using Waiter = std::function<void(const Answer&)>;

// c-ares 1.18 wants ares_library_init before the first channel (a no-op on Linux today,
// but documented as required) and it is not thread-safe itself.
int init_ares_library() {
  static std::once_flag once;
  static int rc = ARES_SUCCESS;
  std::call_once(once, [] { rc = ares_library_init(ARES_LIB_INIT_ALL); });
  return rc;
}

// RFC 5321 5.1: hosts of equal preference are tried in random order.
void sort_and_shuffle_mx(std::vector<Mx>& records) {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::shuffle(records.begin(), records.end(), rng);
  std::stable_sort(records.begin(), records.end(),
                   [](const Mx& a, const Mx& b) { return a.preference < b.preference; });
}

class AresResolver : public Resolver, public std::enable_shared_from_this<AresResolver> {
 public:
  AresResolver(asio::io_context& io, ResolverOptions options)
      : io_(io), options_(std::move(options)), timer_(io), cache_(options_.cache_entries) {}
  ~AresResolver() override;

  core::Status init();

  void mx(const std::string& domain, std::function<void(MxAnswer)> done) override;
  void addresses(const std::string& host, std::function<void(AddressAnswer)> done) override;
  void txt(const std::string& name, std::function<void(TxtAnswer)> done) override;
  void shutdown() override;

 private:
  // One socket c-ares asked us to watch. Handlers hold it by shared_ptr and check `open`:
  // c-ares may close the descriptor (and the number may be reused) while a handler is queued.
  struct Watch {
    Watch(asio::io_context& io, ares_socket_t s) : fd(s), descriptor(io, s) {}
    ~Watch() {
      if (descriptor.is_open()) {
        descriptor.release();  // never close a descriptor c-ares owns
      }
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ares_socket_t fd;
    asio::posix::stream_descriptor descriptor;
    bool open = true;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;  // an async_wait(wait_read) is outstanding
    bool writing = false;
  };
  struct QueryContext {
    AresResolver* self;
    std::string key;
    int type;
  };

  void lookup(int type, const std::string& name, Waiter waiter);
  void deliver(Waiter waiter, Answer answer);
  static void on_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void finish(const std::string& key, int type, const std::string& name, Answer answer);

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
  void socket_state(ares_socket_t fd, bool readable, bool writable);
  void close_watch(ares_socket_t fd);
  void arm(const std::shared_ptr<Watch>& w);
  void wait(const std::shared_ptr<Watch>& w, asio::posix::descriptor_base::wait_type type);
  void on_ready(const std::shared_ptr<Watch>& w, asio::posix::descriptor_base::wait_type type,
                boost::system::error_code ec);
  void reschedule_timer();
  void destroy_channel();

  asio::io_context& io_;
  ResolverOptions options_;
  ares_channel channel_ = nullptr;
  asio::steady_timer timer_;
  std::map<ares_socket_t, std::shared_ptr<Watch>> watches_;
  AnswerCache cache_;
  // Queries in flight by cache key; later identical lookups join the first one's waiters.
  std::unordered_map<std::string, std::vector<Waiter>> pending_;
};

AresResolver::~AresResolver() { destroy_channel(); }

core::Status AresResolver::init() {
  if (int rc = init_ares_library(); rc != ARES_SUCCESS) {
    return core::internal_error(std::string("ares_library_init: ") + ares_strerror(rc));
  }
  std::string csv;
  for (const std::string& s : options_.servers) {
    auto canonical = canonical_server(s);
    if (!canonical) {
      return core::invalid_argument("dns: bad server address", "dns: bad server \"" + s + "\"");
    }
    csv += (csv.empty() ? "" : ",") + *canonical;
  }
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  opts.sock_state_cb = &AresResolver::on_socket_state;
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(std::clamp<int64_t>(options_.timeout_ms, 1, 600'000));
  opts.tries = std::max(1, options_.tries);
  // EDNS0 so that DKIM keys and long SPF records fit in one UDP reply instead of a retry over
  // TCP; c-ares falls back to TCP by itself when a reply is truncated anyway.
  opts.flags = ARES_FLAG_EDNS;
  if (int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS) {
    channel_ = nullptr;
    return core::unavailable("dns: cannot start the resolver",
                             std::string("ares_init_options: ") + ares_strerror(rc));
  }
  if (!csv.empty()) {
    if (int rc = ares_set_servers_ports_csv(channel_, csv.c_str()); rc != ARES_SUCCESS) {
      destroy_channel();
      return core::invalid_argument("dns: bad server address", "ares_set_servers_ports_csv(" + csv +
                                                                   "): " + ares_strerror(rc));
    }
  }
  return core::Status::ok();
}

// ---- lookups ----

void AresResolver::mx(const std::string& domain, std::function<void(MxAnswer)> done) {
  lookup(kTypeMx, domain, [done = std::move(done)](const Answer& a) {
    MxAnswer out;
    out.outcome = a.outcome;
    out.records = a.mx;
    out.detail = a.detail;
    sort_and_shuffle_mx(out.records);
    done(std::move(out));
  });
}

void AresResolver::txt(const std::string& name, std::function<void(TxtAnswer)> done) {
  lookup(kTypeTxt, name, [done = std::move(done)](const Answer& a) {
    done(TxtAnswer{a.outcome, a.items, a.detail});
  });
}

void AresResolver::addresses(const std::string& host, std::function<void(AddressAnswer)> done) {
  if (!options_.ipv6) {
    lookup(kTypeA, host, [done = std::move(done)](const Answer& a) {
      done(AddressAnswer{a.outcome, a.items, a.detail});
    });
    return;
  }
  // A and AAAA in parallel; the answer is given when both are in.
  struct Both {
    std::function<void(AddressAnswer)> done;
    Answer a, aaaa;
    int missing = 2;
    void complete() {
      AddressAnswer out;
      if (a.outcome == Outcome::ok || aaaa.outcome == Outcome::ok) {
        out.outcome = Outcome::ok;
        out.addresses = a.items;
        out.addresses.insert(out.addresses.end(), aaaa.items.begin(), aaaa.items.end());
      } else if (a.outcome == Outcome::nxdomain || aaaa.outcome == Outcome::nxdomain) {
        // NXDOMAIN is about the name, whatever the type: the other may only have timed out.
        out.outcome = Outcome::nxdomain;
        out.detail = a.outcome == Outcome::nxdomain ? a.detail : aaaa.detail;
      } else if (a.outcome == Outcome::temporary || aaaa.outcome == Outcome::temporary) {
        out.outcome = Outcome::temporary;
        out.detail = a.outcome == Outcome::temporary ? a.detail : aaaa.detail;
      } else {
        out.outcome = Outcome::nodata;
        out.detail = "no A or AAAA records";
      }
      done(std::move(out));
    }
  };
  auto both = std::make_shared<Both>();
  both->done = std::move(done);
  lookup(kTypeA, host, [both](const Answer& a) {
    both->a = a;
    if (--both->missing == 0) both->complete();
  });
  lookup(kTypeAaaa, host, [both](const Answer& a) {
    both->aaaa = a;
    if (--both->missing == 0) both->complete();
  });
}

// Callbacks always run from the io_context's queue, never inside mx()/addresses()/txt() or
// inside c-ares, so a callback may start the next lookup or call shutdown().
void AresResolver::deliver(Waiter waiter, Answer answer) {
  asio::post(io_, [waiter = std::move(waiter), answer = std::move(answer)] { waiter(answer); });
}

void AresResolver::lookup(int type, const std::string& name, Waiter waiter) {
  std::string normalized;
  if (!normalize_name(name, &normalized)) {
    Answer a;
    a.outcome = Outcome::nxdomain;
    a.detail = "not a valid domain name";
    deliver(std::move(waiter), std::move(a));
    return;
  }
  if (channel_ == nullptr) {
    Answer a;
    a.detail = "resolver shut down";
    deliver(std::move(waiter), std::move(a));
    return;
  }
  std::string key = std::string(type_name(type)) + ' ' + normalized;
  if (auto hit = cache_.get(key, std::chrono::steady_clock::now())) {
    deliver(std::move(waiter), std::move(*hit));
    return;
  }
  auto [it, first] = pending_.try_emplace(key);
  it->second.push_back(std::move(waiter));
  if (!first) {
    return;
  }
  // c-ares may call on_reply before ares_query returns (e.g. no servers); the pending entry
  // exists by then. ares_query, not ares_search: a mail domain is never completed with the
  // resolv.conf search list.
  auto* ctx = new QueryContext{this, std::move(key), type};
  ares_query(channel_, normalized.c_str(), kClassIn, type, &AresResolver::on_reply, ctx);
  reschedule_timer();
}

void AresResolver::on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                            int alen) {
  std::unique_ptr<QueryContext> ctx(static_cast<QueryContext*>(arg));
  AresResolver* self = ctx->self;
  Answer answer = interpret_reply(ctx->type, status, abuf, alen, self->options_.negative_ttl_max);
  std::string name = ctx->key.substr(ctx->key.find(' ') + 1);
  self->finish(ctx->key, ctx->type, name, std::move(answer));
}

void AresResolver::finish(const std::string& key, int type, const std::string& name,
                          Answer answer) {
  if (answer.outcome != Outcome::ok) {
    answer.detail = std::string(type_name(type)) + " lookup for " + name + ": " + answer.detail;
  }
  cache_.put(key, answer, std::chrono::steady_clock::now());
  auto node = pending_.extract(key);
  if (node.empty()) {
    return;
  }
  for (Waiter& w : node.mapped()) {
    deliver(std::move(w), answer);
  }
}

// ---- c-ares sockets on the io_context ----

void AresResolver::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<AresResolver*>(data)->socket_state(fd, readable != 0, writable != 0);
}

void AresResolver::socket_state(ares_socket_t fd, bool readable, bool writable) {
  if (!readable && !writable) {
    close_watch(fd);  // c-ares closes the socket right after telling us
    return;
  }
  auto it = watches_.find(fd);
  if (it == watches_.end()) {
    try {
      it = watches_.emplace(fd, std::make_shared<Watch>(io_, fd)).first;
    } catch (const boost::system::system_error&) {
      // The reactor refused the descriptor: the query on it ends by timeout (the timer).
      return;
    }
  }
  it->second->want_read = readable;
  it->second->want_write = writable;
  arm(it->second);
}

void AresResolver::close_watch(ares_socket_t fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) {
    return;
  }
  it->second->open = false;
  // release(), not close(): the descriptor is c-ares's. Outstanding waits end as aborted.
  it->second->descriptor.release();
  watches_.erase(it);
}

void AresResolver::arm(const std::shared_ptr<Watch>& w) {
  if (!w->open) {
    return;
  }
  if (w->want_read && !w->reading) {
    w->reading = true;
    wait(w, asio::posix::descriptor_base::wait_read);
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    wait(w, asio::posix::descriptor_base::wait_write);
  }
}

void AresResolver::wait(const std::shared_ptr<Watch>& w,
                        asio::posix::descriptor_base::wait_type type) {
  auto handler = [self = shared_from_this(), w, type](boost::system::error_code ec) {
    self->on_ready(w, type, ec);
  };
  // Asio's epoll reactor is edge-triggered and async_wait does not look first: a reply that
  // c-ares has not read yet (two on one socket, or a TCP stream read in parts) would never
  // wake the wait. So ask the kernel, without blocking, whether it is ready already.
  pollfd p{w->fd,
           static_cast<short>(type == asio::posix::descriptor_base::wait_read ? POLLIN : POLLOUT),
           0};
  if (::poll(&p, 1, 0) > 0) {
    asio::post(io_, [handler = std::move(handler)] { handler({}); });
  } else {
    w->descriptor.async_wait(type, std::move(handler));
  }
}

void AresResolver::on_ready(const std::shared_ptr<Watch>& w,
                            asio::posix::descriptor_base::wait_type type,
                            boost::system::error_code ec) {
  const bool read = type == asio::posix::descriptor_base::wait_read;
  (read ? w->reading : w->writing) = false;
  if (!w->open || channel_ == nullptr || ec == asio::error::operation_aborted) {
    return;
  }
  // On another error c-ares sees it too when it reads or writes, and drops the connection.
  ares_process_fd(channel_, read ? w->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : w->fd);
  arm(w);
  reschedule_timer();
}

void AresResolver::reschedule_timer() {
  if (channel_ == nullptr) {
    return;
  }
  timeval buf{};
  timeval* next = ares_timeout(channel_, nullptr, &buf);
  if (next == nullptr) {
    timer_.cancel();  // no query in flight
    return;
  }
  timer_.expires_after(std::chrono::seconds(next->tv_sec) +
                       std::chrono::microseconds(next->tv_usec));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || self->channel_ == nullptr) {
      return;
    }
    ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts, retries
    self->reschedule_timer();
  });
}

void AresResolver::destroy_channel() {
  if (channel_ != nullptr) {
    // Every query in flight ends in on_reply with ARES_EDESTRUCTION (Outcome::temporary), and
    // every socket is reported closed through on_socket_state before c-ares closes it.
    ares_channel channel = channel_;
    ares_destroy(channel);
    channel_ = nullptr;
  }
  while (!watches_.empty()) {
    close_watch(watches_.begin()->first);
  }
  timer_.cancel();
}

void AresResolver::shutdown() {
  if (channel_ != nullptr) {
    ares_cancel(channel_);  // on_reply with ARES_ECANCELLED for every query in flight
  }
  destroy_channel();
}

}  // namespace

core::Result<std::shared_ptr<Resolver>> Resolver::create(boost::asio::io_context& io,
                                                         ResolverOptions options) {
  auto resolver = std::make_shared<AresResolver>(io, std::move(options));
  if (core::Status s = resolver->init(); !s.is_ok()) {
    return s;
  }
  return std::shared_ptr<Resolver>(std::move(resolver));
}

}  // namespace mailroom::dns
