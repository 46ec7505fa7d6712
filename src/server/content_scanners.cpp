#include "src/server/content_scanners.h"

#include <vector>

#include "src/filter/antivirus.h"
#include "src/filter/content_scan.h"
#include "src/filter/rspamd_scanner.h"
#include "src/server/module_options.h"

namespace mailroom::server {

core::Result<std::shared_ptr<filter::ContentScanChain>> open_content_scanners(
    const ModuleOptions& modules, const std::string& hostname) {
  std::vector<std::shared_ptr<filter::ContentScanner>> scanners;
  // 1. antivirus
  if (modules.antivirus.engine != "none") {
    auto engine = filter::open_virus_engine(modules.antivirus);
    if (!engine) {
      return core::unavailable("[antivirus] engine = \"" + modules.antivirus.engine +
                               "\": " + engine.status().to_string());
    }
    scanners.push_back(
        std::make_shared<filter::AntivirusScanner>(modules.antivirus, *engine, hostname));
  }
  // 2. spam
  if (!modules.spam.url.empty()) {
    scanners.push_back(std::make_shared<filter::RspamdScanner>(modules.spam));  // [spam]
  }
  if (scanners.empty()) return std::shared_ptr<filter::ContentScanChain>();
  return std::make_shared<filter::ContentScanChain>(std::move(scanners));
}

}  // namespace mailroom::server
