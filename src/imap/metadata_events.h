// Annotation changes (RFC 5464) told to the NOTIFY sessions that asked for them (RFC 5465 5.6
// MailboxMetadataChange, 5.7 ServerMetadataChange), as unsolicited METADATA responses with the
// entry names (RFC 5464 4.4.2). SETMETADATA publishes a change once the store has committed it;
// a NOTIFY session subscribes to the channel of each account whose annotations it watches (its
// own; the owners of the shared folders it names) and decides in notify.cpp what it may show.
//
// Threading: thread-safe. A callback runs on the publishing thread, outside the registry's
// lock: it may only post work (as MailStore's watch callbacks). The handle unsubscribes when
// destroyed.
//
// State: per process, in memory (a single-node shortcut, like MailStore::watch_mailbox_list):
// a change made through another node or process is not told. The annotations themselves are in
// the store's index (MailStore::metadata).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom::imap {

struct MetadataEvent {
  std::string owner;                 // account whose store holds the entries
  std::string mailbox;               // its name there; "" for the owner's server entries
  std::vector<std::string> entries;  // the names a client sees ("/private/comment", ...)
  // The account whose /private entries these are ("" for /shared ones): another user's
  // /private entries are never told (RFC 5464 3.3).
  std::string private_to;
};

class MetadataEvents {
 public:
  using Callback = std::function<void(const MetadataEvent&)>;
  class Subscription {
   public:
    Subscription(MetadataEvents& events, std::string account, uint64_t id)
        : events_(events), account_(std::move(account)), id_(id) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    MetadataEvents& events_;
    std::string account_;
    uint64_t id_;
  };

  static MetadataEvents& instance();
  // `callback` runs for every change published for `account` until the handle is destroyed.
  std::unique_ptr<Subscription> subscribe(const std::string& account, Callback callback);
  void publish(const MetadataEvent& event);

 private:
  void unsubscribe(const std::string& account, uint64_t id);
  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<std::string, std::map<uint64_t, std::shared_ptr<const Callback>>> by_account_;
};

}  // namespace mailroom::imap
