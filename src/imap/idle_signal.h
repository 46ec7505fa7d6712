// Internal: wakes an IDLE-ing session when the store reports a change to its mailbox.
// The store's watch callback posts notify() to the session's executor; the IDLE loop waits
// on the timer (never expiring by itself) and is woken by its cancellation.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "src/store/mail_store.h"

namespace mailroom::imap {

struct IdleSignal {
  explicit IdleSignal(boost::asio::any_io_executor ex) : timer(ex) {
    timer.expires_at(boost::asio::steady_timer::time_point::max());
  }
  void notify() {
    pending = true;
    changed = true;
    timer.cancel();
  }
  boost::asio::steady_timer timer;
  bool pending = false;  // for the IDLE notifier
  // The store reported a change since the last Session::sync (which may then skip its
  // worker-pool round trip). Session::watch() starts it false: the watch begins before SELECT
  // reads the mailbox, so anything later than that read sets it.
  bool changed = true;
};

class Selected {
 public:
  std::shared_ptr<IdleSignal> signal;
  std::unique_ptr<store::WatchHandle> handle;
};

}  // namespace mailroom::imap
