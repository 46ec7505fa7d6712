// The content scanners run before the 250 (src/filter/content_scan.h), built from the config
// in their fixed order: antivirus first, then spam. One explicit list (STYLE.md example 1).
#pragma once

#include <memory>
#include <string>

#include "src/core/status.h"

namespace mailroom::filter {
class ContentScanChain;
}

namespace mailroom::server {

struct ModuleOptions;

// Null when no scanner is configured. Fails (naming the option) when a configured scanner
// cannot start, e.g. its signature database does not load.
core::Result<std::shared_ptr<filter::ContentScanChain>> open_content_scanners(
    const ModuleOptions& modules, const std::string& data_dir);

}  // namespace mailroom::server
