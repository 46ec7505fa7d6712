#include "src/server/wiring.h"

#include <filesystem>

#include "auth/app_passwords.h"
#include "auth/authenticator.h"
#include "auth/directory_registry.h"
#include "auth/local/local_directory.h"
#include "auth/policy/policy_directory.h"
#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/core/private_files.h"
#include "src/dns/resolver.h"
#include "src/filter/blocklist.h"
#include "src/filter/personal_lists.h"
#include "src/filter/spam_learner.h"
#include "src/imap/sort_keys.h"
#include "src/mailauth/inbound.h"
#include "src/mime/facts.h"
#include "src/net/worker_pool.h"
#include "src/outbound/outbound.h"
#include "src/queue/delivery_log.h"
#include "src/queue/quarantine.h"
#include "src/queue/remote.h"
#include "src/server/content_scanners.h"
#include "src/server/module_options.h"
#include "src/sieve/offboarding_filter.h"
#include "src/store/store_options.h"
#include "sso/sso.h"

namespace mailroom::server {

LoadedConfig::LoadedConfig() = default;
LoadedConfig::~LoadedConfig() = default;

std::unique_ptr<LoadedConfig> load_config(const std::string& path, core::ConfigErrors* errors) {
  auto config = std::make_unique<LoadedConfig>();
  config->path = path;
  config->document = core::ConfigDocument::load_file(path, errors);
  if (!errors->empty()) return nullptr;
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  auto root = config->document->root();
  config->server = parse_server_config(root, dir);
  auto& m = *(config->modules = std::make_unique<ModuleOptions>());
  {
    auto s = root.child("auth");
    m.auth = auth::parse_auth_options(s);
    auto& krb = m.auth.kerberos;
    if (krb.hostname.empty()) krb.hostname = core::ascii_lower(config->server.hostname);
    if (!krb.keytab.empty() && std::filesystem::path(krb.keytab).is_relative()) {
      krb.keytab = (std::filesystem::path(dir) / krb.keytab).string();
    }
  }
  {
    auto s = root.child("sso");
    m.sso = sso::parse_options(s);
  }
  {
    // After [sso]: OAuth2 is advertised with the first trusted issuer.
    auto s = root.child("autoconfig");
    const sso::IssuerOptions* first = m.sso.issuers.empty() ? nullptr : &m.sso.issuers.front();
    m.autoconfig = api::parse_autoconfig_options(
        s, config->server.hostname, first ? first->issuer : "", first ? first->required_scope : "");
  }
  {
    auto s = root.child("store");
    m.store = store::parse_store_options(s, config->server.data_dir);
  }
  {
    auto s = root.child("fts");
    m.fts = fts::parse_options(s);
  }
  {
    auto s = root.child("queue");
    m.queue = queue::parse_options(s, config->server.data_dir);
  }
  {
    auto d = root.child("dns");
    auto dns = dns::parse_options(d);
    auto s = root.child("outbound");
    m.outbound = outbound::parse_options(s, config->server.hostname);
    m.outbound.dns = dns;
    auto a = root.child("mailauth");
    m.mailauth_psl_configured = a.has("public_suffix_list");
    m.mailauth = mailauth::parse_inbound_options(a, config->server.hostname);
    m.mailauth.dns = dns;
  }
  {
    auto s = root.child("smtp");
    m.smtp = smtp::parse_options(s);
  }
  {
    auto s = root.child("imap");
    m.imap = imap::parse_options(s);
  }
  {
    auto s = root.child("pop3");
    m.pop3 = pop3::parse_options(s);
  }
  {
    auto s = root.child("spam");
    m.spam = filter::parse_rspamd_options(s);
  }
  {
    auto s = root.child("sieve");
    m.sieve = sieve::parse_options(s, dir);
    auto ms = root.child("managesieve");
    m.managesieve = managesieve::parse_options(ms);
  }
  {
    auto s = root.child("offboarding");
    m.offboarding = auth::parse_offboarding_options(s);
  }
  {
    auto s = root.child("recall");
    m.recall = service::parse_recall_options(s);
  }
  {
    auto s = root.child("antivirus");
    m.antivirus = filter::parse_antivirus_options(s);
  }
  {
    auto s = root.child("http");
    m.http = http::parse_server_options(s);
    s.finish();
  }
  {
    auto s = root.child("webmail");  // the web client (src/webmail/webmail.h)
    m.webmail = webmail::parse_options(s, webmail::default_root());
  }
  m.directory_section = root.child("directory");
  m.delivery_log_section = root.child("delivery_log");
  root.finish();
  if (!errors->empty()) return nullptr;
  return config;
}

namespace {
// Policy bundles live in directory.db: the local directory itself, or the replica the LDAP /
// SQL sync writes (auth/policy/policy_directory.h).
core::Status attach_policies(core::Services& services, const std::string& data_dir) {
  auto local = std::dynamic_pointer_cast<auth::LocalDirectory>(services.directory);
  if (!local) {
    auto opened = auth::LocalDirectory::open({data_dir + "/directory.db"});
    if (!opened) return opened.status();
    local = *opened;
  }
  services.policies = std::make_shared<auth::PolicySource>(local);
  services.directory = auth::with_policies(services.directory, services.policies);
  return core::Status::ok();
}

// Offboarding (auth/offboarding.h), in the daemon only (mailroomctl reads the workflow
// through service::OffboardingReport): the Resolver sees the directory through the decorator
// that forwards a departed user's mail to the manager, and holds and forwards that mail.
// services.directory stays undecorated (administrative writes unwrap only the policy layer).
core::Result<std::shared_ptr<auth::Offboarding>> attach_offboarding(core::Services& services,
                                                                    ModuleOptions& m,
                                                                    const std::string& data_dir,
                                                                    bool with_queue) {
  services.resolver = std::make_shared<auth::Resolver>(services.directory, m.auth.resolver);
  if (!m.offboarding.enabled || !with_queue) return std::shared_ptr<auth::Offboarding>();
  auto replica = auth::LocalDirectory::open({data_dir + "/directory.db"});
  if (!replica) return replica.status();
  auto offboarding =
      std::make_shared<auth::Offboarding>(m.offboarding, *replica, services.directory);
  m.auth.resolver.hold_for_disabled = true;
  m.auth.resolver.forward_held = true;
  services.resolver = std::make_shared<auth::Resolver>(
      std::make_shared<auth::OffboardingDirectory>(services.directory, offboarding),
      m.auth.resolver);
  return offboarding;
}
}  // namespace

core::Result<std::unique_ptr<core::Services>> open_services(LoadedConfig& config, bool with_queue) {
  const std::string& data = config.server.data_dir;
  auto& m = *config.modules;
  // Password hashes, SCRAM secrets, keys and mail: private to the server's user (the
  // process runs with umask 077; this repairs what an older version or a hand left open).
  std::vector<std::string> repairs;
  for (const std::string& dir : {data, data + "/run", m.store.root, m.queue.spool_dir}) {
    if (dir.empty()) continue;
    if (auto st = core::make_private_directory(dir, &repairs); !st) return st;
  }
  for (const auto& r : repairs) {
    MR_LOG_WARN("event=permissions.fixed detail={}", core::quote(r));
  }
  auto key = core::load_or_create_secret(data + "/installation.key", 32);
  if (!key) return key.status();
  m.auth.installation_key = *key;

  auto services = std::make_unique<core::Services>();
  services->hostname = config.server.hostname;
  services->data_dir = data;
  services->mail_root = m.store.root;
  services->blocklist = std::make_shared<filter::Blocklist>(filter::blocklist_path(data));
  services->worker_pool = std::make_shared<net::WorkerPool>(config.server.worker_threads);
  services->workers = services->worker_pool.get();

  // Only mailroomd syncs the replica (auth/directory_registry.h).
  auto directory = auth::open_directory(m.directory_section, data, /*start_sync=*/with_queue);
  if (!directory) return directory.status();
  services->directory = *directory;
  if (auto st = attach_policies(*services, data); !st) return st;
  auto offboarding = attach_offboarding(*services, m, data, with_queue);  // and the Resolver
  if (!offboarding) return offboarding.status();
  auto app_passwords = auth::AppPasswordStore::open({data + "/app-passwords.db"});
  if (!app_passwords) return app_passwords.status();
  services->app_passwords = *app_passwords;
  // Bearer tokens (OAUTHBEARER, XOAUTH2) when [sso] trusts an issuer; only the server checks
  // them (mailroomctl opens the services without the queue and needs no key refresher).
  std::shared_ptr<auth::TokenVerifier> tokens;
  if (with_queue && !m.sso.issuers.empty()) {
    auto service = sso::TokenService::start(m.sso);
    if (!service) return service.status();
    tokens = *service;
  }
  services->token_verifier = tokens;
  services->authenticator = auth::with_login_policies(
      auth::make_authenticator(services->resolver, m.auth, services->app_passwords, tokens),
      services->policies);

  store::StoreOptions so = m.store;
  so.facts = [](std::string_view message) { return mime::extract_facts(message); };
  // Changes made by mailroomctl (a separate process on the same store) reach the server's IMAP
  // sessions through notice files (src/store/FORMAT.md "Change notices").
  so.notices_dir = data + "/store-notices";
  so.notices =
      with_queue ? store::StoreOptions::Notices::subscribe : store::StoreOptions::Notices::publish;
  // The full-text indexer hears of every commit; mailroomd's thread indexes off the delivery
  // path (mailroomctl's changes reach it through the notices above).
  std::shared_ptr<fts::Indexer> fts;
  if (m.fts.enabled) {
    fts = std::make_shared<fts::Indexer>(m.fts, so.root);
    if (with_queue) {
      so.on_change = [weak = std::weak_ptr<fts::Indexer>(fts)](const store::ChangeEvent& ev) {
        if (auto f = weak.lock()) f->notify(ev.account_id);
      };
    }
  }
  services->store = store::open_file_store(so);
  if (!services->store) return core::io_error("cannot open the mail store under " + so.root);
  if (fts) {
    fts->attach(services->store);
    if (with_queue) fts->start();
    services->fts = fts;
  }
  // The IMAP sort/search key tables: one per mailbox in use, shared by every session.
  if (with_queue) services->sort_keys = std::make_shared<imap::SortKeyRegistry>();

  core::ConfigErrors log_errors;
  // open_delivery_log reports problems into the section's error list.
  services->delivery_log = queue::open_delivery_log(m.delivery_log_section, data);
  if (!services->delivery_log) {
    std::string text;
    if (auto* errs = m.delivery_log_section.errors()) {
      for (const auto& e : errs->messages()) text += (text.empty() ? "" : "; ") + e;
    }
    return core::invalid_argument("cannot open the delivery log: " + text);
  }
  if (with_queue) {
    // Per recipient at delivery: the user's block and allow lists (src/filter/personal_lists.h).
    services->queue = queue::open_queue(
        m.queue, *services, {std::make_shared<filter::PersonalListScanner>(m.store.root)});
    if (!services->queue) return core::io_error("cannot open the queue in " + m.queue.spool_dir);
    auto out = outbound::Outbound::start(m.outbound, data);
    if (!out) return out.status();
    services->remote = *out;
    services->queue->set_remote_transport(services->remote);
    services->quarantine = std::make_shared<queue::Quarantine>(data + "/quarantine");
    services->quarantine->set_retention(m.antivirus.quarantine_retention_seconds);
    auto content_scan = open_content_scanners(m, services->hostname);
    if (!content_scan) return content_scan.status();
    services->content_scan = *content_scan;
    // Learning from IMAP moves into and out of Junk ([spam], src/filter/spam_learner.h).
    if (!m.spam.controller_url.empty()) {
      auto store = services->store;
      services->move_observer = std::make_shared<filter::SpamLearner>(
          m.spam.controller_url, m.spam.controller_password,
          [store](const std::string& account, const std::string& mailbox, uint32_t uid) {
            return store->read_message(account, mailbox, uid);
          });
    }
    // Sieve at delivery (src/sieve/delivery.h); the scripts are what ManageSieve stores.
    services->sieve_scripts = std::make_shared<sieve::ScriptStore>(m.store.root, m.sieve.store);
    auto filter = sieve::SieveFilter::open(m.sieve, services->sieve_scripts, services->store,
                                           services->resolver, services->hostname);
    if (!filter) return filter.status();
    services->queue->set_delivery_filter(*filter);
    if (*offboarding) {
      services->queue->set_delivery_filter(
          std::make_shared<sieve::OffboardingFilter>(*filter, *offboarding, services->directory));
    }
    if (m.mailauth.enabled) {
      auto verifier = mailauth::InboundVerifier::start(m.mailauth);
      if (verifier) {
        services->mail_auth = *verifier;
      } else if (m.mailauth_psl_configured) {
        return verifier.status();
      } else {
        MR_LOG_ERROR("event=mailauth_disabled detail={}",
                     core::quote(verifier.status().log_detail()));
      }
    }
  }
  return services;
}

void start_queue(core::Services& services) {
  if (!services.queue) return;
  auto st = services.queue->start();
  if (!st) {
    MR_LOG_ERROR("event=queue.start_failed error={}", core::quote(st.to_string()));
  }
  if (services.quarantine) services.quarantine->start_releasing(services.queue);
}

void stop_queue(core::Services& services) {
  if (services.quarantine) services.quarantine->stop_releasing();
  if (services.queue) services.queue->stop();
  if (services.remote) services.remote->stop();
  if (services.mail_auth) services.mail_auth->stop();
}

}  // namespace mailroom::server
