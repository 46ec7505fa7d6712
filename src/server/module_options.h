// The parsed module sections of the config file (phase one of STYLE.md example 4).
#pragma once

#include "auth/auth_options.h"
#include "auth/offboarding.h"
#include "src/api/autoconfig_options.h"
#include "src/core/config_section.h"
#include "src/filter/antivirus.h"
#include "src/filter/rspamd_scanner.h"
#include "src/fts/indexer.h"
#include "src/http/server.h"
#include "src/imap/imap_server.h"
#include "src/mailauth/inbound.h"
#include "src/managesieve/managesieve.h"
#include "src/outbound/outbound.h"
#include "src/pop3/pop3.h"
#include "src/queue/queue.h"
#include "src/service/recall.h"
#include "src/sieve/delivery.h"
#include "src/smtp/smtp_server.h"
#include "src/store/mail_store.h"
#include "src/store/store_options.h"
#include "src/webmail/webmail.h"
#include "sso/sso.h"

namespace mailroom::server {

struct ModuleOptions {
  auth::AuthOptions auth;
  sso::Options sso;  // no issuers: bearer-token logins are off
  store::StoreOptions store;
  queue::Options queue;
  outbound::Options outbound;
  mailauth::InboundOptions mailauth;
  bool mailauth_psl_configured = false;  // an explicit public_suffix_list must exist
  smtp::Options smtp;
  imap::Options imap;
  pop3::Options pop3;
  sieve::Options sieve;                  // [sieve]: delivery scripts and their limits
  auth::OffboardingOptions offboarding;  // [offboarding]: departed users (auth/offboarding.h)
  managesieve::Options managesieve;      // [managesieve]: the RFC 5804 listeners' limits
  http::ServerOptions http;              // [http]: limits of listeners with protocol = "http"
  api::AutoconfigOptions autoconfig;     // [autoconfig]: client autoconfiguration on them
  service::RecallOptions recall;         // [recall]: mail recall (keep_days, self-recall, ...)
  filter::AntivirusOptions antivirus;    // [antivirus]: the antivirus content scanner
  filter::RspamdOptions spam;            // [spam]: rspamd verdicts and learning
  webmail::Options webmail;              // [webmail]: the web client on the http listeners
  fts::Options fts;                      // [fts]: the full-text index (src/fts/README.md)
  // Opened in phase two (they connect to databases); kept as sections until then.
  core::ConfigSection directory_section{"", "directory", nullptr};
  core::ConfigSection delivery_log_section{"", "delivery_log", nullptr};
};

}  // namespace mailroom::server
