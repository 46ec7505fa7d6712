// The antivirus content scanner (issue 21): runs first in the chain before the 250
// (content_scan.h), with clamd or libclamav behind it (virus_engine.h).
//
// [antivirus] keys (defaults in brackets):
//   engine ["none"] | "clamd" | "libclamav"
//   clamd_address ["/run/clamav/clamd.ctl"]   socket path, or host:port
//   connect_timeout ["5s"], scan_timeout ["60s"], clamd_idle_connections [4]
//   stream_max_length ["25M"]   clamd's StreamMaxLength: larger mail is a scanner error
//   database ["/var/lib/clamav"], reload_interval ["60s"]   libclamav
//   max_file_size ["25M"], max_scan_size ["100M"]            libclamav limits
//   tmp_dir [a private directory on /dev/shm if tmpfs]       libclamav temporary files
//   scan_parts [false]  libclamav: true = MIME decoded by us, each part scanned from memory
//                       (scan_parts.h, a third less CPU, no phishing URL checks); false: the
//                       message whole, through ClamAV's mail parser
//   quarantine_retention ["30d"; "0" keeps for ever]         quarantined mail is removed after
//   policy ["reject"] | "quarantine" | "replace"   what infected mail gets
//   fail_open [false]   scanner down or slow: false 451 4.7.1; true deliver with the header
//                       X-Mailroom-Virus-Scan: unavailable
//   trusted_gateways [[]]      IPs/CIDRs of AV gateways in front of us
//   scan_from_gateways [true]  false: mail from those gateways is not scanned again
//   [antivirus.domains] "<domain>" = "reject" | "quarantine" | "replace"   per recipient domain
// A message for several domains gets the strictest of their policies (reject, then
// quarantine, then replace): one copy of the message is judged once, before the 250.
//
// Threading: thread-safe; scan() blocks (the engine) and runs on the worker pool.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/core/cidr.h"
#include "src/filter/clamd_client.h"
#include "src/filter/content_scan.h"
#include "src/filter/libclamav_engine.h"
#include "src/filter/virus_engine.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::filter {

enum class VirusPolicy { replace = 0, quarantine = 1, reject = 2 };  // by strictness

struct AntivirusOptions {
  std::string engine = "none";
  ClamdOptions clamd;
  LibclamavOptions libclamav;
  VirusPolicy policy = VirusPolicy::reject;
  std::map<std::string, VirusPolicy> domain_policy;  // lower-case domain
  bool fail_open = false;
  std::vector<core::Cidr> trusted_gateways;
  bool scan_from_gateways = true;
  int64_t quarantine_retention_seconds = 30 * 86400;  // 0: quarantined mail is kept for ever
};

AntivirusOptions parse_antivirus_options(core::ConfigSection& section);

// The engine `options.engine` names (null for "none"); fails when it cannot start (libclamav:
// the database does not load, or the engine is not built in).
core::Result<std::shared_ptr<VirusEngine>> open_virus_engine(const AntivirusOptions& options);

class AntivirusScanner : public ContentScanner {
 public:
  AntivirusScanner(AntivirusOptions options, std::shared_ptr<VirusEngine> engine,
                   std::string hostname);
  std::string name() const override { return "antivirus"; }
  ContentVerdict scan(const ContentScanInput& in) override;

  // The policy for a message to these recipients (the strictest of their domains').
  VirusPolicy policy_for(const std::vector<std::string>& recipients) const;

 private:
  AntivirusOptions options_;
  std::shared_ptr<VirusEngine> engine_;
  std::string hostname_;
};

}  // namespace mailroom::filter
