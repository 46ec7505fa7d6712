// The spine objects a protocol session may use, wired by src/server at start-up.
// Forward declarations only: including this header costs nothing.
#pragma once

#include <memory>
#include <string>

namespace mailroom::auth {
class Directory;
class Resolver;
class Authenticator;
class AppPasswordStore;
class TokenVerifier;
class PolicySource;
}  // namespace mailroom::auth
namespace mailroom::store {
class MailStore;
}
namespace mailroom::queue {
class Queue;
class DeliveryLog;
class RemoteTransport;
class Quarantine;
}  // namespace mailroom::queue
namespace mailroom::net {
class WorkerPool;
}
namespace mailroom::filter {
class Blocklist;
class ContentScanChain;
class MoveObserver;
}  // namespace mailroom::filter
namespace mailroom::mailauth {
class InboundVerifier;
}
namespace mailroom::imap {
class SortKeyRegistry;
}
namespace mailroom::sieve {
class ScriptStore;
}
namespace mailroom::fts {
class Indexer;
}

namespace mailroom::core {

struct Services {
  std::string hostname;  // our name in greetings and Received: headers
  std::string data_dir;
  std::string mail_root;  // [store] root: <mail_root>/<account id>/ (src/store/FORMAT.md)
  std::shared_ptr<auth::Directory> directory;
  std::shared_ptr<auth::Resolver> resolver;
  std::shared_ptr<auth::Authenticator> authenticator;
  // Policy bundles by directory group (auth/policy/policy_directory.h): `directory` and
  // `authenticator` already apply quota and login rules; SMTP asks it for the rest.
  std::shared_ptr<auth::PolicySource> policies;
  // <data_dir>/app-passwords.db (auth/app_passwords.h): the authenticator checks them, the
  // account sweep revokes them, mailroomctl app-password manages them.
  std::shared_ptr<auth::AppPasswordStore> app_passwords;
  // The identity provider's bearer tokens (sso::TokenService) when [sso] trusts an issuer;
  // mailroomd only (null in mailroomctl and without [sso]). The authenticator checks them
  // for OAUTHBEARER/XOAUTH2, the HTTP admin API for its callers (src/api/caller.h).
  std::shared_ptr<auth::TokenVerifier> token_verifier;
  std::shared_ptr<store::MailStore> store;
  std::shared_ptr<queue::Queue> queue;
  std::shared_ptr<queue::DeliveryLog> delivery_log;
  // Outbound SMTP (src/outbound) behind the queue; mailroomd only.
  std::shared_ptr<queue::RemoteTransport> remote;
  // Inbound SPF/DKIM/DMARC for the MX (src/mailauth); mailroomd only, null when disabled.
  std::shared_ptr<mailauth::InboundVerifier> mail_auth;
  // The administrator's IP and sender block lists, applied by every listener.
  std::shared_ptr<filter::Blocklist> blocklist;
  // The content scanners run before the 250 (src/filter/content_scan.h: antivirus, then
  // spam) and the store of what they quarantine (src/queue/quarantine.h); mailroomd only,
  // null when none is configured.
  std::shared_ptr<filter::ContentScanChain> content_scan;
  std::shared_ptr<queue::Quarantine> quarantine;
  // Told of IMAP COPY/MOVE between a user's mailboxes (src/filter/move_observer.h): the spam
  // learner when [spam] names rspamd's controller; null otherwise.
  std::shared_ptr<filter::MoveObserver> move_observer;
  // The IMAP sort/search key tables of every mailbox in use (src/imap/sort_keys.h), shared by
  // all sessions; mailroomd only. Null: each SORT/THREAD/SEARCH builds a transient table.
  std::shared_ptr<imap::SortKeyRegistry> sort_keys;
  // Users' Sieve scripts (src/sieve/script_store.h): ManageSieve writes, delivery reads.
  std::shared_ptr<sieve::ScriptStore> sieve_scripts;
  // The full-text indexer (src/fts/indexer.h) when [fts] is enabled: IMAP SEARCH BODY/TEXT
  // asks it for candidates; in mailroomd its thread indexes what the store commits.
  std::shared_ptr<fts::Indexer> fts;
  net::WorkerPool* workers = nullptr;  // = worker_pool.get()
  std::shared_ptr<net::WorkerPool> worker_pool;
};

}  // namespace mailroom::core
