#include "src/filter/antivirus.h"

#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/filter/virus_replace.h"

namespace mailroom::filter {

namespace {

const std::vector<std::string> kPolicies = {"reject", "quarantine", "replace"};

VirusPolicy policy_named(const std::string& s) {
  if (s == "quarantine") return VirusPolicy::quarantine;
  if (s == "replace") return VirusPolicy::replace;
  return VirusPolicy::reject;
}

constexpr const char* kScanHeader = "X-Mailroom-Virus-Scan";

}  // namespace

AntivirusOptions parse_antivirus_options(core::ConfigSection& s) {
  AntivirusOptions o;
  o.engine = s.get_choice("engine", "none", {"none", "clamd", "libclamav"});
  o.clamd.address = s.get_string("clamd_address", o.clamd.address);
  if (o.clamd.address.empty()) s.error("clamd_address", "must not be empty");
  o.clamd.connect_timeout = std::chrono::seconds(s.get_seconds("connect_timeout", 5));
  o.clamd.scan_timeout = std::chrono::seconds(s.get_seconds("scan_timeout", 60));
  o.clamd.max_idle_connections =
      static_cast<size_t>(s.get_int("clamd_idle_connections", 4, 0, 1000));
  o.clamd.stream_max_length = s.get_size("stream_max_length", o.clamd.stream_max_length);
  o.libclamav.database_dir = s.get_string("database", o.libclamav.database_dir);
  o.libclamav.reload_interval = std::chrono::seconds(s.get_seconds("reload_interval", 60));
  if (o.libclamav.reload_interval.count() <= 0) {
    s.error("reload_interval", "must be at least 1s");
  }
  o.libclamav.max_file_size = s.get_size("max_file_size", o.libclamav.max_file_size);
  o.libclamav.max_scan_size = s.get_size("max_scan_size", o.libclamav.max_scan_size);
  o.libclamav.tmp_dir = s.get_string("tmp_dir", "");
  o.libclamav.scan_parts = s.get_bool("scan_parts", o.libclamav.scan_parts);
  o.policy = policy_named(s.get_choice("policy", "reject", kPolicies));
  o.fail_open = s.get_bool("fail_open", false);
  for (const auto& n : s.get_strings("trusted_gateways", {})) {
    if (auto cidr = core::Cidr::parse(n)) {
      o.trusted_gateways.push_back(*cidr);
    } else {
      s.error("trusted_gateways", "not an IP address or CIDR block: \"" + n + "\"");
    }
  }
  o.scan_from_gateways = s.get_bool("scan_from_gateways", true);
  o.quarantine_retention_seconds =
      s.get_seconds("quarantine_retention", o.quarantine_retention_seconds);
  if (o.quarantine_retention_seconds < 0) s.error("quarantine_retention", "must not be negative");
  auto domains = s.child("domains");
  for (const auto& domain : domains.keys()) {
    o.domain_policy[core::ascii_lower(domain)] =
        policy_named(domains.get_choice(domain, "reject", kPolicies));
  }
  domains.finish();
  s.finish();
  return o;
}

core::Result<std::shared_ptr<VirusEngine>> open_virus_engine(const AntivirusOptions& options) {
  if (options.engine == "clamd") {
    return std::shared_ptr<VirusEngine>(std::make_shared<ClamdClient>(options.clamd));
  }
  if (options.engine == "libclamav") {
    auto engine = open_libclamav_engine(options.libclamav);
    if (!engine) return engine.status();
    return std::shared_ptr<VirusEngine>(*engine);
  }
  return std::shared_ptr<VirusEngine>();
}

AntivirusScanner::AntivirusScanner(AntivirusOptions options, std::shared_ptr<VirusEngine> engine,
                                   std::string hostname)
    : options_(std::move(options)), engine_(std::move(engine)), hostname_(std::move(hostname)) {}

VirusPolicy AntivirusScanner::policy_for(const std::vector<std::string>& recipients) const {
  if (recipients.empty()) return options_.policy;
  bool first = true;
  VirusPolicy strictest = VirusPolicy::replace;
  for (const auto& r : recipients) {
    size_t at = r.rfind('@');
    std::string domain =
        at == std::string::npos ? std::string() : core::ascii_lower(r.substr(at + 1));
    auto it = options_.domain_policy.find(domain);
    VirusPolicy p = it == options_.domain_policy.end() ? options_.policy : it->second;
    if (first || p > strictest) strictest = p;
    first = false;
  }
  return strictest;
}

ContentVerdict AntivirusScanner::scan(const ContentScanInput& in) {
  ContentVerdict out;
  if (!options_.scan_from_gateways) {
    for (const auto& n : options_.trusted_gateways) {
      if (n.contains(in.client_ip)) {
        out.add_headers.emplace_back(kScanHeader, "skipped (trusted gateway)");
        return out;
      }
    }
  }
  EngineVerdict v = engine_->scan_message(*in.message);
  switch (v.kind) {
    case EngineVerdict::Kind::clean:
      out.add_headers.emplace_back(kScanHeader, "clean (" + engine_->name() + ")");
      return out;
    case EngineVerdict::Kind::error:
      MR_LOG_ERROR("event=antivirus_unavailable engine={} fail_open={} detail={}", engine_->name(),
                   options_.fail_open, core::quote(v.detail));
      if (options_.fail_open) {
        out.add_headers.emplace_back(kScanHeader, "unavailable");
      } else {
        out.action = ContentAction::tempfail;
        out.reason = "virus scanner unavailable";
      }
      return out;
    case EngineVerdict::Kind::infected:
      break;
  }
  switch (policy_for(in.recipients)) {
    case VirusPolicy::reject:
      out.action = ContentAction::reject;
      out.reason = "Virus found: " + v.signature;
      return out;
    case VirusPolicy::quarantine:
      out.action = ContentAction::quarantine;
      out.reason = "Virus found: " + v.signature;
      out.add_headers.emplace_back(kScanHeader, "infected (" + v.signature + "), quarantined");
      return out;
    case VirusPolicy::replace:
      break;
  }
  ReplaceResult r = replace_infected_parts(*in.message, *engine_, v.signature, hostname_);
  if (!r.ok) {
    // Could not tell which part: keep the mail with the sender rather than deliver it.
    MR_LOG_ERROR("event=antivirus_replace_failed signature={} detail={}", core::quote(v.signature),
                 core::quote(r.detail));
    out.action = ContentAction::tempfail;
    out.reason = "virus scanner unavailable";
    return out;
  }
  std::string names;
  for (const auto& s : r.signatures) names += (names.empty() ? "" : ", ") + s;
  out.add_headers.emplace_back(kScanHeader, "infected (" + names + "), replaced");
  out.replacement = std::move(r.message);
  return out;
}

}  // namespace mailroom::filter
