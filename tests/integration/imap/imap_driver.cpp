// A small IMAP server for the IMAP integration tests and benchmarks when the whole mailroomd
// is not wanted: the real FileStore, net::Connection and IMAP session, with the fake
// Authenticator of tests/fakes (alice/wonderland, bob/builder, any other user/pass). Not a
// product binary.
//
//   imap_driver <data_dir> <cert.pem> <key.pem>   -> prints {"imap": port, "imaps": port}
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "src/core/log.h"
#include "src/core/services.h"
#include "src/imap/imap_server.h"
#include "src/imap/sort_keys.h"
#include "src/mime/facts.h"
#include "src/net/connection.h"
#include "src/net/tls.h"
#include "src/net/worker_pool.h"
#include "src/store/mail_store.h"
#include "src/store/store_options.h"
#include "tests/fakes/fake_authenticator.h"

namespace asio = boost::asio;
using namespace mailroom;

namespace {

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, net::TlsContextPtr tls,
                                  net::TlsMode mode, net::SessionHandler& handler) {
  for (;;) {
    asio::ip::tcp::socket socket(asio::make_strand(acceptor.get_executor()));
    co_await acceptor.async_accept(socket, asio::use_awaitable);
    net::ConnectionInfo info;
    info.session_id = core::new_session_id();
    info.listener = mode == net::TlsMode::implicit ? "imaps" : "imap";
    info.protocol = "imap";
    info.remote_ip = socket.remote_endpoint().address().to_string();
    info.loopback = true;
    info.tls_mode = mode;
    auto conn = std::make_shared<net::Connection>(std::move(socket), tls, info, nullptr);
    asio::co_spawn(
        conn->executor(),  // the socket's strand: the session and its IDLE notifier share it
        [conn, mode, &handler]() -> asio::awaitable<void> {
          if (mode == net::TlsMode::implicit) {
            bool ok = co_await conn->start_tls();
            if (!ok) co_return;
          }
          try {
            co_await handler.run(*conn);
          } catch (const std::exception& e) {
            MR_LOG_ERROR("event=session_exception what={}", e.what());
          }
        },
        asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: imap_driver <data_dir> <cert.pem> <key.pem>\n";
    return 2;
  }
  std::string data = argv[1];
  core::init_logging(std::getenv("IMAP_DRIVER_LOG") ? std::getenv("IMAP_DRIVER_LOG") : "warn", "");
  store::StoreOptions so;
  so.root = data + "/mail";
  so.facts = [](std::string_view m) { return mime::extract_facts(m); };
  so.fsync = std::getenv("IMAP_DRIVER_FSYNC") != nullptr;
  std::shared_ptr<store::MailStore> store = store::open_file_store(so);
  auto tls = net::make_server_context(argv[2], argv[3]);
  if (!tls) {
    std::cerr << tls.status().to_string() << "\n";
    return 1;
  }
  net::WorkerPool workers(4);
  core::Services services;
  services.hostname = "mail.example.com";
  services.data_dir = data;
  services.store = store;
  services.sort_keys = std::make_shared<imap::SortKeyRegistry>();  // as mailroomd wires it
  auto authenticator = std::make_shared<testing::FakeAuthenticator>();
  authenticator->any_user_password = "pass";  // bench/imap logs in as testuser1..N
  services.authenticator = authenticator;
  services.workers = &workers;
  imap::Options options;
  net::SessionHandler handler = imap::make_session_handler(services, options);

  asio::io_context io;
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  asio::ip::tcp::acceptor plain(io, ep), implicit(io, ep);
  std::printf("{\"imap\": %u, \"imaps\": %u}\n", plain.local_endpoint().port(),
              implicit.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(io, accept_loop(plain, *tls, net::TlsMode::starttls, handler), asio::detached);
  asio::co_spawn(io, accept_loop(implicit, *tls, net::TlsMode::implicit, handler), asio::detached);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  std::thread t2([&] { io.run(); });
  io.run();
  t2.join();
  workers.stop();
  return 0;
}
